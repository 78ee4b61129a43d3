package volume

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// Volumes used by containers. These need the container service wired to
// the volume service (-v NAME:/dst, --mount type=volume, image VOLUMEs).

// TestVolumeInUse: a volume a container references, running or stopped,
// is not removed (409 naming the container), not even with force, nor
// pruned; it is dangling=false until the container goes.
func TestVolumeInUse(t *testing.T) {
	t.Parallel()
	name := uniqueName(t)
	createVolume(t, d, map[string]any{"Name": name})
	id, ctr := d.CreateContainer(t, "-v", name+":/data", "busybox", "true")
	r := d.ExpectStatus(t, http.StatusConflict, "DELETE", "/volumes/"+name, nil)
	if r.Message() != "remove "+name+": volume is in use - ["+id+"]" {
		t.Errorf("remove of a volume in use: %q", r.Message())
	}
	d.ExpectStatus(t, http.StatusConflict, "DELETE", "/volumes/"+name+"?force=1", nil)
	if got := listVolumes(t, d, map[string][]string{"dangling": {"false"}, "name": {name}}); !slices.Equal(got, []string{name}) {
		t.Errorf("dangling=false: %v", got)
	}
	if got := listVolumes(t, d, map[string][]string{"dangling": {"true"}, "name": {name}}); len(got) != 0 {
		t.Errorf("dangling=true: %v", got)
	}
	// Ran and exited: still in use.
	d.PouchOK(t, "start", "-a", ctr)
	d.ExpectStatus(t, http.StatusConflict, "DELETE", "/volumes/"+name, nil)
	res := d.Pouch(t, nil, "volume", "rm", name)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "volume is in use - ["+id+"]") {
		t.Errorf("pouch volume rm of a volume in use: %+v", res)
	}
	d.PouchOK(t, "rm", ctr)
	d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+name, nil)
}

// TestDataThroughContainers: what one container writes to a named volume
// the next one reads, and it is in the volume's directory on the host.
func TestDataThroughContainers(t *testing.T) {
	t.Parallel()
	name := uniqueName(t)
	removeOnCleanup(t, d, name)
	// -v creates a named volume that does not exist.
	d.Sh(t, []string{"-v", name + ":/data"}, "echo hello > /data/greeting")
	v := inspectVolume(t, d, name)
	if b, err := os.ReadFile(filepath.Join(v.Mountpoint, "greeting")); err != nil || string(b) != "hello\n" {
		t.Errorf("on the host: %q %v", b, err)
	}
	if out := d.Sh(t, []string{"--mount", "type=volume,src=" + name + ",dst=/again,readonly"}, "cat /again/greeting; touch /again/x 2>/dev/null || echo ro"); out != "hello\nro\n" {
		t.Errorf("second container: %q", out)
	}
	// As with Docker, once `run --rm` returns its container no longer
	// holds the volume.
	if r := d.Do(t, "DELETE", "/volumes/"+name, nil); r.Status != http.StatusNoContent {
		t.Errorf("remove right after run --rm returned: %d %s", r.Status, r.Body)
	}
}

