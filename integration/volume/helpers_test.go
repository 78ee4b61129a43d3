package volume

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/api/types/volume"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// uniqueName is a volume name no other test uses.
func uniqueName(t testing.TB) string { return testenv.UniqueName(t) }

// removeOnCleanup removes the volume when the test ends, after the
// containers using it (cleaned up first, as registered later); a
// container removed in the background may hold it a moment longer.
func removeOnCleanup(t testing.TB, dm *testenv.Daemon, name string) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			r := dm.Do(t, "DELETE", "/volumes/"+url.PathEscape(name), nil)
			if r.Status == http.StatusNoContent || r.Status == http.StatusNotFound {
				return
			}
			if r.Status != http.StatusConflict || time.Now().After(deadline) {
				t.Errorf("cleanup: remove volume %s: %d %s", name, r.Status, r.Body)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// createVolume creates a volume through the API (201 expected), removed
// when the test ends.
func createVolume(t testing.TB, dm *testenv.Daemon, body map[string]any) volume.Volume {
	t.Helper()
	r := dm.ExpectStatus(t, http.StatusCreated, "POST", "/volumes/create", body)
	var v volume.Volume
	r.JSON(t, &v)
	removeOnCleanup(t, dm, v.Name)
	return v
}

func inspectVolume(t testing.TB, dm *testenv.Daemon, name string) volume.Volume {
	t.Helper()
	var v volume.Volume
	dm.ExpectStatus(t, http.StatusOK, "GET", "/volumes/"+url.PathEscape(name), nil).JSON(t, &v)
	return v
}

// listVolumes lists the names of the volumes the filters select.
func listVolumes(t testing.TB, dm *testenv.Daemon, filters map[string][]string) []string {
	t.Helper()
	path := "/volumes"
	if filters != nil {
		b, _ := json.Marshal(filters)
		path += "?filters=" + url.QueryEscape(string(b))
	}
	var lr volume.ListResponse
	dm.ExpectStatus(t, http.StatusOK, "GET", path, nil).JSON(t, &lr)
	names := []string{}
	for _, v := range lr.Volumes {
		names = append(names, v.Name)
	}
	slices.Sort(names)
	return names
}

// volumesRoot is where the daemon keeps its volumes.
func volumesRoot(dm *testenv.Daemon) string { return filepath.Join(dm.Home, "volumes") }

// onDisk lists the entries of the volumes root.
func onDisk(t testing.TB, dm *testenv.Daemon) []string {
	t.Helper()
	entries, err := os.ReadDir(volumesRoot(dm))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func filterQuery(f map[string][]string) string {
	b, _ := json.Marshal(f)
	return "?filters=" + url.QueryEscape(string(b))
}
