package container

import (
	"context"
	"strings"
	"testing"
	"time"

	v1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2stats "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/runtime/shim"
)

const gib = 1 << 30

func TestFillStatsV1(t *testing.T) {
	m := &v1stats.Metrics{
		CPU: &v1stats.CPUStat{
			Usage:      &v1stats.CPUUsage{Total: 3000, Kernel: 1000, User: 2000, PerCPU: []uint64{1000, 2000}},
			Throttling: &v1stats.Throttle{Periods: 5, ThrottledPeriods: 2, ThrottledTime: 700},
		},
		Memory: &v1stats.MemoryStat{
			Cache: 4096, RSS: 8192, TotalInactiveFile: 1024, TotalCache: 4096,
			Usage: &v1stats.MemoryEntry{Usage: 12288, Max: 20000, Limit: 64 << 20, Failcnt: 1},
		},
		Pids: &v1stats.PidsStat{Current: 4, Limit: 50},
		Blkio: &v1stats.BlkIOStat{IoServiceBytesRecursive: []*v1stats.BlkIOEntry{
			{Op: "Read", Major: 8, Minor: 0, Value: 100},
			{Op: "Write", Major: 8, Minor: 0, Value: 200},
		}},
	}
	var s ctypes.StatsResponse
	fillStats(&s, &shim.Metrics{V1: m}, 2*gib)
	cpu := s.CPUStats
	if cpu.CPUUsage.TotalUsage != 3000 || cpu.CPUUsage.UsageInKernelmode != 1000 || cpu.CPUUsage.UsageInUsermode != 2000 || len(cpu.CPUUsage.PercpuUsage) != 2 {
		t.Errorf("cpu usage %+v", cpu.CPUUsage)
	}
	if cpu.ThrottlingData != (ctypes.ThrottlingData{Periods: 5, ThrottledPeriods: 2, ThrottledTime: 700}) {
		t.Errorf("throttling %+v", cpu.ThrottlingData)
	}
	mem := s.MemoryStats
	if mem.Usage != 12288 || mem.MaxUsage != 20000 || mem.Limit != 64<<20 || mem.Failcnt != 1 {
		t.Errorf("memory %+v", mem)
	}
	if mem.Stats["cache"] != 4096 || mem.Stats["rss"] != 8192 || mem.Stats["total_inactive_file"] != 1024 || len(mem.Stats) != 32 {
		t.Errorf("memory.stat %v", mem.Stats)
	}
	if s.PidsStats != (ctypes.PidsStats{Current: 4, Limit: 50}) {
		t.Errorf("pids %+v", s.PidsStats)
	}
	b := s.BlkioStats.IoServiceBytesRecursive
	if len(b) != 2 || b[0] != (ctypes.BlkioStatEntry{Major: 8, Op: "Read", Value: 100}) || b[1].Value != 200 {
		t.Errorf("blkio %+v", b)
	}
	if s.BlkioStats.IoServicedRecursive == nil {
		t.Error("v1 blkio lists are empty arrays, not null")
	}
}

