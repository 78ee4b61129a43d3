package lifecycle

import (
	"strings"
	"syscall"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// The tests here stop and crash daemons of their own (one per test, so
// they run in parallel with each other and with the tests sharing d);
// their subtests run one after another.

// TestDaemonRestartPolicies: what each policy does across a daemon stop
// or crash, a restart pending at the crash, health checks after it.
func TestDaemonRestartPolicies(t *testing.T) {
	t.Parallel()
	dm := ownDaemon(t)
	for _, down := range downs(dm) {
		t.Run("policies after "+down.name, func(t *testing.T) { testPoliciesAcrossRestart(t, dm, down.do) })
	}
	t.Run("pending restart", func(t *testing.T) { testPendingRestart(t, dm) })
	t.Run("health resumes", func(t *testing.T) { testHealthResumes(t, dm) })
}

// TestDaemonDownDuringExitTeardown: the daemon goes away while an exit
// is being torn down.
func TestDaemonDownDuringExitTeardown(t *testing.T) {
	t.Parallel()
	dm := ownDaemon(t)
	for _, down := range downs(dm) {
		t.Run(down.name, func(t *testing.T) { testDownDuringExitTeardown(t, dm, down.do) })
	}
}

// TestKilledWhileDaemonDown: containers die while the daemon is away.
func TestKilledWhileDaemonDown(t *testing.T) {
	t.Parallel()
	testKilledWhileDown(t, ownDaemon(t))
}

// ownDaemon starts a daemon for the test alone, with the test images.
func ownDaemon(t *testing.T) *testenv.Daemon {
	dm := testenv.StartDaemon(t, nil)
	// The daemon's Cleanup would do this too; done here (registered after
	// it, so run before it), a daemon that does not stop on SIGTERM is
	// seen (and waited for 8s, not 20).
	t.Cleanup(func() {
		if !up(dm) {
			return
		}
		removeAll(t, dm)
		pid := dm.Pid()
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(8 * time.Second)
		for testenv.Alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if testenv.Alive(pid) {
			t.Errorf("pouchd did not exit within 8s of SIGTERM (every container removed); its log since:\n%s", tail(withoutDebug(dm.Log()), 20))
		}
		dm.Kill() // reaps it, or kills it
	})
	return dm
}

type downWay struct {
	name string
	do   func(*testing.T)
}

// downs are the ways a daemon goes away: stopped (SIGTERM) or crashed.
func downs(dm *testenv.Daemon) []downWay {
	return []downWay{
		{"SIGTERM", func(t *testing.T) {
			if err := dm.Stop(); err != nil {
				t.Fatal(err)
			}
		}},
		{"SIGKILL", func(*testing.T) { dm.Kill() }},
	}
}

// restartDaemon takes the daemon down with down, then starts it again.
func restartDaemon(t *testing.T, dm *testenv.Daemon, down func(*testing.T)) {
	t.Helper()
	down(t)
	if err := dm.Start(); err != nil {
		t.Fatal(err)
	}
}

// ensureUp starts the daemon if an earlier subtest failed while it was
// down.
func ensureUp(t *testing.T, dm *testenv.Daemon) {
	t.Helper()
	if up(dm) {
		return
	}
	dm.Kill()
	if err := dm.Start(); err != nil {
		t.Fatal(err)
	}
}

// Across a daemon stop or crash: running containers with always and
// unless-stopped keep running; a user-stopped always container is
// started, a user-stopped unless-stopped one is not; a never-started
// always container stays created.
func testPoliciesAcrossRestart(t *testing.T, dm *testenv.Daemon, down func(*testing.T)) {
	ensureUp(t, dm)
	alwaysRun := runD(t, dm, "--restart", "always", "busybox", "sleep", "600")
	unlessRun := runD(t, dm, "--restart", "unless-stopped", "busybox", "sleep", "600")
	alwaysStopped := runD(t, dm, "--restart", "always", "busybox", "sleep", "600")
	unlessStopped := runD(t, dm, "--restart", "unless-stopped", "busybox", "sleep", "600")
	noneRun := runD(t, dm, "busybox", "sleep", "600")
	never := createC(t, dm, "--restart", "always", "busybox", "sleep", "600")
	pids := map[string]int{}
	for _, id := range []string{alwaysRun, unlessRun, alwaysStopped, unlessStopped, noneRun} {
		pids[id] = waitFor(t, dm, id, 10*time.Second, "running", isStatus(ctypes.StateRunning)).State.Pid
	}
	dm.PouchOK(t, "stop", "-t", "0", alwaysStopped)
	dm.PouchOK(t, "stop", "-t", "0", unlessStopped)
	// A daemon going down while an exit is being torn down is
	// testDownDuringExitTeardown's case, not this one's.
	waitTornDown(t, dm, alwaysStopped)
	waitTornDown(t, dm, unlessStopped)

	restartDaemon(t, dm, down)

	for _, id := range []string{alwaysRun, unlessRun, noneRun} {
		c := waitFor(t, dm, id, 10*time.Second, "running", isStatus(ctypes.StateRunning))
		if c.State.Pid != pids[id] {
			t.Logf("%s runs again with pid %d (was %d)", id[:12], c.State.Pid, pids[id])
		}
		if !testenv.Alive(c.State.Pid) {
			t.Errorf("%s: pid %d not alive", id[:12], c.State.Pid)
		}
	}
	c := waitFor(t, dm, alwaysStopped, 10*time.Second, "started at daemon start (always, even after a user stop)", isStatus(ctypes.StateRunning))
	holds(t, dm, unlessStopped, 1500*time.Millisecond, "exited (unless-stopped after a user stop)", isStatus(ctypes.StateExited))
	holds(t, dm, never, 100*time.Millisecond, "created (never started)", isStatus(ctypes.StateCreated))

	// The always container started at boot is under its policy again.
	hostKill(t, c.State.Pid)
	waitFor(t, dm, alwaysStopped, 10*time.Second, "restarted after a crash", restartedFrom(c.State.Pid, 1))
	// The unless-stopped one starts by hand and is under its policy again.
	dm.PouchOK(t, "start", unlessStopped)
	c = waitFor(t, dm, unlessStopped, 10*time.Second, "running", isStatus(ctypes.StateRunning))
	hostKill(t, c.State.Pid)
	waitFor(t, dm, unlessStopped, 10*time.Second, "restarted after a crash", restartedFrom(c.State.Pid, 1))
}

// The daemon goes down right after a container's exit was recorded,
// while its run is still being torn down (task, shim, mounts): the next
// daemon must still be able to start the container, by hand or for a
// pending restart.
func testDownDuringExitTeardown(t *testing.T, dm *testenv.Daemon, down func(*testing.T)) {
	ensureUp(t, dm)
	stopped := runD(t, dm, "busybox", "sleep", "600")
	waitFor(t, dm, stopped, 10*time.Second, "running", isStatus(ctypes.StateRunning))
	restarting := runD(t, dm, "--restart", "always", "busybox", "sh", "-c", `[ -f /ran ] && exec sleep 600; touch /ran; exit 1`)
	waitFor(t, dm, restarting, 10*time.Second, "restarting", isStatus(ctypes.StateRestarting))
	dm.PouchOK(t, "stop", "-t", "0", stopped)

	restartDaemon(t, dm, down)

	c := waitFor(t, dm, restarting, 10*time.Second, "restarted by the new daemon", isStatus(ctypes.StateRunning))
	if c.RestartCount != 1 {
		t.Errorf("%s, want RestartCount 1", brief(c))
	}
	if res := dm.Pouch(t, nil, "start", stopped); res.ExitCode != 0 {
		t.Errorf("pouch start of the container stopped just before the daemon went down: exit %d: %s", res.ExitCode, res.Combined())
	} else {
		waitFor(t, dm, stopped, 10*time.Second, "running", isStatus(ctypes.StateRunning))
	}
}

// Containers whose process is killed while pouchd is down come back,
// when the daemon starts, according to their policy; so does one whose
// shim died with it.
func testKilledWhileDown(t *testing.T, dm *testenv.Daemon) {
	ensureUp(t, dm)
	policies := []string{"always", "unless-stopped", "on-failure:2", "no"}
	ids := map[string]string{}
	pids := map[string]int{}
	for _, p := range policies {
		ids[p] = runD(t, dm, "--restart", p, "busybox", "sleep", "600")
		pids[p] = waitFor(t, dm, ids[p], 10*time.Second, "running", isStatus(ctypes.StateRunning)).State.Pid
	}
	shimless := runD(t, dm, "--restart", "always", "busybox", "sleep", "600")
	shimlessPid := waitFor(t, dm, shimless, 5*time.Second, "running", isStatus(ctypes.StateRunning)).State.Pid
	shim := testenv.ParentPid(shimlessPid)

	dm.Kill()
	for _, p := range policies {
		hostKill(t, pids[p])
	}
	if shim > 1 {
		_ = syscall.Kill(shim, syscall.SIGKILL)
	}
	hostKill(t, shimlessPid)
	if err := dm.Start(); err != nil {
		t.Fatal(err)
	}

	for _, p := range policies[:3] {
		c := waitFor(t, dm, ids[p], 10*time.Second, p+" container restarted", restartedFrom(pids[p], 1))
		if c.RestartCount != 1 {
			t.Errorf("%s: %s, want RestartCount 1 (more means restart attempts failed: see the daemon log)", p, brief(c))
		}
	}
	c := waitFor(t, dm, ids["no"], 10*time.Second, "exited", isStatus(ctypes.StateExited))
	if c.State.ExitCode != 137 {
		t.Errorf("no-policy container killed while the daemon was down: %s, want exit 137", brief(c))
	}
	holds(t, dm, ids["no"], time.Second, "exited", isStatus(ctypes.StateExited))
	waitFor(t, dm, shimless, 5*time.Second, "restarted after its shim died", restartedFrom(shimlessPid, 1))
}

// A restart that was pending when the daemon crashed is carried out
// when it starts.
func testPendingRestart(t *testing.T, dm *testenv.Daemon) {
	ensureUp(t, dm)
	since := time.Now()
	id := runD(t, dm, "--restart", "always", "busybox", "sh", "-c", failThen(5, 1))
	// After the 5th run the container waits 1.6s: crash pouchd then,
	// once the run is torn down.
	waitRestartWindow(t, dm, id, since, 4)
	waitTornDown(t, dm, id)
	dm.Kill()
	if err := dm.Start(); err != nil {
		t.Fatal(err)
	}
	c := waitFor(t, dm, id, 10*time.Second, "restarted by the new daemon", isStatus(ctypes.StateRunning))
	if c.RestartCount != 5 {
		t.Errorf("after the pending restart: %s, want RestartCount 5", brief(c))
	}
}

// Health checks resume after a daemon crash: the status is kept, probes
// run again and changes are seen.
func testHealthResumes(t *testing.T, dm *testenv.Daemon) {
	ensureUp(t, dm)
	id := runD(t, dm, "--health-cmd", "test ! -f /tmp/bad", "--health-interval", "200ms", "--health-retries", "1", "busybox", "sleep", "600")
	waitFor(t, dm, id, 10*time.Second, "healthy", healthIs(ctypes.Healthy))
	dm.Kill()
	restarted := time.Now()
	if err := dm.Start(); err != nil {
		t.Fatal(err)
	}
	c := dm.Inspect(t, id)
	if c.State.Health == nil || c.State.Health.Status != ctypes.Healthy {
		t.Errorf("health right after the daemon restart: %+v, want still healthy", c.State.Health)
	}
	waitFor(t, dm, id, 10*time.Second, "probed by the new daemon", func(c ctypes.InspectResponse) bool {
		h := c.State.Health
		return h != nil && len(h.Log) > 0 && h.Log[len(h.Log)-1].Start.After(restarted)
	})
	since := time.Now()
	dm.PouchOK(t, "exec", id, "touch", "/tmp/bad")
	waitFor(t, dm, id, 10*time.Second, "unhealthy", healthIs(ctypes.Unhealthy))
	if got := actionsOf(containerEvents(t, dm, since, id, "health_status")); len(got) != 1 || got[0] != "health_status: unhealthy" {
		t.Errorf("events after the restart: %q, want [health_status: unhealthy]", got)
	}
	if st := psStatus(t, dm, false, id); !strings.HasSuffix(st, " (unhealthy)") {
		t.Errorf("ps status %q, want ... (unhealthy)", st)
	}
}

// removeAll force-removes every container of the daemon.
func removeAll(t *testing.T, dm *testenv.Daemon) {
	r := dm.Do(t, "GET", "/containers/json?all=1", nil)
	var list []struct {
		ID string `json:"Id"`
	}
	r.JSON(t, &list)
	for _, c := range list {
		if r := dm.Do(t, "DELETE", "/containers/"+c.ID+"?force=1", nil); r.Status != 204 && r.Status != 404 {
			t.Errorf("remove %s: %d %s", c.ID[:12], r.Status, r.Body)
		}
	}
}

func withoutDebug(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, "level=debug") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
