package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/fifo"
	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pouchcontainer/pouch/runtime/shim"
	"github.com/pouchcontainer/pouch/runtime/spec"
)

// Exec is one exec instance: created by ExecCreate, run once by ExecStart.
type Exec struct {
	ID          string
	ContainerID string
	Config      ctypes.ExecCreateRequest

	mu       sync.Mutex
	started  bool
	running  bool
	exitCode *int
	pid      int
	shim     *shim.Shim
	done     chan struct{} // closed once it has exited (or failed to start)
	// killOnStart: its caller gave up (a health probe's timeout) before
	// it started; it is killed as soon as it does.
	killOnStart bool
}

// ExecView is a consistent copy of an exec's state.
type ExecView struct {
	ID, ContainerID string
	Config          ctypes.ExecCreateRequest
	Running         bool
	ExitCode        *int
	Pid             int
}

// View returns the exec's state.
func (e *Exec) View() ExecView {
	e.mu.Lock()
	defer e.mu.Unlock()
	return ExecView{ID: e.ID, ContainerID: e.ContainerID, Config: e.Config, Running: e.running, ExitCode: e.exitCode, Pid: e.pid}
}

// execs holds the exec instances of all containers.
type execs struct {
	mu  sync.Mutex
	all map[string]*Exec
}

func (x *execs) add(e *Exec) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.all == nil {
		x.all = map[string]*Exec{}
	}
	x.all[e.ID] = e
}

func (x *execs) get(id string) (*Exec, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e := x.all[id]; e != nil {
		return e, nil
	}
	return nil, fmt.Errorf("No such exec instance: %s: %w", id, errdefs.ErrNotFound)
}

// of returns the IDs of a container's execs.
func (x *execs) of(containerID string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for id, e := range x.all {
		if e.ContainerID == containerID {
			out = append(out, id)
		}
	}
	return out
}

// dropFinished forgets a container's execs that are over (its run ended),
// as Docker does when a container stops; ones still reporting their exit
// are kept until the container's removal.
func (x *execs) dropFinished(containerID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for id, e := range x.all {
		if e.ContainerID != containerID {
			continue
		}
		e.mu.Lock()
		over := !e.running && (e.exitCode != nil || !e.started)
		e.mu.Unlock()
		if over {
			delete(x.all, id)
		}
	}
}

// drop forgets a container's execs (it is being removed).
func (x *execs) drop(containerID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for id, e := range x.all {
		if e.ContainerID == containerID {
			delete(x.all, id)
		}
	}
}

// runnable refuses an exec in a container that is not running, as Docker.
func runnable(c *Container) error {
	st := c.state()
	switch {
	case st.Status == ctypes.StatePaused:
		return fmt.Errorf("container %s is paused, unpause the container before exec: %w", c.ID, errdefs.ErrConflict)
	case st.Status == ctypes.StateRestarting:
		return fmt.Errorf("container %s is restarting, wait until the container is running: %w", c.ID, errdefs.ErrConflict)
	case !st.Running():
		return fmt.Errorf("container %s is not running: %w", c.ID, errdefs.ErrConflict)
	}
	return nil
}

// ExecCreate registers an exec in a running container.
func (s *Service) ExecCreate(ctx context.Context, ref string, cfg ctypes.ExecCreateRequest) (*Exec, error) {
	c, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	if len(cfg.Cmd) == 0 || cfg.Cmd[0] == "" {
		return nil, fmt.Errorf("no exec command specified: %w", errdefs.ErrInvalidArgument)
	}
	if cfg.WorkingDir != "" && !filepath.IsAbs(cfg.WorkingDir) {
		return nil, fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path: %w", cfg.WorkingDir, errdefs.ErrInvalidArgument)
	}
	if err := runnable(c); err != nil {
		return nil, err
	}
	e := &Exec{ID: newID(), ContainerID: c.ID, Config: cfg, done: make(chan struct{})}
	s.execs.add(e)
	s.publish(c, "exec_create: "+strings.Join(cfg.Cmd, " "), map[string]string{"execID": e.ID})
	return e, nil
}

// GetExec finds an exec instance.
func (s *Service) GetExec(id string) (*Exec, error) { return s.execs.get(id) }

// ExecIDs lists the exec instances of a container.
func (s *Service) ExecIDs(containerID string) []string { return s.execs.of(containerID) }

