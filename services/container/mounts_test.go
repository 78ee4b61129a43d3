package container

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

func TestParseBind(t *testing.T) {
	for in, want := range map[string]MountPoint{
		"/data":                   {Type: mount.TypeVolume, Destination: "/data", Mode: "z", RW: true, Anonymous: true, Driver: "local"},
		"vol:/data":               {Type: mount.TypeVolume, Name: "vol", Destination: "/data", Mode: "z", RW: true, Driver: "local"},
		"vol:/data:ro":            {Type: mount.TypeVolume, Name: "vol", Destination: "/data", Mode: "ro", Driver: "local"},
		"vol:/data:nocopy":        {Type: mount.TypeVolume, Name: "vol", Destination: "/data", Mode: "nocopy", RW: true, NoCopy: true, Driver: "local"},
		"/host/x:/x":              {Type: mount.TypeBind, Source: "/host/x", Destination: "/x", RW: true, CreateSource: true, Propagation: mount.PropagationRPrivate},
		"/host/x/:/x/:ro,rshared": {Type: mount.TypeBind, Source: "/host/x", Destination: "/x", Mode: "ro,rshared", CreateSource: true, Propagation: mount.PropagationRShared},
		"/data:rw":                {Type: mount.TypeVolume, Destination: "/data", Mode: "rw", RW: true, Anonymous: true, Driver: "local"},
	} {
		got, err := parseBind(in)
		if err != nil {
			t.Errorf("parseBind(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("parseBind(%q) = %+v, want %+v", in, got, want)
		}
	}
	for _, in := range []string{
		"a:b:c:d", "vol:relative", "relative", "/x:/y:bogus", "vol:/data:ro,rw", "/x:/y:nocopy",
		"vol:/data:rshared", "v:/data", "-bad:/data", "/x:/", ":/data",
	} {
		if _, err := parseBind(in); !errdefs.IsInvalidArgument(err) {
			t.Errorf("parseBind(%q) = %v, want an invalid-argument error", in, err)
		}
	}
}

func TestParseMountSpec(t *testing.T) {
	dir := t.TempDir()
	ok := []mount.Mount{
		{Type: mount.TypeBind, Source: dir, Target: "/x", ReadOnly: true, BindOptions: &mount.BindOptions{Propagation: mount.PropagationRSlave}},
		{Type: mount.TypeVolume, Source: "vol", Target: "/v", VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
		{Type: mount.TypeVolume, Target: "/anon"},
		{Type: mount.TypeTmpfs, Target: "/t", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1 << 20, Mode: 0o700}},
	}
	for _, m := range ok {
		mp, err := parseMountSpec(m)
		if err != nil {
			t.Errorf("parseMountSpec(%+v): %v", m, err)
			continue
		}
		if mp.Destination != m.Target || mp.RW == m.ReadOnly || mp.Type != m.Type {
			t.Errorf("parseMountSpec(%+v) = %+v", m, mp)
		}
	}
	if mp, _ := parseMountSpec(ok[0]); mp.Propagation != mount.PropagationRSlave || mp.CreateSource {
		t.Errorf("bind: %+v", mp)
	}
	if mp, _ := parseMountSpec(ok[2]); !mp.Anonymous {
		t.Errorf("volume without a source is anonymous: %+v", mp)
	}
	bad := []mount.Mount{
		{Type: mount.TypeBind, Source: filepath.Join(dir, "missing"), Target: "/x"}, // --mount does not create
		{Type: mount.TypeBind, Source: "relative", Target: "/x"},
		{Type: mount.TypeBind, Source: dir, Target: "relative"},
		{Type: mount.TypeBind, Target: "/x"},
		{Type: mount.TypeVolume, Source: "bad name", Target: "/x"},
		{Type: mount.TypeVolume, Source: "v1", Target: "/x", TmpfsOptions: &mount.TmpfsOptions{}},
		{Type: mount.TypeTmpfs, Source: "x", Target: "/x"},
		{Type: mount.TypeTmpfs, Target: "/x", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: -1}},
		{Type: "npipe", Target: "/x"},
		{Type: mount.TypeBind, Source: dir, Target: "/x", BindOptions: &mount.BindOptions{Propagation: "bogus"}},
	}
	for _, m := range bad {
		if _, err := parseMountSpec(m); !errdefs.IsInvalidArgument(err) {
			t.Errorf("parseMountSpec(%+v) = %v, want an invalid-argument error", m, err)
		}
	}
}

