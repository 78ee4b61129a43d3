package mounts

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestDaemonRestart: across a clean restart and a crash of pouchd,
// volumes keep their data, stay in use by their containers (stopped or
// running), a running container keeps using its named and tmpfs volumes
// (the tmpfs still mounted, still of its size), and everything still
// works afterwards: new containers, stops and starts, rm -v.
func TestDaemonRestart(t *testing.T) {
	t.Parallel()
	dm := testenv.StartDaemon(t, nil)

	dm.PouchOK(t, "volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "scratch")
	dm.Sh(t, []string{"-v", "data:/data"}, "echo kept > /data/f")
	stoppedID, stopped := dm.CreateContainer(t, "-v", "data:/data:ro", "-v", "/anon", "--mount", "type=volume,src=viamount,dst=/m", "busybox", "cat", "/data/f")
	anon := anonymousVolumes(dm.Inspect(t, stoppedID))
	if len(anon) != 1 {
		t.Fatalf("anonymous volumes %v", anon)
	}
	runningID, running := dm.Sleeper(t, "-v", "scratch:/scratch", "-v", "live:/live", "--tmpfs", "/t:size=1m")
	dm.PouchOK(t, "exec", running, "sh", "-c", "echo before > /scratch/f; echo before > /live/f; echo before > /t/f")
	scratchDir := filepath.Dir(dataPath(dm, "scratch"))
	if m := testenv.MountsUnder(scratchDir); len(m) != 1 {
		t.Fatalf("tmpfs volume mounts: %v", m)
	}

	checks := func(t *testing.T, round string) {
		t.Helper()
		var names []string
		for _, v := range listVolumeNames(t, dm) {
			if !testenv.IsID(v) || v == anon[0] {
				names = append(names, v)
			}
		}
		want := []string{anon[0], "data", "live", "scratch", "viamount"}
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("%s: volumes %v, want %v", round, names, want)
		}
		// In use: by the stopped container, by the running one.
		for vol, user := range map[string]string{"data": stoppedID, anon[0]: stoppedID, "viamount": stoppedID, "scratch": runningID, "live": runningID} {
			r := dm.ExpectStatus(t, http.StatusConflict, "DELETE", "/volumes/"+vol, nil)
			if !strings.Contains(r.Message(), user) {
				t.Errorf("%s: remove %s: %q, want it in use by %s", round, vol, r.Message(), user)
			}
		}
		if s := dm.Inspect(t, running).State; !s.Running {
			t.Fatalf("%s: the running container is %s", round, s.Status)
		}
		// The running container's mounts still work, the tmpfs volume
		// still mounted and of its size.
		out := dm.PouchOK(t, "exec", running, "sh", "-c",
			"cat /scratch/f /live/f /t/f; echo "+round+" >> /scratch/f; echo "+round+" >> /live/f; df -k /scratch | tail -n 1 | awk '{print $2}'; "+
				"dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>/dev/null && echo big=ok || echo big=failed; rm -f /scratch/big")
		if !strings.HasPrefix(out, "before\n") || !strings.HasSuffix(out, "\n1024\nbig=failed\n") {
			t.Errorf("%s: in the running container: %q", round, out)
		}
		if m := testenv.MountsUnder(scratchDir); len(m) != 1 {
			t.Errorf("%s: tmpfs volume mounts: %v", round, m)
		}
		if got := readFile(t, filepath.Join(dataPath(dm, "live"), "f")); !strings.HasSuffix(got, round+"\n") {
			t.Errorf("%s: live volume on the host: %q", round, got)
		}
		// Data and in-use state usable by new containers.
		if out := dm.PouchOK(t, "start", "-a", stopped); out != "kept\n" {
			t.Errorf("%s: the stopped container reads %q", round, out)
		}
		if out := dm.Sh(t, []string{"-v", "data:/d", "-v", "scratch:/s"}, "cat /d/f; head -n 1 /s/f"); out != "kept\nbefore\n" {
			t.Errorf("%s: a new container reads %q", round, out)
		}
	}

	if err := dm.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := dm.Start(); err != nil {
		t.Fatal(err)
	}
	checks(t, "stop-start")

	dm.Kill()
	if err := dm.Start(); err != nil {
		t.Fatal(err)
	}
	checks(t, "kill-start")
	if got := readFile(t, filepath.Join(dataPath(dm, "live"), "f")); got != "before\nstop-start\nkill-start\n" {
		t.Errorf("live volume after both: %q", got)
	}

	// Stopped, the tmpfs volume is unmounted, and empty at the next use.
	dm.PouchOK(t, "stop", "-t", "0", running)
	testenv.Eventually(t, 10*time.Second, "the tmpfs volume unmounted", func() bool {
		return len(testenv.MountsUnder(scratchDir)) == 0
	})
	dm.PouchOK(t, "start", running)
	if out := dm.PouchOK(t, "exec", running, "sh", "-c", "ls -A /scratch; ls -A /t; cat /live/f | wc -l"); out != "3\n" {
		t.Errorf("after a stop and start: %q", out)
	}

	// Removal works as before.
	dm.PouchOK(t, "rm", "-f", "-v", running, stopped)
	if volumeExists(t, dm, anon[0]) {
		t.Errorf("rm -v after restarts kept the anonymous volume %s", anon[0])
	}
	dm.PouchOK(t, "volume", "rm", "data", "live", "scratch", "viamount")
	testenv.Eventually(t, 10*time.Second, "the volumes root empty and unmounted", func() bool {
		return len(dirNames(t, volumesRoot(dm))) == 0 && len(testenv.MountsUnder(volumesRoot(dm))) == 0
	})
}

// listVolumeNames lists the names of the daemon's volumes, sorted.
func listVolumeNames(t testing.TB, dm *testenv.Daemon) []string {
	t.Helper()
	var lr struct{ Volumes []struct{ Name string } }
	dm.ExpectStatus(t, http.StatusOK, "GET", "/volumes", nil).JSON(t, &lr)
	var out []string
	for _, v := range lr.Volumes {
		out = append(out, v.Name)
	}
	slices.Sort(out)
	return out
}