// ExecStreams are an exec's client streams; nil ones are not attached.
type ExecStreams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// ExecStart runs an exec. Detached, it returns once the process started;
// otherwise it streams until the process exits and its output is drained,
// and the exit code is recorded before it returns.
func (s *Service) ExecStart(ctx context.Context, id string, detach bool, consoleSize *[2]uint, streams ExecStreams) error {
	e, err := s.execs.get(id)
	if err != nil {
		return err
	}
	return s.runExec(ctx, e, detach, consoleSize, streams)
}

// runExec is ExecStart of an exec instance (also one not listed, such as
// a health probe's).
func (s *Service) runExec(ctx context.Context, e *Exec, detach bool, consoleSize *[2]uint, streams ExecStreams) error {
	id := e.ID
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return fmt.Errorf("exec %s has already been started: %w", id, errdefs.ErrConflict)
	}
	e.started = true
	e.mu.Unlock()
	fail := func(err error) error {
		code := exitCannotExecute
		var se *startError
		if errors.As(err, &se) {
			code = se.exitCode
		}
		e.mu.Lock()
		e.exitCode = &code
		e.mu.Unlock()
		close(e.done)
		return err
	}
	c, err := s.Get(e.ContainerID)
	if err != nil {
		return fail(err)
	}
	if err := runnable(c); err != nil {
		return fail(err)
	}
	c.mu.RLock()
	sh, bundle := c.shim, c.bundle
	c.mu.RUnlock()
	if sh == nil {
		return fail(fmt.Errorf("container %s is not running: %w", c.ID, errdefs.ErrConflict))
	}
	proc, err := execProcess(bundle, e.Config, consoleSize)
	if err != nil {
		return fail(err)
	}
	ctx = context.WithoutCancel(ctx)
	xio, err := openExecIO(ctx, filepath.Join(bundle, "exec", e.ID), e.Config, detach, streams)
	if err != nil {
		return fail(err)
	}
	if err := sh.Exec(ctx, e.ID, shim.ExecOptions{
		Process: proc, Terminal: e.Config.Tty, Stdin: xio.paths.stdin, Stdout: xio.paths.stdout, Stderr: xio.paths.stderr,
	}); err != nil {
		xio.close()
		return fail(runtimeErrorOf("OCI runtime exec failed", err))
	}
	pid, err := sh.StartExec(ctx, e.ID)
	if err != nil {
		xio.close()
		_ = sh.DeleteExec(ctx, e.ID)
		return fail(runtimeErrorOf("OCI runtime exec failed", err))
	}
	e.mu.Lock()
	e.running, e.pid, e.shim = true, int(pid), sh
	kill := e.killOnStart
	e.mu.Unlock()
	if kill {
		_ = sh.KillExec(ctx, e.ID, syscall.SIGKILL)
	}
	if listed, _ := s.execs.get(e.ID); listed == e { // not health probes, as Docker
		s.publish(c, "exec_start: "+strings.Join(e.Config.Cmd, " "), map[string]string{"execID": e.ID})
	}
	xio.start(ctx, func() {
		if err := sh.CloseExecStdin(ctx, e.ID); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).Debug("close exec stdin")
		}
	})
	finish := func() {
		exit, err := sh.WaitExec(ctx, e.ID)
		code := int(exit.Status)
		if err != nil {
			code = 255
		}
		xio.wait(execOutputDrain)
		e.mu.Lock()
		e.running, e.exitCode = false, &code
		e.mu.Unlock()
		close(e.done)
		if listed, _ := s.execs.get(e.ID); listed == e {
			s.publish(c, "exec_die", map[string]string{"execID": e.ID, "exitCode": strconv.Itoa(code)})
		}
		if err := sh.DeleteExec(ctx, e.ID); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).Debug("delete exec")
		}
		_ = os.RemoveAll(filepath.Join(bundle, "exec", e.ID))
	}
	if detach {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			finish()
		}()
		return nil
	}
	finish()
	return nil
}

// ErrDetached ends a client's input when it typed the detach keys: the
// process's stdin stays open.
var ErrDetached = errors.New("detached")

// execOutputDrain bounds the wait for an exec's output after it exited
// (a background child may hold the pipes).
const execOutputDrain = 2 * time.Second

// ExecResize sets the window size of an exec's terminal.
func (s *Service) ExecResize(ctx context.Context, id string, height, width uint32) error {
	e, err := s.execs.get(id)
	if err != nil {
		return err
	}
	e.mu.Lock()
	sh, running, tty := e.shim, e.running, e.Config.Tty
	e.mu.Unlock()
	if !running || sh == nil {
		return fmt.Errorf("exec %s is not running: %w", id, errdefs.ErrConflict)
	}
	if !tty {
		return nil
	}
	return sh.ResizePty(ctx, id, width, height)
}

