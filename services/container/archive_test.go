package container

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"
)

const hostSecret = "HOST SECRET - must never reach a container copy"

// trapRoot is a container root full of the traps a hostile container
// plants, beside an "outside" directory standing for the host.
type trapRoot struct {
	root    string // the container's root directory
	outside string // a host directory the traps point at
	fs      *rootFS
}

func newTrapRoot(t *testing.T) *trapRoot {
	t.Helper()
	base := t.TempDir()
	tr := &trapRoot{root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	mk := func(p string, data string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(tr.root, p)); err != nil {
			t.Fatal(err)
		}
	}
	mk(filepath.Join(tr.outside, "secret"), hostSecret, 0o600)
	mk(filepath.Join(tr.outside, "victim"), hostSecret, 0o644)
	mk(filepath.Join(tr.outside, "managed-hosts"), "127.0.0.1 managed\n", 0o644)
	mk(filepath.Join(tr.outside, "managed-hostname"), "managed\n", 0o644)
	mk(filepath.Join(tr.root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nu:x:1234:5678::/:/bin/sh\n", 0o644)
	mk(filepath.Join(tr.root, "etc/group"), "root:x:0:\ng:x:5678:\n", 0o644)
	mk(filepath.Join(tr.root, "etc/hosts"), "image hosts\n", 0o644)
	mk(filepath.Join(tr.root, "dir/file"), "in dir", 0o640)
	link("/", "trap")                                     // ln -s / /trap
	link("/etc/shadow", "shadow")                         // ln -s /etc/shadow /shadow
	link(tr.outside, "escape")                            // the host directory, by its host path
	link(tr.outside+"/victim", "victim")                  // a host file, by its host path
	link(strings.Repeat("../", 20)+tr.outside[1:], "rel") // climbing out with ..
	link("loop", "loop")
	fs, err := openRootFS(tr.root, map[string]string{
		"/etc/hosts":    filepath.Join(tr.outside, "managed-hosts"),
		"/etc/hostname": filepath.Join(tr.outside, "managed-hostname"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fs.Close)
	tr.fs = fs
	return tr
}

// checkHostUntouched fails when the outside directory changed.
func (tr *trapRoot) checkHostUntouched(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(tr.outside)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, ","); got != "managed-hostname,managed-hosts,secret,victim" {
		t.Errorf("host directory changed: %s", got)
	}
	for _, f := range []string{"secret", "victim"} {
		b, err := os.ReadFile(filepath.Join(tr.outside, f))
		if err != nil || string(b) != hostSecret {
			t.Errorf("host file %s changed: %q %v", f, b, err)
		}
		st, _ := os.Lstat(filepath.Join(tr.outside, f))
		if st == nil || st.Mode()&os.ModeSymlink != 0 {
			t.Errorf("host file %s replaced", f)
		}
	}
}

func TestStatPathStaysInRoot(t *testing.T) {
	tr := newTrapRoot(t)
	for _, tc := range []struct {
		path       string
		err        error
		name       string
		mode       os.FileMode // type bits wanted
		linkTarget string
		size       int64
	}{
		{path: "/trap", name: "trap", mode: os.ModeSymlink, linkTarget: "/"},
		{path: "/trap/", name: "trap", mode: os.ModeDir},
		{path: "/trap/.", name: ".", mode: os.ModeDir},
		{path: "/shadow", name: "shadow", mode: os.ModeSymlink, linkTarget: "/etc/shadow"},
		{path: "/shadow/", err: unix.ENOENT},
		{path: "/escape", name: "escape", mode: os.ModeSymlink, linkTarget: tr.outside},
		{path: "/escape/secret", err: unix.ENOENT},
		{path: "/rel/secret", err: unix.ENOENT},
		{path: "/trap/../../../etc/passwd", name: "passwd", size: 55},
		{path: "../../../etc/passwd", name: "passwd", size: 55},
		{path: "/escape/x/y", err: unix.ENOENT},
		{path: "/loop/x", err: unix.ELOOP},
		{path: "/etc/passwd/", err: unix.ENOTDIR},
		{path: "/etc/hosts", name: "hosts", size: int64(len("127.0.0.1 managed\n"))},
		{path: "/trap/etc/hosts", name: "hosts", size: int64(len("127.0.0.1 managed\n"))},
		{path: "/etc/hostname", name: "hostname", size: int64(len("managed\n"))},
		{path: "/", name: "/", mode: os.ModeDir},
	} {
		e, st, err := tr.fs.statPath(tc.path)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: error %v, want %v", tc.path, err, tc.err)
			}
			if e != nil {
				e.Close()
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		e.Close()
		if st.Name != tc.name || st.Mode.Type() != tc.mode || st.LinkTarget != tc.linkTarget || (tc.size != 0 && st.Size != tc.size) {
			t.Errorf("%s: stat %+v, want name %q type %v target %q size %d", tc.path, st, tc.name, tc.mode, tc.linkTarget, tc.size)
		}
	}
	tr.checkHostUntouched(t)
}

type tarEntry struct {
	hdr  *tar.Header
	data string
}

func readTar(t *testing.T, r io.Reader) map[string]tarEntry {
	t.Helper()
	out := map[string]tarEntry{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[hdr.Name] = tarEntry{hdr, string(b)}
	}
}

func names(m map[string]tarEntry) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (tr *trapRoot) archive(t *testing.T, p string) (*ctypes.PathStat, map[string]tarEntry, error) {
	t.Helper()
	var buf bytes.Buffer
	var stat *ctypes.PathStat
	var lookupFailed bool
	err := tr.fs.archivePath(p, func(s *ctypes.PathStat) (io.Writer, error) {
		stat = s
		return &buf, nil
	}, &lookupFailed)
	if err != nil {
		return nil, nil, err
	}
	entries := readTar(t, &buf)
	for n, e := range entries {
		if strings.Contains(e.data, hostSecret) {
			t.Fatalf("archive of %s carries the host's secret in %s", p, n)
		}
	}
	return stat, entries, nil
}

func TestArchivePathNames(t *testing.T) {
	tr := newTrapRoot(t)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/dir", []string{"dir/", "dir/file"}},
		{"/dir/", []string{"dir/", "dir/file"}},
		{"/dir/.", []string{"./", "./file"}},
		{"/dir/file", []string{"file"}},
		{"/trap", []string{"trap"}},
		{"/escape", []string{"escape"}},
		{"/etc", []string{"etc/", "etc/group", "etc/hostname", "etc/hosts", "etc/passwd"}},
	} {
		_, got, err := tr.archive(t, tc.path)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		if g := strings.Join(names(got), " "); g != strings.Join(tc.want, " ") {
			t.Errorf("%s: entries %s, want %s", tc.path, g, strings.Join(tc.want, " "))
		}
	}
	_, got, err := tr.archive(t, "/etc/hosts")
	if err != nil || got["hosts"].data != "127.0.0.1 managed\n" {
		t.Errorf("/etc/hosts is the daemon's file: %v %q", err, got["hosts"].data)
	}
	_, got, err = tr.archive(t, "/dir/file")
	if err != nil || got["file"].data != "in dir" || got["file"].hdr.Mode != 0o640 {
		t.Errorf("/dir/file: %v %+v", err, got["file"])
	}
	if _, got, err = tr.archive(t, "/trap"); err != nil || got["trap"].hdr.Typeflag != tar.TypeSymlink || got["trap"].hdr.Linkname != "/" {
		t.Errorf("a symlink is archived as itself: %v %+v", err, got["trap"])
	}
	_, got, err = tr.archive(t, "/")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["/"]; !ok {
		t.Errorf("archive of / lacks its root entry: %v", names(got))
	}
	if got["/etc/passwd"].data == "" || got["/trap"].hdr.Typeflag != tar.TypeSymlink {
		t.Errorf("archive of /: %v", names(got))
	}
}

func TestArchiveThroughTrapsReadsTheContainer(t *testing.T) {
	tr := newTrapRoot(t)
	// Through ln -s / /trap: the container's own root, whose passwd is not
	// the host's.
	_, got, err := tr.archive(t, "/trap/etc/passwd")
	if err != nil || !strings.HasPrefix(got["passwd"].data, "root:x:0:0:root:/root:/bin/sh\nu:") {
		t.Fatalf("/trap/etc/passwd: %v %q", err, got["passwd"].data)
	}
	_, got, err = tr.archive(t, "/trap/")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["trap/dir/file"]; !ok {
		t.Errorf("/trap/ is the container's root: %v", names(got))
	}
	for _, p := range []string{"/escape/secret", "/escape/", "/rel/secret", "/shadow/", "/victim/"} {
		if _, _, err := tr.archive(t, p); !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			t.Errorf("%s: %v, want not found", p, err)
		}
	}
	tr.checkHostUntouched(t)
}

type tarFile struct {
	name     string
	typ      byte
	data     string
	linkname string
	mode     int64
	uid, gid int
}

func makeTar(t *testing.T, files ...tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if f.typ == 0 {
			f.typ = tar.TypeReg
		}
		if f.mode == 0 {
			f.mode = 0o644
		}
		hdr := &tar.Header{Name: f.name, Typeflag: f.typ, Linkname: f.linkname, Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: time.Unix(1_600_000_000, 0)}
		if f.typ == tar.TypeReg {
			hdr.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (tr *trapRoot) extract(dest string, opts ExtractOptions, usr string, data []byte) error {
	x, err := tr.fs.extractor(dest, opts, usr)
	if err != nil {
		return err
	}
	return x.untar(bytes.NewReader(data))
}

func TestExtractTraps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dest    string
		files   []tarFile
		invalid bool     // refused as a bad request
		fail    bool     // refused
		want    []string // files that must exist in the root afterwards, with "in"
	}{
		{name: "dotdot", dest: "/", files: []tarFile{{name: "../escape", data: "in"}}, invalid: true},
		{name: "dotdot inside", dest: "/dir", files: []tarFile{{name: "a/../../../escape", data: "in"}}, invalid: true},
		{name: "bare dotdot", dest: "/dir", files: []tarFile{{name: "..", typ: tar.TypeDir}}, invalid: true},
		{name: "absolute name", dest: "/dir", files: []tarFile{{name: "/abs", data: "in"}}, want: []string{"dir/abs"}},
		{name: "symlink to root then through it", dest: "/", files: []tarFile{
			{name: "s", typ: tar.TypeSymlink, linkname: "/"},
			{name: "s/etc/planted", data: "in"},
		}, want: []string{"etc/planted"}},
		{name: "symlink to host path then through it", dest: "/", files: []tarFile{
			{name: "h", typ: tar.TypeSymlink, linkname: "OUTSIDE"},
			{name: "h/planted", data: "in"},
		}, invalid: true}, // as in Docker: no directory is made through a dangling symlink
		{name: "relative symlink climbing out", dest: "/dir", files: []tarFile{{name: "up", typ: tar.TypeSymlink, linkname: "../../../.."}}, invalid: true},
		{name: "hardlink out", dest: "/dir", files: []tarFile{{name: "h", typ: tar.TypeLink, linkname: "../../outside/secret"}}, invalid: true},
		{name: "hardlink to planted host link", dest: "/", files: []tarFile{{name: "h", typ: tar.TypeLink, linkname: "victim"}}},
		{name: "file over planted symlink", dest: "/", files: []tarFile{{name: "victim", data: "in"}}, want: []string{"victim"}},
		{name: "file over symlink to root", dest: "/", files: []tarFile{{name: "trap", data: "in"}}, want: []string{"trap"}},
		{name: "into planted symlink to host dir", dest: "/escape", files: []tarFile{{name: "planted", data: "in"}}, fail: true},
		{name: "into planted relative escape", dest: "/rel", files: []tarFile{{name: "planted", data: "in"}}, fail: true},
		{name: "into symlink to root", dest: "/trap", files: []tarFile{{name: "planted", data: "in"}}, want: []string{"planted"}},
		{name: "through planted symlink dir", dest: "/", files: []tarFile{{name: "escape/planted", data: "in"}}, invalid: true},
		{name: "through planted symlink to root", dest: "/", files: []tarFile{{name: "trap/etc/planted", data: "in"}}, want: []string{"etc/planted"}},
		{name: "daemon mount", dest: "/etc", files: []tarFile{{name: "hosts", data: "in"}}, invalid: true},
		{name: "dir over file", dest: "/", files: []tarFile{{name: "dir/file", typ: tar.TypeDir}}, want: nil},
		{name: "truncated", dest: "/", files: nil, invalid: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrapRoot(t)
			for i := range tc.files {
				tc.files[i].linkname = strings.ReplaceAll(tc.files[i].linkname, "OUTSIDE", tr.outside)
			}
			data := makeTar(t, tc.files...)
			if tc.name == "truncated" {
				data = makeTar(t, tarFile{name: "big", data: strings.Repeat("x", 4096)})[:1024]
			}
			err := tr.extract(tc.dest, ExtractOptions{}, "", data)
			switch {
			case tc.invalid && !errdefs.IsInvalidArgument(err):
				t.Errorf("error %v, want invalid argument", err)
			case tc.fail && err == nil:
				t.Errorf("extraction succeeded, want a failure")
			case !tc.invalid && !tc.fail && err != nil:
				t.Errorf("extract: %v", err)
			}
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "OUTSIDE", tr.outside[1:])
				b, err := os.ReadFile(filepath.Join(tr.root, w))
				if err != nil || string(b) != "in" {
					t.Errorf("%s in the root: %q %v", w, b, err)
				}
			}
			tr.checkHostUntouched(t)
			if _, err := os.Lstat(filepath.Join(filepath.Dir(tr.root), "escape")); err == nil {
				t.Errorf("a file was created beside the root")
			}
		})
	}
}

