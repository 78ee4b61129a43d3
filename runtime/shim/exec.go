package shim

import (
	"context"
	"syscall"

	taskv3 "github.com/containerd/containerd/api/runtime/task/v3"
	// Registers the type URLs of the OCI types sent to the shim
	// (specs.Process for exec, specs.LinuxResources for update), which
	// the shim resolves by the same names.
	_ "github.com/containerd/containerd/v2/core/runtime"
	"github.com/containerd/containerd/v2/pkg/protobuf"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ExecOptions describe an extra process in a running container.
type ExecOptions struct {
	Process               *specs.Process
	Terminal              bool
	Stdin, Stdout, Stderr string // fifo paths; "" for none
}

// Exec creates an exec process (not started yet).
func (s *Shim) Exec(ctx context.Context, execID string, opts ExecOptions) error {
	spec, err := typeurl.MarshalAnyToProto(opts.Process)
	if err != nil {
		return err
	}
	_, err = s.task.Exec(nsctx(ctx), &taskv3.ExecProcessRequest{
		ID: s.ID, ExecID: execID, Terminal: opts.Terminal,
		Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, Spec: spec,
	})
	return errgrpc.ToNative(err)
}

// StartExec starts an exec process and returns its PID.
func (s *Shim) StartExec(ctx context.Context, execID string) (uint32, error) {
	resp, err := s.task.Start(nsctx(ctx), &taskv3.StartRequest{ID: s.ID, ExecID: execID})
	if err != nil {
		return 0, errgrpc.ToNative(err)
	}
	return resp.Pid, nil
}

// WaitExec blocks until the exec process exits.
func (s *Shim) WaitExec(ctx context.Context, execID string) (Exit, error) {
	resp, err := s.task.Wait(nsctx(ctx), &taskv3.WaitRequest{ID: s.ID, ExecID: execID})
	if err != nil {
		return Exit{}, errgrpc.ToNative(err)
	}
	return Exit{Status: resp.ExitStatus, ExitedAt: protobuf.FromTimestamp(resp.ExitedAt)}, nil
}

// KillExec signals an exec process.
func (s *Shim) KillExec(ctx context.Context, execID string, sig syscall.Signal) error {
	_, err := s.task.Kill(nsctx(ctx), &taskv3.KillRequest{ID: s.ID, ExecID: execID, Signal: uint32(sig)})
	return errgrpc.ToNative(err)
}

// CloseExecStdin lets the exec process read EOF on its stdin.
func (s *Shim) CloseExecStdin(ctx context.Context, execID string) error {
	_, err := s.task.CloseIO(nsctx(ctx), &taskv3.CloseIORequest{ID: s.ID, ExecID: execID, Stdin: true})
	return errgrpc.ToNative(err)
}

// DeleteExec removes an exited exec process from the shim.
func (s *Shim) DeleteExec(ctx context.Context, execID string) error {
	_, err := s.task.Delete(nsctx(ctx), &taskv3.DeleteRequest{ID: s.ID, ExecID: execID})
	return errgrpc.ToNative(err)
}

// ResizePty sets the window size of the terminal of the init process
// (execID "") or of an exec process.
func (s *Shim) ResizePty(ctx context.Context, execID string, width, height uint32) error {
	_, err := s.task.ResizePty(nsctx(ctx), &taskv3.ResizePtyRequest{ID: s.ID, ExecID: execID, Width: width, Height: height})
	return errgrpc.ToNative(err)
}
