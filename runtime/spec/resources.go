package spec

import (
	"context"
	"strconv"
	"strings"

	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Limits Docker enforces on resources.
const (
	minMemory      = 6 << 20 // smallest memory limit or reservation
	minCPUShares   = 2
	maxCPUShares   = 262144
	cfsPeriod      = 100000 // period used for NanoCPUs (--cpus), in µs
	minCFSPeriod   = 1000
	maxCFSPeriod   = 1000000
	minCFSQuota    = 1000
	minNanoCPUs    = 1e7 // --cpus 0.01
	minBlkioWeight = 10
	maxBlkioWeight = 1000
)

// resources translates HostConfig.Resources into cgroup settings with Docker's validation.
// Limits the host cannot enforce (swap accounting, blkio weight, swappiness and
// oom-kill-disable where the cgroup lacks them) are dropped with a warning, as Docker does.
// Devices are not set here.
func resources(ctx context.Context, r container.Resources, h host) (specs.LinuxResources, error) {
	var out specs.LinuxResources
	var err error
	if out.Memory, err = memory(ctx, r, h); err != nil {
		return out, err
	}
	if out.CPU, err = cpu(r, h); err != nil {
		return out, err
	}
	if r.PidsLimit != nil && *r.PidsLimit > 0 {
		out.Pids = &specs.LinuxPids{Limit: ptr(*r.PidsLimit)}
	}
	if r.BlkioWeight != 0 {
		if r.BlkioWeight < minBlkioWeight || r.BlkioWeight > maxBlkioWeight {
			return out, invalid("range of blkio weight is from %d to %d", minBlkioWeight, maxBlkioWeight)
		}
		if h.blkioWeight {
			out.BlockIO = &specs.LinuxBlockIO{Weight: ptr(r.BlkioWeight)}
		} else {
			log.G(ctx).Warn("the kernel does not support block I/O weight or the cgroup is not mounted; blkio weight discarded")
		}
	}
	return out, nil
}

func memory(ctx context.Context, r container.Resources, h host) (*specs.LinuxMemory, error) {
	var m specs.LinuxMemory
	set := false
	switch {
	case r.Memory < 0:
		return nil, invalid("invalid memory limit %d", r.Memory)
	case r.Memory > 0 && r.Memory < minMemory:
		return nil, invalid("minimum memory limit allowed is 6MB")
	case r.Memory == 0 && r.MemorySwap > 0:
		return nil, invalid("you should always set the memory limit when using memoryswap limit")
	case r.MemorySwap > 0 && r.MemorySwap < r.Memory:
		return nil, invalid("minimum memoryswap limit should be larger than memory limit")
	case r.MemorySwap < -1:
		return nil, invalid("invalid memoryswap limit %d", r.MemorySwap)
	}
	if r.Memory > 0 {
		m.Limit, set = ptr(r.Memory), true
	}
	swap := r.MemorySwap
	if r.Memory > 0 && swap == 0 {
		swap = 2 * r.Memory // Docker's default: as much swap as memory
	}
	if swap != 0 {
		if h.swap {
			m.Swap, set = ptr(swap), true
		} else if r.MemorySwap != 0 {
			log.G(ctx).Warn("the kernel does not support swap limit capabilities or the cgroup is not mounted; memory limited without swap")
		}
	}

	switch {
	case r.MemoryReservation < 0:
		return nil, invalid("invalid memory reservation %d", r.MemoryReservation)
	case r.MemoryReservation > 0 && r.MemoryReservation < minMemory:
		return nil, invalid("minimum memory reservation allowed is 6MB")
	case r.Memory > 0 && r.MemoryReservation > r.Memory:
		return nil, invalid("minimum memory limit can not be less than memory reservation limit, see usage")
	case r.MemoryReservation > 0:
		m.Reservation, set = ptr(r.MemoryReservation), true
	}

	if s := r.MemorySwappiness; s != nil && *s != -1 {
		if *s < 0 || *s > 100 {
			return nil, invalid("invalid value: %d, valid memory swappiness range is 0-100", *s)
		}
		if h.swappiness {
			m.Swappiness, set = ptr(uint64(*s)), true
		} else {
			log.G(ctx).Warn("the kernel does not support memory swappiness capabilities or the cgroup is not mounted; memory swappiness discarded")
		}
	}
	if r.OomKillDisable != nil && *r.OomKillDisable {
		if h.oomKillDisable {
			m.DisableOOMKiller, set = ptr(true), true
		} else {
			log.G(ctx).Warn("the kernel does not support OomKillDisable (cgroup v2); OomKillDisable discarded")
		}
	}
	if !set {
		return nil, nil
	}
	return &m, nil
}

func cpu(r container.Resources, h host) (*specs.LinuxCPU, error) {
	var c specs.LinuxCPU
	set := false
	if r.NanoCPUs != 0 && (r.CPUQuota != 0 || r.CPUPeriod != 0) {
		return nil, invalid("conflicting options: Nano CPUs and CPU Period/Quota cannot both be set")
	}
	if r.NanoCPUs != 0 {
		if r.NanoCPUs < minNanoCPUs || r.NanoCPUs > int64(h.numCPU)*1e9 {
			return nil, invalid("range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", h.numCPU, h.numCPU)
		}
		c.Period, c.Quota, set = ptr(uint64(cfsPeriod)), ptr(r.NanoCPUs*cfsPeriod/1e9), true
	}
	if r.CPUPeriod != 0 {
		if r.CPUPeriod < minCFSPeriod || r.CPUPeriod > maxCFSPeriod {
			return nil, invalid("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
		}
		c.Period, set = ptr(uint64(r.CPUPeriod)), true
	}
	if r.CPUQuota != 0 {
		if r.CPUQuota > 0 && r.CPUQuota < minCFSQuota {
			return nil, invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)")
		}
		if r.CPUQuota < -1 {
			return nil, invalid("invalid CPU cfs quota %d", r.CPUQuota)
		}
		c.Quota, set = ptr(r.CPUQuota), true
	}
	if r.CPUShares < 0 {
		return nil, invalid("invalid CPU shares %d", r.CPUShares)
	}
	if r.CPUShares > 0 {
		c.Shares, set = ptr(uint64(min(max(r.CPUShares, minCPUShares), maxCPUShares))), true
	}
	if r.CpusetCpus != "" {
		if err := checkSet("CPUs", r.CpusetCpus, h.cpus); err != nil {
			return nil, err
		}
		c.Cpus, set = r.CpusetCpus, true
	}
	if r.CpusetMems != "" {
		if err := checkSet("memory nodes", r.CpusetMems, h.mems); err != nil {
			return nil, err
		}
		c.Mems, set = r.CpusetMems, true
	}
	if !set {
		return nil, nil
	}
	return &c, nil
}

// checkSet validates a cpuset list ("0-2,4") and, when available is known, that every
// member is available.
func checkSet(what, list, available string) error {
	want, err := parseSet(list)
	if err != nil {
		return invalid("invalid value %q for cpuset %s", list, what)
	}
	if available == "" {
		return nil
	}
	have, err := parseSet(available)
	if err != nil {
		return nil // cannot tell; let the runtime decide
	}
	for n := range want {
		if !have[n] {
			return invalid("requested %s are not available - requested %s, available: %s", what, list, available)
		}
	}
	return nil
}

// parseSet parses a Linux list format ("0-2,4,7-8").
func parseSet(list string) (map[int]bool, error) {
	set := map[int]bool{}
	for _, part := range strings.Split(strings.TrimSpace(list), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, invalid("invalid list %q", list)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, invalid("invalid list %q", list)
			}
		}
		if b-a > 1<<16 {
			return nil, invalid("invalid list %q", list)
		}
		for i := a; i <= b; i++ {
			set[i] = true
		}
	}
	return set, nil
}

// withResources sets the cgroup limits, keeping the device rules already in the spec.
func withResources(r specs.LinuxResources) option {
	return func(s *specs.Spec) error {
		devs := s.Linux.Resources.Devices
		res := r
		res.Devices = devs
		s.Linux.Resources = &res
		return nil
	}
}

// oomScoreAdj validates the requested oom_score_adj and raises it to the daemon's own: a
// process may not lower it below its parent's without CAP_SYS_RESOURCE, and runc fails
// obscurely when the kernel refuses (pitfall 13).
func oomScoreAdj(requested, daemon int) (int, error) {
	if requested < -1000 || requested > 1000 {
		return 0, invalid("invalid value %d, range for oom score adj is [-1000, 1000]", requested)
	}
	return max(requested, daemon), nil
}

func withOOMScoreAdj(v int) option {
	return func(s *specs.Spec) error {
		s.Process.OOMScoreAdj = ptr(v)
		return nil
	}
}

func ptr[T any](v T) *T { return &v }
