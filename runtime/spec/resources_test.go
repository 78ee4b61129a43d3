package spec

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
)

func TestResources(t *testing.T) {
	const mib = 1 << 20
	noFeatures := testHost()
	noFeatures.swap, noFeatures.swappiness, noFeatures.oomKillDisable, noFeatures.blkioWeight = false, false, false, false

	for _, tc := range []struct {
		name    string
		r       container.Resources
		host    *host
		check   func(specs.LinuxResources) bool
		wantErr bool
	}{
		{name: "nothing", check: func(r specs.LinuxResources) bool {
			return r.Memory == nil && r.CPU == nil && r.Pids == nil && r.BlockIO == nil
		}},
		{name: "memory gets twice as much swap", r: container.Resources{Memory: 64 * mib}, check: func(r specs.LinuxResources) bool {
			return *r.Memory.Limit == 64*mib && *r.Memory.Swap == 128*mib
		}},
		{name: "memory and swap", r: container.Resources{Memory: 64 * mib, MemorySwap: 100 * mib}, check: func(r specs.LinuxResources) bool {
			return *r.Memory.Limit == 64*mib && *r.Memory.Swap == 100*mib
		}},
		{name: "unlimited swap", r: container.Resources{Memory: 64 * mib, MemorySwap: -1}, check: func(r specs.LinuxResources) bool {
			return *r.Memory.Swap == -1
		}},
		{name: "swap dropped without swap accounting", host: &noFeatures, r: container.Resources{Memory: 64 * mib, MemorySwap: 100 * mib},
			check: func(r specs.LinuxResources) bool { return *r.Memory.Limit == 64*mib && r.Memory.Swap == nil }},
		{name: "reservation", r: container.Resources{MemoryReservation: 32 * mib}, check: func(r specs.LinuxResources) bool {
			return *r.Memory.Reservation == 32*mib && r.Memory.Limit == nil
		}},
		{name: "swappiness", r: container.Resources{MemorySwappiness: ptr(int64(10))}, check: func(r specs.LinuxResources) bool {
			return *r.Memory.Swappiness == 10
		}},
		{name: "swappiness -1 is unset", r: container.Resources{MemorySwappiness: ptr(int64(-1))}, check: func(r specs.LinuxResources) bool {
			return r.Memory == nil
		}},
		{name: "oom kill disable", r: container.Resources{OomKillDisable: ptr(true)}, check: func(r specs.LinuxResources) bool {
			return *r.Memory.DisableOOMKiller
		}},
		{name: "oom kill disable dropped on v2", host: &noFeatures, r: container.Resources{OomKillDisable: ptr(true)},
			check: func(r specs.LinuxResources) bool { return r.Memory == nil }},
		{name: "memory too small", r: container.Resources{Memory: 4 * mib}, wantErr: true},
		{name: "swap without memory", r: container.Resources{MemorySwap: 64 * mib}, wantErr: true},
		{name: "swap below memory", r: container.Resources{Memory: 64 * mib, MemorySwap: 32 * mib}, wantErr: true},
		{name: "reservation above memory", r: container.Resources{Memory: 64 * mib, MemoryReservation: 128 * mib}, wantErr: true},
		{name: "swappiness out of range", r: container.Resources{MemorySwappiness: ptr(int64(101))}, wantErr: true},

		{name: "cpus 1.5", r: container.Resources{NanoCPUs: 1.5e9}, check: func(r specs.LinuxResources) bool {
			return *r.CPU.Period == 100000 && *r.CPU.Quota == 150000
		}},
		{name: "cpus 0.01", r: container.Resources{NanoCPUs: 1e7}, check: func(r specs.LinuxResources) bool {
			return *r.CPU.Period == 100000 && *r.CPU.Quota == 1000
		}},
		{name: "cpus above host", r: container.Resources{NanoCPUs: 5e9}, wantErr: true},
		{name: "cpus below 0.01", r: container.Resources{NanoCPUs: 1e6}, wantErr: true},
		{name: "cpus with quota", r: container.Resources{NanoCPUs: 1e9, CPUQuota: 50000}, wantErr: true},
		{name: "quota and period", r: container.Resources{CPUQuota: 50000, CPUPeriod: 200000}, check: func(r specs.LinuxResources) bool {
			return *r.CPU.Period == 200000 && *r.CPU.Quota == 50000
		}},
		{name: "quota too small", r: container.Resources{CPUQuota: 999}, wantErr: true},
		{name: "period too large", r: container.Resources{CPUPeriod: 1000001}, wantErr: true},
		{name: "shares", r: container.Resources{CPUShares: 512}, check: func(r specs.LinuxResources) bool { return *r.CPU.Shares == 512 }},
		{name: "shares clamped low", r: container.Resources{CPUShares: 1}, check: func(r specs.LinuxResources) bool { return *r.CPU.Shares == 2 }},
		{name: "shares clamped high", r: container.Resources{CPUShares: 1 << 20}, check: func(r specs.LinuxResources) bool {
			return *r.CPU.Shares == 262144
		}},
		{name: "negative shares", r: container.Resources{CPUShares: -1}, wantErr: true},
		{name: "cpuset", r: container.Resources{CpusetCpus: "0-1,3", CpusetMems: "0"}, check: func(r specs.LinuxResources) bool {
			return r.CPU.Cpus == "0-1,3" && r.CPU.Mems == "0"
		}},
		{name: "cpuset unavailable cpu", r: container.Resources{CpusetCpus: "0-7"}, wantErr: true},
		{name: "cpuset malformed", r: container.Resources{CpusetCpus: "1-"}, wantErr: true},
		{name: "cpuset unavailable node", r: container.Resources{CpusetMems: "1"}, wantErr: true},

		{name: "pids limit", r: container.Resources{PidsLimit: ptr(int64(100))}, check: func(r specs.LinuxResources) bool {
			return *r.Pids.Limit == 100
		}},
		{name: "pids limit 0 is unlimited", r: container.Resources{PidsLimit: ptr(int64(0))}, check: func(r specs.LinuxResources) bool {
			return r.Pids == nil
		}},
		{name: "pids limit -1 is unlimited", r: container.Resources{PidsLimit: ptr(int64(-1))}, check: func(r specs.LinuxResources) bool {
			return r.Pids == nil
		}},
		{name: "blkio weight", r: container.Resources{BlkioWeight: 300}, check: func(r specs.LinuxResources) bool {
			return *r.BlockIO.Weight == 300
		}},
		{name: "blkio weight dropped when unsupported", host: &noFeatures, r: container.Resources{BlkioWeight: 300},
			check: func(r specs.LinuxResources) bool { return r.BlockIO == nil }},
		{name: "blkio weight out of range", r: container.Resources{BlkioWeight: 5}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := testHost()
			if tc.host != nil {
				h = *tc.host
			}
			got, err := resources(quietContext(), tc.r, h)
			if tc.wantErr {
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Fatalf("err = %v, want invalid argument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(got) {
				t.Errorf("unexpected resources: memory %+v cpu %+v pids %+v blkio %+v", got.Memory, got.CPU, got.Pids, got.BlockIO)
			}
		})
	}
}

