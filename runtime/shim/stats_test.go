package shim

import (
	"testing"

	v1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2stats "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/protobuf/types/known/anypb"
)

// asShim marshals metrics the way the runc shim's Stats does.
func asShim(t *testing.T, v any) *anypb.Any {
	t.Helper()
	a, err := typeurl.MarshalAny(v)
	if err != nil {
		t.Fatal(err)
	}
	return typeurl.MarshalProto(a)
}

func TestDecodeMetricsV1(t *testing.T) {
	in := &v1stats.Metrics{
		CPU:    &v1stats.CPUStat{Usage: &v1stats.CPUUsage{Total: 42, PerCPU: []uint64{40, 2}}},
		Memory: &v1stats.MemoryStat{Cache: 7, Usage: &v1stats.MemoryEntry{Usage: 100, Limit: 200}},
		Pids:   &v1stats.PidsStat{Current: 3, Limit: 50},
	}
	m, err := DecodeMetrics(asShim(t, in))
	if err != nil {
		t.Fatal(err)
	}
	if m.V2 != nil || m.V1 == nil {
		t.Fatalf("decoded %+v, want v1 metrics only", m)
	}
	if m.V1.CPU.Usage.Total != 42 || len(m.V1.CPU.Usage.PerCPU) != 2 || m.V1.Memory.Usage.Limit != 200 || m.V1.Pids.Current != 3 {
		t.Fatalf("decoded %v", m.V1)
	}
}

func TestDecodeMetricsV2(t *testing.T) {
	in := &v2stats.Metrics{
		CPU:    &v2stats.CPUStat{UsageUsec: 1500},
		Memory: &v2stats.MemoryStat{Usage: 4096, UsageLimit: 8192, InactiveFile: 1024},
		Io:     &v2stats.IOStat{Usage: []*v2stats.IOEntry{{Major: 8, Rbytes: 10, Wbytes: 20}}},
	}
	m, err := DecodeMetrics(asShim(t, in))
	if err != nil {
		t.Fatal(err)
	}
	if m.V1 != nil || m.V2 == nil {
		t.Fatalf("decoded %+v, want v2 metrics only", m)
	}
	if m.V2.CPU.UsageUsec != 1500 || m.V2.Memory.InactiveFile != 1024 || m.V2.Io.Usage[0].Wbytes != 20 {
		t.Fatalf("decoded %v", m.V2)
	}
}

func TestDecodeMetricsRefusesOthers(t *testing.T) {
	if _, err := DecodeMetrics(nil); !errdefs.IsNotFound(err) {
		t.Fatalf("nil: %v, want not found", err)
	}
	if _, err := DecodeMetrics(asShim(t, &v1stats.PidsStat{Current: 1})); !errdefs.IsNotImplemented(err) {
		t.Fatalf("other type: %v, want not implemented", err)
	}
	if _, err := DecodeMetrics(&anypb.Any{TypeUrl: "example.com/unknown", Value: []byte{1}}); err == nil {
		t.Fatal("unknown type decoded")
	}
}