// TestTmpfsVolume: a tmpfs volume is mounted (with its size) while a
// container uses it and unmounted when the last one stops.
func TestTmpfsVolume(t *testing.T) {
	t.Parallel()
	name := uniqueName(t)
	v := createVolume(t, d, map[string]any{"Name": name,
		"DriverOpts": map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=8m"}})
	_, c1 := d.Sleeper(t, "-v", name+":/data")
	_, c2 := d.Sleeper(t, "-v", name+":/data")
	if !slices.Contains(testenv.MountsUnder(filepath.Dir(v.Mountpoint)), v.Mountpoint) {
		t.Fatalf("%s not mounted while containers use it", v.Mountpoint)
	}
	out := d.PouchOK(t, "exec", c1, "sh", "-c", "echo shared > /data/f; df -k /data | tail -n 1")
	if f := strings.Fields(out); len(f) < 2 || f[1] != "8192" {
		t.Errorf("df in the container: %q, want an 8192k tmpfs", out)
	}
	if out := d.PouchOK(t, "exec", c2, "cat", "/data/f"); out != "shared\n" {
		t.Errorf("second container reads %q", out)
	}
	d.PouchOK(t, "stop", "-t", "1", c1)
	if !slices.Contains(testenv.MountsUnder(filepath.Dir(v.Mountpoint)), v.Mountpoint) {
		t.Errorf("unmounted while %s still uses it", c2)
	}
	d.PouchOK(t, "stop", "-t", "1", c2)
	testenv.Eventually(t, 10*time.Second, "the tmpfs volume unmounted", func() bool {
		return len(testenv.MountsUnder(filepath.Dir(v.Mountpoint))) == 0
	})
	d.PouchOK(t, "rm", c1, c2)
	d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+name, nil)
}

// TestAnonymousVolumes: -v /dst makes an anonymous volume that rm -v
// removes; without -v it stays, for prune.
func TestAnonymousVolumes(t *testing.T) {
	dm := testenv.StartDaemon(t, nil)
	id, ctr := dm.CreateContainer(t, "-v", "/data", "busybox", "true")
	c := dm.Inspect(t, id)
	if len(c.Mounts) != 1 || !hexName.MatchString(c.Mounts[0].Name) || c.Mounts[0].Driver != "local" {
		t.Fatalf("mounts: %+v", c.Mounts)
	}
	anon := c.Mounts[0].Name
	if v := inspectVolume(t, dm, anon); v.Mountpoint != c.Mounts[0].Source {
		t.Errorf("volume %+v, mount %+v", v, c.Mounts[0])
	} else if _, ok := v.Labels["com.docker.volume.anonymous"]; !ok {
		t.Errorf("anonymous volume labels %v", v.Labels)
	}
	dm.PouchOK(t, "rm", "-v", ctr)
	dm.ExpectStatus(t, http.StatusNotFound, "GET", "/volumes/"+anon, nil)

	id, ctr = dm.CreateContainer(t, "-v", "/data", "busybox", "true")
	anon = dm.Inspect(t, id).Mounts[0].Name
	if out := dm.PouchOK(t, "volume", "prune", "-f"); strings.Contains(out, anon) {
		t.Errorf("pruned a volume in use: %q", out)
	}
	dm.PouchOK(t, "rm", ctr)
	if out := dm.PouchOK(t, "volume", "prune", "-f"); !strings.Contains(out, "Deleted Volumes:\n"+anon+"\n") {
		t.Errorf("prune after the container went: %q", out)
	}
}

// TestRestartKeepsUse: after a daemon restart, a volume stays in use by
// its containers, and a tmpfs volume stays mounted for the one still
// running, then is unmounted when it stops.
func TestRestartKeepsUse(t *testing.T) {
	dm := testenv.StartDaemon(t, nil)
	name := "scratch"
	v := createVolume(t, dm, map[string]any{"Name": name,
		"DriverOpts": map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=4m"}})
	removeOnCleanup(t, dm, "named") // made by -v
	stoppedID, _ := dm.CreateContainer(t, "-v", "named:/data", "busybox", "true")
	_, running := dm.Sleeper(t, "-v", name+":/data")
	dm.PouchOK(t, "exec", running, "sh", "-c", "echo before > /data/f")
	if err := dm.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := dm.Start(); err != nil {
		t.Fatal(err)
	}
	r := dm.ExpectStatus(t, http.StatusConflict, "DELETE", "/volumes/named", nil)
	if !strings.Contains(r.Message(), stoppedID) {
		t.Errorf("after restart, remove of a volume a stopped container uses: %q", r.Message())
	}
	dm.ExpectStatus(t, http.StatusConflict, "DELETE", "/volumes/"+name, nil)
	if out := dm.PouchOK(t, "exec", running, "cat", "/data/f"); out != "before\n" {
		t.Errorf("tmpfs content after restart: %q", out)
	}
	if m := testenv.MountsUnder(filepath.Dir(v.Mountpoint)); len(m) != 1 {
		t.Errorf("mounts after restart: %v", m)
	}
	dm.PouchOK(t, "stop", "-t", "1", running)
	testenv.Eventually(t, 10*time.Second, "the tmpfs volume unmounted", func() bool {
		return len(testenv.MountsUnder(filepath.Dir(v.Mountpoint))) == 0
	})
	dm.PouchOK(t, "rm", running)
	dm.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+name, nil)
}
