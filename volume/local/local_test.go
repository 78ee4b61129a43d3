package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"ab", "data", "my_vol.1-2", "0x", strings.Repeat("f", 64)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", ".", "..", "../etc", "a/b", "/abs", ".hidden", "-dash", "_under", "sp ace", "ü-nicode", "x\x00"} {
		if err := ValidateName(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: want an invalid argument, got %v", bad, err)
		}
	}
	if err := ValidateName("a"); err == nil || !strings.Contains(err.Error(), "volume name is too short") {
		t.Errorf("one character: %v", err)
	}
	if err := ValidateName("a/b"); err == nil || !strings.Contains(err.Error(), `"a/b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed`) {
		t.Errorf("Docker's message: %v", err)
	}
	if n := NewName(); len(n) != 64 || ValidateName(n) != nil || n == NewName() {
		t.Errorf("NewName: %q", n)
	}
}

func TestParseOptions(t *testing.T) {
	for _, tt := range []struct {
		opts map[string]string
		want Options
	}{
		{nil, Options{}},
		{map[string]string{}, Options{}},
		{map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=64m"}, Options{"tmpfs", "tmpfs", "size=64m"}},
		{map[string]string{"type": "none", "device": "/srv/x", "o": "bind"}, Options{"none", "/srv/x", "bind"}},
		{map[string]string{"type": "btrfs", "device": "/dev/sda2"}, Options{"btrfs", "/dev/sda2", ""}},
		{map[string]string{"size": "0"}, Options{}},
	} {
		got, err := ParseOptions(tt.opts)
		if err != nil || got != tt.want {
			t.Errorf("%v: got %+v, %v; want %+v", tt.opts, got, err, tt.want)
		}
		if got.NeedsMount() != (tt.want.Type != "") {
			t.Errorf("%v: NeedsMount %v", tt.opts, got.NeedsMount())
		}
	}
	for _, tt := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"foo": "bar"}, `invalid option: "foo"`},
		{map[string]string{"type": "tmpfs", "device": "tmpfs", "uid": "1"}, `invalid option: "uid"`},
		{map[string]string{"type": "tmpfs"}, `missing required option: "device"`},
		{map[string]string{"device": "tmpfs"}, `missing required option: "type"`},
		{map[string]string{"o": "size=1m", "type": "tmpfs"}, `missing required option: "device"`},
		{map[string]string{"size": "10g"}, "quota size requested but no quota support"},
		{map[string]string{"size": "lots"}, `invalid size "lots"`},
		{map[string]string{"type": "", "device": "tmpfs"}, "options type and device must not be empty"},
	} {
		_, err := ParseOptions(tt.opts)
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want %q (invalid argument)", tt.opts, err, tt.want)
		}
	}
}

func TestOptionsStringHidesPasswords(t *testing.T) {
	o := Options{Type: "cifs", Device: "//srv/share", O: "username=u,password=s3cret,vers=3.0"}
	if s := o.String(); strings.Contains(s, "s3cret") || !strings.Contains(s, "username=u,password=********,vers=3.0") {
		t.Errorf("String: %q", s)
	}
}

func openRoot(t *testing.T) *Root {
	t.Helper()
	r, err := Open(context.Background(), filepath.Join(t.TempDir(), "volumes"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRootCreateAndDetach(t *testing.T) {
	r := openRoot(t)
	if err := r.Create("data", []byte(`{"Name":"data"}`)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(r.DataPath("data")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
		t.Fatalf("data directory: %v %v", fi, err)
	}
	if b, err := r.ReadRecord("data"); err != nil || string(b) != `{"Name":"data"}` {
		t.Fatalf("record: %q %v", b, err)
	}
	if err := r.Create("data", nil); !errdefs.IsAlreadyExists(err) {
		t.Errorf("second create: %v", err)
	}
	if err := r.Create("../escape", nil); !errdefs.IsInvalidArgument(err) {
		t.Errorf("create ../escape: %v", err)
	}
	os.WriteFile(filepath.Join(r.DataPath("data"), "f"), []byte("x"), 0o644)
	names, _, err := r.Names()
	if err != nil || len(names) != 1 || names[0] != "data" {
		t.Fatalf("Names: %v %v", names, err)
	}
	detached, err := r.Detach("data")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r.Dir("data")); !os.IsNotExist(err) {
		t.Errorf("volume directory still there after Detach: %v", err)
	}
	if names, _, _ := r.Names(); len(names) != 0 {
		t.Errorf("detached volume listed: %v", names)
	}
	if err := r.Purge(detached); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(r.Path()); len(entries) != 0 {
		t.Errorf("left in the root: %v", entries)
	}
	if err := r.Purge(filepath.Join(r.Path(), "other")); err == nil {
		t.Errorf("Purge accepted a directory it did not detach")
	}
	if err := r.Purge("/etc/.removing-x"); err == nil {
		t.Errorf("Purge accepted a directory outside the root")
	}
}

// A crash while creating or removing leaves a dot directory that the next
// Open deletes; other entries are reported, not touched.
func TestOpenCleansLeftovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "volumes")
	for _, d := range []string{".creating-123/_data", ".removing-old-1/_data/sub", "kept/_data", "x"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(dir, "link"))
	r, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	names, skipped, err := r.Names()
	if err != nil || strings.Join(names, ",") != "kept" || strings.Join(skipped, ",") != "file,link,x" {
		t.Errorf("Names: %v, skipped %v, %v", names, skipped, err)
	}
	for _, d := range []string{".creating-123", ".removing-old-1"} {
		if _, err := os.Lstat(filepath.Join(dir, d)); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", d, err)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("symlink target touched: %v", err)
	}
}

// A volume directory replaced by a symlink must not lead removal elsewhere.
func TestDetachRefusesSymlink(t *testing.T) {
	r := openRoot(t)
	if err := r.Create("vol", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	precious := filepath.Join(outside, "precious")
	os.WriteFile(precious, []byte("keep me"), 0o644)
	os.RemoveAll(r.Dir("vol"))
	if err := os.Symlink(outside, r.Dir("vol")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Detach("vol"); err == nil || !strings.Contains(err.Error(), "is not a directory but a symlink") {
		t.Errorf("Detach of a symlink: %v", err)
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "keep me" {
		t.Errorf("symlink target damaged: %q %v", b, err)
	}
	// _data itself a symlink: the link goes, never what it points to.
	if err := os.Remove(r.Dir("vol")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(r.Dir("vol"), 0o701)
	os.Symlink(outside, r.DataPath("vol"))
	os.Symlink(precious, filepath.Join(r.Dir("vol"), "link"))
	detached, err := r.Detach("vol")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Purge(detached); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "keep me" {
		t.Errorf("symlink target damaged: %q %v", b, err)
	}
}

func TestSize(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), make([]byte, 1000), 0o644)
	os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "deeper", "b"), make([]byte, 24), 0o644)
	os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "sub", "hardlink"))
	os.Symlink("/etc/passwd", filepath.Join(dir, "link")) // 11 bytes: the link, not the file
	got, err := Size(context.Background(), dir)
	if err != nil || got != 1000+24+int64(len("/etc/passwd")) {
		t.Errorf("Size = %d, %v", got, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Size(ctx, dir); err == nil {
		t.Errorf("Size ignored a cancelled context")
	}
}
