package lifecycle

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// on-failure:N restarts a failing container N times, then leaves it
// exited with its last exit code and RestartCount N.
func TestOnFailureStopsAfterMaxRetries(t *testing.T) {
	t.Parallel()
	since := time.Now()
	id := runD(t, d, "--restart", "on-failure:3", "busybox", "sh", "-c", "exit 3")
	c := waitFor(t, d, id, 15*time.Second, "exited", isStatus(ctypes.StateExited))
	if c.RestartCount != 3 || c.State.ExitCode != 3 {
		t.Fatalf("after the retries: %s, want exited with code 3 and RestartCount 3", brief(c))
	}
	if c.HostConfig.RestartPolicy.Name != ctypes.RestartPolicyOnFailure || c.HostConfig.RestartPolicy.MaximumRetryCount != 3 {
		t.Errorf("RestartPolicy %+v, want on-failure with 3 retries", c.HostConfig.RestartPolicy)
	}
	// The next back-off would be 800ms: nothing may happen in 1.5s.
	holds(t, d, id, 1500*time.Millisecond, "exited with 3 restarts", func(c ctypes.InspectResponse) bool {
		return c.State.Status == ctypes.StateExited && c.RestartCount == 3
	})
	evs := containerEvents(t, d, since, id, "start", "die")
	want := []string{"start", "die(3)", "start", "die(3)", "start", "die(3)", "start", "die(3)"}
	if got := actionsOf(evs); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// on-failure does not restart a container that exited 0.
func TestOnFailureNoRestartAfterSuccess(t *testing.T) {
	t.Parallel()
	id := runD(t, d, "--restart", "on-failure", "busybox", "sh", "-c", "sleep 0.2; exit 0")
	c := waitFor(t, d, id, 10*time.Second, "exited", isStatus(ctypes.StateExited))
	if c.State.ExitCode != 0 || c.RestartCount != 0 {
		t.Fatalf("%s, want exit 0 and no restart", brief(c))
	}
	holds(t, d, id, 1500*time.Millisecond, "exited, not restarted", func(x ctypes.InspectResponse) bool {
		return x.State.Status == ctypes.StateExited && x.RestartCount == 0 && x.State.StartedAt == c.State.StartedAt
	})
}

// always restarts a container that exited 0.
func TestAlwaysRestartsAfterCleanExit(t *testing.T) {
	t.Parallel()
	since := time.Now()
	id := runD(t, d, "--restart", "always", "busybox", "sh", "-c", failThen(2, 0))
	c := waitFor(t, d, id, 10*time.Second, "running after 2 restarts", func(c ctypes.InspectResponse) bool {
		return c.State.Status == ctypes.StateRunning && c.RestartCount == 2
	})
	if c.State.Pid == 0 {
		t.Errorf("running without a pid: %s", brief(c))
	}
	evs := containerEvents(t, d, since, id, "start", "die")
	want := []string{"start", "die(0)", "start", "die(0)", "start"}
	if got := actionsOf(evs); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// always restarts a container whose process was killed from the host: a
// new process each time, and RestartCount counts them.
func TestAlwaysRestartsAfterHostKill(t *testing.T) {
	t.Parallel()
	id := runD(t, d, "--restart", "always", "busybox", "sleep", "600")
	c := waitFor(t, d, id, 10*time.Second, "running", isStatus(ctypes.StateRunning))
	for i := 1; i <= 2; i++ {
		old := c.State.Pid
		hostKill(t, old)
		c = waitFor(t, d, id, 10*time.Second, "restarted", restartedFrom(old, i))
		if c.RestartCount != i {
			t.Fatalf("after kill %d: %s, want RestartCount %d", i, brief(c), i)
		}
		if !testenv.Alive(c.State.Pid) {
			t.Fatalf("after kill %d: new pid %d is not alive", i, c.State.Pid)
		}
	}
}

// The back-off between restarts doubles from 100ms. Measured twice: from
// each die event to the next restart event (never shorter than the
// back-off, but stretched by the run's teardown on a loaded machine), and
// as the time the container's bundle is absent between two runs (the
// back-off alone, as closely as polling sees it).
func TestRestartBackoffGrows(t *testing.T) {
	t.Parallel()
	since := time.Now()
	// Five failing runs (the first one long enough for the watch below to
	// begin), then one that stays up.
	id := runD(t, d, "--restart", "always", "busybox", "sh", "-c",
		`n=$(cat /runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > /runs; [ $n -gt 5 ] && exec sleep 600; [ $n = 1 ] && sleep 1; exit 1`)
	absent := bundleAbsences(t, d, id, 5, 30*time.Second)
	t.Logf("bundle absent between runs: %v", absent)
	waitFor(t, d, id, 10*time.Second, "running after 5 restarts", func(c ctypes.InspectResponse) bool {
		return c.State.Status == ctypes.StateRunning && c.RestartCount == 5
	})
	evs := containerEvents(t, d, since, id, "die", "restart")
	var gaps []time.Duration
	var died int64
	for _, e := range evs {
		switch e.Action {
		case events.ActionDie:
			died = e.TimeNano
		case events.ActionRestart:
			if died != 0 {
				gaps = append(gaps, time.Duration(e.TimeNano-died))
			}
		}
	}
	t.Logf("from die to the next restart event: %v", gaps)
	if len(gaps) != 5 {
		t.Fatalf("%d die→restart gaps in events %q, want 5", len(gaps), actionsOf(evs))
	}
	for i := range 5 {
		nominal := 100 * time.Millisecond << i
		// The timer cannot fire early.
		if gaps[i] < nominal*9/10 {
			t.Errorf("restart %d came %v after the exit, before the back-off of %v", i+1, gaps[i], nominal)
		}
		// Polling may see the bundle go late or come back late.
		if absent[i] < nominal/2 || absent[i] > nominal+1500*time.Millisecond {
			t.Errorf("between runs %d and %d the bundle was absent %v, want about the back-off of %v", i+1, i+2, absent[i], nominal)
		}
	}
	if absent[4] < absent[0]+time.Second || absent[3] <= absent[1] {
		t.Errorf("back-off did not grow: absences %v", absent)
	}
}

// bundleAbsences polls the container's bundle directory, which exists
// from the start of a run to the end of its teardown, and returns how
// long it was absent between consecutive runs, n times.
func bundleAbsences(t *testing.T, dm *testenv.Daemon, id string, n int, limit time.Duration) []time.Duration {
	t.Helper()
	bundle := filepath.Join(dm.ExecRoot, "c", id)
	var out []time.Duration
	var gone time.Time
	deadline := time.Now().Add(limit)
	for len(out) < n {
		now := time.Now()
		if now.After(deadline) {
			t.Fatalf("bundle absences seen: %v, want %d", out, n)
		}
		_, err := os.Stat(bundle)
		switch {
		case err == nil && !gone.IsZero():
			out = append(out, now.Sub(gone))
			gone = time.Time{}
		case os.IsNotExist(err) && gone.IsZero():
			gone = now
		}
		time.Sleep(5 * time.Millisecond)
	}
	return out
}

// A user's stop suppresses the policy, whether the container was running
// or waiting to be restarted; start resumes it and resets RestartCount.
func TestStopSuppressesRestart(t *testing.T) {
	t.Parallel()
	t.Run("running", func(t *testing.T) {
		t.Parallel()
		id := runD(t, d, "--restart", "always", "busybox", "sleep", "600")
		waitFor(t, d, id, 10*time.Second, "running", isStatus(ctypes.StateRunning))
		d.PouchOK(t, "stop", "-t", "0", id)
		holds(t, d, id, 2*time.Second, "exited", func(c ctypes.InspectResponse) bool {
			return c.State.Status == ctypes.StateExited && c.RestartCount == 0
		})
		d.PouchOK(t, "start", id)
		c := waitFor(t, d, id, 10*time.Second, "running", isStatus(ctypes.StateRunning))
		// The policy is back: a crash restarts it.
		hostKill(t, c.State.Pid)
		waitFor(t, d, id, 10*time.Second, "restarted after start", restartedFrom(c.State.Pid, 1))
	})
	t.Run("restarting", func(t *testing.T) {
		t.Parallel()
		// Runs 1-5 fail; after the 5th the back-off is 1.6s, long
		// enough to stop the container while it waits.
		since := time.Now()
		id := runD(t, d, "--restart", "always", "busybox", "sh", "-c", failThen(5, 1))
		waitRestartWindow(t, d, id, since, 4)
		if st := psStatus(t, d, false, id); !strings.HasPrefix(st, "Restarting (1)") {
			t.Errorf("ps status %q, want Restarting (1) ...", st)
		}
		d.PouchOK(t, "stop", id)
		c := d.Inspect(t, id)
		if c.State.Status != ctypes.StateExited || c.State.Restarting {
			t.Fatalf("after stop: %s, want exited", brief(c))
		}
		holds(t, d, id, 2500*time.Millisecond, "exited with 4 restarts", func(c ctypes.InspectResponse) bool {
			return c.State.Status == ctypes.StateExited && c.RestartCount == 4
		})
		d.PouchOK(t, "start", id)
		// The 6th run sleeps: the count starts again from 0.
		c = waitFor(t, d, id, 10*time.Second, "running", isStatus(ctypes.StateRunning))
		if c.RestartCount != 0 {
			t.Errorf("after start: %s, want RestartCount reset to 0", brief(c))
		}
		holds(t, d, id, 500*time.Millisecond, "running with RestartCount 0", func(c ctypes.InspectResponse) bool {
			return c.State.Status == ctypes.StateRunning && c.RestartCount == 0
		})
	})
}

// A user's kill suppresses the policy too.
func TestKillSuppressesRestart(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"always", "on-failure", "unless-stopped"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			id := runD(t, d, "--restart", policy, "busybox", "sleep", "600")
			waitFor(t, d, id, 10*time.Second, "running", isStatus(ctypes.StateRunning))
			d.PouchOK(t, "kill", id)
			c := waitFor(t, d, id, 10*time.Second, "exited", isStatus(ctypes.StateExited))
			if c.State.ExitCode != 137 {
				t.Errorf("after kill: %s, want exit 137", brief(c))
			}
			holds(t, d, id, 2*time.Second, "exited, not restarted", func(c ctypes.InspectResponse) bool {
				return c.State.Status == ctypes.StateExited && c.RestartCount == 0
			})
		})
	}
}

