package stats

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"
)

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
	r := d.ExpectStatus(t, http.StatusOK, "GET", "/containers/"+url.PathEscape(ref)+"/stats?"+query, nil)
	var s ctypes.StatsResponse
	r.JSON(t, &s)
	return s
}
