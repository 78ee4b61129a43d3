package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/sys/signal"
	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/runtime/shim"
	"github.com/pouchcontainer/pouch/runtime/spec"
)

// Start starts a created or stopped container. A start that fails leaves
// no task, shim, mount or cgroup behind, and records why it failed.
func (s *Service) Start(ctx context.Context, ref string) error {
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	c.op.Lock()
	defer c.op.Unlock()
	select {
	case <-c.gone:
		return fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	default:
	}
	st := c.state()
	switch {
	case st.Status == ctypes.StatePaused:
		return fmt.Errorf("cannot start a paused container, try unpause instead: %w", errdefs.ErrConflict)
	case st.Running():
		return errAlreadyRunning
	case st.Status == ctypes.StateRemoving || st.Status == ctypes.StateDead:
		return fmt.Errorf("container is marked for removal and cannot be started: %w", errdefs.ErrConflict)
	}
	// A start by the user cancels a pending restart and starts the
	// policy's count again.
	c.cancelRestart()
	if err := c.setState(func(st *State) { st.ManualStop = false }); err != nil {
		return err
	}
	c.mu.Lock()
	c.RestartCount, c.restart.backoff = 0, 0
	c.mu.Unlock()
	if err := s.start(ctx, c); err != nil {
		msg, code := err.Error(), exitStartFailed
		var se *startError
		if errors.As(err, &se) {
			msg, code = se.msg, se.exitCode
		}
		_ = c.setState(func(st *State) {
			st.Error = msg
			st.ExitCode = code
			if st.Status != ctypes.StateCreated {
				st.Status = ctypes.StateExited
			}
			st.FinishedAt = time.Now().UTC()
		})
		c.endRun(code, msg)
		if c.HostConfig.AutoRemove {
			s.autoRemove(c)
		}
		return err
	}
	return nil
}

// errAlreadyRunning tells the API to answer 304 Not Modified.
var errAlreadyRunning = fmt.Errorf("container already started: %w", errdefs.ErrNotModified)

// Exit codes of a start that failed, as Docker records them.
const (
	exitStartFailed   = 128 // the runtime failed
	exitCannotExecute = 126 // the command is not executable
	exitNotFound      = 127 // the command does not exist
)

// startError is a runtime's refusal to start a container: the message a
// user can act on, the exit code Docker records for it, and its class.
type startError struct {
	msg      string
	exitCode int
	class    error
}

func (e *startError) Error() string { return e.msg + ": " + e.class.Error() }
func (e *startError) Unwrap() error { return e.class }

// runtimeError classifies an error of the runtime creating or starting
// the task. When the process could not be executed, runc says so as
// `exec: "CMD": REASON`: that is the user's error (400, and 126 or 127 as
// Docker records it); anything else is the runtime's (500, 128).
func runtimeError(err error) error { return runtimeErrorOf("failed to create task for container", err) }

// runtimeErrorOf is runtimeError with the message's prefix given.
func runtimeErrorOf(prefix string, err error) error {
	msg := strings.TrimSuffix(strings.TrimSpace(err.Error()), ": unknown")
	code, class := exitStartFailed, error(errdefs.ErrUnknown)
	if i := strings.Index(msg, `exec: "`); i >= 0 {
		reason := msg[i:]
		switch {
		case strings.Contains(reason, "executable file not found"), strings.Contains(reason, "no such file or directory"):
			code, class = exitNotFound, errdefs.ErrInvalidArgument
		case strings.Contains(reason, "permission denied"), strings.Contains(reason, "exec format error"), strings.Contains(reason, "is a directory"):
			code, class = exitCannotExecute, errdefs.ErrInvalidArgument
		}
		if code != exitStartFailed {
			// runc's wrapping ("OCI runtime create failed: runc create
			// failed: unable to start container process: ...") adds
			// nothing the user can act on.
			msg = reason
		}
	}
	return &startError{msg: prefix + ": " + msg, exitCode: code, class: class}
}

