package container

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
)

func i64(v int64) *int64 { return &v }

func TestMergeUpdate(t *testing.T) {
	old := &ctypes.HostConfig{
		AutoRemove: false,
		Resources:  ctypes.Resources{Memory: 64 << 20, CPUShares: 512, CpusetCpus: "0", PidsLimit: i64(10)},
		Binds:      []string{"/a:/b"},
	}
	got, err := mergeUpdate(old, ctypes.UpdateConfig{
		Resources:     ctypes.Resources{Memory: 128 << 20, NanoCPUs: 5e8, PidsLimit: i64(-1)},
		RestartPolicy: ctypes.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := got.Resources
	if r.Memory != 128<<20 || r.NanoCPUs != 5e8 || r.CPUShares != 512 || r.CpusetCpus != "0" || *r.PidsLimit != -1 || got.RestartPolicy.Name != "on-failure" || len(got.Binds) != 1 {
		t.Errorf("merged %+v", got)
	}
	// Copy on write: the old config is untouched.
	if old.Memory != 64<<20 || *old.PidsLimit != 10 || old.RestartPolicy.Name != "" {
		t.Errorf("the old HostConfig changed: %+v", old.Resources)
	}
	// A request without a restart policy keeps the container's.
	if got, _ := mergeUpdate(got, ctypes.UpdateConfig{Resources: ctypes.Resources{CPUShares: 100}}); got.RestartPolicy.Name != "on-failure" || got.CPUShares != 100 {
		t.Errorf("second merge %+v", got)
	}
}

func TestMergeUpdateConflicts(t *testing.T) {
	cases := []struct {
		have ctypes.HostConfig
		req  ctypes.UpdateConfig
		want string
	}{
		{ctypes.HostConfig{Resources: ctypes.Resources{CPUPeriod: 100000}}, ctypes.UpdateConfig{Resources: ctypes.Resources{NanoCPUs: 1e9}}, "Nano CPUs cannot be updated as CPU Period"},
		{ctypes.HostConfig{Resources: ctypes.Resources{CPUQuota: 50000}}, ctypes.UpdateConfig{Resources: ctypes.Resources{NanoCPUs: 1e9}}, "Nano CPUs cannot be updated as CPU Quota"},
		{ctypes.HostConfig{Resources: ctypes.Resources{NanoCPUs: 1e9}}, ctypes.UpdateConfig{Resources: ctypes.Resources{CPUPeriod: 100000}}, "CPU Period cannot be updated as NanoCPUs"},
		{ctypes.HostConfig{Resources: ctypes.Resources{NanoCPUs: 1e9}}, ctypes.UpdateConfig{Resources: ctypes.Resources{CPUQuota: 100000}}, "CPU Quota cannot be updated as NanoCPUs"},
		{ctypes.HostConfig{Resources: ctypes.Resources{Memory: 32 << 20, MemorySwap: 64 << 20}}, ctypes.UpdateConfig{Resources: ctypes.Resources{Memory: 128 << 20}}, "update the memoryswap at the same time"},
		{ctypes.HostConfig{AutoRemove: true}, ctypes.UpdateConfig{RestartPolicy: ctypes.RestartPolicy{Name: "always"}}, "AutoRemove is enabled"},
	}
	for _, tc := range cases {
		_, err := mergeUpdate(&tc.have, tc.req)
		if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want a conflict saying %q", tc.req, err, tc.want)
		}
	}
	// What Docker allows: memory below the set swap limit, a swap limit of
	// its own, memory without a swap limit (Pouch keeps the default
	// relative), "no" for an --rm container, -1 quota after --cpus.
	ok := []struct {
		have ctypes.HostConfig
		req  ctypes.UpdateConfig
	}{
		{ctypes.HostConfig{Resources: ctypes.Resources{Memory: 32 << 20, MemorySwap: 64 << 20}}, ctypes.UpdateConfig{Resources: ctypes.Resources{Memory: 48 << 20}}},
		{ctypes.HostConfig{Resources: ctypes.Resources{Memory: 32 << 20, MemorySwap: 64 << 20}}, ctypes.UpdateConfig{Resources: ctypes.Resources{Memory: 128 << 20, MemorySwap: 256 << 20}}},
		{ctypes.HostConfig{}, ctypes.UpdateConfig{Resources: ctypes.Resources{Memory: 128 << 20}}},
		{ctypes.HostConfig{Resources: ctypes.Resources{MemorySwap: -1}}, ctypes.UpdateConfig{Resources: ctypes.Resources{Memory: 128 << 20}}},
		{ctypes.HostConfig{AutoRemove: true}, ctypes.UpdateConfig{RestartPolicy: ctypes.RestartPolicy{Name: "no"}}},
		{ctypes.HostConfig{Resources: ctypes.Resources{NanoCPUs: 1e9}}, ctypes.UpdateConfig{Resources: ctypes.Resources{CPUQuota: -1}}},
	}
	for _, tc := range ok {
		if _, err := mergeUpdate(&tc.have, tc.req); err != nil {
			t.Errorf("%+v over %+v: %v", tc.req, tc.have.Resources, err)
		}
	}
}

func TestValidateUpdate(t *testing.T) {
	bad := []ctypes.UpdateConfig{
		{RestartPolicy: ctypes.RestartPolicy{Name: "sometimes"}},
		{RestartPolicy: ctypes.RestartPolicy{Name: "always", MaximumRetryCount: 1}},
		{RestartPolicy: ctypes.RestartPolicy{Name: "on-failure", MaximumRetryCount: -1}},
		{Resources: ctypes.Resources{NanoCPUs: 1e9, CPUPeriod: 100000}},
		{Resources: ctypes.Resources{NanoCPUs: 1e9, CPUQuota: 100000}},
		{Resources: ctypes.Resources{Memory: 64 << 20, MemorySwap: 32 << 20}},
	}
	for _, u := range bad {
		if err := validateUpdate(u); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%+v: %v, want invalid argument", u, err)
		}
	}
	if err := validateUpdate(ctypes.UpdateConfig{Resources: ctypes.Resources{Memory: 64 << 20, MemorySwap: -1}, RestartPolicy: ctypes.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}}); err != nil {
		t.Errorf("valid update: %v", err)
	}
}

