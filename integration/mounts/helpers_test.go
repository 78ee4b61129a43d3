package mounts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/volume"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

// volumes removes volumes when the test ends, after the containers using
// them: call it before creating them (cleanups run last registered
// first), then add the names, anonymous ones as they become known.
type volumes struct {
	dm    *testenv.Daemon
	mu    sync.Mutex
	names []string
}

// trackVolumes returns the test's volume list, removed when it ends.
func trackVolumes(t testing.TB, dm *testenv.Daemon) *volumes {
	t.Helper()
	v := &volumes{dm: dm}
	t.Cleanup(func() {
		v.mu.Lock()
		names := slices.Clone(v.names)
		v.mu.Unlock()
		for _, n := range names {
			removeVolume(t, dm, n)
		}
	})
	return v
}

// add records volume names (duplicates are fine) and returns the first.
func (v *volumes) add(names ...string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.names = append(v.names, names...)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// name is a new volume name of the test, removed when it ends.
func (v *volumes) name(t testing.TB) string {
	return v.add(testenv.UniqueName(t))
}

// removeVolume removes a volume (gone already is fine); a container
// removed in the background may hold it a moment longer.
func removeVolume(t testing.TB, dm *testenv.Daemon, name string) {
	t.Helper()
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
}

// createVolume creates a volume through the API (201).
func createVolume(t testing.TB, dm *testenv.Daemon, body map[string]any) volume.Volume {
	t.Helper()
	var v volume.Volume
	dm.ExpectStatus(t, http.StatusCreated, "POST", "/volumes/create", body).JSON(t, &v)
	return v
}

// inspectVolume inspects a volume, which must exist.
func inspectVolume(t testing.TB, dm *testenv.Daemon, name string) volume.Volume {
	t.Helper()
	var v volume.Volume
	dm.ExpectStatus(t, http.StatusOK, "GET", "/volumes/"+url.PathEscape(name), nil).JSON(t, &v)
	return v
}

// volumeExists tells whether the daemon knows the volume.
func volumeExists(t testing.TB, dm *testenv.Daemon, name string) bool {
	t.Helper()
	switch r := dm.Do(t, "GET", "/volumes/"+url.PathEscape(name), nil); r.Status {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	default:
		t.Fatalf("inspect volume %s: %d %s", name, r.Status, r.Body)
		return false
	}
}

// containerExists tells whether the daemon knows the container.
func containerExists(t testing.TB, dm *testenv.Daemon, ref string) bool {
	t.Helper()
	switch r := dm.Do(t, "GET", "/containers/"+url.PathEscape(ref)+"/json", nil); r.Status {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	default:
		t.Fatalf("inspect container %s: %d %s", ref, r.Status, r.Body)
		return false
	}
}

// volumesRoot is where the daemon keeps its volumes.
func volumesRoot(dm *testenv.Daemon) string { return filepath.Join(dm.Home, "volumes") }

// dataPath is where a local volume keeps its data.
func dataPath(dm *testenv.Daemon, name string) string {
	return filepath.Join(volumesRoot(dm), name, "_data")
}

// mountAt is the container's mount at the destination; the test fails
// without one.
func mountAt(t testing.TB, c ctypes.InspectResponse, dst string) ctypes.MountPoint {
	t.Helper()
	for _, m := range c.Mounts {
		if m.Destination == dst {
			return m
		}
	}
	t.Fatalf("no mount at %s in %+v", dst, c.Mounts)
	return ctypes.MountPoint{}
}

// anonymousVolumes lists the names of the container's anonymous volumes
// (64-hex names), sorted.
func anonymousVolumes(c ctypes.InspectResponse) []string {
	var out []string
	for _, m := range c.Mounts {
		if m.Type == "volume" && testenv.IsID(m.Name) {
			out = append(out, m.Name)
		}
	}
	slices.Sort(out)
	return out
}

// readFile reads a host file; a missing file reads as "<missing>".
func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return "<missing>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// dirNames lists a host directory's entries, sorted ("<missing>" when the
// directory does not exist).
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return []string{"<missing>"}
	}
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// writeFile writes a host file, creating its directory.
func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// loadImage loads a busybox-based image with the options under the name,
// removed when the test ends (after its containers, when loaded before
// them).
func loadImage(t testing.TB, dm *testenv.Daemon, name string, opts ...testimage.Option) {
	t.Helper()
	img, err := testimage.Busybox(append([]testimage.Option{testimage.WithName(name)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := testimage.WriteDockerArchive(&buf, img); err != nil {
		t.Fatal(err)
	}
	if r := dm.Do(t, "POST", "/images/load", buf.Bytes()); r.Status != http.StatusOK {
		t.Fatalf("load %s: %d %s", name, r.Status, r.Body)
	}
	t.Cleanup(func() { dm.Do(t, "DELETE", "/images/"+url.PathEscape(name)+"?force=1", nil) })
}

// createAPI creates a container through the API under a unique name
// (201 expected), removed when the test ends; it returns the ID.
func createAPI(t testing.TB, dm *testenv.Daemon, body map[string]any) string {
	t.Helper()
	name := testenv.UniqueName(t)
	dm.RemoveContainerOnCleanup(t, name)
	var resp ctypes.CreateResponse
	dm.ExpectStatus(t, http.StatusCreated, "POST", "/containers/create?name="+name, body).JSON(t, &resp)
	return resp.ID
}

// volumeEvents lists the volume events about the volume between since and
// now, as "ACTION key=value ..." with the attributes the test names.
func volumeEvents(t testing.TB, dm *testenv.Daemon, name string, since time.Time, attrs ...string) []string {
	t.Helper()
	q := fmt.Sprintf("/events?since=%d&until=%d&filters=%s", since.Unix()-1, time.Now().Unix()+1,
		url.QueryEscape(`{"type":["volume"],"volume":["`+name+`"]}`))
	dec := json.NewDecoder(bytes.NewReader(dm.ExpectStatus(t, http.StatusOK, "GET", q, nil).Body))
	var out []string
	for dec.More() {
		var m events.Message
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		if m.Actor.ID != name {
			t.Errorf("event about %s in the events of %s", m.Actor.ID, name)
		}
		s := string(m.Action)
		for _, a := range attrs {
			if v, ok := m.Actor.Attributes[a]; ok {
				s += " " + a + "=" + v
			}
		}
		out = append(out, s)
	}
	return out
}