func (s *Service) start(ctx context.Context, c *Container) (retErr error) {
	ctx = context.WithoutCancel(ctx) // a client going away must not leave a half-started task
	bundle := c.bundle
	rootfs := filepath.Join(bundle, "rootfs")
	cleanup := func() {
		_ = mount.UnmountAll(rootfs, 0)
		_ = os.RemoveAll(bundle)
		s.removeCgroups(c.ID)
	}
	if _, err := os.Stat(bundle); err == nil {
		// A run that was not torn down (the daemon stopped in the middle,
		// or its shim died): the runtime's state of it goes first.
		_, _ = s.shims.Cleanup(ctx, c.ID, bundle)
		_ = mount.UnmountAll(rootfs, 0)
	}
	_ = os.RemoveAll(bundle) // a crash during a previous start may have left one
	if err := os.MkdirAll(rootfs, 0o700); err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			cleanup()
		}
	}()
	mounts, err := s.snapshots.Mounts(ctx, c.SnapshotKey)
	if err != nil {
		return fmt.Errorf("rootfs of %s: %w", c.ID, err)
	}
	if err := mount.All(mounts, rootfs); err != nil {
		return fmt.Errorf("mount rootfs of %s: %w", c.ID, err)
	}
	// Addresses and ports are reserved now; the plugins run while the
	// task is being created.
	sb, err := s.setupNetwork(ctx, c)
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			s.releaseSandbox(context.WithoutCancel(ctx), c.ID, sb)
		}
	}()
	if ep := sb.primary(c.HostConfig.NetworkMode); ep != nil {
		extra, err := s.expandHosts(c.HostConfig.ExtraHosts)
		if err != nil {
			return err
		}
		hosts, err := hostsFile(c.Config.Hostname, ep.IP, extra)
		if err != nil {
			return err
		}
		if err := writeInPlace(c.HostsPath, hosts); err != nil {
			return err
		}
	}
	extraMounts, releaseMounts, err := s.specMounts(ctx, c, rootfs)
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			releaseMounts()
		}
	}()
	c.mu.RLock()
	in := spec.Input{
		ID: c.ID, Config: c.Config, HostConfig: c.HostConfig,
		Args: append([]string{c.Path}, c.Args...), Env: processEnv(c.Config),
		RootfsPath:   rootfs,
		HostsPath:    c.HostsPath,
		HostnamePath: c.HostnamePath, ResolvConfPath: c.ResolvConfPath,
		CgroupsPath: "/" + s.cfg.CgroupParent + "/" + c.ID,
		NetNSPath:   sb.ns,
		Mounts:      extraMounts,
		Rlimits:     spec.DefaultRlimits(),
	}
	runtimeBin := s.cfg.Runtimes[c.Runtime]
	c.mu.RUnlock()
	sp, err := spec.Build(ctx, in)
	if err != nil {
		return err
	}
	sp.Root.Path = "rootfs"
	b, err := json.Marshal(sp)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o600); err != nil {
		return err
	}

	stdio, logger, err := s.startLogger(c)
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			_ = logger.proc.Kill()
		}
	}()
	rt := shim.Runtime{Binary: runtimeBin, Root: filepath.Join(s.cfg.RuntimeRoot, c.Runtime)}
	sh, err := s.shims.Start(ctx, c.ID, bundle)
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			// A task that was created but did not start holds its output
			// pipes, and the shim's Delete first waits (up to 10s) for the
			// output to drain: kill it first, as containerd's clients do.
			_ = sh.Kill(ctx, syscall.SIGKILL, true)
			_, _ = sh.Delete(ctx)
			_ = sh.Shutdown(ctx)
		}
	}()
	if err := logger.waitReady(); err != nil {
		return err
	}
	if _, err := sh.Create(ctx, shim.CreateOptions{
		Stdin: stdio.stdin, Stdout: stdio.stdout, Stderr: stdio.stderr,
		Terminal: c.Config.Tty, Runtime: rt,
	}); err != nil {
		return runtimeError(err)
	}
	waited := time.Now()
	if err := sb.wait(); err != nil {
		return err
	}
	log.G(ctx).WithField("container", c.ID).WithField("waited", time.Since(waited)).Debug("task created; network ready")
	c.mu.Lock()
	if sb.endpoints != nil {
		c.Network.SandboxKey, c.Network.Endpoints = sb.ns, sb.endpoints
		if err := c.save(); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	c.shim = sh
	c.LoggerPid = logger.proc.Pid
	c.logger = logger
	close(c.run.created)
	c.mu.Unlock()
	pid, err := sh.Start(ctx)
	if err != nil {
		c.mu.Lock()
		c.shim, c.logger, c.LoggerPid = nil, nil, 0
		c.Network.SandboxKey, c.Network.Endpoints = "", nil
		_ = c.save()
		c.mu.Unlock()
		return runtimeError(err)
	}
	if err := c.setState(func(st *State) {
		*st = State{Status: ctypes.StateRunning, Pid: int(pid), StartedAt: time.Now().UTC()}
	}); err != nil {
		log.G(ctx).WithError(err).Warn("persisting running state")
	}
	s.watch(c, sh)
	s.publish(c, "start", nil)
	s.monitorHealth(c, c.currentRun())
	return nil
}