// A signal that does not stop the container is no user stop: the
// policy still applies when the process dies of it.
func TestKillWithOtherSignalKeepsPolicy(t *testing.T) {
	t.Parallel()
	// sh as PID 1 has no handler for USR1 and ignores it; the trap makes
	// it exit.
	id := runD(t, d, "--restart", "always", "busybox", "sh", "-c", `trap "exit 5" USR1; echo ready; while true; do sleep 0.1; done`)
	c := waitFor(t, d, id, 10*time.Second, "running", isStatus(ctypes.StateRunning))
	waitFor(t, d, id, 10*time.Second, "ready", func(ctypes.InspectResponse) bool {
		r := d.Do(t, "GET", "/containers/"+id+"/logs?stdout=1", nil)
		return strings.Contains(string(r.Body), "ready")
	})
	d.PouchOK(t, "kill", "-s", "USR1", id)
	waitFor(t, d, id, 10*time.Second, "restarted", restartedFrom(c.State.Pid, 1))
}

// rm refuses a restarting container without force (409) and removes it
// with force.
func TestRemoveRestartingContainer(t *testing.T) {
	t.Parallel()
	since := time.Now()
	id := runD(t, d, "--restart", "always", "busybox", "sh", "-c", failThen(5, 1))
	// After the 5th exit the container waits 1.6s.
	waitRestartWindow(t, d, id, since, 4)
	r := d.Do(t, "DELETE", "/containers/"+id, nil)
	if r.Status != http.StatusConflict {
		t.Fatalf("DELETE restarting container: %d %s, want 409", r.Status, r.Body)
	}
	if r.Message() == "" {
		t.Errorf("409 without a message: %s", r.Body)
	}
	if res := d.Pouch(t, nil, "rm", id); res.ExitCode == 0 {
		t.Errorf("pouch rm of a restarting container exited 0: %s", res.Combined())
	}
	if c := d.Inspect(t, id); c.State.Status != ctypes.StateRestarting || c.RestartCount != 4 {
		t.Fatalf("took longer than the back-off: %s", brief(c))
	}
	d.PouchOK(t, "rm", "-f", id)
	if r := d.Do(t, "GET", "/containers/"+id+"/json", nil); r.Status != http.StatusNotFound {
		t.Fatalf("inspect after rm -f: %d %s, want 404", r.Status, r.Body)
	}
	// The pending restart was dropped: nothing comes back.
	time.Sleep(2 * time.Second)
	if r := d.Do(t, "GET", "/containers/"+id+"/json", nil); r.Status != http.StatusNotFound {
		t.Fatalf("inspect 2s after rm -f: %d %s, want 404", r.Status, r.Body)
	}
	for _, pid := range testenv.ProcessesMentioning(id) {
		t.Errorf("process %d (%s) of the removed container left", pid, cmdline(pid))
	}
}

