package container

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/log"
	ctypes "github.com/moby/moby/api/types/container"
)

// Docker's health check defaults and limits.
const (
	healthDefaultInterval      = 30 * time.Second
	healthDefaultTimeout       = 30 * time.Second
	healthDefaultStartInterval = 5 * time.Second
	healthDefaultRetries       = 3
	healthMaxLog               = 5    // results kept in inspect
	healthMaxOutput            = 4096 // bytes of a probe's output kept
)

// healthConfig is the container's effective health check, nil for none.
func healthConfig(cfg *ctypes.Config) *ctypes.HealthConfig {
	h := cfg.Healthcheck
	if h == nil || len(h.Test) == 0 || h.Test[0] == "NONE" {
		return nil
	}
	out := *h
	if out.Interval == 0 {
		out.Interval = healthDefaultInterval
	}
	if out.Timeout == 0 {
		out.Timeout = healthDefaultTimeout
	}
	if out.StartInterval == 0 {
		out.StartInterval = healthDefaultStartInterval
	}
	if out.Retries == 0 {
		out.Retries = healthDefaultRetries
	}
	return &out
}

// mergeHealthcheck merges the request's health check with the image's
// field by field, as Docker does: what the request sets wins, the rest is
// the image's.
func mergeHealthcheck(req, img *ctypes.HealthConfig) *ctypes.HealthConfig {
	if req == nil {
		return img
	}
	if img == nil || (len(req.Test) > 0 && req.Test[0] == "NONE") {
		return req
	}
	out := *img
	if len(req.Test) > 0 {
		out.Test = req.Test
	}
	if req.Interval != 0 {
		out.Interval = req.Interval
	}
	if req.Timeout != 0 {
		out.Timeout = req.Timeout
	}
	if req.StartPeriod != 0 {
		out.StartPeriod = req.StartPeriod
	}
	if req.StartInterval != 0 {
		out.StartInterval = req.StartInterval
	}
	if req.Retries != 0 {
		out.Retries = req.Retries
	}
	return &out
}

// validateHealthcheck refuses timings Docker refuses.
func validateHealthcheck(h *ctypes.HealthConfig) error {
	if h == nil {
		return nil
	}
	const minimum = time.Millisecond
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Interval", h.Interval}, {"Timeout", h.Timeout}, {"StartPeriod", h.StartPeriod}, {"StartInterval", h.StartInterval}} {
		if d.v != 0 && d.v < minimum {
			return invalidArg("%s in Healthcheck cannot be less than %s", d.name, minimum)
		}
	}
	if h.Retries < 0 {
		return invalidArg("Retries in Healthcheck cannot be negative")
	}
	if len(h.Test) > 0 {
		switch h.Test[0] {
		case "NONE", "CMD", "CMD-SHELL":
		default:
			return invalidArg("unknown type %q in Healthcheck test: want CMD, CMD-SHELL or NONE", h.Test[0])
		}
		if h.Test[0] != "NONE" && len(h.Test) < 2 {
			return invalidArg("Healthcheck test %s needs a command", h.Test[0])
		}
	}
	return nil
}

// monitorHealth probes a running container until run r ends. The health
// state starts as "starting" and is persisted with the container.
func (s *Service) monitorHealth(c *Container, r *run) {
	h := healthConfig(c.Config)
	if h == nil {
		return
	}
	started := c.state().StartedAt
	_ = c.setState(func(st *State) {
		if st.Health == nil || st.Health.Status == "" {
			st.Health = &ctypes.Health{Status: ctypes.Starting, Log: []*ctypes.HealthcheckResult{}}
		}
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			wait := h.Interval
			if time.Since(started) < h.StartPeriod && c.healthStarting() {
				// As Docker: the start interval only until the first
				// success (or the end of the start period).
				wait = min(h.StartInterval, h.Interval)
			}
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-r.done:
				timer.Stop()
				return
			case <-s.stopping:
				timer.Stop()
				return
			}
			res := s.probe(c, h)
			select {
			case <-r.done:
				return // the result of a dying container says nothing
			default:
			}
			s.recordHealth(c, h, res, time.Since(started) < h.StartPeriod)
		}
	}()
}

// healthStarting reports whether the health status is still "starting".
func (c *Container) healthStarting() bool {
	st := c.state()
	return st.Health == nil || st.Health.Status == ctypes.Starting
}

// probe runs the health check command once.
func (s *Service) probe(c *Container, h *ctypes.HealthConfig) *ctypes.HealthcheckResult {
	res := &ctypes.HealthcheckResult{Start: time.Now().UTC()}
	cmd := h.Test[1:]
	if h.Test[0] == "CMD-SHELL" {
		cmd = []string{"/bin/sh", "-c", h.Test[1]}
	}
	e := &Exec{ID: newID(), ContainerID: c.ID, done: make(chan struct{}), Config: ctypes.ExecCreateRequest{
		Cmd: cmd, AttachStdout: true, AttachStderr: true,
	}}
	var out limitedBuffer
	out.limit = healthMaxOutput
	ctx, cancel := context.WithTimeout(s.background(), h.Timeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- s.runExec(s.background(), e, false, nil, ExecStreams{Stdout: &out, Stderr: &out})
	}()
	select {
	case err := <-errc:
		res.End = time.Now().UTC()
		v := e.View()
		switch {
		case err != nil:
			res.ExitCode, res.Output = -1, err.Error()
		case v.ExitCode != nil:
			res.ExitCode, res.Output = *v.ExitCode, out.String()
		default:
			res.ExitCode = -1
		}
	case <-ctx.Done():
		e.mu.Lock()
		sh := e.shim
		e.killOnStart = true // if it has not started yet, it is killed as it does
		e.mu.Unlock()
		if sh != nil {
			_ = sh.KillExec(s.background(), e.ID, syscall.SIGKILL)
		}
		res.End = time.Now().UTC()
		res.ExitCode = -1
		res.Output = fmt.Sprintf("Health check exceeded timeout (%v)", h.Timeout)
	}
	return res
}

// recordHealth folds a probe's result into the container's health.
func (s *Service) recordHealth(c *Container, h *ctypes.HealthConfig, res *ctypes.HealthcheckResult, inStartPeriod bool) {
	var before, after ctypes.HealthStatus
	_ = c.setState(func(st *State) {
		// A new value, not a change in place: views share the pointer.
		hs := &ctypes.Health{Status: ctypes.Starting}
		if st.Health != nil {
			*hs = *st.Health
			hs.Log = slices.Clone(st.Health.Log)
		}
		st.Health = hs
		before = hs.Status
		hs.Log = append(hs.Log, res)
		if len(hs.Log) > healthMaxLog {
			hs.Log = hs.Log[len(hs.Log)-healthMaxLog:]
		}
		if res.ExitCode == 0 {
			hs.Status, hs.FailingStreak = ctypes.Healthy, 0
		} else if !(inStartPeriod && hs.Status == ctypes.Starting) {
			// Failures in the start period do not count until the
			// first success.
			hs.FailingStreak++
			if hs.FailingStreak >= h.Retries {
				hs.Status = ctypes.Unhealthy
			}
		}
		after = hs.Status
	})
	if before != after {
		log.L.WithField("container", c.ID).WithField("health", after).Debug("health status changed")
		s.publish(c, "health_status: "+string(after), nil)
	}
}

// limitedBuffer keeps the first limit bytes written to it.
type limitedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
