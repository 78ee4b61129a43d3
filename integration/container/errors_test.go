package container

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	const unknown = "/containers/nosuchcontainer_zz"
	for _, c := range []struct{ method, path string }{
		{"GET", unknown + "/json"},
		{"POST", unknown + "/start"},
		{"POST", unknown + "/stop"},
		{"POST", unknown + "/restart"},
		{"POST", unknown + "/kill"},
		{"POST", unknown + "/pause"},
		{"POST", unknown + "/unpause"},
		{"POST", unknown + "/wait"},
		{"POST", unknown + "/rename?name=x"},
		{"GET", unknown + "/logs?stdout=1"},
		{"DELETE", unknown},
		{"DELETE", unknown + "?force=1"},
	} {
		r := d.ExpectStatus(t, http.StatusNotFound, c.method, c.path, nil)
		if !strings.Contains(r.Message(), "No such container") {
			t.Errorf("%s %s: message %q", c.method, c.path, r.Message())
		}
	}

	// Malformed requests.
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create", `{"Image": "busybox",`)
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create", `not json`)
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create", `{"Image": 5}`)
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create", "")
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create?name=bad%20name", cfg("true"))
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create", map[string]any{"Image": "busybox", "Cmd": []string{"true"}, "HostConfig": map[string]any{"NetworkMode": "nosuchnet"}})
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create", map[string]any{"Image": "busybox", "Cmd": []string{"true"}, "HostConfig": map[string]any{"RestartPolicy": map[string]any{"Name": "sometimes"}}})
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create", map[string]any{"Image": "busybox", "Cmd": []string{"true"}, "HostConfig": map[string]any{"Runtime": "nosuchruntime"}})
}

func TestConflicts(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	id := createAPI(t, name, cfg("sleep", "300"))
	// Duplicate name: 409, and through the CLI exit 125.
	r := d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/create?name="+name, cfg("true"))
	if !strings.Contains(r.Message(), id) {
		t.Errorf("conflict message should name the holder: %q", r.Message())
	}
	if res := d.Pouch(t, nil, "run", "--name", name, "busybox", "true"); res.ExitCode != 125 || !strings.Contains(res.Stderr, "already in use") {
		t.Errorf("run with a taken name: exit %d %q", res.ExitCode, res.Combined())
	}

	// State conflicts.
	d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+id+"/kill", nil)
	d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+id+"/pause", nil)
	d.ExpectStatus(t, http.StatusNotModified, "POST", "/containers/"+id+"/stop", nil)
	d.ExpectStatus(t, http.StatusNoContent, "POST", "/containers/"+id+"/start", nil)
	d.ExpectStatus(t, http.StatusNotModified, "POST", "/containers/"+id+"/start", nil)
	d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+id+"/unpause", nil)
	d.ExpectStatus(t, http.StatusConflict, "DELETE", "/containers/"+id, nil)
	d.ExpectStatus(t, http.StatusNoContent, "POST", "/containers/"+id+"/pause", nil)
	d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+id+"/pause", nil)
	d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+id+"/start", nil)
	d.ExpectStatus(t, http.StatusConflict, "DELETE", "/containers/"+id, nil)
	d.ExpectStatus(t, http.StatusNoContent, "POST", "/containers/"+id+"/unpause", nil)

	// Rename conflicts.
	other := testenv.UniqueName(t)
	createAPI(t, other, cfg("true"))
	d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+id+"/rename?name="+other, nil)
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+id+"/rename?name=", nil)
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/"+id+"/rename?name="+url.QueryEscape("bad name"), nil)
	if got := d.Inspect(t, id).Name; got != "/"+name {
		t.Errorf("failed renames changed the name to %s", got)
	}

	d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/containers/"+id+"?force=1", nil)
	d.ExpectStatus(t, http.StatusNotFound, "GET", "/containers/"+id+"/json", nil)
	// The name is free again.
	createAPI(t, name, cfg("true"))
}

func TestIDPrefix(t *testing.T) {
	t.Parallel()
	// 17 containers: two of them share a first hex digit.
	byFirst := map[byte][]string{}
	for i := 0; i < 17; i++ {
		id := createAPI(t, "", cfg("true"))
		byFirst[id[0]] = append(byFirst[id[0]], id)
	}
	for first, ids := range byFirst {
		if len(ids) < 2 {
			continue
		}
		r := d.ExpectStatus(t, http.StatusBadRequest, "GET", "/containers/"+string(first)+"/json", nil)
		if !strings.Contains(r.Message(), "multiple") {
			t.Errorf("ambiguous prefix: %q", r.Message())
		}
		if res := d.Pouch(t, nil, "rm", string(first)); res.ExitCode == 0 {
			t.Errorf("rm with an ambiguous prefix succeeded")
		}
		break
	}
	for _, ids := range byFirst {
		for _, id := range ids {
			if got := d.Inspect(t, id[:12]).ID; got != id {
				t.Errorf("prefix %s found %s", id[:12], got)
			}
		}
	}
}

// TestCreateRollback checks that a failed create leaves no record and frees
// the name.
func TestCreateRollback(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	before := recordDirs(t)
	d.ExpectStatus(t, http.StatusNotFound, "POST", "/containers/create?name="+name, map[string]any{"Image": "nosuchimage_y", "Cmd": []string{"true"}})
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create?name="+name, map[string]any{"Image": "busybox", "Cmd": []string{"true"}, "HostConfig": map[string]any{"Memory": 1024}})
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create?name="+name, map[string]any{"Image": "busybox", "Entrypoint": []string{}, "Cmd": []string{}})
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create?name="+name, map[string]any{"Image": "busybox", "Cmd": []string{"true"}, "HostConfig": map[string]any{"ExtraHosts": []string{"nocolon"}}})
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/create?name=-bad", cfg("true"))
	if res := d.Pouch(t, nil, "create", "--name", name, "nosuchimage_y"); res.ExitCode == 0 {
		t.Errorf("create of an unknown image succeeded")
	}
	// Other tests create containers meanwhile: a directory of theirs is
	// soon listed (or gone); one a failed create left stays unknown.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var left []string
		for id := range recordDirs(t) {
			if !before[id] && !knownContainer(t, id) {
				left = append(left, id)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a failed create left record directories: %v", left)
		}
	}
	d.ExpectStatus(t, http.StatusNotFound, "GET", "/containers/"+name+"/json", nil)
	// The name was never taken.
	createAPI(t, name, cfg("true"))
}

func recordDirs(t testing.TB) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(d.Home, "containers"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

// knownContainer reports whether the daemon lists the container: other
// tests create containers meanwhile.
func knownContainer(t testing.TB, id string) bool {
	t.Helper()
	r := d.Do(t, "GET", "/containers/"+id+"/json", nil)
	if r.Status == http.StatusOK {
		return true
	}
	// A container of another test may have been removed meanwhile.
	return !exists(recordDir(id))
}