func TestExtractMetadata(t *testing.T) {
	tr := newTrapRoot(t)
	data := makeTar(t,
		tarFile{name: "d/", typ: tar.TypeDir, mode: 0o750, uid: 11, gid: 12},
		tarFile{name: "d/f", data: "x", mode: 0o4755, uid: 1234, gid: 4321},
		tarFile{name: "d/l", typ: tar.TypeSymlink, linkname: "f", uid: 5, gid: 6},
		tarFile{name: "d/h", typ: tar.TypeLink, linkname: "d/f", mode: 0o4755, uid: 1234, gid: 4321},
		tarFile{name: "d/p", typ: tar.TypeFifo, mode: 0o600},
	)
	if err := tr.extract("/tmp", ExtractOptions{}, "", data); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("extract into a missing directory: %v", err)
	}
	if err := tr.extract("/dir/file", ExtractOptions{}, "", data); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("extract into a file: %v", err)
	}
	if err := tr.extract("/", ExtractOptions{}, "", data); err != nil {
		t.Fatal(err)
	}
	check := func(p string, mode os.FileMode, uid, gid uint32) {
		t.Helper()
		st, err := os.Lstat(filepath.Join(tr.root, p))
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode() != mode || sys.Uid != uid || sys.Gid != gid {
			t.Errorf("%s: mode %v uid %d gid %d, want %v %d %d", p, st.Mode(), sys.Uid, sys.Gid, mode, uid, gid)
		}
	}
	check("d", os.ModeDir|0o750, 11, 12)
	check("d/f", os.ModeSetuid|0o755, 1234, 4321)
	check("d/l", os.ModeSymlink|0o777, 5, 6)
	check("d/p", os.ModeNamedPipe|0o600, 0, 0)
	if st, _ := os.Stat(filepath.Join(tr.root, "d/f")); st == nil || !st.ModTime().Equal(time.Unix(1_600_000_000, 0)) {
		t.Errorf("modification time not kept: %v", st)
	}
	if st, _ := os.Stat(filepath.Join(tr.root, "d")); st == nil || !st.ModTime().Equal(time.Unix(1_600_000_000, 0)) {
		t.Errorf("directory modification time not kept: %v", st)
	}
	a, _ := os.Stat(filepath.Join(tr.root, "d/f"))
	b, _ := os.Stat(filepath.Join(tr.root, "d/h"))
	if !os.SameFile(a, b) {
		t.Errorf("hard link not kept")
	}
	// -a: owned by the container's user, looked up in its own /etc/passwd.
	if err := tr.extract("/", ExtractOptions{CopyUIDGID: true}, "u", makeTar(t, tarFile{name: "owned", data: "x", uid: 1})); err != nil {
		t.Fatal(err)
	}
	check("owned", 0o644, 1234, 5678)
	if err := tr.extract("/", ExtractOptions{CopyUIDGID: true}, "nobody-here", makeTar(t, tarFile{name: "x", data: "x"})); !errdefs.IsInvalidArgument(err) {
		t.Errorf("unknown user: %v", err)
	}
	// noOverwriteDirNonDir, as docker cp asks.
	if err := tr.extract("/", ExtractOptions{NoOverwriteDirNonDir: true}, "", makeTar(t, tarFile{name: "dir", data: "x"})); !errdefs.IsInvalidArgument(err) {
		t.Errorf("file over directory: %v", err)
	}
	if err := tr.extract("/", ExtractOptions{NoOverwriteDirNonDir: true}, "", makeTar(t, tarFile{name: "etc/passwd", typ: tar.TypeDir})); !errdefs.IsInvalidArgument(err) {
		t.Errorf("directory over file: %v", err)
	}
	// Without it, replaced (the directory's contents go too).
	if err := tr.extract("/", ExtractOptions{}, "", makeTar(t, tarFile{name: "dir", data: "now a file"})); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(tr.root, "dir")); string(b) != "now a file" {
		t.Errorf("directory not replaced: %q", b)
	}
	tr.checkHostUntouched(t)
}

