package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	for _, tt := range []struct {
		o     string
		flags uintptr
		data  string
	}{
		{"", 0, ""},
		{"size=64m,uid=1000", 0, "size=64m,uid=1000"},
		{"ro,noexec,size=1m,nosuid", unix.MS_RDONLY | unix.MS_NOEXEC | unix.MS_NOSUID, "size=1m"},
		{"ro,rw", 0, ""},
		{"bind", unix.MS_BIND, ""},
		{"rbind,ro,rshared", unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY | unix.MS_SHARED, ""},
		{"addr=10.0.0.1,,nfsvers=4", 0, "addr=10.0.0.1,nfsvers=4"},
	} {
		flags, data := parseMountOptions(tt.o)
		if flags != tt.flags || data != tt.data {
			t.Errorf("%q: got %#x %q, want %#x %q", tt.o, flags, data, tt.flags, tt.data)
		}
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("mounting needs root")
	}
}

// unmountOnCleanup detaches whatever a failing test left mounted, so the
// temporary directory can go.
func unmountOnCleanup(t *testing.T, paths ...string) {
	t.Cleanup(func() {
		for _, p := range paths {
			for i := 0; i < 3; i++ {
				if unix.Unmount(p, unix.MNT_DETACH) != nil {
					break
				}
			}
		}
	})
}

func TestMountTmpfs(t *testing.T) {
	needRoot(t)
	target := filepath.Join(t.TempDir(), "_data")
	os.Mkdir(target, 0o755)
	unmountOnCleanup(t, target)
	o, err := ParseOptions(map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m,mode=0710"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Mount(o, target); err != nil {
		t.Fatal(err)
	}
	if m, err := Mounted(target); err != nil || !m {
		t.Fatalf("Mounted = %v, %v", m, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil || st.Type != unix.TMPFS_MAGIC || st.Blocks*uint64(st.Bsize) != 1<<20 {
		t.Errorf("statfs: type %#x, %d bytes, %v", st.Type, st.Blocks*uint64(st.Bsize), err)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o710 {
		t.Errorf("mode %v, want 0710 from o=mode=0710", fi.Mode().Perm())
	}
	os.WriteFile(filepath.Join(target, "f"), []byte("in tmpfs"), 0o644)
	if mounts, err := MountsUnder(filepath.Dir(target)); err != nil || len(mounts) != 1 || mounts[0] != target {
		t.Errorf("MountsUnder: %v %v", mounts, err)
	}
	if err := Unmount(target); err != nil {
		t.Fatal(err)
	}
	if m, _ := Mounted(target); m {
		t.Errorf("still mounted")
	}
	if _, err := os.Stat(filepath.Join(target, "f")); !os.IsNotExist(err) {
		t.Errorf("the tmpfs's file is visible after unmount: %v", err)
	}
	// Nothing mounted: no error.
	if err := Unmount(target); err != nil {
		t.Errorf("second Unmount: %v", err)
	}
}

func TestMountBindReadOnly(t *testing.T) {
	needRoot(t)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "hello"), []byte("host"), 0o644)
	target := filepath.Join(t.TempDir(), "_data")
	os.Mkdir(target, 0o755)
	unmountOnCleanup(t, target)
	if err := Mount(Options{Type: "none", Device: src, O: "bind,ro"}, target); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "hello")); err != nil || string(b) != "host" {
		t.Errorf("bind content: %q %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(target, "new"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("write through a read-only bind: %v", err)
	}
	if err := Unmount(target); err != nil {
		t.Fatal(err)
	}
}

func TestMountRefusesSymlinkTarget(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	elsewhere := t.TempDir()
	target := filepath.Join(dir, "_data")
	os.Symlink(elsewhere, target)
	unmountOnCleanup(t, elsewhere, target)
	err := Mount(Options{Type: "tmpfs", Device: "tmpfs"}, target)
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("mount on a symlink: %v", err)
	}
	if m, _ := Mounted(elsewhere); m {
		t.Errorf("mounted through the symlink")
	}
}

func TestDetachRefusesMounted(t *testing.T) {
	needRoot(t)
	r := openRoot(t)
	if err := r.Create("busy", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	unmountOnCleanup(t, r.DataPath("busy"))
	if err := Mount(Options{Type: "tmpfs", Device: "tmpfs"}, r.DataPath("busy")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Detach("busy"); err == nil || !strings.Contains(err.Error(), "still mounted") {
		t.Errorf("Detach of a mounted volume: %v", err)
	}
	if err := Unmount(r.DataPath("busy")); err != nil {
		t.Fatal(err)
	}
	d, err := r.Detach("busy")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Purge(d); err != nil {
		t.Fatal(err)
	}
}