// quietContext carries a logger that discards the warnings about dropped limits.
func quietContext() context.Context {
	l := logrus.New()
	l.Out = io.Discard
	return log.WithLogger(context.Background(), logrus.NewEntry(l))
}

func TestBuildResourcesKeepDeviceRules(t *testing.T) {
	in := testInput(t)
	in.HostConfig.NanoCPUs = 2e9
	in.HostConfig.Memory = 256 << 20
	s := mustBuild(t, in)
	if *s.Linux.Resources.CPU.Quota != 200000 || *s.Linux.Resources.Memory.Limit != 256<<20 {
		t.Errorf("resources = %+v", s.Linux.Resources)
	}
	if len(s.Linux.Resources.Devices) != len(defaultDeviceRules()) {
		t.Errorf("device rules lost: %+v", s.Linux.Resources.Devices)
	}
}

func TestOOMScoreAdj(t *testing.T) {
	for _, tc := range []struct {
		requested, daemon, want int
		wantErr                 bool
	}{
		{requested: 0, daemon: 0, want: 0},
		{requested: 500, daemon: 0, want: 500},
		{requested: -500, daemon: 0, want: 0},       // never below the daemon's own (pitfall 13)
		{requested: -500, daemon: -900, want: -500}, // allowed when the daemon is lower
		{requested: 0, daemon: 200, want: 200},
		{requested: 1001, wantErr: true},
		{requested: -1001, wantErr: true},
	} {
		got, err := oomScoreAdj(tc.requested, tc.daemon)
		if (err != nil) != tc.wantErr || (err == nil && got != tc.want) {
			t.Errorf("oomScoreAdj(%d, %d) = %d, %v; want %d", tc.requested, tc.daemon, got, err, tc.want)
		}
		if err != nil && !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("error class: %v", err)
		}
	}
	in := testInput(t)
	in.HostConfig.OomScoreAdj = -100
	if s := mustBuild(t, in); *s.Process.OOMScoreAdj != 0 {
		t.Errorf("OOMScoreAdj = %d, want clamped to 0", *s.Process.OOMScoreAdj)
	}
}
