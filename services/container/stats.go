package container

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	v1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2stats "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/runtime/shim"
)

// StatsOptions tunes Stats, as the query of GET /containers/{id}/stats.
type StatsOptions struct {
	// Stream sends a sample every second until ctx ends or the container
	// is removed. The first sample has no previous one, as in Docker.
	Stream bool
	// OneShot, without Stream, sends one sample at once, with no previous
	// sample. Without either, two samples are taken a second apart so the
	// one sent carries the first as its previous one (CPU % needs both).
	OneShot bool
}

// statsInterval is the time between two samples, as Docker's collector.
const statsInterval = time.Second

// Stats sends samples of a container's resource usage, in Docker's
// format, to emit. A container that is not running has empty samples
// (ID and name only), as in Docker.
func (s *Service) Stats(ctx context.Context, ref string, opts StatsOptions, emit func(*ctypes.StatsResponse) error) error {
	if opts.Stream && opts.OneShot {
		return fmt.Errorf("cannot have stream=true and one-shot=true: %w", errdefs.ErrInvalidArgument)
	}
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	if !opts.Stream {
		cur, running, err := s.sample(ctx, c)
		if err != nil {
			return err
		}
		if !running || opts.OneShot {
			return emit(&cur)
		}
		prev := cur
		select {
		case <-time.After(statsInterval):
		case <-ctx.Done():
			return ctx.Err()
		}
		if cur, _, err = s.sample(ctx, c); err != nil {
			return err
		}
		withPrevious(&cur, prev)
		return emit(&cur)
	}
	ticker := time.NewTicker(statsInterval)
	defer ticker.Stop()
	var prev ctypes.StatsResponse
	for {
		cur, _, err := s.sample(ctx, c)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// As Docker's collector: a sample that fails is sent empty.
			log.G(ctx).WithError(err).WithField("container", c.ID).Debug("stats sample")
			cur = emptyStats(c)
		}
		withPrevious(&cur, prev)
		if err := emit(&cur); err != nil {
			return err
		}
		prev = cur
		select {
		case <-ticker.C:
		case <-c.gone:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

func withPrevious(cur *ctypes.StatsResponse, prev ctypes.StatsResponse) {
	cur.PreCPUStats, cur.PreRead = prev.CPUStats, prev.Read
}

// emptyStats is the sample of a container that is not running.
func emptyStats(c *Container) ctypes.StatsResponse {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return ctypes.StatsResponse{ID: c.ID, Name: "/" + c.Name, OSType: "linux"}
}

// sample takes one sample of the container. A container that is not
// running (or whose task ends meanwhile) gives an empty sample and false.
func (s *Service) sample(ctx context.Context, c *Container) (ctypes.StatsResponse, bool, error) {
	out := emptyStats(c)
	c.mu.RLock()
	sh, st, hc := c.shim, c.State, c.HostConfig
	c.mu.RUnlock()
	if sh == nil || !st.Running() {
		return out, false, nil
	}
	m, err := sh.Stats(ctx)
	if err != nil {
		if taskGone(c, err) {
			return out, false, nil // the task exited meanwhile
		}
		return out, false, fmt.Errorf("stats of container %s: %w", c.ID, err)
	}
	host := readHostCPU()
	out.Read = time.Now().UTC()
	fillStats(&out, m, machineMemory())
	out.CPUStats.SystemUsage, out.CPUStats.OnlineCPUs = host.usage, host.online
	if hc == nil || !hc.NetworkMode.IsHost() {
		// The init's view of /proc/net/dev is its network namespace's.
		if nets, err := readNetDev(fmt.Sprintf("/proc/%d/net/dev", st.Pid)); err == nil && len(nets) > 0 {
			out.Networks = nets
		}
	}
	return out, true, nil
}

// fillStats translates the shim's cgroup metrics into Docker's stats, as
// Docker does for cgroup v1 and v2. Memory limits above the machine's
// memory (no limit) are reported as the machine's memory.
func fillStats(out *ctypes.StatsResponse, m *shim.Metrics, machineMem uint64) {
	switch {
	case m == nil:
	case m.V1 != nil:
		statsV1(out, m.V1)
	case m.V2 != nil:
		statsV2(out, m.V2)
	}
	if machineMem > 0 && out.MemoryStats.Limit > machineMem {
		out.MemoryStats.Limit = machineMem
	}
}

func statsV1(out *ctypes.StatsResponse, m *v1stats.Metrics) {
	if b := m.GetBlkio(); b != nil {
		out.BlkioStats = ctypes.BlkioStats{
			IoServiceBytesRecursive: blkioEntries(b.GetIoServiceBytesRecursive()),
			IoServicedRecursive:     blkioEntries(b.GetIoServicedRecursive()),
			IoQueuedRecursive:       blkioEntries(b.GetIoQueuedRecursive()),
			IoServiceTimeRecursive:  blkioEntries(b.GetIoServiceTimeRecursive()),
			IoWaitTimeRecursive:     blkioEntries(b.GetIoWaitTimeRecursive()),
			IoMergedRecursive:       blkioEntries(b.GetIoMergedRecursive()),
			IoTimeRecursive:         blkioEntries(b.GetIoTimeRecursive()),
			SectorsRecursive:        blkioEntries(b.GetSectorsRecursive()),
		}
	}
	if cpu := m.GetCPU(); cpu != nil {
		u, t := cpu.GetUsage(), cpu.GetThrottling()
		out.CPUStats.CPUUsage = ctypes.CPUUsage{
			TotalUsage:        u.GetTotal(),
			PercpuUsage:       u.GetPerCPU(),
			UsageInKernelmode: u.GetKernel(),
			UsageInUsermode:   u.GetUser(),
		}
		out.CPUStats.ThrottlingData = ctypes.ThrottlingData{
			Periods:          t.GetPeriods(),
			ThrottledPeriods: t.GetThrottledPeriods(),
			ThrottledTime:    t.GetThrottledTime(),
		}
	}
	if mem := m.GetMemory(); mem != nil {
		out.MemoryStats = ctypes.MemoryStats{Stats: map[string]uint64{
			"cache":                     mem.GetCache(),
			"rss":                       mem.GetRSS(),
			"rss_huge":                  mem.GetRSSHuge(),
			"mapped_file":               mem.GetMappedFile(),
			"dirty":                     mem.GetDirty(),
			"writeback":                 mem.GetWriteback(),
			"pgpgin":                    mem.GetPgPgIn(),
			"pgpgout":                   mem.GetPgPgOut(),
			"pgfault":                   mem.GetPgFault(),
			"pgmajfault":                mem.GetPgMajFault(),
			"inactive_anon":             mem.GetInactiveAnon(),
			"active_anon":               mem.GetActiveAnon(),
			"inactive_file":             mem.GetInactiveFile(),
			"active_file":               mem.GetActiveFile(),
			"unevictable":               mem.GetUnevictable(),
			"hierarchical_memory_limit": mem.GetHierarchicalMemoryLimit(),
			"hierarchical_memsw_limit":  mem.GetHierarchicalSwapLimit(),
			"total_cache":               mem.GetTotalCache(),
			"total_rss":                 mem.GetTotalRSS(),
			"total_rss_huge":            mem.GetTotalRSSHuge(),
			"total_mapped_file":         mem.GetTotalMappedFile(),
			"total_dirty":               mem.GetTotalDirty(),
			"total_writeback":           mem.GetTotalWriteback(),
			"total_pgpgin":              mem.GetTotalPgPgIn(),
			"total_pgpgout":             mem.GetTotalPgPgOut(),
			"total_pgfault":             mem.GetTotalPgFault(),
			"total_pgmajfault":          mem.GetTotalPgMajFault(),
			"total_inactive_anon":       mem.GetTotalInactiveAnon(),
			"total_active_anon":         mem.GetTotalActiveAnon(),
			"total_inactive_file":       mem.GetTotalInactiveFile(),
			"total_active_file":         mem.GetTotalActiveFile(),
			"total_unevictable":         mem.GetTotalUnevictable(),
		}}
		if u := mem.GetUsage(); u != nil {
			out.MemoryStats.Usage = u.GetUsage()
			out.MemoryStats.MaxUsage = u.GetMax()
			out.MemoryStats.Limit = u.GetLimit()
			out.MemoryStats.Failcnt = u.GetFailcnt()
		}
	}
	if p := m.GetPids(); p != nil {
		out.PidsStats = ctypes.PidsStats{Current: p.GetCurrent(), Limit: p.GetLimit()}
	}
}

func blkioEntries(in []*v1stats.BlkIOEntry) []ctypes.BlkioStatEntry {
	out := make([]ctypes.BlkioStatEntry, 0, len(in))
	for _, e := range in {
		out = append(out, ctypes.BlkioStatEntry{Major: e.GetMajor(), Minor: e.GetMinor(), Op: e.GetOp(), Value: e.GetValue()})
	}
	return out
}

func statsV2(out *ctypes.StatsResponse, m *v2stats.Metrics) {
	if io := m.GetIo(); io != nil {
		var entries []ctypes.BlkioStatEntry
		for _, e := range io.GetUsage() {
			entries = append(entries,
				ctypes.BlkioStatEntry{Major: e.GetMajor(), Minor: e.GetMinor(), Op: "read", Value: e.GetRbytes()},
				ctypes.BlkioStatEntry{Major: e.GetMajor(), Minor: e.GetMinor(), Op: "write", Value: e.GetWbytes()},
			)
		}
		// cgroup v2 has no equivalent of the other v1 fields.
		out.BlkioStats = ctypes.BlkioStats{IoServiceBytesRecursive: entries}
	}
	if cpu := m.GetCPU(); cpu != nil {
		// v2 counts microseconds and has no per-CPU usage.
		out.CPUStats.CPUUsage = ctypes.CPUUsage{
			TotalUsage:        cpu.GetUsageUsec() * 1000,
			UsageInKernelmode: cpu.GetSystemUsec() * 1000,
			UsageInUsermode:   cpu.GetUserUsec() * 1000,
		}
		out.CPUStats.ThrottlingData = ctypes.ThrottlingData{
			Periods:          cpu.GetNrPeriods(),
			ThrottledPeriods: cpu.GetNrThrottled(),
			ThrottledTime:    cpu.GetThrottledUsec() * 1000,
		}
	}
	if mem := m.GetMemory(); mem != nil {
		out.MemoryStats = ctypes.MemoryStats{
			// The keys of memory.stat Docker reports; not those of v1.
			Stats: map[string]uint64{
				"anon":                   mem.GetAnon(),
				"file":                   mem.GetFile(),
				"kernel_stack":           mem.GetKernelStack(),
				"slab":                   mem.GetSlab(),
				"sock":                   mem.GetSock(),
				"shmem":                  mem.GetShmem(),
				"file_mapped":            mem.GetFileMapped(),
				"file_dirty":             mem.GetFileDirty(),
				"file_writeback":         mem.GetFileWriteback(),
				"anon_thp":               mem.GetAnonThp(),
				"inactive_anon":          mem.GetInactiveAnon(),
				"active_anon":            mem.GetActiveAnon(),
				"inactive_file":          mem.GetInactiveFile(),
				"active_file":            mem.GetActiveFile(),
				"unevictable":            mem.GetUnevictable(),
				"slab_reclaimable":       mem.GetSlabReclaimable(),
				"slab_unreclaimable":     mem.GetSlabUnreclaimable(),
				"pgfault":                mem.GetPgfault(),
				"pgmajfault":             mem.GetPgmajfault(),
				"workingset_refault":     mem.GetWorkingsetRefault(),
				"workingset_activate":    mem.GetWorkingsetActivate(),
				"workingset_nodereclaim": mem.GetWorkingsetNodereclaim(),
				"pgrefill":               mem.GetPgrefill(),
				"pgscan":                 mem.GetPgscan(),
				"pgsteal":                mem.GetPgsteal(),
				"pgactivate":             mem.GetPgactivate(),
				"pgdeactivate":           mem.GetPgdeactivate(),
				"pglazyfree":             mem.GetPglazyfree(),
				"pglazyfreed":            mem.GetPglazyfreed(),
				"thp_fault_alloc":        mem.GetThpFaultAlloc(),
				"thp_collapse_alloc":     mem.GetThpCollapseAlloc(),
			},
			Usage: mem.GetUsage(),
			Limit: mem.GetUsageLimit(),
			// v2 has no max usage (memory.peak is not read by the shim).
		}
		if ev := m.GetMemoryEvents(); ev != nil {
			// Docker reports the "oom" count of memory.events as failcnt.
			out.MemoryStats.Failcnt = ev.GetOom()
		}
	}
	if p := m.GetPids(); p != nil {
		out.PidsStats = ctypes.PidsStats{Current: p.GetCurrent(), Limit: p.GetLimit()}
	}
}

// hostCPU is the host's CPU time (in nanoseconds, all CPUs) and the
// number of online CPUs, as /proc/stat says.
type hostCPU struct {
	usage  uint64
	online uint32
}

// clockTicks is USER_HZ, the unit of /proc/stat; 100 on every Linux
// architecture Pouch runs on.
const clockTicks = 100

func readHostCPU() hostCPU {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return hostCPU{}
	}
	defer f.Close()
	return parseProcStat(f)
}

// parseProcStat reads the "cpu" lines of /proc/stat as Docker does: the
// sum of the first seven fields of the aggregate line, and one CPU per
// "cpuN" line.
func parseProcStat(r io.Reader) hostCPU {
	var out hostCPU
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 4 || !strings.HasPrefix(line, "cpu") {
			break // the cpu lines come first
		}
		switch c := line[3]; {
		case c == ' ':
			fields := strings.Fields(line)
			if len(fields) < 8 {
				return hostCPU{}
			}
			var ticks uint64
			for _, f := range fields[1:8] {
				v, err := strconv.ParseUint(f, 10, 64)
				if err != nil {
					return hostCPU{}
				}
				ticks += v
			}
			out.usage = ticks * uint64(time.Second) / clockTicks
		case c >= '0' && c <= '9':
			out.online++
		}
	}
	return out
}

