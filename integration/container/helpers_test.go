package container

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

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
	d.RemoveContainerOnCleanup(t, resp.ID)
	return resp.ID
}

// cfg is a create request for busybox running cmd.
func cfg(cmd ...string) map[string]any {
	return map[string]any{"Image": "busybox", "Cmd": cmd}
}

// waitAPI waits for the container to exit through the API and returns its
// exit code.
func waitAPI(t testing.TB, ref string) int {
	t.Helper()
	r := d.ExpectStatus(t, http.StatusOK, "POST", "/containers/"+url.PathEscape(ref)+"/wait", nil)
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
	mounts, err := testenv.MountPoints()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range mounts {
		if strings.Contains(m, s) {
			out = append(out, m)
		}
	}
	return out
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
		if p := testenv.ProcessesMentioning(id); len(p) > 0 {
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
	testenv.Eventually(t, 20*time.Second, fmt.Sprintf("%q in the log of %s", line, ref), func() bool {
		r := d.Do(t, "GET", "/containers/"+url.PathEscape(ref)+"/logs?stdout=1&stderr=1", nil)
		return strings.Contains(string(r.Body), line+"\n")
	})
}