// watch waits for the task to exit in the background.
func (s *Service) watch(c *Container, sh *shim.Shim) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		exit, err := sh.Wait(s.background())
		if err != nil {
			// The shim went away (or the daemon is shutting down and
			// closed the connection): Restore will reconcile.
			if s.closing.Load() {
				return
			}
			log.L.WithError(err).WithField("container", c.ID).Warn("waiting for task")
			exit = shim.Exit{Status: 255, ExitedAt: time.Now()}
			// The shim died: its delete action cleans runc's state (else
			// the next start finds the container "already exists") and
			// knows how the process ended.
			if e, cerr := s.shims.Cleanup(s.background(), c.ID, c.bundle); cerr == nil {
				exit = *e
			}
		}
		s.handleExit(s.background(), c, exit)
	}()
}

// handleExit records an exit and releases everything the run held.
func (s *Service) handleExit(ctx context.Context, c *Container, exit shim.Exit) {
	c.op.Lock()
	defer c.op.Unlock()
	c.mu.RLock()
	sh, loggerPid, logger := c.shim, c.LoggerPid, c.logger
	c.mu.RUnlock()
	// Read before the runtime deletes the cgroup: the kernel's count is
	// certain where the shim's OOM event is best effort.
	oomKilled := s.oomKills(c.ID) > 0
	deleteFailed := false
	deleteTask := func() {
		if sh == nil {
			return
		}
		if _, err := sh.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			deleteFailed = true
			log.G(ctx).WithError(err).WithField("container", c.ID).Debug("delete task")
		}
	}
	// The shim closes the output FIFOs as soon as the process's pipes
	// close, and the logger exits once the log has it all: waiters of the
	// run must find every line there. A straggler that inherited the pipes
	// keeps them open; deleting the task kills it.
	deleted := false
	quick := loggerQuickExit
	if c.Config.Tty {
		// The shim's console copy ends only when the task is deleted.
		quick = 0
	}
	if !s.waitLogger(logger, loggerPid, quick) {
		deleteTask()
		deleted = true
		if !s.waitLogger(logger, loggerPid, loggerExitTimeout) {
			log.G(ctx).WithField("container", c.ID).Warn("logger did not exit after the task's output closed")
		}
	}
	finished := exit.ExitedAt
	if finished.IsZero() || finished.Unix() <= 0 {
		finished = time.Now()
	}
	st0 := c.state()
	restart := !s.closing.Load() && shouldRestart(c, int(exit.Status), st0.ManualStop)
	_ = c.setState(func(st *State) {
		st.Status = ctypes.StateExited
		if restart {
			st.Status = ctypes.StateRestarting
		}
		st.ExitCode = int(exit.Status)
		st.Pid = 0
		st.FinishedAt = finished.UTC()
		st.OOMKilled = st.OOMKilled || oomKilled
	})
	// Waiters, attached clients and log followers are released now; the
	// teardown below is not on their path (the op lock keeps a new start
	// or a removal waiting until it is done).
	if s.networks != nil {
		s.networks.Leaving(c.ID)
	}
	if oomKilled {
		s.publish(c, "oom", nil)
	}
	s.publish(c, "die", map[string]string{
		"exitCode":     strconv.Itoa(int(exit.Status)),
		"execDuration": strconv.Itoa(int(finished.Sub(st0.StartedAt).Seconds())),
	})
	c.endRun(int(exit.Status), "")
	s.execs.dropFinished(c.ID)
	autoRemove := c.HostConfig.AutoRemove
	if autoRemove {
		// Its volumes are free once the client sees it removed.
		s.unmountVolumes(ctx, c)
		s.releaseVolumes(ctx, c, true)
		s.unlist(c)
	}
	if !deleted {
		deleteTask()
	}
	if deleteFailed && s.closing.Load() {
		// The daemon is stopping and let go of the shim: the shim, runc's
		// state, the bundle and the network stay for the next daemon,
		// which finishes this teardown at its start (cleanupStaleRun).
		return
	}
	if sh != nil {
		_ = sh.Shutdown(ctx)
	}
	s.teardownNetwork(ctx, c)
	if !autoRemove {
		s.unmountVolumes(ctx, c)
	}
	c.fs.Lock() // no copy or export of the rootfs in progress
	_ = mount.UnmountAll(filepath.Join(c.bundle, "rootfs"), 0)
	c.fs.Unlock()
	_ = os.RemoveAll(c.bundle)
	s.removeCgroups(c.ID)
	c.mu.Lock()
	c.shim = nil
	c.LoggerPid = 0
	c.logger = nil
	c.mu.Unlock()
	if autoRemove {
		s.removeLeftovers(s.background(), c.ID, c.SnapshotKey)
		s.publish(c, "destroy", nil)
		s.gc.Schedule()
	}
	if restart {
		s.scheduleRestart(c, finished.Sub(st0.StartedAt))
	}
}

