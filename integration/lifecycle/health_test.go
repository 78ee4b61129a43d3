package lifecycle

import (
	"slices"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

func healthIs(s ctypes.HealthStatus) func(ctypes.InspectResponse) bool {
	return func(c ctypes.InspectResponse) bool { return c.State.Health != nil && c.State.Health.Status == s }
}

// A passing check makes the container healthy, which inspect, ps (ours and
// the real docker CLI's) and the health filter show.
func TestHealthy(t *testing.T) {
	t.Parallel()
	id := runD(t, d, "--health-cmd", "echo ok", "--health-interval", "200ms", "busybox", "sleep", "600")
	c := d.Inspect(t, id)
	if c.Config.Healthcheck == nil || !slices.Equal(c.Config.Healthcheck.Test, []string{"CMD-SHELL", "echo ok"}) ||
		c.Config.Healthcheck.Interval != 200*time.Millisecond {
		t.Errorf("Config.Healthcheck %+v, want CMD-SHELL echo ok every 200ms", c.Config.Healthcheck)
	}
	c = waitFor(t, d, id, 10*time.Second, "healthy", healthIs(ctypes.Healthy))
	h := c.State.Health
	if h.FailingStreak != 0 || len(h.Log) == 0 {
		t.Fatalf("health %+v, want no failing streak and a log", h)
	}
	last := h.Log[len(h.Log)-1]
	if last.ExitCode != 0 || last.Output != "ok\n" || last.End.Before(last.Start) || last.Start.IsZero() {
		t.Errorf("last result %+v, want exit 0 with output \"ok\\n\"", last)
	}
	if st := psStatus(t, d, false, id); !strings.HasPrefix(st, "Up ") || !strings.HasSuffix(st, " (healthy)") {
		t.Errorf("pouch ps status %q, want Up ... (healthy)", st)
	}
	if ids := psIDs(t, d, "--filter", "health=healthy"); !slices.Contains(ids, id) {
		t.Errorf("ps --filter health=healthy: %v, want %s in it", ids, id[:12])
	}
	for _, other := range []string{"unhealthy", "starting", "none"} {
		if ids := psIDs(t, d, "--filter", "health="+other); slices.Contains(ids, id) {
			t.Errorf("ps --filter health=%s lists the healthy container", other)
		}
	}
	if st := psStatus(t, d, true, id); !strings.HasSuffix(st, "(healthy)") {
		t.Errorf("docker ps status %q, want ... (healthy)", st)
	}
	if res := d.Docker(t, nil, "inspect", "-f", "{{.State.Health.Status}}", id); strings.TrimSpace(res.Stdout) != "healthy" {
		t.Errorf("docker inspect health: %q (exit %d, %s), want healthy", res.Stdout, res.ExitCode, res.Stderr)
	}
}

// Failures turn the container unhealthy after the retries; inspect keeps
// the failing streak and the last 5 results.
func TestUnhealthyAndLog(t *testing.T) {
	t.Parallel()
	id := runD(t, d, "--health-cmd", "echo bad; exit 1", "--health-interval", "200ms", "--health-retries", "2", "busybox", "sleep", "600")
	c := waitFor(t, d, id, 10*time.Second, "with a failure", func(c ctypes.InspectResponse) bool {
		return c.State.Health != nil && c.State.Health.FailingStreak >= 1
	})
	if h := c.State.Health; h.FailingStreak == 1 && h.Status != ctypes.Starting {
		t.Errorf("after 1 failure of 2 retries: %s, want still starting", h.Status)
	}
	c = waitFor(t, d, id, 10*time.Second, "unhealthy", healthIs(ctypes.Unhealthy))
	if c.State.Health.FailingStreak < 2 {
		t.Errorf("unhealthy with a failing streak of %d, want >= 2 (retries)", c.State.Health.FailingStreak)
	}
	c = waitFor(t, d, id, 10*time.Second, "failing 7 times", func(c ctypes.InspectResponse) bool {
		return c.State.Health.FailingStreak >= 7
	})
	h := c.State.Health
	if len(h.Log) != 5 {
		t.Fatalf("log has %d results after %d failures, want the last 5", len(h.Log), h.FailingStreak)
	}
	for i, r := range h.Log {
		if r.ExitCode != 1 || r.Output != "bad\n" {
			t.Errorf("result %d: %+v, want exit 1 with output \"bad\\n\"", i, r)
		}
		if i > 0 && !r.Start.After(h.Log[i-1].Start) {
			t.Errorf("results not oldest first: %v then %v", h.Log[i-1].Start, r.Start)
		}
	}
	if st := psStatus(t, d, false, id); !strings.HasSuffix(st, " (unhealthy)") {
		t.Errorf("pouch ps status %q, want ... (unhealthy)", st)
	}
	if ids := psIDs(t, d, "--filter", "health=unhealthy"); !slices.Contains(ids, id) {
		t.Errorf("ps --filter health=unhealthy: %v, want %s in it", ids, id[:12])
	}
	if ids := psIDs(t, d, "--filter", "health=healthy"); slices.Contains(ids, id) {
		t.Errorf("ps --filter health=healthy lists the unhealthy container")
	}
	if st := psStatus(t, d, true, id); !strings.HasSuffix(st, "(unhealthy)") {
		t.Errorf("docker ps status %q, want ... (unhealthy)", st)
	}
}

// A container going healthy, unhealthy and healthy again publishes one
// health_status event per change, seen by GET /events, pouch events and
// docker events.
func TestHealthTransitionsAndEvents(t *testing.T) {
	t.Parallel()
	since := time.Now()
	id := runD(t, d, "--health-cmd", "test ! -f /tmp/bad", "--health-interval", "200ms", "--health-retries", "2", "busybox", "sleep", "600")
	waitFor(t, d, id, 10*time.Second, "healthy", healthIs(ctypes.Healthy))
	d.PouchOK(t, "exec", id, "touch", "/tmp/bad")
	c := waitFor(t, d, id, 10*time.Second, "unhealthy", healthIs(ctypes.Unhealthy))
	if c.State.Health.FailingStreak < 2 {
		t.Errorf("unhealthy with streak %d", c.State.Health.FailingStreak)
	}
	d.PouchOK(t, "exec", id, "rm", "/tmp/bad")
	c = waitFor(t, d, id, 10*time.Second, "healthy again", healthIs(ctypes.Healthy))
	if c.State.Health.FailingStreak != 0 {
		t.Errorf("healthy again with streak %d, want 0", c.State.Health.FailingStreak)
	}
	until := time.Now().Add(10 * time.Millisecond)
	time.Sleep(20 * time.Millisecond)

	want := []string{"health_status: healthy", "health_status: unhealthy", "health_status: healthy"}
	if got := actionsOf(containerEvents(t, d, since, id, "health_status")); !slices.Equal(got, want) {
		t.Errorf("GET /events: %q, want %q", got, want)
	}
	args := []string{"events", "--since", stamp(since), "--until", stamp(until), "--filter", "container=" + id, "--filter", "event=health_status"}
	for _, cli := range []string{"pouch", "docker"} {
		var out string
		if cli == "pouch" {
			out = d.PouchOK(t, args...)
		} else {
			res := d.Docker(t, nil, args...)
			if res.ExitCode != 0 {
				t.Errorf("docker %v: exit %d: %s", args, res.ExitCode, res.Combined())
				continue
			}
			out = res.Stdout
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if _, rest, ok := strings.Cut(line, " container health_status: "); ok {
				got = append(got, "health_status: "+strings.Fields(rest)[0])
			} else if line != "" {
				t.Errorf("%s events: unexpected line %q", cli, line)
			}
			if line != "" && !strings.Contains(line, id) {
				t.Errorf("%s events: line %q does not name the container", cli, line)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s events --filter event=health_status: %q, want %q\n%s", cli, got, want, out)
		}
	}
}

// A probe that outlives its timeout fails with exit -1 and Docker's
// message, and is killed.
func TestHealthTimeout(t *testing.T) {
	t.Parallel()
	id := runD(t, d, "--health-cmd", "sleep 7", "--health-interval", "200ms", "--health-timeout", "300ms", "--health-retries", "2", "busybox", "sleep", "600")
	c := waitFor(t, d, id, 10*time.Second, "unhealthy", healthIs(ctypes.Unhealthy))
	h := c.State.Health
	if len(h.Log) < 2 {
		t.Fatalf("log %d results, want >= 2", len(h.Log))
	}
	for i, r := range h.Log {
		if r.ExitCode != -1 || !strings.Contains(r.Output, "Health check exceeded timeout") {
			t.Errorf("result %d: exit %d output %q, want -1 and \"Health check exceeded timeout (300ms)\"", i, r.ExitCode, r.Output)
		}
		if took := r.End.Sub(r.Start); took < 250*time.Millisecond || took > 3*time.Second {
			t.Errorf("result %d took %v, want about the 300ms timeout", i, took)
		}
	}
	// Timed-out probes are killed, not left to pile up: at most the
	// probe in progress is alive.
	waitFor(t, d, id, 10*time.Second, "failing 5 times", func(c ctypes.InspectResponse) bool {
		return c.State.Health.FailingStreak >= 5
	})
	// Timed-out probes are killed, not left to pile up: no probe may
	// live much longer than the timeout (a slow machine gets slack).
	for range 8 {
		for _, p := range processesInCgroupOf(id, "sleep", "7") {
			if age, err := processAge(p); err == nil && age > 2500*time.Millisecond {
				t.Fatalf("probe %d (sleep 7) still running %v after it started, with --health-timeout 300ms", p, age.Round(time.Millisecond))
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Failures during the start period do not count until the first
// success; after it they do, even within the period.
func TestHealthStartPeriod(t *testing.T) {
	t.Parallel()
	id := runD(t, d, "--health-cmd", "test -f /tmp/ok", "--health-interval", "200ms", "--health-retries", "1",
		"--health-start-period", "60s", "busybox", "sleep", "600")
	c := waitFor(t, d, id, 10*time.Second, "failing 4 times", func(c ctypes.InspectResponse) bool {
		return c.State.Health != nil && len(c.State.Health.Log) >= 4
	})
	if h := c.State.Health; h.Status != ctypes.Starting || h.FailingStreak != 0 {
		t.Errorf("after %d failures in the start period: %s streak %d, want starting with no streak", len(h.Log), h.Status, h.FailingStreak)
	}
	for _, r := range c.State.Health.Log {
		if r.ExitCode != 1 {
			t.Errorf("result %+v, want a failure", r)
		}
	}
	d.PouchOK(t, "exec", id, "touch", "/tmp/ok")
	waitFor(t, d, id, 10*time.Second, "healthy", healthIs(ctypes.Healthy))
	d.PouchOK(t, "exec", id, "rm", "/tmp/ok")
	c = waitFor(t, d, id, 10*time.Second, "unhealthy within the start period", healthIs(ctypes.Unhealthy))
	if c.State.Health.FailingStreak < 1 {
		t.Errorf("unhealthy with streak %d", c.State.Health.FailingStreak)
	}
}

// During the start period, while the container is starting, probes run
// at the start interval; once healthy, at the interval (as Docker's
// monitor does).
func TestHealthStartInterval(t *testing.T) {
	t.Parallel()
	id := runD(t, d, "--health-cmd", "test -f /tmp/ok", "--health-interval", "1h", "--health-start-interval", "200ms",
		"--health-start-period", "60s", "busybox", "sleep", "600")
	c := waitFor(t, d, id, 10*time.Second, "probed 3 times at the start interval", func(c ctypes.InspectResponse) bool {
		return c.State.Health != nil && len(c.State.Health.Log) >= 3
	})
	if c.State.Health.Status != ctypes.Starting {
		t.Errorf("health %s, want starting", c.State.Health.Status)
	}
	d.PouchOK(t, "exec", id, "touch", "/tmp/ok")
	c = waitFor(t, d, id, 10*time.Second, "healthy", healthIs(ctypes.Healthy))
	last := c.State.Health.Log[len(c.State.Health.Log)-1].Start
	// Healthy: the next probe is an hour away (Docker: the start interval
	// applies only while the status is starting).
	time.Sleep(1500 * time.Millisecond)
	c = d.Inspect(t, id)
	var later int
	for _, r := range c.State.Health.Log {
		if r.Start.After(last) {
			later++
		}
	}
	if later > 0 {
		t.Errorf("healthy container probed %d times in 1.5s with --health-interval 1h --health-start-interval 200ms; Docker probes at the start interval only while starting", later)
	}
}

// A long interval leaves the container starting, as ps shows.
func TestHealthStarting(t *testing.T) {
	t.Parallel()
	id := runD(t, d, "--health-cmd", "true", "--health-interval", "1h", "busybox", "sleep", "600")
	c := d.Inspect(t, id)
	if h := c.State.Health; h == nil || h.Status != ctypes.Starting || h.FailingStreak != 0 || len(h.Log) != 0 {
		t.Fatalf("health %+v, want starting with an empty log", h)
	}
	if st := psStatus(t, d, false, id); !strings.HasSuffix(st, " (health: starting)") {
		t.Errorf("pouch ps status %q, want ... (health: starting)", st)
	}
	if st := psStatus(t, d, true, id); !strings.HasSuffix(st, "(health: starting)") {
		t.Errorf("docker ps status %q, want ... (health: starting)", st)
	}
	if ids := psIDs(t, d, "--filter", "health=starting"); !slices.Contains(ids, id) {
		t.Errorf("ps --filter health=starting: %v, want %s in it", ids, id[:12])
	}
}

// A container without a check has no Health and matches health=none.
func TestNoHealthcheck(t *testing.T) {
	t.Parallel()
	id := runD(t, d, "busybox", "sleep", "600")
	if h := d.Inspect(t, id).State.Health; h != nil {
		t.Errorf("Health %+v for a container without a check", h)
	}
	if st := psStatus(t, d, false, id); strings.Contains(st, "(") {
		t.Errorf("ps status %q, want no health", st)
	}
	if ids := psIDs(t, d, "--filter", "health=none"); !slices.Contains(ids, id) {
		t.Errorf("ps --filter health=none: %v, want %s in it", ids, id[:12])
	}
}

// An image's HEALTHCHECK applies unless --no-healthcheck disables it;
// --health-* flags override its fields one by one, as Docker merges them.
func TestImageHealthcheck(t *testing.T) {
	t.Parallel()
	image := "lchealth:latest"
	loadImageWithHealthcheck(t, d, image, ctypes.HealthConfig{
		Test: []string{"CMD-SHELL", "echo from-image"}, Interval: 200 * time.Millisecond, Retries: 1,
	})
	if res := d.Pouch(t, nil, "image", "inspect", "-f", "{{json .Config.Healthcheck}}", image); res.ExitCode != 0 || !strings.Contains(res.Stdout, "from-image") {
		t.Logf("image inspect Config.Healthcheck: %q (exit %d, %s)", res.Stdout, res.ExitCode, res.Stderr)
	}

	t.Run("inherited", func(t *testing.T) {
		t.Parallel()
		id := runD(t, d, image, "sleep", "600")
		c := waitFor(t, d, id, 10*time.Second, "healthy", healthIs(ctypes.Healthy))
		if h := c.State.Health; h.Log[len(h.Log)-1].Output != "from-image\n" {
			t.Errorf("last result %+v, want the image's check", h.Log[len(h.Log)-1])
		}
	})
	t.Run("no-healthcheck", func(t *testing.T) {
		t.Parallel()
		id := runD(t, d, "--no-healthcheck", image, "sleep", "600")
		c := d.Inspect(t, id)
		if c.Config.Healthcheck == nil || !slices.Equal(c.Config.Healthcheck.Test, []string{"NONE"}) {
			t.Errorf("Config.Healthcheck %+v, want Test [NONE]", c.Config.Healthcheck)
		}
		holds(t, d, id, time.Second, "without health", func(c ctypes.InspectResponse) bool { return c.State.Health == nil })
		if st := psStatus(t, d, false, id); strings.Contains(st, "(") {
			t.Errorf("ps status %q, want no health", st)
		}
		if ids := psIDs(t, d, "--filter", "health=none"); !slices.Contains(ids, id) {
			t.Errorf("ps --filter health=none: %v, want %s in it", ids, id[:12])
		}
	})
	t.Run("override cmd", func(t *testing.T) {
		t.Parallel()
		// The test is the user's; interval and retries still the image's.
		id := runD(t, d, "--health-cmd", "echo mine; exit 1", image, "sleep", "600")
		c := d.Inspect(t, id)
		if h := c.Config.Healthcheck; h == nil || !slices.Equal(h.Test, []string{"CMD-SHELL", "echo mine; exit 1"}) ||
			h.Interval != 200*time.Millisecond || h.Retries != 1 {
			t.Fatalf("Config.Healthcheck %+v, want the user's test with the image's interval (200ms) and retries (1), as Docker merges them", h)
		}
		c = waitFor(t, d, id, 10*time.Second, "unhealthy", healthIs(ctypes.Unhealthy))
		if out := c.State.Health.Log[0].Output; out != "mine\n" {
			t.Errorf("result output %q, want the user's check", out)
		}
	})
	t.Run("override interval", func(t *testing.T) {
		t.Parallel()
		id := runD(t, d, "--health-interval", "1h", image, "sleep", "600")
		c := d.Inspect(t, id)
		if h := c.Config.Healthcheck; h == nil || !slices.Equal(h.Test, []string{"CMD-SHELL", "echo from-image"}) || h.Interval != time.Hour {
			t.Errorf("Config.Healthcheck %+v, want the image's test every hour", h)
		}
		holds(t, d, id, time.Second, "starting", healthIs(ctypes.Starting))
	})
	t.Run("conflict", func(t *testing.T) {
		t.Parallel()
		for _, cli := range []string{"pouch", "docker"} {
			args := []string{"create", "--no-healthcheck", "--health-cmd", "true", image}
			var res testenv.Result
			if cli == "docker" {
				res = d.Docker(t, nil, args...)
			} else {
				res = d.Pouch(t, nil, args...)
			}
			if res.ExitCode == 0 {
				id := strings.TrimSpace(res.Stdout)
				d.Do(t, "DELETE", "/containers/"+id+"?force=1", nil)
				t.Errorf("%s create --no-healthcheck --health-cmd: exit 0, want a conflict", cli)
			}
		}
	})
}
