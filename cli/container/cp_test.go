package container

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// fakeArchive fakes the archive part of the API.
type fakeArchive struct {
	APIClient
	stat   func(path string) (ctypes.PathStat, error)
	from   func(path string) (client.CopyFromContainerResult, error)
	to     func(o client.CopyToContainerOptions) error
	commit func(string, client.ContainerCommitOptions) (client.ContainerCommitResult, error)
	diff   func(string) (client.ContainerDiffResult, error)
	export func(string) (io.ReadCloser, error)
}

func (f *fakeArchive) ContainerStatPath(_ context.Context, _ string, o client.ContainerStatPathOptions) (client.ContainerStatPathResult, error) {
	st, err := f.stat(o.Path)
	return client.ContainerStatPathResult{Stat: st}, err
}

func (f *fakeArchive) CopyFromContainer(_ context.Context, _ string, o client.CopyFromContainerOptions) (client.CopyFromContainerResult, error) {
	return f.from(o.SourcePath)
}

func (f *fakeArchive) CopyToContainer(_ context.Context, _ string, o client.CopyToContainerOptions) (client.CopyToContainerResult, error) {
	return client.CopyToContainerResult{}, f.to(o)
}

func (f *fakeArchive) ContainerExport(_ context.Context, id string, _ client.ContainerExportOptions) (client.ContainerExportResult, error) {
	return f.export(id)
}

func (f *fakeArchive) ContainerDiff(_ context.Context, id string, _ client.ContainerDiffOptions) (client.ContainerDiffResult, error) {
	return f.diff(id)
}

func (f *fakeArchive) ContainerCommit(_ context.Context, id string, o client.ContainerCommitOptions) (client.ContainerCommitResult, error) {
	return f.commit(id, o)
}

var errNoSuchFile = errors.New("Could not find the file")

type tf struct {
	name, data, link string
	typ              byte
}

func tarOf(t *testing.T, files ...tf) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if f.typ == 0 {
			f.typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: f.name, Typeflag: f.typ, Linkname: f.link, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Now()}
		if f.typ != tar.TypeReg {
			hdr.Size = 0
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(f.data))
	}
	_ = tw.Close()
	return buf.Bytes()
}

func tarEntryNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			sort.Strings(out)
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hdr.Name)
	}
}

func TestSplitCpArg(t *testing.T) {
	for arg, want := range map[string][2]string{
		"c:/etc":       {"c", "/etc"},
		"/abs/a:b":     {"", "/abs/a:b"},
		"./file:name":  {"", "./file:name"},
		"local":        {"", "local"},
		"c:":           {"c", ""},
		"my-ctr:rel/p": {"my-ctr", "rel/p"},
	} {
		c, p := splitCpArg(arg)
		if c != want[0] || p != want[1] {
			t.Errorf("splitCpArg(%q) = %q, %q", arg, c, p)
		}
	}
}

func TestPrepareArchiveCopy(t *testing.T) {
	content := func() io.Reader {
		return bytes.NewReader(tarOf(t, tf{name: "src/", typ: tar.TypeDir}, tf{name: "src/f", data: "x"}))
	}
	file := func() io.Reader { return bytes.NewReader(tarOf(t, tf{name: "f", data: "x"})) }
	for _, tc := range []struct {
		name     string
		src, dst copyInfo
		content  func() io.Reader
		dir      string
		names    string
		err      error
	}{
		{"into a directory", copyInfo{Path: "/l/src", IsDir: true, Exists: true}, copyInfo{Path: "/c/dir", Exists: true, IsDir: true}, content, "/c/dir", "src/ src/f", nil},
		{"directory to a new name", copyInfo{Path: "/l/src", IsDir: true, Exists: true}, copyInfo{Path: "/c/new"}, content, "/c", "new/ new/f", nil},
		{"directory onto a file", copyInfo{Path: "/l/src", IsDir: true, Exists: true}, copyInfo{Path: "/c/file", Exists: true}, content, "", "", errCannotCopyDir},
		{"file onto a file", copyInfo{Path: "/l/f", Exists: true}, copyInfo{Path: "/c/other", Exists: true}, file, "/c", "other", nil},
		{"file to a new name", copyInfo{Path: "/l/f", Exists: true}, copyInfo{Path: "/c/new"}, file, "/c", "new", nil},
		{"file to a missing directory", copyInfo{Path: "/l/f", Exists: true}, copyInfo{Path: "/c/missing/"}, file, "", "", errDirNotExists},
	} {
		dir, rc, err := prepareArchiveCopy(tc.content(), tc.src, tc.dst)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		names := strings.Join(tarEntryNames(t, rc), " ")
		rc.Close()
		if dir != tc.dir || names != tc.names {
			t.Errorf("%s: into %q entries %q, want %q %q", tc.name, dir, names, tc.dir, tc.names)
		}
	}
}

