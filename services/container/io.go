package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/fifo"
	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/pkg/jsonlog"
)

type stdioPaths struct {
	stdin, stdout, stderr string
}

func (c *Container) fifos() stdioPaths {
	p := stdioPaths{stdout: filepath.Join(c.dir, "stdout.fifo")}
	if !c.Config.Tty {
		// A terminal has one output: the shim never writes stderr, and a
		// logger waiting for a writer there would never see it end.
		p.stderr = filepath.Join(c.dir, "stderr.fifo")
	}
	if c.Config.OpenStdin {
		p.stdin = filepath.Join(c.dir, "stdin.fifo")
	}
	return p
}

// loggerProc is a pouch-logger this daemon started; exited is closed once
// it has exited and been reaped.
type loggerProc struct {
	proc   *os.Process
	exited chan struct{}
	ready  chan error // one value: nil once the logger holds the FIFOs
}

// loggerReadyTimeout bounds the wait for a logger to open its FIFOs.
const loggerReadyTimeout = 10 * time.Second

// startLogger starts the container's pouch-logger, detached in its own
// session so it outlives the daemon. It does not wait for the logger to
// be ready (waitReady does), so that the shim can start meanwhile.
func (s *Service) startLogger(c *Container) (stdioPaths, *loggerProc, error) {
	p := c.fifos()
	for _, f := range []string{p.stdin, p.stdout, p.stderr} {
		if f == "" {
			continue
		}
		if err := syscall.Mkfifo(f, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
			return p, nil, fmt.Errorf("create fifo: %w", err)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return p, nil, err
	}
	errLog, err := os.OpenFile(filepath.Join(c.dir, "logger.err"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		r.Close()
		w.Close()
		return p, nil, err
	}
	defer errLog.Close()
	args := []string{"--stdout", p.stdout, "--log", c.LogPath, "--ready-fd", "3"}
	if p.stderr != "" {
		args = append(args, "--stderr", p.stderr)
	}
	cmd := exec.Command(s.cfg.LoggerBinary, args...)
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = errLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return p, nil, fmt.Errorf("start logger: %w", err)
	}
	lp := &loggerProc{proc: cmd.Process, exited: make(chan struct{}), ready: make(chan error, 1)}
	go func() {
		_ = cmd.Wait() // reaped while we live; init reaps it after
		close(lp.exited)
	}()
	go func() {
		defer r.Close()
		b := make([]byte, 1)
		n, err := r.Read(b)
		if n == 1 {
			err = nil
		} else if err == nil || err == io.EOF {
			err = errors.New("logger exited before it was ready")
		}
		lp.ready <- err
	}()
	return p, lp, nil
}

// waitReady waits until the logger has opened the FIFOs.
func (lp *loggerProc) waitReady() error {
	timer := time.NewTimer(loggerReadyTimeout)
	defer timer.Stop()
	select {
	case err := <-lp.ready:
		if err != nil {
			return fmt.Errorf("start logger: %w", err)
		}
		return nil
	case <-timer.C:
		return fmt.Errorf("start logger: not ready after %v", loggerReadyTimeout)
	}
}

// LogsOptions selects log entries.
type LogsOptions struct {
	Stdout, Stderr bool
	Follow         bool
	Tail           int // < 0: all
	Since, Until   time.Time
}

// Logs emits the container's log entries. A follower ends when the
// container's current run ends and its output is fully written.
func (s *Service) Logs(ctx context.Context, ref string, opts LogsOptions, emit func(jsonlog.Entry) error) (*Container, error) {
	c, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	if !opts.Stdout && !opts.Stderr {
		return nil, fmt.Errorf("you must choose at least one stream: %w", errdefs.ErrInvalidArgument)
	}
	done := c.currentRunDone()
	return c, jsonlog.Read(ctx, c.LogPath, jsonlog.ReadOptions{
		Tail: opts.Tail, Since: opts.Since, Until: opts.Until, Follow: opts.Follow, Done: done,
	}, streamFilter(opts.Stdout, opts.Stderr, emit))
}

func streamFilter(stdout, stderr bool, emit func(jsonlog.Entry) error) func(jsonlog.Entry) error {
	return func(e jsonlog.Entry) error {
		if (e.Stream == "stdout" && !stdout) || (e.Stream == "stderr" && !stderr) {
			return nil
		}
		return emit(e)
	}
}

// AttachOptions describe an attach.
type AttachOptions struct {
	Stdin          io.Reader // nil: no stdin
	Stdout, Stderr bool
	Logs           bool         // replay the log first
	Stream         bool         // follow until the run ends
	At             *AttachPoint // where the attach starts; nil: now
}

// AttachPoint fixes where an attach starts: the run it follows and the
// log's size. An API handler takes it before it tells the client it is
// attached, as the client may start the container right away: output
// and an exit from then on must not be missed.
type AttachPoint struct {
	run  *run
	from int64 // -1: no log yet
}

// AttachPoint returns the container's attach point now.
func (c *Container) AttachPoint() *AttachPoint {
	c.mu.RLock()
	r := c.run // the current run, or the next one: `start -a` attaches first
	c.mu.RUnlock()
	at := &AttachPoint{run: r, from: -1}
	if fi, err := os.Stat(c.LogPath); err == nil {
		at.from = fi.Size()
	}
	return at
}

// Attach streams the container's output from now on (and its log before,
// with Logs) until the current or next run ends, and feeds Stdin to it.
func (s *Service) Attach(ctx context.Context, ref string, opts AttachOptions, emit func(jsonlog.Entry) error) (*Container, error) {
	c, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	if err := attachable(c.state()); err != nil {
		return c, err
	}
	s.publish(c, "attach", nil)
	at := opts.At
	if at == nil {
		at = c.AttachPoint()
	}
	r := at.run
	c.mu.RLock()
	paths := c.fifos()
	c.mu.RUnlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// A container removed before the run ends ends the attach; once
		// the run has ended, the follower finishes the log by itself.
		select {
		case <-c.gone:
			select {
			case <-r.done:
			default:
				cancel()
			}
		case <-r.done:
		case <-ctx.Done():
		}
	}()
	if opts.Stdin != nil && paths.stdin != "" {
		if err := syscall.Mkfifo(paths.stdin, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
			return c, err
		}
		go func() {
			if err := copyStdin(ctx, paths.stdin, opts.Stdin); errors.Is(err, ErrDetached) {
				cancel() // the client detached: the attach ends, stdin stays open
				return
			}
			// As Docker: a terminal's input is not closed when a client's
			// ends (it may have detached); a pipe's is, with StdinOnce.
			if c.Config.StdinOnce && !c.Config.Tty {
				closeStdin(ctx, c, r)
			}
		}()
	}
	// Without the old log, follow from its current end; when there is no
	// log yet, everything it will hold is new.
	tail := 0
	if opts.Logs || at.from < 0 {
		tail = -1 // all of it, or there was no log when the client attached
	}
	if !opts.Stream {
		return c, jsonlog.Read(ctx, c.LogPath, jsonlog.ReadOptions{Tail: tail, From: at.from}, streamFilter(opts.Stdout, opts.Stderr, emit))
	}
	return c, jsonlog.Read(ctx, c.LogPath, jsonlog.ReadOptions{Tail: tail, From: at.from, Follow: true, Done: r.done},
		streamFilter(opts.Stdout, opts.Stderr, emit))
}