// A stop or rm -f that comes while the policy is starting the container
// again (right after its restart event) wins: the container ends up
// stopped or removed, with no process left running.
func TestUserActionDuringRestartStart(t *testing.T) {
	t.Parallel()
	for _, action := range []string{"stop", "rm -f"} {
		t.Run(action, func(t *testing.T) {
			t.Parallel()
			// The first run fails; the restarted one sleeps.
			id := runD(t, d, "--restart", "always", "busybox", "sh", "-c", `[ -f /ran ] && exec sleep 600; touch /ran; sleep 0.3; exit 1`)
			awaitEvent(t, d, id, "restart")
			var r testenv.Response
			if action == "stop" {
				r = d.Do(t, "POST", "/containers/"+id+"/stop?t=0", nil)
			} else {
				r = d.Do(t, "DELETE", "/containers/"+id+"?force=1", nil)
			}
			if r.Status != http.StatusNoContent {
				t.Fatalf("%s during the restart: %d %s", action, r.Status, r.Body)
			}
			time.Sleep(500 * time.Millisecond)
			if action == "stop" {
				c := holds(t, d, id, time.Second, "exited", isStatus(ctypes.StateExited))
				if p := processesInCgroupOf(id, "sleep", "600"); len(p) > 0 {
					t.Errorf("stop answered 204 and inspect says %s, but the restarted process %v still runs", brief(c), p)
				}
			} else {
				if r := d.Do(t, "GET", "/containers/"+id+"/json", nil); r.Status != http.StatusNotFound {
					t.Errorf("inspect after rm -f: %d, want 404", r.Status)
				}
				for _, pid := range testenv.ProcessesMentioning(id) {
					t.Errorf("process %d (%s) of the removed container left", pid, cmdline(pid))
				}
				if p := processesInCgroupOf(id, "sleep", "600"); len(p) > 0 {
					t.Errorf("the removed container's restarted process %v still runs", p)
				}
			}
		})
	}
}