func TestParseMountsPrecedenceAndDuplicates(t *testing.T) {
	s := &Service{byID: map[string]*Container{}, names: map[string]string{}}
	hc := &ctypes.HostConfig{Binds: []string{"vol:/data"}, Tmpfs: map[string]string{"/run": ""}}
	mps, err := s.parseMounts(hc, map[string]struct{}{"/data": {}, "/cache": {}, "/run": {}})
	if err != nil {
		t.Fatal(err)
	}
	if len(mps) != 2 || mps[0].Name != "vol" || mps[1].Destination != "/cache" || !mps[1].Anonymous {
		t.Errorf("the image's volumes fill only free destinations: %+v", mps)
	}
	hc = &ctypes.HostConfig{Binds: []string{"a1:/data", "b1:/data/"}}
	if _, err := s.parseMounts(hc, nil); !errdefs.IsInvalidArgument(err) {
		t.Errorf("duplicate destination: %v", err)
	}
	hc = &ctypes.HostConfig{VolumesFrom: []string{"nosuch"}}
	if _, err := s.parseMounts(hc, nil); !errdefs.IsInvalidArgument(err) {
		t.Errorf("volumes-from an unknown container: %v", err)
	}
	other := &Container{ID: "c1", Name: "src", MountPoints: []MountPoint{
		{Type: mount.TypeVolume, Name: "v1", Destination: "/v", RW: true, Anonymous: true},
		{Type: mount.TypeTmpfs, Destination: "/t", RW: true},
	}}
	s.byID["c1"], s.names["src"] = other, "c1"
	mps, err = s.parseMounts(&ctypes.HostConfig{VolumesFrom: []string{"src:ro"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(mps) != 1 || mps[0].Name != "v1" || mps[0].RW || mps[0].Anonymous {
		t.Errorf("volumes-from src:ro: %+v (tmpfs is not shared, the volume is read-only and not ours to remove)", mps)
	}
}

func TestCopyUp(t *testing.T) {
	root, vol := t.TempDir(), t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("host"), 0o600); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "data/sub"), 0o750))
	must(os.WriteFile(filepath.Join(root, "data/sub/f"), []byte("image"), 0o640))
	must(os.Symlink(outside, filepath.Join(root, "data/link")))
	must(copyUp(root, "/data", vol))
	b, err := os.ReadFile(filepath.Join(vol, "sub/f"))
	if err != nil || string(b) != "image" {
		t.Errorf("copied file: %q %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(vol, "sub/f")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode kept: %v %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(vol, "link")); err != nil || target != outside {
		t.Errorf("symlinks are copied as links: %q %v", target, err)
	}
	if _, err := os.Stat(filepath.Join(vol, "link", "secret")); err == nil {
		if fi, _ := os.Lstat(filepath.Join(vol, "link")); fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link was followed and the host directory copied")
		}
	}
	// A volume that is not empty is left alone.
	must(os.WriteFile(filepath.Join(root, "data/new"), []byte("x"), 0o600))
	must(copyUp(root, "/data", vol))
	if _, err := os.Stat(filepath.Join(vol, "new")); err == nil {
		t.Errorf("copied into a volume that was not empty")
	}
	// A destination that is a symlink out of the rootfs resolves inside it.
	vol2 := t.TempDir()
	must(os.Symlink(outside, filepath.Join(root, "escape")))
	must(copyUp(root, "/escape", vol2))
	if _, err := os.Stat(filepath.Join(vol2, "secret")); err == nil {
		t.Errorf("copy-up followed a symlink out of the rootfs")
	}
}
