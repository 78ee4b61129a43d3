package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/cli/command"
)

// attachSpec says how to attach to a container being started.
type attachSpec struct {
	stdin      bool   // copy the client's stdin to the container
	tty        bool   // the container has a TTY: its output is not multiplexed
	autoRemove bool   // the daemon removes the container when it exits
	sigProxy   bool   // forward SIGINT, SIGTERM, ... to the container
	detachKeys string // "": ctrl-p,ctrl-q
	noStart    bool   // attach to a running container (pouch attach)
}

// errStart marks a failure of the start call itself, which `run` maps to
// exit codes 125/126/127.
type errStart struct{ err error }

func (e errStart) Error() string { return e.err.Error() }
func (e errStart) Unwrap() error { return e.err }

// startAttached attaches to the container, starts it, streams its output
// (and stdin) until the output ends, then waits for it to exit and returns
// its exit code as a StatusError when non-zero. As docker does, the attach
// and the wait are set up before the start, so no output and no exit is
// missed.
func startAttached(ctx context.Context, deps *Deps, id string, spec attachSpec) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if spec.sigProxy && !spec.tty {
		sigc := make(chan os.Signal, 16)
		signal.Notify(sigc, proxiedSignals...)
		defer signal.Stop(sigc)
		go forwardSignals(ctx, deps.Client, id, sigc)
	}

	var in io.Reader
	if spec.stdin {
		var err error
		if in, err = detachableInput(deps.In, spec.detachKeys); err != nil {
			return err
		}
		if spec.tty {
			defer rawTerminal(deps.In)()
		}
	}
	attach, err := deps.Client.ContainerAttach(ctx, id, client.ContainerAttachOptions{
		Stream:     true,
		Stdin:      spec.stdin,
		Stdout:     true,
		Stderr:     true,
		DetachKeys: spec.detachKeys,
	})
	if err != nil {
		return err
	}
	defer attach.Close()

	// The wait must outlive a cancelled attach: it reports the exit code.
	condition := container.WaitConditionNextExit
	if spec.autoRemove {
		condition = container.WaitConditionRemoved
	} else if spec.noStart {
		condition = container.WaitConditionNotRunning
	}
	exited := waitForExit(context.WithoutCancel(ctx), deps.Client, id, condition)

	streamed := make(chan error, 1)
	go func() {
		streamed <- streamAttached(ctx, attach.HijackedResponse, in, deps.Out, deps.Err, spec.tty)
	}()

	if !spec.noStart {
		if _, err := deps.Client.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			cancel()
			attach.Close()
			<-streamed
			if spec.autoRemove {
				<-exited // let the daemon finish removing it
			}
			return errStart{err}
		}
	}
	if spec.tty {
		followTerminalSize(ctx, deps.Out, func(ctx context.Context, h, w uint) error {
			_, err := deps.Client.ContainerResize(ctx, id, client.ContainerResizeOptions{Height: h, Width: w})
			return err
		})
	}

	if err := <-streamed; err != nil {
		if errors.Is(err, errDetached) {
			return nil // the container goes on; so does its --rm
		}
		return err
	}
	status := <-exited
	if status.err != nil {
		fmt.Fprintf(deps.Err, "Error waiting for container: %v\n", status.err)
	}
	if status.code != 0 {
		return command.StatusError{StatusCode: status.code}
	}
	return nil
}

// streamAttached copies the container's output to out and errOut,
// demultiplexing stdcopy frames unless tty is set, and copies in (when
// not nil) to the container, half-closing the connection at EOF so the
// container sees its stdin end. It returns once the output ends.
func streamAttached(ctx context.Context, resp client.HijackedResponse, in io.Reader, out, errOut io.Writer, tty bool) error {
	outputDone := make(chan error, 1)
	go func() {
		var err error
		if tty {
			_, err = io.Copy(out, resp.Reader)
		} else {
			_, err = stdcopy.StdCopy(out, errOut, resp.Reader)
		}
		outputDone <- err
	}()

	inputDone := make(chan struct{})
	detached := make(chan struct{})
	go func() {
		if in != nil {
			if _, err := io.Copy(resp.Conn, in); errors.Is(err, errDetached) {
				close(detached)
				return
			}
		}
		_ = resp.CloseWrite()
		close(inputDone)
	}()

	select {
	case err := <-outputDone:
		return err
	case <-detached:
		resp.Close()
		return errDetached
	case <-inputDone:
		select {
		case err := <-outputDone:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// exitStatus is the outcome of waiting for a container.
type exitStatus struct {
	code int
	err  error // waiting failed; code is then 125
}

// waitForExit asks the daemon to report the container's next exit, or its
// removal when the daemon removes it itself (--rm), and delivers the exit
// code.
func waitForExit(ctx context.Context, c APIClient, id string, condition container.WaitCondition) <-chan exitStatus {
	res := c.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: condition})
	status := make(chan exitStatus, 1)
	go func() {
		select {
		case r := <-res.Result:
			if r.Error != nil {
				status <- exitStatus{code: exitEngineError, err: errors.New(r.Error.Message)}
				return
			}
			status <- exitStatus{code: int(r.StatusCode)}
		case err := <-res.Error:
			status <- exitStatus{code: exitEngineError, err: err}
		}
	}()
	return status
}

// proxiedSignals are forwarded to a foreground container without a TTY.
var proxiedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

// forwardSignals sends every signal received on sigc to the container
// until ctx ends.
func forwardSignals(ctx context.Context, c APIClient, id string, sigc <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sigc:
			sig, ok := s.(syscall.Signal)
			if !ok {
				continue
			}
			name := unix.SignalName(sig)
			if name == "" {
				continue
			}
			_, _ = c.ContainerKill(context.WithoutCancel(ctx), id, client.ContainerKillOptions{Signal: name})
		}
	}
}

// runExitCode maps a failed start to docker's exit codes: 127 when the
// command was not found, 126 when it could not be executed, else 125.
// The daemon's message is all there is to go on, as for the docker CLI.
func runExitCode(err error) int {
	msg := strings.TrimPrefix(err.Error(), "Error response from daemon: ")
	switch {
	case strings.Contains(msg, "executable file not found"),
		strings.Contains(msg, "no such file or directory"):
		return exitNotFound
	case strings.Contains(msg, syscall.EACCES.Error()),
		strings.Contains(msg, syscall.EISDIR.Error()):
		return exitCannotExecute
	}
	return exitEngineError
}