// `pouch update --restart` changes the policy of an existing container.
func TestUpdateRestartPolicy(t *testing.T) {
	t.Parallel()
	t.Run("no stays down", func(t *testing.T) {
		t.Parallel()
		id := runD(t, d, "busybox", "sleep", "600")
		c := waitFor(t, d, id, 10*time.Second, "running", isStatus(ctypes.StateRunning))
		hostKill(t, c.State.Pid)
		waitFor(t, d, id, 10*time.Second, "exited", isStatus(ctypes.StateExited))
		holds(t, d, id, time.Second, "exited", func(c ctypes.InspectResponse) bool {
			return c.State.Status == ctypes.StateExited && c.State.ExitCode == 137 && c.RestartCount == 0
		})
	})
	t.Run("no to always", func(t *testing.T) {
		t.Parallel()
		id := runD(t, d, "busybox", "sleep", "600")
		c := waitFor(t, d, id, 10*time.Second, "running", isStatus(ctypes.StateRunning))
		d.PouchOK(t, "update", "--restart", "always", id)
		if p := d.Inspect(t, id).HostConfig.RestartPolicy; p.Name != ctypes.RestartPolicyAlways {
			t.Fatalf("RestartPolicy after update: %+v, want always", p)
		}
		hostKill(t, c.State.Pid)
		c = waitFor(t, d, id, 10*time.Second, "restarted", restartedFrom(c.State.Pid, 1))

		// And back to no: the next crash is final.
		d.PouchOK(t, "update", "--restart", "no", id)
		if p := d.Inspect(t, id).HostConfig.RestartPolicy; p.Name != ctypes.RestartPolicyDisabled {
			t.Fatalf("RestartPolicy after update: %+v, want no", p)
		}
		hostKill(t, c.State.Pid)
		waitFor(t, d, id, 10*time.Second, "exited", isStatus(ctypes.StateExited))
		holds(t, d, id, time.Second, "exited", isStatus(ctypes.StateExited))
	})
}

// A container whose shim dies (with its process) counts as exited (the
// shim's delete action reports how: 137 for the SIGKILL here, 255 when it
// cannot tell) and follows its policy.
func TestShimDeathIsAnExit(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"no", "always"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			since := time.Now()
			id := runD(t, d, "--restart", policy, "busybox", "sleep", "600")
			c := waitFor(t, d, id, 10*time.Second, "running", isStatus(ctypes.StateRunning))
			shim := testenv.ParentPid(c.State.Pid)
			if shim <= 1 || !strings.Contains(cmdline(shim), id) {
				t.Fatalf("parent %d of the container (%s) is not its shim", shim, cmdline(shim))
			}
			_ = syscall.Kill(shim, syscall.SIGKILL)
			hostKill(t, c.State.Pid)
			if policy == "no" {
				c = waitFor(t, d, id, 10*time.Second, "exited", isStatus(ctypes.StateExited))
				if c.State.ExitCode != 137 && c.State.ExitCode != 255 {
					t.Errorf("after the shim died: %s, want exit 137 (or 255)", brief(c))
				}
			} else {
				waitFor(t, d, id, 5*time.Second, "restarted", restartedFrom(c.State.Pid, 1))
			}
			evs := containerEvents(t, d, since, id, "die")
			if got := actionsOf(evs); !slices.Equal(got, []string{"die(137)"}) && !slices.Equal(got, []string{"die(255)"}) {
				t.Errorf("die events %q, want one die (137 or 255)", got)
			}
		})
	}
}
