package container

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// tree writes files under dir: "p" a file with content, "p/" a
// directory, "p@target" a symlink. Every time is the same instant, so an
// unchanged file looks unchanged.
func tree(t *testing.T, dir string, files ...string) {
	t.Helper()
	when := time.Unix(1_600_000_000, 0)
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, "/"):
			if err := os.MkdirAll(filepath.Join(dir, f), 0o755); err != nil {
				t.Fatal(err)
			}
		case strings.Contains(f, "@"):
			name, target, _ := strings.Cut(f, "@")
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		default:
			name, data, _ := strings.Cut(f, "=")
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, when, when); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func openTestRoot(t *testing.T, dir string) *rootFS {
	t.Helper()
	fs, err := openRootFS(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fs.Close)
	return fs
}

func TestDiffRoots(t *testing.T) {
	base := t.TempDir()
	oldDir, newDir := filepath.Join(base, "old"), filepath.Join(base, "new")
	tree(t, oldDir, "a=1", "b=b", "same=s", "d/x=x", "d/y=y", "gone/z=z", "typ=file", "etc/passwd=p", "bin/ls@busybox", "bin/busybox=bb", "untouched/deep/f=f")
	tree(t, newDir, "a=12", "b=b", "same=s", "d/x=x", "d/new=n", "typ/k=k", "etc/passwd=p", "bin/busybox=bb", "added/dir/file=f",
		"untouched/deep/f=f", "proc/", "dev/", "etc/hostname=", "etc/hosts=")
	if err := os.Chmod(filepath.Join(newDir, "b"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A directory whose only change is its time (a child came and went)
	// is not a change.
	if err := os.Chtimes(filepath.Join(newDir, "untouched"), time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	c := &Container{HostConfig: &ctypes.HostConfig{}}
	changes, err := diffRoots(openTestRoot(t, oldDir), openTestRoot(t, newDir), runtimeMountPoints(c))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range changes {
		got = append(got, ch.kind.String()+" "+ch.path)
	}
	want := []string{
		"C /a", "A /added", "A /added/dir", "A /added/dir/file", "C /b",
		"C /bin", "D /bin/ls",
		"C /d", "A /d/new", "D /d/y",
		"D /gone",
		"C /typ", "A /typ/k",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A mount point the user filled is a change all the same.
	tree(t, newDir, "etc/resolv.conf=nameserver 1.1.1.1")
	changes, err = diffRoots(openTestRoot(t, oldDir), openTestRoot(t, newDir), runtimeMountPoints(c))
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(changes); !strings.Contains(s, "/etc/resolv.conf") || !strings.Contains(s, "{0 /etc}") {
		t.Errorf("a written resolv.conf is not listed: %v", changes)
	}
	// Everything is added compared with an image without layers.
	changes, err = diffRoots(nil, openTestRoot(t, oldDir), nil)
	if err != nil || len(changes) != 17 || changes[0].kind != ctypes.ChangeAdd {
		t.Errorf("against nothing: %v %v", changes, err)
	}
}

func TestWriteLayer(t *testing.T) {
	base := t.TempDir()
	oldDir, newDir := filepath.Join(base, "old"), filepath.Join(base, "new")
	tree(t, oldDir, "keep=k", "etc/passwd=p", "gone/z=z", "d/y=y")
	tree(t, newDir, "keep=k", "etc/passwd=pp", "d/", "new/file=n", "link@/etc/passwd")
	if err := os.Link(filepath.Join(newDir, "new/file"), filepath.Join(newDir, "new/hard")); err != nil {
		t.Fatal(err)
	}
	fs := openTestRoot(t, newDir)
	changes, err := diffRoots(openTestRoot(t, oldDir), fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeLayer(&buf, fs, changes); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	var got []string
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		s := hdr.Name
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			s += "->" + hdr.Linkname
		case tar.TypeLink:
			s += "=>" + hdr.Linkname
		}
		got = append(got, s)
	}
	want := "d/ d/.wh.y etc/ etc/passwd .wh.gone link->/etc/passwd new/ new/file new/hard=>new/file"
	if strings.Join(got, " ") != want {
		t.Errorf("layer:\n%s\nwant:\n%s", strings.Join(got, " "), want)
	}
}

func TestRuntimeMountPoints(t *testing.T) {
	c := &Container{HostConfig: &ctypes.HostConfig{
		Tmpfs: map[string]string{"/run/": ""},
		Binds: []string{"/host:/data:ro"},
	}}
	m := runtimeMountPoints(c)
	for _, p := range []string{"/proc", "/etc/hosts", "/run", "/data", "/dev/shm"} {
		if !m[p] {
			t.Errorf("%s is not a runtime mount point", p)
		}
	}
}

func TestMergeCommitConfig(t *testing.T) {
	container := &ctypes.Config{
		User: "u", Env: []string{"A=1", "B=2"}, Cmd: []string{"sh"}, WorkingDir: "/w",
		Labels: map[string]string{"l": "1", "m": "1"}, ExposedPorts: network.PortSet{network.MustParsePort("80/tcp"): {}},
		StopSignal: "SIGINT",
	}
	cfg := &ctypes.Config{Env: []string{"B=3"}, Labels: map[string]string{"m": "2"}, Entrypoint: []string{"/bin/cat"}}
	mergeCommitConfig(cfg, container)
	if cfg.User != "u" || strings.Join(cfg.Env, ",") != "B=3,A=1" || cfg.Cmd != nil || cfg.WorkingDir != "/w" ||
		cfg.Labels["l"] != "1" || cfg.Labels["m"] != "2" || len(cfg.ExposedPorts) != 1 || cfg.StopSignal != "SIGINT" {
		t.Errorf("merged: %+v", cfg)
	}
	cfg = &ctypes.Config{}
	mergeCommitConfig(cfg, container)
	if strings.Join(cfg.Cmd, " ") != "sh" {
		t.Errorf("the container's command is kept: %+v", cfg)
	}
}
