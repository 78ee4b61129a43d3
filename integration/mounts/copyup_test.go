package mounts

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

// busyboxPasswd starts the /etc/passwd of the test image.
const busyboxPasswd = "root:x:0:0:root:/root:/bin/sh\n"

// TestCopyUp: a new, empty volume mounted over a directory of the image
// gets the image's content there, once: a later use does not copy again,
// nocopy leaves it empty, a volume with content is not overwritten, and a
// bind never gets anything.
func TestCopyUp(t *testing.T) {
	t.Parallel()
	vols := trackVolumes(t, d)

	t.Run("new volume on /etc", func(t *testing.T) {
		t.Parallel()
		vol := vols.name(t)
		if out := d.Sh(t, []string{"-v", vol + ":/etc"}, "head -n 1 /etc/passwd; cat /etc/group | wc -l"); out != busyboxPasswd+"3\n" {
			t.Errorf("in the container: %q", out)
		}
		data := dataPath(d, vol)
		if got := readFile(t, filepath.Join(data, "passwd")); !strings.HasPrefix(got, busyboxPasswd) {
			t.Errorf("passwd in the volume: %q", got)
		}
		if fi, err := os.Stat(filepath.Join(data, "passwd")); err != nil || fi.Mode() != 0o644 {
			t.Errorf("passwd mode: %v %v", fi, err)
		}
		// Copied from the image's merged view: what an upper layer
		// deleted is not there.
		if exists(filepath.Join(data, filepath.Base(testimage.RemovedByLayer2))) {
			t.Errorf("the copy holds %s, deleted by the image's second layer", testimage.RemovedByLayer2)
		}

		// The second use does not copy again: what the first container
		// removed stays removed, what it added stays.
		d.Sh(t, []string{"-v", vol + ":/etc"}, "rm /etc/group && echo mine > /etc/added")
		if out := d.Sh(t, []string{"-v", vol + ":/etc"}, "ls /etc/group 2>/dev/null; cat /etc/added; head -n 1 /etc/passwd"); out != "mine\n"+busyboxPasswd {
			t.Errorf("second use: %q", out)
		}
		if exists(filepath.Join(data, "group")) {
			t.Errorf("group copied again into the volume")
		}
	})

	t.Run("--mount and anonymous volumes copy too", func(t *testing.T) {
		t.Parallel()
		vol := vols.name(t)
		for _, opts := range [][]string{
			{"--mount", "type=volume,src=" + vol + ",dst=/etc"},
			{"--mount", "type=volume,dst=/etc"},
			{"-v", "/etc"},
		} {
			if out := d.Sh(t, opts, "head -n 1 /etc/passwd"); out != busyboxPasswd {
				t.Errorf("%v: %q", opts, out)
			}
		}
		// Read-only too (not on /etc, where the runtime must create
		// hosts and resolv.conf).
		if out := d.Sh(t, []string{"-v", vols.name(t) + ":/home:ro"}, "ls /home"); out != "pouch\n" {
			t.Errorf("read-only new volume on /home: %q", out)
		}
	})

	t.Run("volume created beforehand and empty", func(t *testing.T) {
		t.Parallel()
		vol := vols.name(t)
		d.PouchOK(t, "volume", "create", vol)
		if out := d.Sh(t, []string{"-v", vol + ":/etc"}, "head -n 1 /etc/passwd"); out != busyboxPasswd {
			t.Errorf("%q", out)
		}
	})

	t.Run("nocopy", func(t *testing.T) {
		t.Parallel()
		for _, opts := range []func(string) []string{
			func(v string) []string { return []string{"-v", v + ":/home:nocopy"} },
			func(v string) []string { return []string{"-v", v + ":/home:rw,nocopy"} },
			func(v string) []string {
				return []string{"--mount", "type=volume,src=" + v + ",dst=/home,volume-nocopy"}
			},
			func(v string) []string {
				return []string{"--mount", "type=volume,src=" + v + ",dst=/home,volume-nocopy=true"}
			},
		} {
			vol := vols.name(t)
			if out := d.Sh(t, opts(vol), "ls -A /home"); out != "" {
				t.Errorf("%v: /home holds %q", opts(vol), out)
			}
			if got := dirNames(t, dataPath(d, vol)); len(got) != 0 {
				t.Errorf("%v: the volume holds %v", opts(vol), got)
			}
			// A later use without nocopy finds it empty and copies.
			if out := d.Sh(t, []string{"-v", vol + ":/home"}, "ls /home"); out != "pouch\n" {
				t.Errorf("%v, then without nocopy: /home holds %q", opts(vol), out)
			}
		}
	})

	t.Run("non-empty volume not overwritten", func(t *testing.T) {
		t.Parallel()
		vol := vols.name(t)
		d.Sh(t, []string{"-v", vol + ":/x"}, "echo mine > /x/passwd")
		if out := d.Sh(t, []string{"-v", vol + ":/etc"}, "cat /etc/passwd; ls /etc/group 2>&1 >/dev/null | wc -l"); out != "mine\n1\n" {
			t.Errorf("volume with content on /etc: %q", out)
		}
		// A hidden file is content too.
		hidden := vols.name(t)
		d.Sh(t, []string{"-v", hidden + ":/x"}, "touch /x/.keep")
		if out := d.Sh(t, []string{"-v", hidden + ":/etc"}, "ls -A /etc | grep -c -v -e '^hosts$' -e '^hostname$' -e '^resolv.conf$'"); out != "1\n" {
			t.Errorf("volume holding only a hidden file: /etc lists %q", out)
		}
	})

	t.Run("owners modes and links", func(t *testing.T) {
		t.Parallel()
		img := testenv.Unique("copyup")
		loadImage(t, d, img, testimage.WithLayer("app files",
			testimage.File{Path: "/app", Mode: fs.ModeDir | 0o750, UID: 1000, GID: 1000},
			testimage.File{Path: "/app/data/owned", Mode: 0o600, Data: []byte("secret\n"), UID: 1000, GID: 1001},
			testimage.File{Path: "/app/bin/tool", Mode: fs.ModeSetuid | 0o755, Data: []byte("#!/bin/sh\n")},
			testimage.File{Path: "/app/shared", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
			testimage.Symlink("/app/root", "/"),
			testimage.Symlink("/app/passwd", "/etc/passwd"),
			testimage.Symlink("/app/up", "../../../../../.."),
			testimage.Dir("/tmp", fs.ModeSticky|0o777),
			testimage.File{Path: "/tmp/seed", Mode: 0o644, Data: []byte("seed\n")},
		))
		vol, tmp := vols.name(t), vols.name(t)
		if res := d.RunRm(t, "-v", vol+":/app", "-v", tmp+":/tmp", img, "cat", "/app/data/owned"); res.ExitCode != 0 || res.Stdout != "secret\n" {
			t.Fatalf("run: %+v", res)
		}
		data := dataPath(d, vol)
		for _, tc := range []struct {
			path     string
			mode     fs.FileMode
			uid, gid uint32
		}{
			{"", fs.ModeDir | 0o750, 1000, 1000},
			{"data/owned", 0o600, 1000, 1001},
			{"bin/tool", fs.ModeSetuid | 0o755, 0, 0},
			{"shared", fs.ModeDir | fs.ModeSticky | 0o777, 0, 0},
		} {
			fi, err := os.Lstat(filepath.Join(data, tc.path))
			if err != nil {
				t.Errorf("%s: %v", tc.path, err)
				continue
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode() != tc.mode || st.Uid != tc.uid || st.Gid != tc.gid {
				t.Errorf("/app/%s in the volume: %v %d:%d, want %v %d:%d", tc.path, fi.Mode(), st.Uid, st.Gid, tc.mode, tc.uid, tc.gid)
			}
		}
		// Links are copied as links, never followed.
		for link, target := range map[string]string{"root": "/", "passwd": "/etc/passwd", "up": "../../../../../.."} {
			if got, err := os.Readlink(filepath.Join(data, link)); err != nil || got != target {
				t.Errorf("link %s in the volume: %q %v, want %q", link, got, err, target)
			}
		}
		if got := dirNames(t, data); !slices.Equal(got, []string{"bin", "data", "passwd", "root", "shared", "up"}) {
			t.Errorf("the volume holds %v", got)
		}
		// The volume's root takes the image directory's mode: /tmp's 1777.
		if fi, err := os.Stat(dataPath(d, tmp)); err != nil || fi.Mode() != fs.ModeDir|fs.ModeSticky|0o777 {
			t.Errorf("volume on /tmp: %v %v", fi, err)
		}
		if got := readFile(t, filepath.Join(dataPath(d, tmp), "seed")); got != "seed\n" {
			t.Errorf("/tmp/seed in the volume: %q", got)
		}
	})

	t.Run("image path missing or a file", func(t *testing.T) {
		t.Parallel()
		// Nothing to copy: the volume stays empty and the run works.
		vol := vols.name(t)
		if out := d.Sh(t, []string{"-v", vol + ":/no/such/dir"}, "ls -A /no/such/dir; echo ok"); out != "ok\n" {
			t.Errorf("%q", out)
		}
		if got := dirNames(t, dataPath(d, vol)); len(got) != 0 {
			t.Errorf("volume over a missing path holds %v", got)
		}
	})

	t.Run("bind gets nothing", func(t *testing.T) {
		t.Parallel()
		host := t.TempDir()
		if out := d.Sh(t, []string{"-v", host + ":/etc"}, "ls -A /etc | grep -c -e passwd -e group; true"); out != "0\n" {
			t.Errorf("bind on /etc: %q", out)
		}
		if got := dirNames(t, host); slices.Contains(got, "passwd") || slices.Contains(got, "group") {
			t.Errorf("image content copied into a bound host directory: %v", got)
		}
	})
}
