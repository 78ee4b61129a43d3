package image

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

type fakeImporter struct {
	APIClient
	source client.ImageImportSource
	data   string
	ref    string
	opts   client.ImageImportOptions
	answer string
}

func (f *fakeImporter) ImageImport(_ context.Context, source client.ImageImportSource, ref string, opts client.ImageImportOptions) (client.ImageImportResult, error) {
	f.source, f.ref, f.opts = source, ref, opts
	if source.Source != nil {
		b, _ := io.ReadAll(source.Source)
		f.data = string(b)
	}
	return io.NopCloser(strings.NewReader(f.answer)), nil
}

func TestImportCommand(t *testing.T) {
	f := &fakeImporter{answer: `{"status":"sha256:abc"}` + "\n"}
	deps, out, _ := testDeps(f, "FROM STDIN")
	if err := execute(t, newImportCommand(deps), "-c", "CMD x", "-c", "ENV A=1", "-m", "msg", "-", "repo:tag"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "sha256:abc\n" || f.data != "FROM STDIN" || f.source.SourceName != "-" || f.ref != "repo:tag" ||
		f.opts.Message != "msg" || strings.Join(f.opts.Changes, "|") != "CMD x|ENV A=1" {
		t.Errorf("import -: %q %+v %q", out, f.opts, f.data)
	}
	file := filepath.Join(t.TempDir(), "fs.tar")
	_ = os.WriteFile(file, []byte("FROM FILE"), 0o644)
	if err := execute(t, newImportCommand(deps), "--platform", "linux/amd64", file); err != nil {
		t.Fatal(err)
	}
	if f.data != "FROM FILE" || f.source.SourceName != "-" || f.ref != "" || f.opts.Platform.OS != "linux" {
		t.Errorf("import FILE: %+v %q", f.opts, f.data)
	}
	if err := execute(t, newImportCommand(deps), "http://example.com/fs.tar"); err != nil || f.source.SourceName != "http://example.com/fs.tar" || f.source.Source != nil {
		t.Errorf("import URL: %v %+v", err, f.source)
	}
	f.answer = `{"errorDetail":{"message":"invalid tar archive"},"error":"invalid tar archive"}` + "\n"
	if err := execute(t, newImportCommand(deps), file); err == nil || !strings.Contains(err.Error(), "invalid tar archive") {
		t.Errorf("error in the stream: %v", err)
	}
	if err := execute(t, newImportCommand(deps), filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Errorf("missing file imported")
	}
}
