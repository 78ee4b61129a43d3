package container

import (
	"context"
	"time"

	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"
)

// Docker's restart back-off: 100 ms, doubled after every restart up to a
// minute, back to 100 ms once a run lasted 10 seconds.
const (
	restartBackoffMin   = 100 * time.Millisecond
	restartBackoffMax   = time.Minute
	restartBackoffReset = 10 * time.Second
)

// restarter is the pending restart of a container, in memory.
type restarter struct {
	backoff time.Duration
	cancel  chan struct{} // non-nil while a restart is scheduled
}

// shouldRestart applies the container's restart policy to an exit.
// Callers hold c.op.
func shouldRestart(c *Container, exitCode int, manualStop bool) bool {
	if manualStop || c.HostConfig.AutoRemove {
		return false
	}
	p := c.HostConfig.RestartPolicy
	switch p.Name {
	case ctypes.RestartPolicyAlways, ctypes.RestartPolicyUnlessStopped:
		return true
	case ctypes.RestartPolicyOnFailure:
		if exitCode == 0 {
			return false
		}
		c.mu.RLock()
		count := c.RestartCount
		c.mu.RUnlock()
		return p.MaximumRetryCount == 0 || count < p.MaximumRetryCount
	}
	return false
}

// scheduleRestart restarts the container after the back-off. ran is how
// long the run that ended lasted. Callers hold c.op.
func (s *Service) scheduleRestart(c *Container, ran time.Duration) {
	c.mu.Lock()
	r := &c.restart
	switch {
	case r.backoff == 0 || ran >= restartBackoffReset:
		r.backoff = restartBackoffMin
	default:
		r.backoff = min(r.backoff*2, restartBackoffMax)
	}
	delay := r.backoff
	if r.cancel != nil {
		close(r.cancel)
	}
	cancel := make(chan struct{})
	r.cancel = cancel
	c.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-cancel:
			return
		case <-s.stopping:
			return
		}
		// Not before the daemon's start-up cleanup is done: it removes
		// the network namespaces of containers that are not running.
		select {
		case <-s.restored:
		case <-cancel:
			return
		case <-s.stopping:
			return
		}
		s.restartNow(c, cancel)
	}()
}

// cancelRestart drops a scheduled restart; it reports whether there was
// one. Callers hold c.op.
func (c *Container) cancelRestart() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.restart.cancel == nil {
		return false
	}
	close(c.restart.cancel)
	c.restart.cancel = nil
	return true
}

// stopPendingRestart cancels a restart the policy scheduled and marks the
// container exited. It reports false when the container is no longer
// waiting (the restart already started it): the caller stops it as a
// running container.
func (c *Container) stopPendingRestart(manual bool) bool {
	c.op.Lock()
	defer c.op.Unlock()
	if c.state().Status != ctypes.StateRestarting {
		return false
	}
	c.cancelRestart()
	_ = c.setState(func(st *State) {
		st.Status = ctypes.StateExited
		st.ManualStop = st.ManualStop || manual
	})
	return true
}

// restartNow starts the container again for its policy, unless the
// restart was cancelled meanwhile.
func (s *Service) restartNow(c *Container, token chan struct{}) {
	ctx := s.background()
	c.op.Lock()
	defer c.op.Unlock()
	c.mu.Lock()
	if c.restart.cancel != token {
		c.mu.Unlock()
		return // cancelled, or superseded
	}
	c.restart.cancel = nil
	if c.State.Running() {
		c.mu.Unlock()
		return // started meanwhile (by the user)
	}
	c.RestartCount++
	_ = c.save()
	c.mu.Unlock()
	select {
	case <-c.gone:
		return
	default:
	}
	s.publish(c, "restart", nil)
	if err := s.start(ctx, c); err != nil {
		log.G(ctx).WithError(err).WithField("container", c.ID).Warn("restarting container")
		msg, code := err.Error(), exitStartFailed
		if se, ok := err.(*startError); ok {
			msg, code = se.msg, se.exitCode
		}
		restart := shouldRestart(c, code, c.state().ManualStop)
		_ = c.setState(func(st *State) {
			st.Error, st.ExitCode, st.FinishedAt = msg, code, time.Now().UTC()
			st.Status = ctypes.StateExited
			if restart {
				st.Status = ctypes.StateRestarting
			}
		})
		c.endRun(code, msg)
		if restart {
			s.scheduleRestart(c, 0)
		}
	}
}

// restartOnBoot starts, at daemon start, the containers whose policy
// asks for it: always (even after a manual stop, as Docker), and
// unless-stopped unless stopped by the user; a restart that was pending
// when the daemon stopped is carried out.
func (s *Service) restartOnBoot(ctx context.Context) {
	for _, c := range s.All() {
		st := c.state()
		if st.Running() {
			continue
		}
		p := c.HostConfig.RestartPolicy
		pending := st.Status == ctypes.StateRestarting
		switch {
		case pending:
		case st.StartedAt.IsZero() || c.HostConfig.AutoRemove:
			continue
		case p.Name == ctypes.RestartPolicyAlways:
		case p.Name == ctypes.RestartPolicyUnlessStopped && !st.ManualStop:
		default:
			continue
		}
		c.op.Lock()
		if now := c.state(); now.Running() || now.Status != st.Status {
			// A restart the exit handling scheduled got there first.
			c.op.Unlock()
			continue
		}
		log.G(ctx).WithField("container", c.ID).Info("starting container for its restart policy")
		if pending && !shouldRestart(c, st.ExitCode, st.ManualStop) {
			_ = c.setState(func(st *State) { st.Status = ctypes.StateExited })
		} else {
			s.scheduleRestart(c, restartBackoffReset)
		}
		c.op.Unlock()
	}
}
