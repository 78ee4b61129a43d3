package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	v1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	v2stats "github.com/containerd/cgroups/v3/cgroup2/stats"
	taskv3 "github.com/containerd/containerd/api/runtime/task/v3"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/anypb"
)

// Metrics is one sample of a task's cgroup as the shim reads it. Exactly
// one of V1 (cgroup v1 hierarchies, hybrid mode included) and V2 (the
// unified hierarchy) is set, depending on the host's cgroup mode.
type Metrics struct {
	V1 *v1stats.Metrics
	V2 *v2stats.Metrics
}

// Stats asks the shim for the task's cgroup metrics.
func (s *Shim) Stats(ctx context.Context) (*Metrics, error) {
	resp, err := s.task.Stats(nsctx(ctx), &taskv3.StatsRequest{ID: s.ID})
	if err != nil {
		return nil, errgrpc.ToNative(err)
	}
	return DecodeMetrics(resp.GetStats())
}

// DecodeMetrics decodes the typeurl Any the shim's Stats answers with:
// containerd's cgroups v1 or v2 metrics, depending on the host.
func DecodeMetrics(a *anypb.Any) (*Metrics, error) {
	if a == nil || (len(a.GetValue()) == 0 && a.GetTypeUrl() == "") {
		return nil, fmt.Errorf("the shim returned no metrics: %w", errdefs.ErrNotFound)
	}
	v, err := typeurl.UnmarshalAny(a)
	if err != nil {
		return nil, fmt.Errorf("decode metrics of type %q: %w", a.GetTypeUrl(), err)
	}
	switch m := v.(type) {
	case *v1stats.Metrics:
		return &Metrics{V1: m}, nil
	case *v2stats.Metrics:
		return &Metrics{V2: m}, nil
	}
	return nil, fmt.Errorf("metrics of type %q: %w", a.GetTypeUrl(), errdefs.ErrNotImplemented)
}

// Pids lists the host PIDs of every process of the task: its init and
// whatever else runs in its cgroup (exec'd processes, their children).
func (s *Shim) Pids(ctx context.Context) ([]uint32, error) {
	resp, err := s.task.Pids(nsctx(ctx), &taskv3.PidsRequest{ID: s.ID})
	if err != nil {
		return nil, errgrpc.ToNative(err)
	}
	pids := make([]uint32, 0, len(resp.GetProcesses()))
	for _, p := range resp.GetProcesses() {
		pids = append(pids, p.GetPid())
	}
	return pids, nil
}

// linuxResourcesURL is the type URL containerd's clients register for the
// OCI LinuxResources; the shim itself only decodes the JSON value.
var linuxResourcesURL = "types.containerd.io/opencontainers/runtime-spec/" + strconv.Itoa(specs.VersionMajor) + "/LinuxResources"

// Update changes the cgroup limits of the running (or paused) task, as
// `runc update` does: fields left nil keep their current values.
func (s *Shim) Update(ctx context.Context, res *specs.LinuxResources) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = s.task.Update(nsctx(ctx), &taskv3.UpdateTaskRequest{
		ID:        s.ID,
		Resources: &anypb.Any{TypeUrl: linuxResourcesURL, Value: b},
	})
	return errgrpc.ToNative(err)
}
