package container

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

var nameSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// uniqueName is a container name no other test uses.
func uniqueName(t testing.TB) string {
	n := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	return fmt.Sprintf("t%d_%s", nameSeq.Add(1), strings.Trim(n, "_."))
}

// removeOnCleanup force-removes the container when the test ends.
func removeOnCleanup(t testing.TB, ref string) {
	t.Helper()
	t.Cleanup(func() {
		r := d.Do(t, "DELETE", "/containers/"+url.PathEscape(ref)+"?force=1", nil)
		if r.Status != http.StatusNoContent && r.Status != http.StatusNotFound {
			t.Errorf("cleanup: remove %s: %d %s", ref, r.Status, r.Body)
		}
	})
}

// pouch runs the CLI and fails the test unless it exits 0; it returns
// stdout.
func pouch(t testing.TB, args ...string) string {
	t.Helper()
	res := d.Pouch(t, nil, args...)
	if res.ExitCode != 0 {
		t.Fatalf("pouch %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.ExitCode, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

// pouchIn is pouch with stdin.
func pouchIn(t testing.TB, stdin io.Reader, args ...string) testenv.Result {
	t.Helper()
	return d.Pouch(t, stdin, args...)
}

// runD runs a container in the background with the CLI (`pouch run -d
// --name NAME ARGS...`), removes it when the test ends, and returns its ID.
func runD(t testing.TB, args ...string) (id, name string) {
	t.Helper()
	name = uniqueName(t)
	removeOnCleanup(t, name)
	id = strings.TrimSpace(pouch(t, append([]string{"run", "-d", "--name", name}, args...)...))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("pouch run -d printed %q, want a 64-hex ID", id)
	}
	return id, name
}

// runFG runs a container in the foreground with the CLI and removes it
// afterwards (--rm): the result carries its output and exit code.
func runFG(t testing.TB, args ...string) testenv.Result {
	t.Helper()
	return d.Pouch(t, nil, append([]string{"run", "--rm"}, args...)...)
}

// sh runs `sh -c script` in a fresh container with extra run options, and
// returns its stdout; the container must exit 0.
func sh(t testing.TB, opts []string, script string) string {
	t.Helper()
	args := append(append([]string{}, opts...), "busybox", "sh", "-c", script)
	res := runFG(t, args...)
	if res.ExitCode != 0 {
		t.Fatalf("pouch run --rm %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.ExitCode, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

// createAPI creates a container through the API and removes it when the
// test ends.
func createAPI(t testing.TB, name string, body any) string {
	t.Helper()
	path := "/containers/create"
	if name != "" {
		path += "?name=" + url.QueryEscape(name)
	}
	r := d.Do(t, "POST", path, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var resp ctypes.CreateResponse
	r.JSON(t, &resp)
	removeOnCleanup(t, resp.ID)
	return resp.ID
}

// cfg is a create request for busybox running cmd.
func cfg(cmd ...string) map[string]any {
	return map[string]any{"Image": "busybox", "Cmd": cmd}
}

// expectStatus calls the API and checks the answer's status.
func expectStatus(t testing.TB, want int, method, path string, body any) testenv.Response {
	t.Helper()
	r := d.Do(t, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s: status %d (%s), want %d", method, path, r.Status, r.Body, want)
	}
	if want >= 400 && r.Message() == "" {
		t.Fatalf("%s %s: error answer without a message: %s", method, path, r.Body)
	}
	return r
}

func inspect(t testing.TB, ref string) ctypes.InspectResponse {
	t.Helper()
	r := expectStatus(t, http.StatusOK, "GET", "/containers/"+url.PathEscape(ref)+"/json", nil)
	var c ctypes.InspectResponse
	r.JSON(t, &c)
	return c
}

// eventually polls cond every 20ms until it holds or the limit passes.
func eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStatus waits until the container reaches the status.
func waitStatus(t testing.TB, ref string, want ctypes.ContainerState) ctypes.InspectResponse {
	t.Helper()
	var c ctypes.InspectResponse
	eventually(t, 20*time.Second, fmt.Sprintf("%s to be %s", ref, want), func() bool {
		c = inspect(t, ref)
		return c.State.Status == want
	})
	return c
}

// waitAPI waits for the container to exit through the API and returns its
// exit code.
func waitAPI(t testing.TB, ref string) int {
	t.Helper()
	r := expectStatus(t, http.StatusOK, "POST", "/containers/"+url.PathEscape(ref)+"/wait", nil)
	var w ctypes.WaitResponse
	r.JSON(t, &w)
	return int(w.StatusCode)
}

// bundleDir is where the daemon keeps a container's runtime bundle.
func bundleDir(id string) string { return filepath.Join(d.ExecRoot, "c", id) }

// recordDir is where the daemon keeps a container's record.
func recordDir(id string) string { return filepath.Join(d.Home, "containers", id) }

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// mountsMentioning lists mount points of this mount namespace whose path
// contains s.
func mountsMentioning(t testing.TB, s string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.Contains(f[4], s) {
			out = append(out, f[4])
		}
	}
	return out
}

// processesMentioning lists the PIDs whose command line contains s
// (shims and loggers name their container's ID), live ones only: a zombie
// waiting for a slow reaper is gone (DESIGN pitfall 16).
func processesMentioning(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), s) {
			continue
		}
		if alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}

// cgroupOf is the container's cgroup name under the daemon's parent.
func cgroupOf(id string) string { return d.Cgroup + "/" + id }

// assertNoRuntimeLeftovers checks that nothing of a run of the container
// is left: bundle, rootfs mount, cgroup, shim or logger process.
func assertNoRuntimeLeftovers(t testing.TB, id string) {
	t.Helper()
	// Cleanup after an exit runs in the background; give it a moment.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var problems []string
		if exists(bundleDir(id)) {
			problems = append(problems, "bundle "+bundleDir(id)+" exists")
		}
		if m := mountsMentioning(t, id); len(m) > 0 {
			problems = append(problems, fmt.Sprintf("mounts left: %v", m))
		}
		if testenv.CgroupExists(cgroupOf(id)) {
			problems = append(problems, "cgroup "+cgroupOf(id)+" exists")
		}
		if m, _ := filepath.Glob(filepath.Join(d.ExecRoot, "runtime", "*", "*", id)); len(m) > 0 {
			problems = append(problems, fmt.Sprintf("runtime state left: %v", m))
		}
		if p := processesMentioning(id); len(p) > 0 {
			problems = append(problems, fmt.Sprintf("processes left: %v", p))
		}
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s left: %s", id[:12], strings.Join(problems, "; "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hostCgroupFile reads a file of the container's cgroup on a v1 hierarchy
// (controller "memory", "cpu", ...), located through /proc/PID/cgroup of
// its init process.
func hostCgroupFile(t testing.TB, pid int, controller, file string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				v, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", parts[1], parts[2], file))
				if err != nil {
					t.Fatal(err)
				}
				return strings.TrimSpace(string(v))
			}
		}
	}
	t.Fatalf("no %s cgroup for pid %d in:\n%s", controller, pid, b)
	return ""
}

// waitLog waits until the container's log has a line equal to line: a
// container prints one once its signal traps are set.
func waitLog(t testing.TB, ref, line string) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprintf("%q in the log of %s", line, ref), func() bool {
		r := d.Do(t, "GET", "/containers/"+url.PathEscape(ref)+"/logs?stdout=1&stderr=1", nil)
		return strings.Contains(string(r.Body), line+"\n")
	})
}