func TestGetRebaseName(t *testing.T) {
	for _, tc := range [][4]string{
		{"/link", "/target", "/target", "link"},
		{"/link/", "/target", "/target/", "link"},
		{"/link/.", "/target", "/target/.", ""},
		{"/same", "/x/same", "/x/same", ""},
	} {
		resolved, rebase := getRebaseName(tc[0], tc[1])
		if resolved != tc[2] || rebase != tc[3] {
			t.Errorf("getRebaseName(%q, %q) = %q, %q", tc[0], tc[1], resolved, rebase)
		}
	}
}

func TestCpToContainerRequests(t *testing.T) {
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "dir/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(src, "dir/sub/f"), []byte("f"), 0o644)
	_ = os.WriteFile(filepath.Join(src, "file"), []byte("file"), 0o644)
	stats := map[string]ctypes.PathStat{
		"/existing": {Name: "existing", Mode: os.ModeDir | 0o755},
		"/afile":    {Name: "afile", Mode: 0o644},
		"/link":     {Name: "link", Mode: os.ModeSymlink | 0o777, LinkTarget: "/existing"},
	}
	for _, tc := range []struct {
		args  []string
		path  string
		names string
		uid   bool
		err   string
	}{
		{[]string{filepath.Join(src, "dir"), "c:/existing"}, "/existing", "dir/ dir/sub/ dir/sub/f", false, ""},
		{[]string{filepath.Join(src, "dir"), "c:/new"}, "/", "new/ new/sub/ new/sub/f", false, ""},
		{[]string{filepath.Join(src, "dir") + "/.", "c:/existing"}, "/existing", "./ ./sub/ ./sub/f", false, ""},
		{[]string{"-a", filepath.Join(src, "file"), "c:/afile"}, "/", "afile", true, ""},
		{[]string{filepath.Join(src, "file"), "c:/link"}, "/existing", "file", false, ""},
		{[]string{filepath.Join(src, "dir"), "c:/afile"}, "", "", false, "cannot copy directory"},
		{[]string{filepath.Join(src, "nope"), "c:/existing"}, "", "", false, "no such file or directory"},
		{[]string{"-", "c:/afile"}, "", "", false, `destination "c:/afile" must be a directory`},
		{[]string{"c:/a", "d:/b"}, "", "", false, "copying between containers is not supported"},
		{[]string{"a", "b"}, "", "", false, "must specify at least one container source"},
	} {
		var got client.CopyToContainerOptions
		var names []string
		fake := &fakeArchive{
			stat: func(p string) (ctypes.PathStat, error) {
				if st, ok := stats[p]; ok {
					return st, nil
				}
				return ctypes.PathStat{}, errNoSuchFile
			},
			to: func(o client.CopyToContainerOptions) error {
				got = o
				names = tarEntryNames(t, o.Content)
				return nil
			},
		}
		deps, _, _ := testDeps(fake, "")
		err := execute(t, newCpCommand(deps), tc.args...)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if got.DestinationPath != tc.path || strings.Join(names, " ") != tc.names || got.CopyUIDGID != tc.uid || got.AllowOverwriteDirWithFile {
			t.Errorf("%v: PUT %q %v uid %v, want %q %q", tc.args, got.DestinationPath, names, got.CopyUIDGID, tc.path, tc.names)
		}
	}
}

func TestCpFromContainerExtracts(t *testing.T) {
	dirTar := tarOf(t, tf{name: "data/", typ: tar.TypeDir}, tf{name: "data/f", data: "hello"}, tf{name: "data/l", typ: tar.TypeSymlink, link: "f"})
	fileTar := tarOf(t, tf{name: "target", data: "target data"})
	fake := &fakeArchive{
		stat: func(p string) (ctypes.PathStat, error) {
			if p == "/link" {
				return ctypes.PathStat{Name: "link", Mode: os.ModeSymlink, LinkTarget: "/dir/target"}, nil
			}
			return ctypes.PathStat{}, errNoSuchFile
		},
		from: func(p string) (client.CopyFromContainerResult, error) {
			switch p {
			case "/data":
				return client.CopyFromContainerResult{Content: io.NopCloser(bytes.NewReader(dirTar)), Stat: ctypes.PathStat{Name: "data", Mode: os.ModeDir | 0o755}}, nil
			case "/dir/target":
				return client.CopyFromContainerResult{Content: io.NopCloser(bytes.NewReader(fileTar)), Stat: ctypes.PathStat{Name: "target", Mode: 0o644, Size: 11}}, nil
			}
			return client.CopyFromContainerResult{}, errNoSuchFile
		},
	}
	dst := t.TempDir()
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newCpCommand(deps), "c:/data", dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "data/f")); string(b) != "hello" {
		t.Errorf("into a directory: %q", b)
	}
	if l, _ := os.Readlink(filepath.Join(dst, "data/l")); l != "f" {
		t.Errorf("symlink: %q", l)
	}
	if err := execute(t, newCpCommand(deps), "c:/data", filepath.Join(dst, "renamed")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "renamed/f")); string(b) != "hello" {
		t.Errorf("to a new name: %q", b)
	}
	if err := execute(t, newCpCommand(deps), "-L", "c:/link", dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "link")); string(b) != "target data" {
		t.Errorf("-L keeps the link's name: %q", b)
	}
	if err := execute(t, newCpCommand(deps), "c:/data", "-"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), dirTar) {
		t.Errorf("- writes the archive as it came")
	}
	if err := execute(t, newCpCommand(deps), "c:/nope", dst); err == nil || !strings.Contains(err.Error(), "Could not find the file") {
		t.Errorf("missing: %v", err)
	}
	if err := execute(t, newCpCommand(deps), "c:/data", filepath.Join(dst, "no/such/dir")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing local directory: %v", err)
	}
}

