package container

import (
	"net/http"
	"strings"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"
)

// TestStartRollback checks that a start that fails leaves nothing of the
// run behind (bundle, rootfs mount, cgroup, runtime state, shim and logger
// processes) and records why, and that the container can then be removed
// cleanly.
func TestStartRollback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		body     map[string]any
		status   int
		exitCode int
		errText  string
	}{
		{"command-not-found", cfg("nosuchcommand"), http.StatusBadRequest, 127, "executable file not found"},
		{"command-is-a-directory", cfg("/etc"), http.StatusBadRequest, 126, "permission denied"},
		{"runtime-create-fails", withRuntime(cfg("true"), rtFailCreate), http.StatusInternalServerError, 128, rtFailCreate + " did not terminate successfully"},
		{"runtime-start-fails", withRuntime(cfg("sleep", "300"), rtFailStart), http.StatusInternalServerError, 128, "injected start failure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := createAPI(t, "", tc.body)
			r := d.ExpectStatus(t, tc.status, "POST", "/containers/"+id+"/start", nil)
			if !strings.Contains(r.Message(), tc.errText) {
				t.Errorf("start error %q, want it to say %q", r.Message(), tc.errText)
			}
			assertNoRuntimeLeftovers(t, id)
			c := d.Inspect(t, id)
			if c.State.Status != ctypes.StateCreated || c.State.Running || c.State.Pid != 0 {
				t.Errorf("state after a failed start: %+v", c.State)
			}
			if c.State.ExitCode != tc.exitCode || !strings.Contains(c.State.Error, tc.errText) {
				t.Errorf("exit code %d error %q, want %d and %q", c.State.ExitCode, c.State.Error, tc.exitCode, tc.errText)
			}
			if strings.HasSuffix(c.State.Error, ": invalid argument") || strings.HasSuffix(c.State.Error, ": unknown") {
				t.Errorf("State.Error carries the error class: %q", c.State.Error)
			}
			// A second attempt fails the same way and still leaks nothing.
			d.ExpectStatus(t, tc.status, "POST", "/containers/"+id+"/start", nil)
			assertNoRuntimeLeftovers(t, id)
			d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/containers/"+id, nil)
			assertRemoved(t, id, "")
		})
	}
}

func withRuntime(body map[string]any, runtime string) map[string]any {
	body["HostConfig"] = map[string]any{"Runtime": runtime}
	return body
}

// TestRemoveCleansUp checks that removing a container that ran removes its
// record directory, snapshot, bundle, mounts and cgroups.
func TestRemoveCleansUp(t *testing.T) {
	t.Parallel()
	t.Run("running-forced", func(t *testing.T) {
		t.Parallel()
		id, name := d.RunDetached(t, "-m", "32m", "busybox", "sleep", "300")
		snap := snapshotDir(t, id)
		if !exists(bundleDir(id)) || !exists(recordDir(id)) || !exists(snap) {
			t.Fatalf("running container lacks its bundle, record or snapshot")
		}
		d.PouchOK(t, "rm", "-f", name)
		assertRemoved(t, id, snap)
	})
	t.Run("exited", func(t *testing.T) {
		t.Parallel()
		id, name := d.RunDetached(t, "busybox", "sh", "-c", "sleep 0.5; echo done")
		snap := snapshotDir(t, id)
		if code := waitAPI(t, name); code != 0 {
			t.Fatalf("exit %d", code)
		}
		// After an exit the run is cleaned up; the record and snapshot stay.
		assertNoRuntimeLeftovers(t, id)
		if !exists(recordDir(id)) || !exists(snap) {
			t.Errorf("an exited container lost its record or snapshot")
		}
		d.PouchOK(t, "rm", name)
		assertRemoved(t, id, snap)
	})
	t.Run("paused-forced", func(t *testing.T) {
		t.Parallel()
		id, name := d.RunDetached(t, "busybox", "sleep", "300")
		snap := snapshotDir(t, id)
		d.PouchOK(t, "pause", name)
		d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/containers/"+name+"?force=true", nil)
		assertRemoved(t, id, snap)
	})
}
