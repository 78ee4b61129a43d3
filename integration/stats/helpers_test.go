package stats

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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
	return fmt.Sprintf("s%d_%s", nameSeq.Add(1), strings.Trim(n, "_."))
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

// pouchFails runs the CLI, expects it to fail, and returns the result.
func pouchFails(t testing.TB, args ...string) testenv.Result {
	t.Helper()
	res := d.Pouch(t, nil, args...)
	if res.ExitCode == 0 {
		t.Fatalf("pouch %s succeeded, want a failure\nstdout: %s", strings.Join(args, " "), res.Stdout)
	}
	return res
}

var hexID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// runD runs a container in the background (`pouch run -d --name NAME
// ARGS...`), removes it when the test ends, and returns its ID and name.
func runD(t testing.TB, args ...string) (id, name string) {
	t.Helper()
	name = uniqueName(t)
	removeOnCleanup(t, name)
	id = strings.TrimSpace(pouch(t, append([]string{"run", "-d", "--name", name}, args...)...))
	if !hexID.MatchString(id) {
		t.Fatalf("pouch run -d printed %q, want a 64-hex ID", id)
	}
	return id, name
}

// createD creates a container without starting it.
func createD(t testing.TB, args ...string) (id, name string) {
	t.Helper()
	name = uniqueName(t)
	removeOnCleanup(t, name)
	id = strings.TrimSpace(pouch(t, append([]string{"create", "--name", name}, args...)...))
	if !hexID.MatchString(id) {
		t.Fatalf("pouch create printed %q, want a 64-hex ID", id)
	}
	return id, name
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

// eventually polls cond until it holds or the limit passes.
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
		time.Sleep(50 * time.Millisecond)
	}
}

// cgroupV2 reports whether the host's cgroups are the unified hierarchy
// alone; this machine has v1 controllers (hybrid).
func cgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// cgroupFile reads a file of the container's cgroup: v1 names it in the
// controller's hierarchy, v2 in the unified one.
func cgroupFile(t testing.TB, id, controller, v1, v2 string) string {
	t.Helper()
	path := filepath.Join("/sys/fs/cgroup", controller, d.Cgroup, id, v1)
	if cgroupV2() {
		path = filepath.Join("/sys/fs/cgroup", d.Cgroup, id, v2)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read cgroup file: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// memoryLimit is the container's cgroup memory limit as the kernel
// writes it ("67108864", or v2's "max").
func memoryLimit(t testing.TB, id string) string {
	return cgroupFile(t, id, "memory", "memory.limit_in_bytes", "memory.max")
}

// statsAPI reads one sample of the container's stats through the API.
func statsAPI(t testing.TB, ref, query string) ctypes.StatsResponse {
	t.Helper()
	r := expectStatus(t, http.StatusOK, "GET", "/containers/"+url.PathEscape(ref)+"/stats?"+query, nil)
	var s ctypes.StatsResponse
	r.JSON(t, &s)
	return s
}
