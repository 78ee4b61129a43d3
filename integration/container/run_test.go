package container

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

func TestRunForeground(t *testing.T) {
	t.Parallel()
	t.Run("streams-and-exit-code", func(t *testing.T) {
		t.Parallel()
		res := d.RunRm(t, "busybox", "sh", "-c", "echo out; echo err >&2; echo out2; exit 3")
		if res.ExitCode != 3 || res.Stdout != "out\nout2\n" || res.Stderr != "err\n" {
			t.Errorf("exit %d stdout %q stderr %q", res.ExitCode, res.Stdout, res.Stderr)
		}
	})
	t.Run("all-output-arrives", func(t *testing.T) {
		t.Parallel()
		res := d.RunRm(t, "busybox", "seq", "1", "20000")
		want := new(bytes.Buffer)
		for i := 1; i <= 20000; i++ {
			fmt.Fprintln(want, i)
		}
		if res.ExitCode != 0 || res.Stdout != want.String() {
			n := len(lines(res.Stdout))
			t.Errorf("seq 1 20000: exit %d, %d lines, last %q", res.ExitCode, n, lastLine(res.Stdout))
		}
	})
	t.Run("exit-codes", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			args []string
			code int
		}{
			{[]string{"busybox", "sh", "-c", "exit 0"}, 0},
			{[]string{"busybox", "sh", "-c", "exit 1"}, 1},
			{[]string{"busybox", "sh", "-c", "exit 255"}, 255},
			{[]string{"busybox", "sh", "-c", `sh -c 'kill -9 $$'; exit $?`}, 137},
			{[]string{"--pull", "never", "nosuchimage_x"}, 125},
			{[]string{"--nosuchflag", "busybox"}, 125},
			{[]string{"--memory", "lots", "busybox", "true"}, 125},
			{[]string{"--network", "bridge0", "busybox", "true"}, 125},
			{[]string{"busybox", "/etc"}, 126},
			{[]string{"busybox", "/etc/passwd"}, 126},
			{[]string{"busybox", "nosuchcommand"}, 127},
			{[]string{"busybox", "/no/such/path"}, 127},
		} {
			res := d.RunRm(t, tc.args...)
			if res.ExitCode != tc.code {
				t.Errorf("pouch run --rm %s: exit %d, want %d\n%s", strings.Join(tc.args, " "), res.ExitCode, tc.code, res.Combined())
			}
			if tc.code >= 125 && tc.code <= 127 && !strings.Contains(res.Stderr, "pouch") && !strings.Contains(res.Stderr, "rror") {
				t.Errorf("pouch run --rm %s: no error message: %q", strings.Join(tc.args, " "), res.Stderr)
			}
			if tc.code == 125 && strings.Contains(strings.Join(tc.args, " "), "nosuchimage_x") && !strings.Contains(res.Stderr, "No such image") {
				t.Errorf("unknown image: %q", res.Stderr)
			}
		}
	})
	t.Run("stdin", func(t *testing.T) {
		t.Parallel()
		res := d.Pouch(t, strings.NewReader("hi\n"), "run", "--rm", "-i", "busybox", "cat")
		if res.ExitCode != 0 || res.Stdout != "hi\n" {
			t.Errorf("echo hi | pouch run -i busybox cat: exit %d %q", res.ExitCode, res.Combined())
		}
		big := bytes.Repeat([]byte("0123456789abcdef"), 300000/16)
		res = d.Pouch(t, bytes.NewReader(big), "run", "--rm", "-i", "busybox", "wc", "-c")
		if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != strconv.Itoa(len(big)) {
			t.Errorf("300 kB through stdin: exit %d %q", res.ExitCode, res.Combined())
		}
		// Without -i the container's stdin is empty, not the client's.
		res = d.Pouch(t, strings.NewReader("secret\n"), "run", "--rm", "busybox", "cat")
		if res.ExitCode != 0 || res.Stdout != "" {
			t.Errorf("without -i: exit %d %q", res.ExitCode, res.Combined())
		}
		// The exit code passes through with stdin too.
		res = d.Pouch(t, strings.NewReader("x\n"), "run", "--rm", "-i", "busybox", "sh", "-c", "read l; echo got $l; exit 9")
		if res.ExitCode != 9 || res.Stdout != "got x\n" {
			t.Errorf("read from stdin: exit %d %q", res.ExitCode, res.Combined())
		}
	})
}

