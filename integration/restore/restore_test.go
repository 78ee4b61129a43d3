// Package restore tests that containers outlive the daemon: a crash
// (SIGKILL) or a stop (SIGTERM) of pouchd leaves them running, and the next
// pouchd picks them up, records exits that happened meanwhile and keeps
// their logs continuous.
package restore

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

type inspect struct {
	ID    string `json:"Id"`
	State struct {
		Status   string
		Running  bool
		Pid      int
		ExitCode int
	}
}

func newDaemon(t *testing.T) *testenv.Daemon {
	t.Helper()
	d, err := testenv.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Cleanup)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.LoadImages(); err != nil {
		t.Fatal(err)
	}
	return d
}

func run(t *testing.T, d *testenv.Daemon, name string, cmd ...string) inspect {
	t.Helper()
	r := d.Do(t, "POST", "/containers/create?name="+name, map[string]any{"Image": "busybox", "Cmd": cmd})
	if r.Status != 201 {
		t.Fatalf("create %s: %d %s", name, r.Status, r.Body)
	}
	if r := d.Do(t, "POST", "/containers/"+name+"/start", nil); r.Status != 204 {
		t.Fatalf("start %s: %d %s", name, r.Status, r.Body)
	}
	return get(t, d, name)
}

func get(t *testing.T, d *testenv.Daemon, name string) inspect {
	t.Helper()
	var c inspect
	r := d.Do(t, "GET", "/containers/"+name+"/json", nil)
	if r.Status != 200 {
		t.Fatalf("inspect %s: %d %s", name, r.Status, r.Body)
	}
	r.JSON(t, &c)
	return c
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
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
	d := newDaemon(t)
	ticker := run(t, d, "ticker", "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done")
	leaver := run(t, d, "leaver", "sh", "-c", "sleep 1; echo bye; exit 3")
	if !ticker.State.Running || ticker.State.Pid == 0 {
		t.Fatalf("ticker not running: %+v", ticker.State)
	}

	stop(d)
	if !alive(ticker.State.Pid) {
		t.Fatal("the container died with the daemon")
	}
	// The leaver exits while no daemon is there.
	deadline := time.Now().Add(10 * time.Second)
	for alive(leaver.State.Pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(leaver.State.Pid) {
		t.Fatal("leaver did not exit")
	}
	time.Sleep(500 * time.Millisecond) // more ticks logged with no daemon

	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	got := get(t, d, "ticker")
	if !got.State.Running || got.State.Pid != ticker.State.Pid {
		t.Fatalf("ticker after restart: %+v, want running with pid %d", got.State, ticker.State.Pid)
	}
	var left inspect
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = get(t, d, "leaver"); left.State.Status == "exited" {
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
	if alive(ticker.State.Pid) {
		t.Error("ticker still alive after stop")
	}
	if got := get(t, d, "ticker"); got.State.Status != "exited" || got.State.ExitCode != 137 && got.State.ExitCode != 143 {
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
	d := newDaemon(t)
	c := run(t, d, "orphan", "sleep", "600")
	d.Kill()
	shimPid := parentPid(c.State.Pid)
	if shimPid <= 1 {
		t.Fatalf("no shim above pid %d", c.State.Pid)
	}
	_ = syscall.Kill(c.State.Pid, syscall.SIGKILL)
	_ = syscall.Kill(shimPid, syscall.SIGKILL)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	got := get(t, d, "orphan")
	if got.State.Running {
		t.Fatalf("container with a dead shim reported running: %+v", got.State)
	}
	if r := d.Do(t, "DELETE", "/containers/orphan", nil); r.Status != 204 {
		t.Fatalf("rm: %d %s", r.Status, r.Body)
	}
}

func parentPid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}
