package stats

import (
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

func TestTopShowsTheContainersProcesses(t *testing.T) {
	t.Parallel()
	id, name := d.RunDetached(t, "busybox", "sh", "-c", "sleep 1001 & sleep 1002 & wait")
	c := d.Inspect(t, id)
	// Both sleeps run once the shell forked the first.
	var out string
	testenv.Eventually(t, 10*time.Second, "both sleeps in top", func() bool {
		out = d.PouchOK(t, "top", name)
		return strings.Contains(out, "sleep 1001") && strings.Contains(out, "sleep 1002")
	})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if h := strings.Fields(lines[0]); len(h) < 8 || h[0] != "UID" || h[1] != "PID" || h[len(h)-1] != "CMD" {
		t.Fatalf("top header %q, want ps -ef's", lines[0])
	}
	if len(lines) != 4 { // header, sh, two sleeps
		t.Fatalf("top printed %d processes, want 3:\n%s", len(lines)-1, out)
	}
	if !strings.Contains(out, " "+strconv.Itoa(c.State.Pid)+" ") {
		t.Fatalf("top does not list the init (PID %d):\n%s", c.State.Pid, out)
	}
	// Nothing of the host: the test's own process is not in it.
	if strings.Contains(out, " "+strconv.Itoa(os.Getpid())+" ") {
		t.Fatalf("top lists a host process:\n%s", out)
	}

	// ps options after the container.
	out = d.PouchOK(t, "top", name, "-o", "pid,comm")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if h := strings.Fields(lines[0]); len(h) != 2 || h[0] != "PID" || h[1] != "COMMAND" {
		t.Fatalf("top -o pid,comm header %q", lines[0])
	}
	if len(lines) != 4 || !strings.Contains(out, "sleep") || !strings.Contains(out, "sh") {
		t.Fatalf("top -o pid,comm:\n%s", out)
	}
	// The same through `pouch container top` and BSD-style options.
	if out = d.PouchOK(t, "container", "top", name, "aux"); !strings.Contains(out, "USER") || !strings.Contains(out, "sleep 1002") {
		t.Fatalf("container top aux:\n%s", out)
	}

	// The API's JSON.
	r := d.ExpectStatus(t, http.StatusOK, "GET", "/containers/"+id+"/top?ps_args="+url.QueryEscape("-o pid,args"), nil)
	var top ctypes.TopResponse
	r.JSON(t, &top)
	if len(top.Titles) != 2 || top.Titles[0] != "PID" || top.Titles[1] != "COMMAND" || len(top.Processes) != 3 {
		t.Fatalf("top JSON: %+v", top)
	}
	for _, p := range top.Processes {
		if len(p) != 2 {
			t.Fatalf("process %q has %d fields, want 2 (the command's spaces kept)", p, len(p))
		}
	}
	// A paused container's processes are listed too, as Docker.
	d.PouchOK(t, "pause", name)
	if out = d.PouchOK(t, "top", name); !strings.Contains(out, "sleep 1001") {
		t.Fatalf("top of a paused container:\n%s", out)
	}
	d.PouchOK(t, "unpause", name)
}

func TestTopErrors(t *testing.T) {
	t.Parallel()
	id, name := d.CreateContainer(t, "busybox", "sleep", "100")
	r := d.ExpectStatus(t, http.StatusConflict, "GET", "/containers/"+id+"/top", nil)
	if !strings.Contains(r.Message(), "is not running") {
		t.Fatalf("top of a created container: %s", r.Message())
	}
	if res := d.PouchFails(t, "top", name); !strings.Contains(res.Stderr, "is not running") {
		t.Fatalf("pouch top of a created container: %+v", res)
	}
	d.ExpectStatus(t, http.StatusNotFound, "GET", "/containers/nosuchcontainer/top", nil)
	if res := d.PouchFails(t, "top", "nosuchcontainer"); !strings.Contains(res.Stderr, "No such container") {
		t.Fatalf("pouch top of an unknown container: %+v", res)
	}
	if res := d.PouchFails(t, "top"); !strings.Contains(res.Stderr, "requires at least 1 argument") {
		t.Fatalf("pouch top without a container: %+v", res)
	}

	_, running := d.RunDetached(t, "busybox", "sleep", "100")
	// Bad ps options are the user's error, with ps's own words.
	r = d.ExpectStatus(t, http.StatusBadRequest, "GET", "/containers/"+running+"/top?ps_args=--no-such-option", nil)
	if !strings.Contains(r.Message(), "ps") {
		t.Fatalf("bad ps options: %s", r.Message())
	}
	// Renaming a column to PID would fool the filter.
	d.ExpectStatus(t, http.StatusBadRequest, "GET", "/containers/"+running+"/top?ps_args="+url.QueryEscape("-o comm=PID"), nil)
}