func TestFillStatsV2(t *testing.T) {
	m := &v2stats.Metrics{
		CPU: &v2stats.CPUStat{UsageUsec: 3, UserUsec: 2, SystemUsec: 1, NrPeriods: 10, NrThrottled: 4, ThrottledUsec: 5},
		Memory: &v2stats.MemoryStat{
			Anon: 8192, File: 4096, InactiveFile: 1024, ActiveFile: 3072, Usage: 12288, UsageLimit: 32 << 20,
		},
		MemoryEvents: &v2stats.MemoryEvents{Oom: 2, OomKill: 1},
		Pids:         &v2stats.PidsStat{Current: 3},
		Io: &v2stats.IOStat{Usage: []*v2stats.IOEntry{
			{Major: 8, Minor: 16, Rbytes: 100, Wbytes: 200, Rios: 1, Wios: 2},
			{Major: 253, Minor: 0, Rbytes: 1, Wbytes: 2},
		}},
	}
	var s ctypes.StatsResponse
	fillStats(&s, &shim.Metrics{V2: m}, 2*gib)
	// v2 counts microseconds; Docker's API nanoseconds.
	if u := s.CPUStats.CPUUsage; u.TotalUsage != 3000 || u.UsageInUsermode != 2000 || u.UsageInKernelmode != 1000 || u.PercpuUsage != nil {
		t.Errorf("cpu usage %+v", u)
	}
	if th := s.CPUStats.ThrottlingData; th != (ctypes.ThrottlingData{Periods: 10, ThrottledPeriods: 4, ThrottledTime: 5000}) {
		t.Errorf("throttling %+v", th)
	}
	mem := s.MemoryStats
	if mem.Usage != 12288 || mem.Limit != 32<<20 || mem.Failcnt != 2 || mem.MaxUsage != 0 {
		t.Errorf("memory %+v", mem)
	}
	if mem.Stats["anon"] != 8192 || mem.Stats["inactive_file"] != 1024 || mem.Stats["active_file"] != 3072 {
		t.Errorf("memory.stat %v", mem.Stats)
	}
	if _, v1 := mem.Stats["total_inactive_file"]; v1 {
		t.Error("v2 stats carry a v1 key")
	}
	if s.PidsStats.Current != 3 || s.PidsStats.Limit != 0 {
		t.Errorf("pids %+v", s.PidsStats)
	}
	want := []ctypes.BlkioStatEntry{
		{Major: 8, Minor: 16, Op: "read", Value: 100}, {Major: 8, Minor: 16, Op: "write", Value: 200},
		{Major: 253, Minor: 0, Op: "read", Value: 1}, {Major: 253, Minor: 0, Op: "write", Value: 2},
	}
	got := s.BlkioStats.IoServiceBytesRecursive
	if len(got) != len(want) {
		t.Fatalf("io %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("io[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if s.BlkioStats.IoServicedRecursive != nil {
		t.Error("v2 has no io_serviced_recursive")
	}
}

func TestFillStatsLimitsAtMachineMemory(t *testing.T) {
	for _, m := range []*shim.Metrics{
		{V1: &v1stats.Metrics{Memory: &v1stats.MemoryStat{Usage: &v1stats.MemoryEntry{Usage: 1, Limit: 9223372036854771712}}}},
		{V2: &v2stats.Metrics{Memory: &v2stats.MemoryStat{Usage: 1, UsageLimit: ^uint64(0)}}},
	} {
		var s ctypes.StatsResponse
		fillStats(&s, m, 2*gib)
		if s.MemoryStats.Limit != 2*gib {
			t.Errorf("no limit reported as %d, want the machine's memory", s.MemoryStats.Limit)
		}
	}
	var s ctypes.StatsResponse
	fillStats(&s, &shim.Metrics{}, 2*gib)
	if s.MemoryStats.Limit != 0 || s.MemoryStats.Stats != nil {
		t.Errorf("empty metrics: %+v", s.MemoryStats)
	}
}

func TestParseProcStat(t *testing.T) {
	in := `cpu  100 2 30 400 5 6 7 8 0 0
cpu0 50 1 15 200 2 3 3 4 0 0
cpu1 50 1 15 200 3 3 4 4 0 0
intr 12345
ctxt 999
`
	got := parseProcStat(strings.NewReader(in))
	// The first seven fields, in clock ticks of 10ms.
	if want := uint64(100+2+30+400+5+6+7) * uint64(10*time.Millisecond); got.usage != want || got.online != 2 {
		t.Errorf("got %+v, want usage %d and 2 CPUs", got, want)
	}
	if got := parseProcStat(strings.NewReader("cpu 1 2 3\n")); got != (hostCPU{}) {
		t.Errorf("short line: %+v", got)
	}
}

func TestParseNetDev(t *testing.T) {
	in := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0:    5302      41    1    2    0     0          0         0     1428      16    3    4    0     0       0          0
  eth1: 10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0
`
	got, err := parseNetDev(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["lo"]; ok || len(got) != 2 {
		t.Fatalf("interfaces %v, want eth0 and eth1 without lo", got)
	}
	want := ctypes.NetworkStats{RxBytes: 5302, RxPackets: 41, RxErrors: 1, RxDropped: 2, TxBytes: 1428, TxPackets: 16, TxErrors: 3, TxDropped: 4}
	if got["eth0"] != want {
		t.Errorf("eth0 %+v, want %+v", got["eth0"], want)
	}
	if got["eth1"].RxBytes != 10 || got["eth1"].TxBytes != 20 {
		t.Errorf("eth1 %+v", got["eth1"])
	}
	if _, err := parseNetDev(strings.NewReader("eth0: x 1 2 3 4 5 6 7 8 9 10 11\n")); err == nil {
		t.Error("a malformed counter was accepted")
	}
}

func TestParseMemTotal(t *testing.T) {
	if got := parseMemTotal([]byte("MemTotal:       24683520 kB\nMemFree: 1 kB\n")); got != 24683520*1024 {
		t.Errorf("MemTotal: %d", got)
	}
	if got := parseMemTotal([]byte("MemFree: 1 kB\n")); got != 0 {
		t.Errorf("without MemTotal: %d", got)
	}
}

// stoppedService has one created container, "web".
func stoppedService(t *testing.T) (*Service, *Container) {
	t.Helper()
	id := strings.Repeat("ab", 32)
	s := serviceWith(map[string]string{id: "web"})
	c := s.byID[id]
	c.State = State{Status: ctypes.StateCreated}
	c.HostConfig = &ctypes.HostConfig{RestartPolicy: ctypes.RestartPolicy{Name: "no"}}
	c.gone = make(chan struct{})
	c.dir = t.TempDir()
	return s, c
}

func TestStatsOfStoppedContainer(t *testing.T) {
	s, c := stoppedService(t)
	var got []*ctypes.StatsResponse
	emit := func(r *ctypes.StatsResponse) error { got = append(got, r); return nil }
	ctx := context.Background()
	for _, opts := range []StatsOptions{{}, {OneShot: true}} {
		got = nil
		start := time.Now()
		if err := s.Stats(ctx, "web", opts, emit); err != nil {
			t.Fatal(err)
		}
		// Not running: an empty sample, at once.
		if len(got) != 1 || got[0].ID != c.ID || got[0].Name != "/web" || !got[0].Read.IsZero() || time.Since(start) > 500*time.Millisecond {
			t.Fatalf("%+v: %+v", opts, got)
		}
	}
	if err := s.Stats(ctx, "web", StatsOptions{Stream: true, OneShot: true}, emit); !errdefs.IsInvalidArgument(err) {
		t.Errorf("stream and one-shot: %v", err)
	}
	if err := s.Stats(ctx, "nope", StatsOptions{}, emit); !errdefs.IsNotFound(err) {
		t.Errorf("unknown container: %v", err)
	}
	// A stream sends empty samples until the container is removed.
	got = nil
	done := make(chan error, 1)
	go func() { done <- s.Stats(ctx, "web", StatsOptions{Stream: true}, emit) }()
	time.Sleep(100 * time.Millisecond)
	close(c.gone)
	select {
	case err := <-done:
		if err != nil || len(got) != 1 || got[0].ID != c.ID {
			t.Fatalf("stream: %v %+v", err, got)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the stream did not end with the container")
	}
}