// Resize sets the window size of a container's terminal.
func (s *Service) Resize(ctx context.Context, ref string, height, width uint32) error {
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	c.mu.RLock()
	sh, tty := c.shim, c.Config.Tty
	c.mu.RUnlock()
	if sh == nil || !c.state().Running() {
		return fmt.Errorf("cannot resize container %s: it is not running: %w", c.ID, errdefs.ErrConflict)
	}
	if !tty {
		return nil
	}
	if err := sh.ResizePty(ctx, "", width, height); err != nil {
		return err
	}
	s.publish(c, "resize", map[string]string{"height": strconv.Itoa(int(height)), "width": strconv.Itoa(int(width))})
	return nil
}

// execProcess builds the exec's OCI process from the container's.
func execProcess(bundle string, cfg ctypes.ExecCreateRequest, consoleSize *[2]uint) (*specs.Process, error) {
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("the container's spec: %w", err)
	}
	var sp specs.Spec
	if err := json.Unmarshal(b, &sp); err != nil {
		return nil, fmt.Errorf("the container's spec: %w", err)
	}
	if consoleSize == nil {
		consoleSize = cfg.ConsoleSize
	}
	return spec.ExecProcess(spec.ExecInput{
		Base: sp.Process, RootfsPath: filepath.Join(bundle, "rootfs"),
		Cmd: cfg.Cmd, Env: cfg.Env, User: cfg.User, WorkingDir: cfg.WorkingDir,
		Tty: cfg.Tty, ConsoleSize: consoleSize, Privileged: cfg.Privileged,
	})
}

// execIO connects an exec's FIFOs to its client's streams.
type execIO struct {
	tty            bool
	paths          stdioPaths
	stdin          io.ReadWriteCloser
	stdout, stderr io.ReadWriteCloser
	streams        ExecStreams
	copies         sync.WaitGroup
}

func openExecIO(ctx context.Context, dir string, cfg ctypes.ExecCreateRequest, detach bool, streams ExecStreams) (*execIO, error) {
	x := &execIO{streams: streams, tty: cfg.Tty}
	if detach {
		return x, nil // no streams: the process gets /dev/null
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	open := func(name string, flag int) (string, io.ReadWriteCloser, error) {
		p := filepath.Join(dir, name)
		f, err := fifo.OpenFifo(ctx, p, flag|syscall.O_CREAT|syscall.O_NONBLOCK, 0o700)
		return p, f, err
	}
	var err error
	if cfg.AttachStdin && streams.Stdin != nil {
		if x.paths.stdin, x.stdin, err = open("stdin", syscall.O_WRONLY); err != nil {
			x.close()
			return nil, err
		}
	}
	if cfg.AttachStdout && streams.Stdout != nil {
		if x.paths.stdout, x.stdout, err = open("stdout", syscall.O_RDONLY); err != nil {
			x.close()
			return nil, err
		}
	}
	if cfg.AttachStderr && streams.Stderr != nil && !cfg.Tty {
		if x.paths.stderr, x.stderr, err = open("stderr", syscall.O_RDONLY); err != nil {
			x.close()
			return nil, err
		}
	}
	return x, nil
}

// start copies the streams; closeStdin is called when the client's input ends.
func (x *execIO) start(ctx context.Context, closeStdin func()) {
	if x.stdin != nil {
		go func() {
			_, err := io.Copy(x.stdin, x.streams.Stdin)
			if errors.Is(err, ErrDetached) || x.tty {
				// The process keeps its stdin: the client detached, or
				// left a terminal (which its end of input does not close).
				return
			}
			x.stdin.Close()
			closeStdin()
		}()
	}
	for _, p := range []struct {
		r io.ReadCloser
		w io.Writer
	}{{x.stdout, x.streams.Stdout}, {x.stderr, x.streams.Stderr}} {
		if p.r == nil {
			continue
		}
		x.copies.Add(1)
		go func(r io.ReadCloser, w io.Writer) {
			defer x.copies.Done()
			if _, err := io.Copy(w, r); err != nil {
				// The client went away (or detached): keep draining,
				// or the process blocks on a full pipe.
				_, _ = io.Copy(io.Discard, r)
			}
		}(p.r, p.w)
	}
}

// wait waits for the output copies, at most limit, then closes the FIFOs.
func (x *execIO) wait(limit time.Duration) {
	done := make(chan struct{})
	go func() { x.copies.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
	}
	x.close()
}

func (x *execIO) close() {
	for _, f := range []io.Closer{x.stdin, x.stdout, x.stderr} {
		if f != nil {
			f.Close()
		}
	}
}
