package container

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pouchcontainer/pouch/runtime/shim"
	"github.com/pouchcontainer/pouch/runtime/spec"
)

// Update changes a container's resources and restart policy, as `docker
// update`: fields left zero keep their values. A running (or paused)
// container gets the new cgroup limits at once; every container keeps
// them in its HostConfig, from which its next start builds the spec.
//
// Unlike Docker, a memory limit may be raised without --memory-swap when
// the swap limit was never set: Pouch keeps that "twice the memory"
// default relative (MemorySwap stays 0), where Docker froze it at create.
func (s *Service) Update(ctx context.Context, ref string, u ctypes.UpdateConfig) ([]string, error) {
	if err := validateUpdate(u); err != nil {
		return nil, err
	}
	c, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	// Serialised with start, exit handling and removal: the limits
	// applied and the record persisted belong to the same run.
	c.op.Lock()
	defer c.op.Unlock()
	select {
	case <-c.gone:
		return nil, fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	default:
	}
	c.mu.RLock()
	old, st, sh := c.HostConfig, c.State, c.shim
	c.mu.RUnlock()
	if st.Status == ctypes.StateRemoving || st.Status == ctypes.StateDead {
		return nil, fmt.Errorf("Cannot update container %s: container is marked for removal and cannot be \"update\": %w", c.ID, errdefs.ErrConflict)
	}
	hc, err := mergeUpdate(old, u)
	if err != nil {
		return nil, fmt.Errorf("Cannot update container %s: %w", c.ID, err)
	}
	res, err := cgroupResources(ctx, c.ID, hc.Resources)
	if err != nil {
		return nil, err
	}
	if p := u.PidsLimit; p != nil && *p <= 0 {
		// "Unlimited" is no limit in a spec, but must lift a live one.
		unlimited := int64(-1)
		res.Pids = &specs.LinuxPids{Limit: &unlimited}
	}
	if sh != nil && st.Running() {
		if err := sh.Update(ctx, res); err != nil && !taskExited(ctx, sh) {
			return nil, fmt.Errorf("Cannot update container %s: %w", c.ID, err)
		}
	}
	c.mu.Lock()
	// Copy on write: views taken before keep the old HostConfig.
	c.HostConfig = hc
	err = c.save()
	if err != nil {
		c.HostConfig = old
	}
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("Cannot update container %s: %w", c.ID, err)
	}
	s.publish(c, "update", nil)
	return []string{}, nil
}

// validateUpdate checks a request on its own, before it meets the
// container's settings.
func validateUpdate(u ctypes.UpdateConfig) error {
	if err := ctypes.ValidateRestartPolicy(u.RestartPolicy); err != nil {
		return fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	r := u.Resources
	if r.NanoCPUs != 0 && r.CPUPeriod != 0 {
		return fmt.Errorf("Conflicting options: Nano CPUs and CPU Period cannot both be set: %w", errdefs.ErrInvalidArgument)
	}
	if r.NanoCPUs != 0 && r.CPUQuota != 0 {
		return fmt.Errorf("Conflicting options: Nano CPUs and CPU Quota cannot both be set: %w", errdefs.ErrInvalidArgument)
	}
	if r.MemorySwap > 0 && r.Memory > 0 && r.MemorySwap < r.Memory {
		return fmt.Errorf("Minimum memoryswap limit should be larger than memory limit, see usage: %w", errdefs.ErrInvalidArgument)
	}
	return nil
}

// mergeUpdate returns a copy of hc with the update applied, as Docker's
// UpdateContainer: the non-zero fields of the request replace the
// container's, and updates that contradict its settings are conflicts.
func mergeUpdate(hc *ctypes.HostConfig, u ctypes.UpdateConfig) (*ctypes.HostConfig, error) {
	if hc == nil {
		hc = &ctypes.HostConfig{}
	}
	r, cur := u.Resources, hc.Resources
	conflict := func(msg string) error { return fmt.Errorf("%s: %w", msg, errdefs.ErrConflict) }
	// --cpus is a period and quota of its own: one way or the other.
	switch {
	case r.NanoCPUs > 0 && cur.CPUPeriod > 0:
		return nil, conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
	case r.NanoCPUs > 0 && cur.CPUQuota > 0:
		return nil, conflict("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
	case r.CPUPeriod > 0 && cur.NanoCPUs > 0:
		return nil, conflict("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
	case r.CPUQuota > 0 && cur.NanoCPUs > 0:
		return nil, conflict("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
	}
	out := *hc
	n := &out.Resources
	if r.BlkioWeight != 0 {
		n.BlkioWeight = r.BlkioWeight
	}
	if r.CPUShares != 0 {
		n.CPUShares = r.CPUShares
	}
	if r.NanoCPUs != 0 {
		n.NanoCPUs = r.NanoCPUs
	}
	if r.CPUPeriod != 0 {
		n.CPUPeriod = r.CPUPeriod
	}
	if r.CPUQuota != 0 {
		n.CPUQuota = r.CPUQuota
	}
	if r.CPURealtimePeriod != 0 {
		n.CPURealtimePeriod = r.CPURealtimePeriod
	}
	if r.CPURealtimeRuntime != 0 {
		n.CPURealtimeRuntime = r.CPURealtimeRuntime
	}
	if r.CpusetCpus != "" {
		n.CpusetCpus = r.CpusetCpus
	}
	if r.CpusetMems != "" {
		n.CpusetMems = r.CpusetMems
	}
	if r.Memory != 0 {
		// A swap limit the user set stays; a memory limit above it needs
		// a new one.
		if cur.MemorySwap > 0 && r.Memory > cur.MemorySwap && r.MemorySwap == 0 {
			return nil, conflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time")
		}
		n.Memory = r.Memory
	}
	if r.MemorySwap != 0 {
		n.MemorySwap = r.MemorySwap
	}
	if r.MemoryReservation != 0 {
		n.MemoryReservation = r.MemoryReservation
	}
	if r.PidsLimit != nil {
		limit := *r.PidsLimit
		n.PidsLimit = &limit
	}
	if u.RestartPolicy.Name != "" {
		if hc.AutoRemove && !u.RestartPolicy.IsNone() {
			return nil, conflict("Restart policy cannot be updated because AutoRemove is enabled for the container")
		}
		out.RestartPolicy = u.RestartPolicy
	}
	return &out, nil
}

// cgroupResources validates resources the way a start does (the spec
// builder's rules and host checks) and returns the cgroup settings a
// start would give them, without device rules.
func cgroupResources(ctx context.Context, id string, r ctypes.Resources) (*specs.LinuxResources, error) {
	// Only the cgroup limits matter here; devices and rlimits stay as the
	// container started with them.
	r.Devices, r.DeviceCgroupRules, r.DeviceRequests, r.Ulimits = nil, nil, nil, nil
	sp, err := spec.Build(ctx, spec.Input{
		ID:         id,
		HostConfig: &ctypes.HostConfig{Resources: r},
		Args:       []string{"true"},
		RootfsPath: "/",
	})
	if err != nil {
		return nil, err
	}
	res := specs.LinuxResources{}
	if sp.Linux != nil && sp.Linux.Resources != nil {
		res = *sp.Linux.Resources
	}
	res.Devices = nil
	return &res, nil
}

// taskExited reports whether the shim's task has exited (its exit not
// handled yet): an update then only changes the record.
func taskExited(ctx context.Context, sh *shim.Shim) bool {
	st, err := sh.State(ctx)
	return err == nil && st.Status == "stopped"
}
