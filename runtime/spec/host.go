package spec

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// host holds the facts about the machine and the daemon the spec depends on. probeHost
// reads them; tests build one by hand.
type host struct {
	caps           []string // capabilities the daemon can grant, by number
	cgroup2        bool     // /sys/fs/cgroup is the unified hierarchy
	swap           bool     // memory+swap limits work
	swappiness     bool
	oomKillDisable bool
	blkioWeight    bool
	numCPU         int
	cpus, mems     string // online CPUs and memory nodes ("0-3"); "" if unknown
	hostname       string
	minOOMScoreAdj int // the daemon's own oom_score_adj
	rlimits        []specs.POSIXRlimit
	rlimitHard     map[string]uint64 // the daemon's hard limits
	// canRaiseRlimits is true when the daemon holds CAP_SYS_RESOURCE.
	canRaiseRlimits bool
	devices         func() ([]specs.LinuxDevice, error) // host devices for privileged containers
}

func probeHost() (host, error) {
	h := host{
		numCPU:     runtime.NumCPU(),
		cpus:       readTrimmed("/sys/devices/system/cpu/online"),
		mems:       readTrimmed("/sys/devices/system/node/online"),
		rlimits:    DefaultRlimits(),
		rlimitHard: daemonHardLimits(),
		devices:    HostDevices,
	}
	h.hostname, _ = os.Hostname()

	last := unix.CAP_LAST_CAP
	if n, err := strconv.Atoi(readTrimmed("/proc/sys/kernel/cap_last_cap")); err == nil {
		last = n
	}
	known := capabilitiesUpTo(last)
	status, err := procStatusCaps()
	if err != nil {
		return h, err
	}
	// runc can only grant what is both in the daemon's bounding and permitted sets.
	h.caps = capabilitiesInMask(status["CapBnd"]&status["CapPrm"], known)
	h.canRaiseRlimits = status["CapEff"]&(1<<unix.CAP_SYS_RESOURCE) != 0

	adj, err := strconv.Atoi(readTrimmed("/proc/self/oom_score_adj"))
	if err == nil {
		h.minOOMScoreAdj = adj
	}

	var fs unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &fs); err == nil && fs.Type == unix.CGROUP2_SUPER_MAGIC {
		h.cgroup2 = true
		controllers := strings.Fields(readTrimmed("/sys/fs/cgroup/cgroup.controllers"))
		h.swap = slices.Contains(controllers, "memory")
		h.blkioWeight = slices.Contains(controllers, "io")
	} else {
		h.swap = exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
		h.swappiness = exists("/sys/fs/cgroup/memory/memory.swappiness")
		h.oomKillDisable = exists("/sys/fs/cgroup/memory/memory.oom_control")
		h.blkioWeight = exists("/sys/fs/cgroup/blkio/blkio.weight") || exists("/sys/fs/cgroup/blkio/blkio.bfq.weight")
	}
	return h, nil
}

// procStatusCaps returns the Cap* masks of /proc/self/status.
func procStatusCaps() (map[string]uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasPrefix(k, "Cap") {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil {
			out[k] = n
		}
	}
	return out, sc.Err()
}

func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