// TestSwapRace keeps swapping a directory of the container with a
// symlink to the host (as a container can, with renameat2 in a loop)
// while copies go in and out through it.
func TestSwapRace(t *testing.T) {
	tr := newTrapRoot(t)
	d := filepath.Join(tr.root, "d")
	swap := filepath.Join(tr.root, "swap")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "secret"), []byte("container file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(tr.outside, swap); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join(tr.root, "swaprel")
	if err := os.Symlink(strings.Repeat("../", 20)+tr.outside[1:], rel); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var swaps atomic.Int64
	var wg sync.WaitGroup
	for _, other := range []string{swap, rel} {
		wg.Add(1)
		go func(other string) {
			defer wg.Done()
			for !stop.Load() {
				if err := unix.Renameat2(unix.AT_FDCWD, d, unix.AT_FDCWD, other, unix.RENAME_EXCHANGE); err == nil {
					swaps.Add(1)
				}
			}
		}(other)
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	var ok, failed int
	for i := 0; time.Now().Before(deadline); i++ {
		if _, got, err := tr.archive(t, "/d/secret"); err == nil {
			if got["secret"].data != "container file" {
				t.Fatalf("read %q through the swapped directory", got["secret"].data)
			}
			ok++
		} else {
			failed++
		}
		if _, _, err := tr.archive(t, "/d/"); err == nil {
			ok++
		}
		data := makeTar(t, tarFile{name: "planted", data: "in"}, tarFile{name: "sub/planted", data: "in"})
		if err := tr.extract("/d", ExtractOptions{}, "", data); err == nil {
			ok++
		}
		if err := tr.extract("/", ExtractOptions{}, "", makeTar(t, tarFile{name: "d/planted2", data: "in"})); err == nil {
			ok++
		}
		if e, err := tr.fs.lookup("/d/secret", true); err == nil {
			f, err := os.Open(procPath(e.f))
			if err == nil {
				b, _ := io.ReadAll(f)
				f.Close()
				if string(b) == hostSecret {
					t.Fatalf("opened the host's file through the swapped directory")
				}
			}
			e.Close()
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d swaps; %d operations succeeded, %d reads failed", swaps.Load(), ok, failed)
	if swaps.Load() < 100 {
		t.Errorf("only %d swaps: the race was not exercised", swaps.Load())
	}
	tr.checkHostUntouched(t)
}

func TestEntryPath(t *testing.T) {
	for name, want := range map[string]string{
		"a": "a", "./a": "a", "/a": "a", "a/": "a", "a/../b": "b", ".": "", "./": "", "/": "", "/../a": "a",
		"..": "ERR", "../a": "ERR", "a/../../b": "ERR",
	} {
		got, err := entryPath(name)
		if err != nil {
			got = "ERR"
		}
		if got != want {
			t.Errorf("entryPath(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestPreserveTrailingDotOrSeparator(t *testing.T) {
	for _, tc := range [][3]string{
		{"/etc", "etc", "/etc"},
		{"/etc", "etc/", "/etc/"},
		{"/etc", "etc/.", "/etc/."},
		{"/", "/", "/"},
		{"/", "/.", "/."},
		{"/", ".", "/."},
	} {
		if got := preserveTrailingDotOrSeparator(tc[0], tc[1]); got != tc[2] {
			t.Errorf("preserve(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestPathErrorMessages(t *testing.T) {
	err := pathError(&os.PathError{Op: "openat", Path: "/x", Err: unix.ENOENT}, "/nope", "c1")
	if !errdefs.IsNotFound(err) || !strings.HasPrefix(err.Error(), "Could not find the file /nope in container c1") {
		t.Errorf("not found: %v", err)
	}
	if err := pathError(unix.ENOTDIR, "/f/", "c1"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("not a directory: %v", err)
	}
}

func TestExport(t *testing.T) {
	tr := newTrapRoot(t)
	var buf bytes.Buffer
	if err := tr.fs.export(&buf); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, &buf)
	want := "dir/ dir/file escape etc/ etc/group etc/hosts etc/passwd loop rel shadow trap victim"
	if g := strings.Join(names(got), " "); g != want {
		t.Errorf("export: %s, want %s", g, want)
	}
	if got["etc/hosts"].data != "image hosts\n" {
		t.Errorf("export carries the root's own files, not the daemon's: %q", got["etc/hosts"].data)
	}
	for n, e := range got {
		if strings.Contains(e.data, hostSecret) {
			t.Errorf("export carries the host's secret in %s", n)
		}
	}
}