// attachable refuses attaching to a container that cannot take it now, as
// Docker does. A stopped container can be attached to: the attach waits
// for its next run.
func attachable(st State) error {
	switch st.Status {
	case ctypes.StatePaused:
		return fmt.Errorf("container is paused, unpause the container before attach: %w", errdefs.ErrConflict)
	case ctypes.StateRestarting:
		return fmt.Errorf("container is restarting, wait until the container is running: %w", errdefs.ErrConflict)
	case ctypes.StateRemoving, ctypes.StateDead:
		return fmt.Errorf("container is marked for removal: %w", errdefs.ErrConflict)
	}
	return nil
}

// Attachable tells whether the container can be attached to now.
func (c *Container) Attachable() error { return attachable(c.state()) }

// copyStdin writes the client's input into the container's stdin FIFO
// until the input ends.
func copyStdin(ctx context.Context, path string, in io.Reader) error {
	f, err := fifo.OpenFifo(ctx, path, syscall.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		log.G(ctx).WithError(err).Debug("open stdin fifo")
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, in)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrDetached) {
		log.G(ctx).WithError(err).Debug("copy stdin")
	}
	return err
}

// closeStdin makes the process of run r read EOF on its stdin, as Docker
// does when the attach that set StdinOnce ends its input. The shim keeps a
// writer of the FIFO open itself, so it must be told; an input that ends
// before the task exists is closed as soon as it does.
func closeStdin(ctx context.Context, c *Container, r *run) {
	select {
	case <-r.created:
	case <-r.done:
		return
	case <-ctx.Done():
		return
	}
	c.mu.RLock()
	sh := c.shim
	c.mu.RUnlock()
	if sh == nil {
		return
	}
	if err := sh.CloseStdin(context.WithoutCancel(ctx)); err != nil && !errdefs.IsNotFound(err) {
		log.G(ctx).WithError(err).WithField("container", c.ID).Debug("close stdin")
	}
}
