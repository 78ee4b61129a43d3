package container

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// loop is a shell loop that keeps PID 1 busy but responsive to traps.
const loop = "while true; do sleep 0.05; done"

func TestLifecycleCLI(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, name)
	id := strings.TrimSpace(d.PouchOK(t, "create", "--name", name, "busybox", "sh", "-c",
		`trap 'echo got USR1; exit 42' USR1; echo started; `+loop))
	c := d.Inspect(t, name)
	if c.ID != id || c.State.Status != ctypes.StateCreated || c.State.Pid != 0 {
		t.Fatalf("after create: id %s state %+v", c.ID, c.State)
	}

	// start
	if out := d.PouchOK(t, "start", name); strings.TrimSpace(out) != name {
		t.Errorf("start printed %q", out)
	}
	waitLog(t, name, "started")
	c = d.Inspect(t, name)
	if c.State.Status != ctypes.StateRunning || !c.State.Running || c.State.Pid <= 0 || !testenv.Alive(c.State.Pid) {
		t.Fatalf("after start: %+v", c.State)
	}
	startedAt := c.State.StartedAt

	// pause / unpause
	d.PouchOK(t, "pause", name)
	c = d.Inspect(t, name)
	if c.State.Status != ctypes.StatePaused || !c.State.Paused || !c.State.Running {
		t.Errorf("after pause: %+v", c.State)
	}
	if got := hostCgroupFile(t, c.State.Pid, "freezer", "freezer.state"); got != "FROZEN" {
		t.Errorf("freezer.state = %s, want FROZEN", got)
	}
	ps := d.PouchOK(t, "ps", "-f", "name="+name)
	if !regexp.MustCompile(`Up .* \(Paused\)`).MatchString(ps) {
		t.Errorf("ps of a paused container:\n%s", ps)
	}
	if res := d.Pouch(t, nil, "pause", name); res.ExitCode == 0 {
		t.Errorf("pause of a paused container succeeded")
	}
	d.PouchOK(t, "unpause", name)
	c = d.Inspect(t, name)
	if c.State.Status != ctypes.StateRunning || c.State.Paused {
		t.Errorf("after unpause: %+v", c.State)
	}
	if got := hostCgroupFile(t, c.State.Pid, "freezer", "freezer.state"); got != "THAWED" {
		t.Errorf("freezer.state = %s, want THAWED", got)
	}
	if res := d.Pouch(t, nil, "unpause", name); res.ExitCode == 0 {
		t.Errorf("unpause of a running container succeeded")
	}

	// kill -s USR1: the trap exits 42; wait prints the code.
	d.PouchOK(t, "kill", "-s", "USR1", name)
	if out := d.PouchOK(t, "wait", name); strings.TrimSpace(out) != "42" {
		t.Errorf("wait printed %q, want 42", out)
	}
	c = d.Inspect(t, name)
	if c.State.Status != ctypes.StateExited || c.State.ExitCode != 42 || c.State.Running || c.State.Pid != 0 {
		t.Errorf("after USR1: %+v", c.State)
	}
	if c.State.FinishedAt == "0001-01-01T00:00:00Z" {
		t.Errorf("FinishedAt not set")
	}
	if logs := d.PouchOK(t, "logs", name); logs != "started\ngot USR1\n" {
		t.Errorf("logs %q", logs)
	}
	assertNoRuntimeLeftovers(t, id)

	// start again, then restart: a new process each time.
	d.PouchOK(t, "start", name)
	pid1 := d.Inspect(t, name).State.Pid
	d.PouchOK(t, "restart", "-t", "1", name)
	c = d.Inspect(t, name)
	if c.State.Status != ctypes.StateRunning || c.State.Pid == pid1 || c.State.Pid <= 0 {
		t.Errorf("after restart: pid %d (was %d) %+v", c.State.Pid, pid1, c.State)
	}
	if c.State.StartedAt == startedAt {
		t.Errorf("StartedAt unchanged by restart")
	}

	// rename
	newName := name + "_renamed"
	d.RemoveContainerOnCleanup(t, newName)
	d.PouchOK(t, "rename", name, newName)
	if c := d.Inspect(t, newName); c.ID != id || c.Name != "/"+newName {
		t.Errorf("after rename: %s %s", c.ID, c.Name)
	}
	d.ExpectStatus(t, http.StatusNotFound, "GET", "/containers/"+name+"/json", nil)

	// rm without force is refused while running; rm -f removes.
	snap := snapshotDir(t, id)
	if res := d.Pouch(t, nil, "rm", newName); res.ExitCode == 0 || !strings.Contains(res.Stderr, "running") {
		t.Errorf("rm of a running container: exit %d %q", res.ExitCode, res.Combined())
	}
	if out := d.PouchOK(t, "rm", "-f", newName); strings.TrimSpace(out) != newName {
		t.Errorf("rm -f printed %q", out)
	}
	d.ExpectStatus(t, http.StatusNotFound, "GET", "/containers/"+id+"/json", nil)
	assertRemoved(t, id, snap)
}

