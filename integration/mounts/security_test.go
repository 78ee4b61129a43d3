package mounts

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestSymlinksNotFollowedOnRemoval: a container plants symlinks in its
// volumes pointing to /, to a bound host directory, to a host directory
// it does not see, to another volume's data and to the volumes root;
// removing the volume afterwards (volume rm, rm -v, --rm) deletes the
// volume and nothing outside it; the bound directory keeps its content.
func TestSymlinksNotFollowedOnRemoval(t *testing.T) {
	t.Parallel()
	vols := trackVolumes(t, d)
	outside := t.TempDir() // not visible in the containers
	writeFile(t, filepath.Join(outside, "marker"), "outside\n")
	writeFile(t, filepath.Join(outside, "sub", "marker"), "outside sub\n")
	bound := t.TempDir()
	writeFile(t, filepath.Join(bound, "marker"), "bound\n")
	victim := vols.name(t)
	d.Sh(t, []string{"-v", victim + ":/v"}, "echo victim > /v/marker")

	// plant fills DIR with links out of it, some nested, some in a
	// directory nobody may enter.
	plant := func(dir string) string {
		links := map[string]string{
			"root":       "/",
			"host":       "/host",
			"outside":    outside,
			"outsidesub": filepath.Join(outside, "sub"),
			"marker":     filepath.Join(outside, "marker"),
			"bound":      bound,
			"victim":     dataPath(d, victim),
			"victimvol":  filepath.Join(volumesRoot(d), victim),
			"volumes":    volumesRoot(d),
			"up":         "../../../../../../../../../..",
			"self":       ".",
		}
		var b strings.Builder
		b.WriteString("set -e; mkdir -p " + dir + "/nested/deeper " + dir + "/locked; ")
		for name, target := range links {
			b.WriteString("ln -s '" + target + "' " + dir + "/" + name + "; ")
			b.WriteString("ln -s '" + target + "' " + dir + "/nested/deeper/" + name + "; ")
			b.WriteString("ln -s '" + target + "' " + dir + "/locked/" + name + "; ")
		}
		b.WriteString("chmod 000 " + dir + "/locked; ")
		// Through the bind, a link in the host directory too.
		b.WriteString("ln -s / /host/planted-root; echo planted")
		return b.String()
	}
	checkOutside := func(t *testing.T, what string) {
		t.Helper()
		for path, want := range map[string]string{
			filepath.Join(outside, "marker"):             "outside\n",
			filepath.Join(outside, "sub", "marker"):      "outside sub\n",
			filepath.Join(bound, "marker"):               "bound\n",
			filepath.Join(dataPath(d, victim), "marker"): "victim\n",
		} {
			if got := readFile(t, path); got != want {
				t.Errorf("%s: %s holds %q, want %q", what, path, got, want)
			}
		}
		if target, err := os.Readlink(filepath.Join(bound, "planted-root")); err != nil || target != "/" {
			t.Errorf("%s: the link the container planted in the bound directory: %q %v", what, target, err)
		}
		for _, p := range []string{"/etc/passwd", "/bin", volumesRoot(d)} {
			if !exists(p) {
				t.Fatalf("%s: %s is gone", what, p)
			}
		}
	}

	t.Run("volume rm", func(t *testing.T) {
		vol := vols.name(t)
		_, ctr := d.CreateContainer(t, "-v", vol+":/data", "-v", bound+":/host", "busybox", "sh", "-c", plant("/data"))
		if out := d.PouchOK(t, "start", "-a", ctr); out != "planted\n" {
			t.Fatalf("planting: %q", out)
		}
		if target, err := os.Readlink(filepath.Join(dataPath(d, vol), "root")); err != nil || target != "/" {
			t.Fatalf("planted link on the host: %q %v", target, err)
		}
		d.PouchOK(t, "rm", ctr)
		d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+vol, nil)
		if exists(filepath.Join(volumesRoot(d), vol)) {
			t.Errorf("volume directory left")
		}
		checkOutside(t, "after volume rm")
		os.Remove(filepath.Join(bound, "planted-root"))
	})

	t.Run("rm -v", func(t *testing.T) {
		id, ctr := d.CreateContainer(t, "-v", "/anon", "-v", bound+":/host", "busybox", "sh", "-c", plant("/anon"))
		anon := vols.add(anonymousVolumes(d.Inspect(t, id))...)
		if out := d.PouchOK(t, "start", "-a", ctr); out != "planted\n" {
			t.Fatalf("planting: %q", out)
		}
		d.PouchOK(t, "rm", "-v", ctr)
		if volumeExists(t, d, anon) || exists(filepath.Join(volumesRoot(d), anon)) {
			t.Errorf("anonymous volume left")
		}
		checkOutside(t, "after rm -v")
		os.Remove(filepath.Join(bound, "planted-root"))
	})

	t.Run("--rm", func(t *testing.T) {
		out := d.Sh(t, []string{"-v", "/anon", "-v", bound + ":/host"}, plant("/anon")+"; grep -w /anon /proc/self/mountinfo | cut -d' ' -f4")
		anon := filepath.Base(filepath.Dir(strings.TrimSpace(strings.TrimPrefix(out, "planted\n"))))
		vols.add(anon)
		if !testenv.IsID(anon) {
			t.Fatalf("volume name from %q", out)
		}
		testenv.Eventually(t, 5*time.Second, "the anonymous volume removed", func() bool { return !exists(filepath.Join(volumesRoot(d), anon)) })
		checkOutside(t, "after --rm")
		os.Remove(filepath.Join(bound, "planted-root"))
	})

	t.Run("tmpfs volume", func(t *testing.T) {
		vol := vols.name(t)
		createVolume(t, d, map[string]any{"Name": vol, "DriverOpts": map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}})
		d.Sh(t, []string{"-v", vol + ":/data", "-v", bound + ":/host"}, plant("/data"))
		d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+vol, nil)
		checkOutside(t, "after removing a tmpfs volume")
		os.Remove(filepath.Join(bound, "planted-root"))
	})
}