// machineMemory is the host's memory in bytes (MemTotal); it does not
// change while the daemon runs.
var machineMemory = sync.OnceValue(func() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	return parseMemTotal(b)
})

func parseMemTotal(b []byte) uint64 {
	for _, line := range bytes.Split(b, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("MemTotal:"))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0
		}
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			n *= 1024
		}
		return n
	}
	return 0
}

// readNetDev reads a network namespace's interface counters from a
// /proc/<pid>/net/dev file, leaving out the loopback interface as Docker
// does.
func readNetDev(path string) (map[string]ctypes.NetworkStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseNetDev(f)
}

func parseNetDev(r io.Reader) (map[string]ctypes.NetworkStats, error) {
	out := map[string]ctypes.NetworkStats{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue // the two header lines
		}
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if name == "" || name == "lo" || len(f) < 12 {
			continue
		}
		var v [12]uint64
		for i := range v {
			n, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("net/dev: interface %s: %w", name, err)
			}
			v[i] = n
		}
		// receive: bytes packets errs drop fifo frame compressed multicast;
		// transmit: bytes packets errs drop ...
		out[name] = ctypes.NetworkStats{
			RxBytes: v[0], RxPackets: v[1], RxErrors: v[2], RxDropped: v[3],
			TxBytes: v[8], TxPackets: v[9], TxErrors: v[10], TxDropped: v[11],
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// errNotRunning is the error of an operation that needs a running task.
func errNotRunning(id string) error {
	return fmt.Errorf("container %s is not running: %w", id, errdefs.ErrConflict)
}

// runningShim returns the shim of a running container, or a conflict.
func runningShim(c *Container) (*shim.Shim, State, error) {
	c.mu.RLock()
	sh, st := c.shim, c.State
	c.mu.RUnlock()
	switch {
	case st.Status == "restarting":
		return nil, st, fmt.Errorf("Container %s is restarting, wait until the container is running: %w", c.ID, errdefs.ErrConflict)
	case sh == nil || !st.Running():
		return nil, st, errNotRunning(c.ID)
	}
	return sh, st, nil
}

// taskGone reports whether err says the task the shim ran has exited.
func taskGone(c *Container, err error) bool {
	return errdefs.IsNotFound(err) || errdefs.IsFailedPrecondition(err) || !c.state().Running()
}