func TestStop(t *testing.T) {
	t.Parallel()
	t.Run("graceful", func(t *testing.T) {
		t.Parallel()
		_, name := d.RunDetached(t, "busybox", "sh", "-c", "trap 'exit 0' TERM; echo ready; "+loop)
		waitLog(t, name, "ready")
		start := time.Now()
		d.PouchOK(t, "stop", "-t", "10", name)
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("stop of a container that handles SIGTERM took %v", el)
		}
		if c := d.Inspect(t, name); c.State.Status != ctypes.StateExited || c.State.ExitCode != 0 {
			t.Errorf("after stop: %+v", c.State)
		}
	})
	t.Run("timeout-kills", func(t *testing.T) {
		t.Parallel()
		// PID 1 ignores SIGTERM unless it handles it: stop must SIGKILL.
		id, name := d.RunDetached(t, "busybox", "sleep", "300")
		start := time.Now()
		d.PouchOK(t, "stop", "-t", "1", name)
		el := time.Since(start)
		if el < 900*time.Millisecond || el > 6*time.Second {
			t.Errorf("stop -t 1 took %v, want about 1s", el)
		}
		if c := d.Inspect(t, name); c.State.Status != ctypes.StateExited || c.State.ExitCode != 137 {
			t.Errorf("after stop -t 1: %+v", c.State)
		}
		assertNoRuntimeLeftovers(t, id)
		// Stopping a stopped container: 304 on the API, success on the CLI.
		d.ExpectStatus(t, http.StatusNotModified, "POST", "/containers/"+name+"/stop", nil)
		d.PouchOK(t, "stop", name)
	})
	t.Run("stop-signal", func(t *testing.T) {
		t.Parallel()
		id := createAPI(t, "", map[string]any{"Image": "busybox", "Cmd": []string{"sh", "-c", "trap 'exit 7' USR2; echo ready; " + loop}, "StopSignal": "SIGUSR2"})
		d.ExpectStatus(t, http.StatusNoContent, "POST", "/containers/"+id+"/start", nil)
		waitLog(t, id, "ready")
		d.ExpectStatus(t, http.StatusNoContent, "POST", "/containers/"+id+"/stop?t=10", nil)
		if c := d.Inspect(t, id); c.State.ExitCode != 7 {
			t.Errorf("stop with StopSignal USR2: exit %d, want 7", c.State.ExitCode)
		}
	})
	t.Run("paused", func(t *testing.T) {
		t.Parallel()
		_, name := d.RunDetached(t, "busybox", "sleep", "300")
		d.PouchOK(t, "pause", name)
		start := time.Now()
		d.PouchOK(t, "stop", "-t", "10", name)
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("stop of a paused container took %v", el)
		}
		if c := d.Inspect(t, name); c.State.Status != ctypes.StateExited || c.State.ExitCode != 137 {
			t.Errorf("after stop of a paused container: %+v", c.State)
		}
	})
}