func TestCgroupResources(t *testing.T) {
	ctx := context.Background()
	res, err := cgroupResources(ctx, "c1", ctypes.Resources{
		Memory: 64 << 20, NanoCPUs: 5e8, CPUShares: 512, PidsLimit: i64(50),
		Devices: []ctypes.DeviceMapping{{PathOnHost: "/dev/nonexistent"}}, // not this function's business
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Memory == nil || *res.Memory.Limit != 64<<20 {
		t.Errorf("memory %+v", res.Memory)
	}
	if res.CPU == nil || *res.CPU.Quota != 50000 || *res.CPU.Period != 100000 || *res.CPU.Shares != 512 {
		t.Errorf("cpu %+v", res.CPU)
	}
	if res.Pids == nil || *res.Pids.Limit != 50 || res.Devices != nil {
		t.Errorf("pids %+v devices %v", res.Pids, res.Devices)
	}
	for _, r := range []ctypes.Resources{
		{Memory: 1 << 20},
		{NanoCPUs: 1e6},
		{CPUPeriod: 10},
		{BlkioWeight: 5},
		{CpusetCpus: "x"},
		{MemoryReservation: 128 << 20, Memory: 64 << 20},
	} {
		if _, err := cgroupResources(ctx, "c1", r); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%+v: %v, want invalid argument", r, err)
		}
	}
	if _, err := cgroupResources(ctx, "c1", ctypes.Resources{CPURealtimeRuntime: 1000}); !errdefs.IsNotImplemented(err) {
		t.Errorf("realtime: %v, want not implemented", err)
	}
}

func TestUpdateStoppedContainerPersists(t *testing.T) {
	s, c := stoppedService(t)
	before := c.Snapshot()
	warnings, err := s.Update(context.Background(), "web", ctypes.UpdateConfig{
		Resources:     ctypes.Resources{Memory: 32 << 20, PidsLimit: i64(20)},
		RestartPolicy: ctypes.RestartPolicy{Name: "unless-stopped"},
	})
	if err != nil || warnings == nil {
		t.Fatalf("update: %v %v", warnings, err)
	}
	v := c.Snapshot()
	if v.HostConfig.Memory != 32<<20 || *v.HostConfig.PidsLimit != 20 || v.HostConfig.RestartPolicy.Name != "unless-stopped" {
		t.Errorf("after update %+v", v.HostConfig)
	}
	if before.HostConfig.Memory != 0 {
		t.Error("a view taken before the update changed")
	}
	b, err := os.ReadFile(filepath.Join(c.dir, recordFile))
	if err != nil {
		t.Fatal(err)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil || rec.HostConfig.Memory != 32<<20 {
		t.Errorf("persisted %+v %v", rec.HostConfig, err)
	}
	// Refused updates change nothing.
	if _, err := s.Update(context.Background(), "web", ctypes.UpdateConfig{Resources: ctypes.Resources{Memory: 1 << 20}}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("1MB: %v", err)
	}
	if c.Snapshot().HostConfig.Memory != 32<<20 {
		t.Error("a refused update changed the container")
	}
	if _, err := s.Update(context.Background(), "nope", ctypes.UpdateConfig{}); !errdefs.IsNotFound(err) {
		t.Errorf("unknown: %v", err)
	}
	c.State.Status = ctypes.StateRemoving
	if _, err := s.Update(context.Background(), "web", ctypes.UpdateConfig{}); !errdefs.IsConflict(err) {
		t.Errorf("removing: %v", err)
	}
}