func TestUntarLocalStaysInDestination(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []tf
		err   string
	}{
		{"dotdot", []tf{{name: "../x", data: "x"}}, "outside"},
		{"through an absolute symlink", []tf{{name: "l", typ: tar.TypeSymlink, link: "/"}, {name: "l/etc/x", data: "x"}}, "escapes"},
		{"relative symlink out", []tf{{name: "l", typ: tar.TypeSymlink, link: "../../.."}}, "invalid symlink"},
		{"hardlink out", []tf{{name: "h", typ: tar.TypeLink, link: "../../etc/passwd"}}, "invalid hardlink"},
		{"absolute name", []tf{{name: "/abs", data: "x"}}, ""},
	} {
		base := t.TempDir()
		dest := filepath.Join(base, "dest")
		_ = os.Mkdir(dest, 0o755)
		err := untarLocal(bytes.NewReader(tarOf(t, tc.files...)), dest)
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
		entries, _ := os.ReadDir(base)
		if len(entries) != 1 {
			t.Errorf("%s: something landed beside the destination", tc.name)
		}
		if _, err := os.Stat("/etc/x"); err == nil {
			t.Fatalf("%s: wrote the host's /etc/x", tc.name)
		}
	}
}

func TestCommitDiffExportCommands(t *testing.T) {
	var gotCommit client.ContainerCommitOptions
	fake := &fakeArchive{
		commit: func(id string, o client.ContainerCommitOptions) (client.ContainerCommitResult, error) {
			gotCommit = o
			return client.ContainerCommitResult{ID: "sha256:abc"}, nil
		},
		diff: func(string) (client.ContainerDiffResult, error) {
			return client.ContainerDiffResult{Changes: []ctypes.FilesystemChange{{Kind: ctypes.ChangeModify, Path: "/etc"}, {Kind: ctypes.ChangeAdd, Path: "/etc/x"}, {Kind: ctypes.ChangeDelete, Path: "/gone"}}}, nil
		},
		export: func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("TARBALL")), nil },
	}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newCommitCommand(deps), "-m", "msg", "-a", "me", "-c", "CMD x", "-c", "ENV A=1", "--pause=false", "c", "repo:tag"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "sha256:abc\n" || gotCommit.Reference != "repo:tag" || gotCommit.Comment != "msg" || gotCommit.Author != "me" ||
		strings.Join(gotCommit.Changes, "|") != "CMD x|ENV A=1" || !gotCommit.NoPause {
		t.Errorf("commit: %q %+v", out, gotCommit)
	}
	out.Reset()
	if err := execute(t, newCommitCommand(deps), "c"); err != nil || gotCommit.NoPause || gotCommit.Reference != "" {
		t.Errorf("commit defaults: %v %+v", err, gotCommit)
	}
	out.Reset()
	if err := execute(t, newDiffCommand(deps), "c"); err != nil || out.String() != "C /etc\nA /etc/x\nD /gone\n" {
		t.Errorf("diff: %v %q", err, out)
	}
	out.Reset()
	file := filepath.Join(t.TempDir(), "out.tar")
	if err := execute(t, newExportCommand(deps), "-o", file, "c"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); string(b) != "TARBALL" {
		t.Errorf("export -o: %q", b)
	}
	if err := execute(t, newExportCommand(deps), "c"); err != nil || out.String() != "TARBALL" {
		t.Errorf("export to stdout: %v %q", err, out)
	}
	if err := execute(t, newExportCommand(deps), "-o", "/no/such/dir/x.tar", "c"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("export to a missing directory: %v", err)
	}
}