func TestKill(t *testing.T) {
	t.Parallel()
	_, name := d.RunDetached(t, "busybox", "sleep", "300")
	d.PouchOK(t, "kill", name)
	if code := waitAPI(t, name); code != 137 {
		t.Errorf("kill: exit %d, want 137", code)
	}
	// Killing a stopped container is a conflict.
	d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+name+"/kill", nil)
	if res := d.Pouch(t, nil, "kill", name); res.ExitCode == 0 {
		t.Errorf("kill of a stopped container succeeded")
	}

	_, name2 := d.RunDetached(t, "busybox", "sh", "-c", "trap 'exit 3' HUP; echo ready; "+loop)
	waitLog(t, name2, "ready")
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+name2+"/kill?signal=NOTASIGNAL", nil)
	d.ExpectStatus(t, http.StatusNoContent, "POST", "/containers/"+name2+"/kill?signal=1", nil)
	if code := waitAPI(t, name2); code != 3 {
		t.Errorf("kill -s 1 (HUP): exit %d, want 3", code)
	}
}

func TestWaitConditions(t *testing.T) {
	t.Parallel()
	// not-running on a created container returns at once.
	id := createAPI(t, "", cfg("sh", "-c", "exit 5"))
	r := d.ExpectStatus(t, http.StatusOK, "POST", "/containers/"+id+"/wait?condition=not-running", nil)
	var w ctypes.WaitResponse
	r.JSON(t, &w)
	if w.StatusCode != 0 {
		t.Errorf("wait not-running on created: %+v", w)
	}
	d.ExpectStatus(t, http.StatusNoContent, "POST", "/containers/"+id+"/start", nil)
	if code := waitAPI(t, id); code != 5 {
		t.Errorf("wait: %d, want 5", code)
	}
	// An exited container's wait reports its last exit.
	if code := waitAPI(t, id); code != 5 {
		t.Errorf("second wait: %d, want 5", code)
	}
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+id+"/wait?condition=bogus", nil)

	// removed: returns once the container is gone.
	id2 := createAPI(t, "", cfg("sleep", "300"))
	d.ExpectStatus(t, http.StatusNoContent, "POST", "/containers/"+id2+"/start", nil)
	done := make(chan int, 1)
	go func() {
		r := d.Do(t, "POST", "/containers/"+id2+"/wait?condition=removed", nil)
		var w ctypes.WaitResponse
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &w) != nil {
			done <- -1
			return
		}
		done <- int(w.StatusCode)
	}()
	select {
	case <-done:
		t.Fatal("wait removed returned before removal")
	case <-time.After(200 * time.Millisecond):
	}
	d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/containers/"+id2+"?force=1", nil)
	select {
	case code := <-done:
		if code != 137 {
			t.Errorf("wait removed: %d, want 137", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("wait removed did not return after removal")
	}
}

// assertRemoved checks that nothing of a removed container is left: its
// record directory, bundle, mounts, cgroups, processes, and (when known)
// its snapshot directory, which the background garbage collection deletes.
func assertRemoved(t testing.TB, id, snapDir string) {
	t.Helper()
	assertNoRuntimeLeftovers(t, id)
	if exists(recordDir(id)) {
		t.Errorf("record directory %s left", recordDir(id))
	}
	if snapDir != "" {
		testenv.Eventually(t, 15*time.Second, "snapshot directory "+snapDir+" to be deleted", func() bool { return !exists(snapDir) })
	}
}

// snapshotDir finds the snapshot directory of a running container from
// its rootfs mount (an overlay whose upperdir is <snapshot>/fs).
func snapshotDir(t testing.TB, id string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	rootfs := bundleDir(id) + "/rootfs"
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f := strings.Fields(pre)
		if !ok || len(f) < 5 || f[4] != rootfs {
			continue
		}
		for _, opt := range strings.Split(post, ",") {
			if up, ok := strings.CutPrefix(opt, "upperdir="); ok {
				return filepath.Dir(up)
			}
		}
		t.Fatalf("rootfs mount of %s has no upperdir: %s", id[:12], line)
	}
	t.Fatalf("rootfs of %s is not mounted", id[:12])
	return ""
}