// TestRunRemove checks --rm: the container and everything of it go away
// after it exits.
func TestRunRemove(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, name)
	res := d.RunRm(t, "--name", name, "busybox", "sh", "-c", `cat /etc/hostname; grep -o "upperdir=[^,]*" /proc/self/mountinfo | head -1`)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d %s", res.ExitCode, res.Combined())
	}
	ls := lines(res.Stdout)
	if len(ls) != 2 || !strings.HasPrefix(ls[1], "upperdir=") {
		t.Fatalf("output %q", res.Stdout)
	}
	prefix, snap := ls[0], filepath.Dir(strings.TrimPrefix(ls[1], "upperdir="))
	// When `run --rm` returns, the container is gone.
	d.ExpectStatus(t, http.StatusNotFound, "GET", "/containers/"+name+"/json", nil)
	id := fullIDFromPrefix(t, prefix)
	// The container is unlisted as soon as it exits; its files, mount and
	// cgroups go right after, off the client's path.
	testenv.Eventually(t, 10*time.Second, "the files of the removed container to go", func() bool {
		return !exists(recordDir(id)) && !exists(bundleDir(id))
	})
	assertRemoved(t, id, snap)
	// The name is free again.
	if res := d.RunRm(t, "--name", name, "busybox", "true"); res.ExitCode != 0 {
		t.Errorf("name not reusable after --rm: %s", res.Combined())
	}
}

// fullIDFromPrefix finds the container ID a 12-character prefix belongs to
// among leftovers in the daemon's directories; it returns the prefix when
// there are none (nothing left is what the callers check).
func fullIDFromPrefix(t testing.TB, prefix string) string {
	t.Helper()
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(prefix) {
		t.Fatalf("not an ID prefix: %q", prefix)
	}
	for _, dir := range []string{recordDir(""), bundleDir("")} {
		if m, _ := filepath.Glob(filepath.Join(dir, prefix+"*")); len(m) > 0 {
			return filepath.Base(m[0])
		}
	}
	return prefix
}

// TestRunRemoveFailedStart checks that --rm removes a container whose start
// failed, through the CLI and the API.
func TestRunRemoveFailedStart(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, name)
	res := d.RunRm(t, "--name", name, "busybox", "nosuchcommand")
	if res.ExitCode != 127 {
		t.Errorf("exit %d, want 127: %s", res.ExitCode, res.Combined())
	}
	if strings.Contains(res.Stderr, "Error waiting") {
		t.Errorf("a failed start is not a failed wait: %q", res.Stderr)
	}
	d.ExpectStatus(t, http.StatusNotFound, "GET", "/containers/"+name+"/json", nil)

	body := cfg("nosuchcommand")
	body["HostConfig"] = map[string]any{"AutoRemove": true}
	id := createAPI(t, "", body)
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+id+"/start", nil)
	// Auto-removal finishes in the background: wait for it.
	r := d.Do(t, "POST", "/containers/"+id+"/wait?condition=removed", nil)
	if r.Status != http.StatusOK && r.Status != http.StatusNotFound {
		t.Errorf("wait removed: %d %s", r.Status, r.Body)
	}
	testenv.Eventually(t, 10*time.Second, "auto-removal", func() bool {
		return d.Do(t, "GET", "/containers/"+id+"/json", nil).Status == http.StatusNotFound
	})
	assertRemoved(t, id, "")
}

func lastLine(s string) string {
	ls := lines(s)
	if len(ls) == 0 {
		return ""
	}
	return ls[len(ls)-1]
}

var _ testenv.Result

// TestStartAttach attaches to a created, then an exited, container with
// `start -a`: each run's output and exit code arrive.
func TestStartAttach(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, name)
	d.PouchOK(t, "create", "--name", name, "busybox", "sh", "-c", "echo run; echo oops >&2; exit 3")
	for i := 0; i < 2; i++ {
		res := d.Pouch(t, nil, "start", "-a", name)
		if res.ExitCode != 3 || res.Stdout != "run\n" || res.Stderr != "oops\n" {
			t.Errorf("start -a #%d: exit %d stdout %q stderr %q", i+1, res.ExitCode, res.Stdout, res.Stderr)
		}
	}
	if logs := d.PouchOK(t, "logs", name); logs != "run\nrun\n" {
		t.Errorf("logs after two runs: %q", logs)
	}
	// Attaching to a paused container is refused before the hijack.
	_, paused := d.RunDetached(t, "busybox", "sleep", "300")
	d.PouchOK(t, "pause", paused)
	d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+paused+"/attach?stream=1&stdout=1", nil)
}