// waitLogger waits up to limit for the run's logger to exit.
func (s *Service) waitLogger(logger *loggerProc, pid int, limit time.Duration) bool {
	if logger != nil && logger.proc.Pid == pid {
		select {
		case <-logger.exited:
			return true
		case <-time.After(limit):
			return false
		}
	}
	return waitProcessGone(pid, limit)
}

func (s *Service) autoRemove(c *Container) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.remove(s.background(), c, true); err != nil {
			log.L.WithError(err).WithField("container", c.ID).Warn("auto-remove")
		}
	}()
}

// loggerQuickExit is how long the logger normally needs after the task's
// exit; loggerExitTimeout bounds the wait once stragglers were killed.
const (
	loggerQuickExit   = 200 * time.Millisecond
	loggerExitTimeout = 5 * time.Second
)

// waitProcessGone waits until pid, which this daemon did not start (it was
// restarted since), has exited; a zombie counts as gone (pitfall 16).
func waitProcessGone(pid int, limit time.Duration) bool {
	if pid <= 0 || !processAlive(pid) {
		return true
	}
	deadline := time.Now().Add(limit)
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		// A pidfd is readable once the process has exited: no polling.
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			left := time.Until(deadline)
			if left <= 0 {
				return false
			}
			n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n > 0 {
				return true
			}
		}
	}
	for time.Now().Before(deadline) {
		if !processAlive(pid) {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	state := s[i+2]
	return state != 'Z' && state != 'X'
}

// StopOptions tunes Stop.
type StopOptions struct {
	Timeout *int // seconds before SIGKILL; nil = the container's or 10
	Signal  string
}

// Stop stops a running container: its stop signal, then SIGKILL after the
// timeout. Stopping a stopped container is not an error (304).
func (s *Service) Stop(ctx context.Context, ref string, opts StopOptions) error {
	err := s.stop(ctx, ref, opts)
	if err == nil {
		if c, gerr := s.Get(ref); gerr == nil {
			s.publish(c, "stop", nil)
		}
	}
	return err
}

func (s *Service) stop(ctx context.Context, ref string, opts StopOptions) error {
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	if c.state().Status == ctypes.StateRestarting && c.stopPendingRestart(true) {
		return nil
	}
	if !c.state().Running() {
		return fmt.Errorf("container already stopped: %w", errdefs.ErrNotModified)
	}
	_ = c.setState(func(st *State) { st.ManualStop = true })
	timeout := 10
	if c.Config.StopTimeout != nil {
		timeout = *c.Config.StopTimeout
	}
	if opts.Timeout != nil {
		timeout = *opts.Timeout
	}
	sigName := opts.Signal
	if sigName == "" {
		sigName = c.Config.StopSignal
	}
	sig := syscall.SIGTERM
	if sigName != "" {
		if sig, err = parseSignal(sigName); err != nil {
			return err
		}
	}
	done := c.runningRunDone()
	// A policy that restarts the container once this run ends must not:
	// the user stopped it (ManualStop is set); a restart already pending
	// when the run ended is dropped below.
	defer func() {
		if c.state().Status == ctypes.StateRestarting {
			c.stopPendingRestart(true)
		}
	}()
	if c.state().Status == ctypes.StatePaused {
		// A frozen process cannot act on SIGTERM.
		sig = syscall.SIGKILL
	}
	if timeout != 0 && sig != syscall.SIGKILL {
		if err := s.signal(ctx, c, sig, false); err != nil && !errdefs.IsConflict(err) {
			return err
		}
		wait := time.Duration(timeout) * time.Second
		if timeout < 0 {
			wait = 365 * 24 * time.Hour
		}
		select {
		case <-done:
			return nil
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := s.signal(ctx, c, syscall.SIGKILL, true); err != nil && !errdefs.IsConflict(err) {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("container %s did not exit after SIGKILL: %w", c.ID, errdefs.ErrUnavailable)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kill sends a signal to the container's main process.
func (s *Service) Kill(ctx context.Context, ref string, sig syscall.Signal) error {
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	// No early "is it running" check: a start in progress holds c.op,
	// and a signal sent right after the process started (the client saw
	// its first output) must wait for it rather than be refused.
	if st := c.state(); !st.Running() && st.Status != ctypes.StateCreated && st.Status != ctypes.StateExited {
		return fmt.Errorf("cannot kill container: %s: container %s is not running: %w", ref, c.ID, errdefs.ErrConflict)
	}
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM || sig == syscall.SIGINT {
		_ = c.setState(func(st *State) { st.ManualStop = true })
	}
	if err := s.signal(ctx, c, sig, sig == syscall.SIGKILL); err != nil {
		if errdefs.IsConflict(err) {
			return fmt.Errorf("cannot kill container: %s: container %s is not running: %w", ref, c.ID, errdefs.ErrConflict)
		}
		return err
	}
	return nil
}

func (s *Service) signal(ctx context.Context, c *Container, sig syscall.Signal, all bool) error {
	// Serialised with pause and unpause, so that a kill of a container
	// being frozen is delivered (it thaws the container below).
	c.op.Lock()
	defer c.op.Unlock()
	c.mu.RLock()
	sh := c.shim
	paused := c.State.Status == ctypes.StatePaused
	c.mu.RUnlock()
	if sh == nil {
		return fmt.Errorf("container %s is not running: %w", c.ID, errdefs.ErrConflict)
	}
	if err := sh.Kill(ctx, sig, all); err != nil {
		if errdefs.IsNotFound(err) {
			// The process has exited; its exit is not handled yet.
			return fmt.Errorf("container %s is not running: %w", c.ID, errdefs.ErrConflict)
		}
		return err
	}
	s.publish(c, "kill", map[string]string{"signal": strconv.Itoa(int(sig))})
	if paused && sig == syscall.SIGKILL {
		// Thaw so the kill is delivered.
		if err := sh.Resume(ctx); err == nil {
			_ = c.setState(func(st *State) { st.Status = ctypes.StateRunning })
		}
	}
	return nil
}

// ParseSignal accepts a signal name (KILL, SIGKILL) or number.
func ParseSignal(v string) (syscall.Signal, error) { return parseSignal(v) }

func parseSignal(v string) (syscall.Signal, error) {
	sig, err := signal.ParseSignal(v)
	if err != nil {
		return 0, fmt.Errorf("invalid signal: %s: %w", v, errdefs.ErrInvalidArgument)
	}
	if sig == 0 || int(sig) > 64 {
		return 0, fmt.Errorf("invalid signal: %s: %w", v, errdefs.ErrInvalidArgument)
	}
	return sig, nil
}

// Restart stops (if running) and starts the container.
func (s *Service) Restart(ctx context.Context, ref string, opts StopOptions) error {
	if err := s.Stop(ctx, ref, opts); err != nil && !errdefs.IsNotModified(err) {
		return err
	}
	if err := s.Start(ctx, ref); err != nil && !errdefs.IsNotModified(err) {
		return err
	}
	c, err := s.Get(ref)
	if err == nil {
		_ = c.setState(func(st *State) { st.ManualStop = false })
		s.publish(c, "restart", nil)
	}
	return nil
}

// Pause freezes every process of the container.
func (s *Service) Pause(ctx context.Context, ref string) error {
	return s.freeze(ctx, ref, true)
}

// Unpause thaws the container.
func (s *Service) Unpause(ctx context.Context, ref string) error {
	return s.freeze(ctx, ref, false)
}

func (s *Service) freeze(ctx context.Context, ref string, pause bool) error {
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	c.op.Lock()
	defer c.op.Unlock()
	st := c.state()
	switch {
	case !st.Running():
		return fmt.Errorf("container %s is not running: %w", c.ID, errdefs.ErrConflict)
	case pause && st.Status == ctypes.StatePaused:
		return fmt.Errorf("container %s is already paused: %w", c.ID, errdefs.ErrConflict)
	case !pause && st.Status != ctypes.StatePaused:
		return fmt.Errorf("container %s is not paused: %w", c.ID, errdefs.ErrConflict)
	}
	c.mu.RLock()
	sh := c.shim
	c.mu.RUnlock()
	if pause {
		err = sh.Pause(ctx)
	} else {
		err = sh.Resume(ctx)
	}
	if err != nil {
		// The task may have exited before its exit was handled.
		if state, serr := sh.State(ctx); serr == nil {
			switch state.Status {
			case "running", "paused", "pausing":
			default:
				return fmt.Errorf("container %s is not running: %w", c.ID, errdefs.ErrConflict)
			}
		}
		return err
	}
	if err := c.setState(func(st *State) {
		if pause {
			st.Status = ctypes.StatePaused
		} else {
			st.Status = ctypes.StateRunning
		}
	}); err != nil {
		return err
	}
	if pause {
		s.publish(c, "pause", nil)
	} else {
		s.publish(c, "unpause", nil)
	}
	return nil
}

// WaitResult is how a waited-for run ended.
type WaitResult struct {
	ExitCode int
	Error    string
}

// WaitFunc returns a function that blocks until the condition is met; it
// is split so the API can send its headers once the wait is registered.
func (s *Service) WaitFunc(ref string, condition ctypes.WaitCondition) (func(ctx context.Context) (WaitResult, error), error) {
	c, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	r, running, code := c.run, c.State.Running() || c.State.Status == "restarting", c.State.ExitCode
	c.mu.RUnlock()
	switch condition {
	case "", ctypes.WaitConditionNotRunning:
		if !running {
			return func(context.Context) (WaitResult, error) { return WaitResult{ExitCode: code}, nil }, nil
		}
	case ctypes.WaitConditionNextExit:
	case ctypes.WaitConditionRemoved:
		return func(ctx context.Context) (WaitResult, error) {
			// As in Docker, the error of a removal wait is the removal's
			// own, not why the run ended.
			var res WaitResult
			select {
			case <-r.done:
				res = WaitResult{ExitCode: r.exitCode}
			case <-c.gone:
				return WaitResult{ExitCode: c.state().ExitCode}, nil
			case <-ctx.Done():
				return WaitResult{}, ctx.Err()
			}
			select {
			case <-c.gone:
				return res, nil
			case <-ctx.Done():
				return WaitResult{}, ctx.Err()
			}
		}, nil
	default:
		return nil, fmt.Errorf("invalid condition: %q: %w", condition, errdefs.ErrInvalidArgument)
	}
	return func(ctx context.Context) (WaitResult, error) {
		select {
		case <-r.done:
			return WaitResult{ExitCode: r.exitCode, Error: r.err}, nil
		case <-ctx.Done():
			return WaitResult{}, ctx.Err()
		}
	}, nil
}

// removeCgroups removes what runc leaves of a container's cgroup on v1
// hierarchies (pitfall 12), and the v2 directory.
func (s *Service) removeCgroups(id string) {
	rel := filepath.Join(s.cfg.CgroupParent, id)
	for _, root := range cgroupRoots() {
		_ = unix.Rmdir(filepath.Join(root, rel))
	}
}

// oomKills is how many processes the kernel's OOM killer killed in the
// container's cgroup (v1 memory.oom_control, v2 memory.events).
func (s *Service) oomKills(id string) int {
	rel := filepath.Join(s.cfg.CgroupParent, id)
	for _, root := range cgroupRoots() {
		for _, file := range []string{"memory.oom_control", "memory.events"} {
			b, err := os.ReadFile(filepath.Join(root, rel, file))
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
					if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
						return n
					}
				}
			}
		}
	}
	return 0
}

// cgroupRoots lists the mounted cgroup hierarchies. They do not change
// while the daemon runs: read once, not on every exit.
var cgroupRoots = sync.OnceValue(readCgroupRoots)

func readCgroupRoots() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 1 {
			continue
		}
		if qf[0] == "cgroup" || qf[0] == "cgroup2" {
			out = append(out, pf[4])
		}
	}
	return out
}

// CleanupCgroupParent removes the daemon's parent cgroup where empty.
func (s *Service) CleanupCgroupParent() {
	for _, root := range cgroupRoots() {
		_ = unix.Rmdir(filepath.Join(root, s.cfg.CgroupParent))
	}
}

// defaultPath is the PATH a container gets when neither image nor user set one.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// processEnv is the environment of the container's process, as Docker
// builds it: PATH when missing, HOSTNAME, TERM with a TTY, then the
// container's own variables (which win).
func processEnv(cfg *ctypes.Config) []string {
	hostname := cfg.Hostname
	if hostname == "" { // host network: the host's name
		hostname, _ = os.Hostname()
	}
	env := []string{"HOSTNAME=" + hostname}
	if cfg.Tty {
		env = append(env, "TERM=xterm")
	}
	hasPath := false
	for _, kv := range cfg.Env {
		if strings.HasPrefix(kv, "PATH=") {
			hasPath = true
		}
	}
	if !hasPath {
		env = append(env, "PATH="+defaultPath)
	}
	return mergeEnv(env, cfg.Env)
}