// TestLifecycleAPI drives the verbs through the API alone.
func TestLifecycleAPI(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	id := createAPI(t, name, map[string]any{
		"Image": "busybox", "Cmd": []string{"sh", "-c", "trap 'exit 9' USR1; echo ready; " + loop},
		"Labels": map[string]string{"x": "y"}, "Env": []string{"A=b"}, "WorkingDir": "/tmp",
	})
	p := "/containers/" + id
	// Restart of a created container starts it.
	d.ExpectStatus(t, http.StatusNoContent, "POST", p+"/restart?t=1", nil)
	c := d.Inspect(t, id)
	if c.State.Status != ctypes.StateRunning || c.State.Pid <= 0 {
		t.Fatalf("after restart of a created container: %+v", c.State)
	}
	pid := c.State.Pid
	waitLog(t, id, "ready")
	d.ExpectStatus(t, http.StatusNoContent, "POST", p+"/pause", nil)
	var list []ctypes.Summary
	d.ExpectStatus(t, http.StatusOK, "GET", "/containers/json?filters="+url.QueryEscape(`{"status":["paused"],"name":["`+name+`"]}`), nil).JSON(t, &list)
	if len(list) != 1 || !strings.HasSuffix(list[0].Status, "(Paused)") || list[0].State != ctypes.StatePaused {
		t.Errorf("paused in the list: %+v", list)
	}
	d.ExpectStatus(t, http.StatusNoContent, "POST", p+"/unpause", nil)
	d.ExpectStatus(t, http.StatusNoContent, "POST", p+"/kill?signal=SIGUSR1", nil)
	if code := waitAPI(t, id); code != 9 {
		t.Errorf("exit %d, want 9", code)
	}
	// Restart of an exited container runs it again.
	d.ExpectStatus(t, http.StatusNoContent, "POST", p+"/restart", nil)
	if c := d.Inspect(t, id); c.State.Status != ctypes.StateRunning || c.State.Pid == pid {
		t.Errorf("after restart of an exited container: %+v", c.State)
	}
	waitLog(t, id, "ready")
	newName := name + "_x"
	d.ExpectStatus(t, http.StatusNoContent, "POST", p+"/rename?name="+newName, nil)
	d.RemoveContainerOnCleanup(t, newName)
	d.ExpectStatus(t, http.StatusNoContent, "POST", "/containers/"+newName+"/stop?t=0", nil)
	if c := d.Inspect(t, newName); c.State.ExitCode != 137 || c.Name != "/"+newName {
		t.Errorf("after stop t=0: %s %+v", c.Name, c.State)
	}
	d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/containers/"+newName, nil)
	assertRemoved(t, id, "")
}

// TestConcurrentVerbs races verbs on one container: each call succeeds or
// fails with a client error, and at the end nothing is left.
func TestConcurrentVerbs(t *testing.T) {
	t.Parallel()
	id, _ := d.RunDetached(t, "busybox", "sleep", "300")
	snap := snapshotDir(t, id)
	p := "/containers/" + id
	calls := []struct{ method, path string }{
		{"POST", p + "/stop?t=0"}, {"POST", p + "/kill"}, {"POST", p + "/restart?t=0"},
		{"POST", p + "/pause"}, {"POST", p + "/unpause"}, {"POST", p + "/start"},
		{"POST", p + "/restart?t=0"}, {"POST", p + "/kill"}, {"GET", p + "/json"},
		{"POST", p + "/pause"}, {"POST", p + "/start"}, {"POST", p + "/stop?t=1"},
		{"POST", p + "/wait"}, {"GET", p + "/logs?stdout=1&follow=1"}, {"DELETE", p + "?force=1"},
	}
	done := make(chan string, len(calls))
	for _, c := range calls {
		go func() {
			r := d.Do(t, c.method, c.path, nil)
			if r.Status >= 500 {
				done <- fmt.Sprintf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
				return
			}
			done <- ""
		}()
	}
	for range calls {
		select {
		case msg := <-done:
			if msg != "" {
				t.Error(msg)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("concurrent verbs did not finish within 60s")
		}
	}
	if r := d.Do(t, "DELETE", p+"?force=1", nil); r.Status != http.StatusNoContent && r.Status != http.StatusNotFound {
		t.Errorf("final rm -f: %d %s", r.Status, r.Body)
	}
	assertRemoved(t, id, snap)
}
