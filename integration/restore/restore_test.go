// Package restore tests that containers outlive the daemon: a crash
// (SIGKILL) or a stop (SIGTERM) of pouchd leaves them running, and the next
// pouchd picks them up, records exits that happened meanwhile and keeps
// their logs continuous.
package restore

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

func run(t *testing.T, d *testenv.Daemon, name string, cmd ...string) ctypes.InspectResponse {
	t.Helper()
	r := d.Do(t, "POST", "/containers/create?name="+name, map[string]any{"Image": "busybox", "Cmd": cmd})
	if r.Status != 201 {
		t.Fatalf("create %s: %d %s", name, r.Status, r.Body)
	}
	if r := d.Do(t, "POST", "/containers/"+name+"/start", nil); r.Status != 204 {
		t.Fatalf("start %s: %d %s", name, r.Status, r.Body)
	}
	return d.Inspect(t, name)
}

// logLines returns the container's stdout lines (frames decoded).
func logLines(t *testing.T, d *testenv.Daemon, name string) []string {
	t.Helper()
	r := d.Do(t, "GET", "/containers/"+name+"/logs?stdout=1&stderr=1", nil)
	if r.Status != 200 {
		t.Fatalf("logs %s: %d %s", name, r.Status, r.Body)
	}
	var out strings.Builder
	b := r.Body
	for len(b) >= 8 {
		n := int(b[4])<<24 | int(b[5])<<16 | int(b[6])<<8 | int(b[7])
		if len(b) < 8+n {
			t.Fatalf("torn log frame")
		}
		out.Write(b[8 : 8+n])
		b = b[8+n:]
	}
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

func testRestore(t *testing.T, stop func(d *testenv.Daemon)) {
	d := testenv.StartDaemon(t, nil)
	ticker := run(t, d, "ticker", "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done")
	leaver := run(t, d, "leaver", "sh", "-c", "sleep 1; echo bye; exit 3")
	if !ticker.State.Running || ticker.State.Pid == 0 {
		t.Fatalf("ticker not running: %+v", ticker.State)
	}

	stop(d)
	if !testenv.Alive(ticker.State.Pid) {
		t.Fatal("the container died with the daemon")
	}
	// The leaver exits while no daemon is there.
	deadline := time.Now().Add(10 * time.Second)
	for testenv.Alive(leaver.State.Pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if testenv.Alive(leaver.State.Pid) {
		t.Fatal("leaver did not exit")
	}
	time.Sleep(500 * time.Millisecond) // more ticks logged with no daemon

	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	got := d.Inspect(t, "ticker")
	if !got.State.Running || got.State.Pid != ticker.State.Pid {
		t.Fatalf("ticker after restart: %+v, want running with pid %d", got.State, ticker.State.Pid)
	}
	var left ctypes.InspectResponse
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = d.Inspect(t, "leaver"); left.State.Status == "exited" {
			break
		}
	}
	if left.State.Status != "exited" || left.State.ExitCode != 3 {
		t.Fatalf("leaver after restart: %+v, want exited with 3", left.State)
	}
	if lines := logLines(t, d, "leaver"); lines[len(lines)-1] != "bye" {
		t.Errorf("leaver logs %q, want bye", lines)
	}
	// Logs kept flowing while the daemon was away: the ticks are continuous.
	lines := logLines(t, d, "ticker")
	if len(lines) < 10 {
		t.Fatalf("too few ticks: %q", lines)
	}
	for i, l := range lines {
		if l != fmt.Sprintf("tick %d", i) {
			t.Fatalf("log line %d is %q: the log has a gap or a duplicate", i, l)
		}
	}
	// The restored container is still under control.
	if r := d.Do(t, "POST", "/containers/ticker/stop?t=1", nil); r.Status != 204 {
		t.Fatalf("stop after restore: %d %s", r.Status, r.Body)
	}
	if testenv.Alive(ticker.State.Pid) {
		t.Error("ticker still alive after stop")
	}
	if got := d.Inspect(t, "ticker"); got.State.Status != "exited" || got.State.ExitCode != 137 && got.State.ExitCode != 143 {
		t.Errorf("ticker after stop: %+v", got.State)
	}
	for _, n := range []string{"ticker", "leaver"} {
		if r := d.Do(t, "DELETE", "/containers/"+n, nil); r.Status != 204 {
			t.Fatalf("rm %s: %d %s", n, r.Status, r.Body)
		}
	}
	if r := d.Do(t, "GET", "/containers/json?all=1", nil); strings.TrimSpace(string(r.Body)) != "[]" {
		t.Errorf("containers left: %s", r.Body)
	}
}

func TestLiveRestoreAfterCrash(t *testing.T) {
	testRestore(t, func(d *testenv.Daemon) { d.Kill() })
}

func TestLiveRestoreAfterSIGTERM(t *testing.T) {
	testRestore(t, func(d *testenv.Daemon) {
		if err := d.Stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// A shim killed while the daemon is away: the next pouchd cleans it up and
// records the container as exited.
func TestDeadShimIsCleanedUp(t *testing.T) {
	d := testenv.StartDaemon(t, nil)
	c := run(t, d, "orphan", "sleep", "600")
	d.Kill()
	shimPid := testenv.ParentPid(c.State.Pid)
	if shimPid <= 1 {
		t.Fatalf("no shim above pid %d", c.State.Pid)
	}
	_ = syscall.Kill(c.State.Pid, syscall.SIGKILL)
	_ = syscall.Kill(shimPid, syscall.SIGKILL)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	got := d.Inspect(t, "orphan")
	if got.State.Running {
		t.Fatalf("container with a dead shim reported running: %+v", got.State)
	}
	if r := d.Do(t, "DELETE", "/containers/orphan", nil); r.Status != 204 {
		t.Fatalf("rm: %d %s", r.Status, r.Body)
	}
}
