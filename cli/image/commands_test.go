package image

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
)

func TestRmiPrintsUntaggedAndDeleted(t *testing.T) {
	var seen []client.ImageRemoveOptions
	fake := &fakeClient{removeFunc: func(name string, o client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
		seen = append(seen, o)
		if name == "ghost" {
			return client.ImageRemoveResult{}, errorString("Error response from daemon: No such image: ghost:latest")
		}
		return client.ImageRemoveResult{Items: []image.DeleteResponse{
			{Untagged: name + ":latest"},
			{Untagged: name + "@" + digest},
			{Deleted: busyboxID},
		}}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newRemoveCommand(deps), "-f", "busybox", "ghost")
	assertEqual(t, "stdout", out.String(), "Untagged: busybox:latest\nUntagged: busybox@"+digest+"\nDeleted: "+busyboxID+"\n")
	if err == nil || err.Error() != "Error response from daemon: No such image: ghost:latest" {
		t.Errorf("error: %v", err)
	}
	assertEqual(t, "options", seen[0], client.ImageRemoveOptions{Force: true, PruneChildren: true})

	deps, _, _ = testDeps(fake, "")
	seen = nil
	_ = execute(t, newRemoveCommand(deps), "--no-prune", "busybox")
	assertEqual(t, "no-prune", seen[0], client.ImageRemoveOptions{PruneChildren: false})
}

func TestLoadPrintsMessages(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	if err := os.WriteFile(archive, []byte("tar bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	var sent string
	fake := &fakeClient{loadFunc: func(in io.Reader, _ []client.ImageLoadOption) (client.ImageLoadResult, error) {
		b, _ := io.ReadAll(in)
		sent = string(b)
		return io.NopCloser(strings.NewReader(
			`{"status":"Loading layer","progressDetail":{"current":512,"total":1024},"id":"abc"}` + "\n" +
				`{"stream":"Loaded image: busybox:latest\n"}` + "\n" +
				`{"stream":"Loaded image ID: ` + busyboxID + `\n"}`)), nil
	}}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newLoadCommand(deps), "-i", archive); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "sent", sent, "tar bytes")
	assertEqual(t, "stdout", out.String(), "Loaded image: busybox:latest\nLoaded image ID: "+busyboxID+"\n")

	deps, out, _ = testDeps(fake, "tar from stdin")
	if err := execute(t, newLoadCommand(deps)); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "sent from stdin", sent, "tar from stdin")
}

func TestLoadReportsDaemonError(t *testing.T) {
	fake := &fakeClient{loadFunc: func(io.Reader, []client.ImageLoadOption) (client.ImageLoadResult, error) {
		return io.NopCloser(strings.NewReader(`{"errorDetail":{"message":"unrecognized archive"},"error":"unrecognized archive"}`)), nil
	}}
	deps, _, _ := testDeps(fake, "junk")
	err := execute(t, newLoadCommand(deps))
	if err == nil || err.Error() != "unrecognized archive" {
		t.Fatalf("got %v", err)
	}
}

func TestSaveToFile(t *testing.T) {
	var names []string
	fake := &fakeClient{saveFunc: func(n []string) (client.ImageSaveResult, error) {
		names = n
		return io.NopCloser(strings.NewReader("archive")), nil
	}}
	dir := t.TempDir()
	target := filepath.Join(dir, "out.tar")
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newSaveCommand(deps), "-o", target, "busybox", "alpine"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "names", names, []string{"busybox", "alpine"})
	got, _ := os.ReadFile(target)
	assertEqual(t, "file", string(got), "archive")
	assertEqual(t, "stdout", out.String(), "")

	// Without -o, and stdout not a terminal, the archive goes to stdout.
	deps, out, _ = testDeps(fake, "")
	if err := execute(t, newSaveCommand(deps), "busybox"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", out.String(), "archive")
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errorString("connection reset") }

func TestSaveFailureLeavesNoFile(t *testing.T) {
	fake := &fakeClient{saveFunc: func([]string) (client.ImageSaveResult, error) {
		return io.NopCloser(io.MultiReader(strings.NewReader("partial"), failingReader{})), nil
	}}
	dir := t.TempDir()
	deps, _, _ := testDeps(fake, "")
	if err := execute(t, newSaveCommand(deps), "-o", filepath.Join(dir, "out.tar"), "busybox"); err == nil {
		t.Fatal("expected an error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestPruneFiltersAndReport(t *testing.T) {
	var got client.Filters
	fake := &fakeClient{pruneFunc: func(o client.ImagePruneOptions) (client.ImagePruneResult, error) {
		got = o.Filters
		return client.ImagePruneResult{Report: image.PruneReport{
			ImagesDeleted:  []image.DeleteResponse{{Untagged: "old:1"}, {Deleted: busyboxID}},
			SpaceReclaimed: 4_261_550,
		}}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newPruneCommand(deps), "-f"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "filters", got, client.Filters{}.Add("dangling", "true"))
	assertEqual(t, "report", out.String(), "Deleted Images:\nuntagged: old:1\ndeleted: "+busyboxID+"\n\nTotal reclaimed space: 4.262MB\n")

	deps, out, _ = testDeps(fake, "y\n")
	if err := execute(t, newPruneCommand(deps), "-a", "--filter", "until=24h"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "filters", got, client.Filters{}.Add("dangling", "false").Add("until", "24h"))
	if !strings.HasPrefix(out.String(), "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue? [y/N] ") {
		t.Errorf("prompt: %q", out.String())
	}
}

func TestTag(t *testing.T) {
	var got client.ImageTagOptions
	fake := &fakeClient{tagFunc: func(o client.ImageTagOptions) (client.ImageTagResult, error) {
		got = o
		return client.ImageTagResult{}, nil
	}}
	deps, _, _ := testDeps(fake, "")
	if err := execute(t, newTagCommand(deps), "busybox", "me/box:v1"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "tag", got, client.ImageTagOptions{Source: "busybox", Target: "me/box:v1"})
}

func TestHistory(t *testing.T) {
	now := time.Now()
	fake := &fakeClient{historyFunc: func(string) (client.ImageHistoryResult, error) {
		return client.ImageHistoryResult{Items: []image.HistoryResponseItem{
			{ID: busyboxID, Created: now.Add(-2 * time.Hour).Unix(), CreatedBy: "/bin/sh -c #(nop)  CMD [\"sh\"]", Size: 0},
			{ID: "<missing>", Created: now.Add(-3 * time.Hour).Unix(), CreatedBy: "/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef in / ", Size: 4_261_550, Comment: "imported"},
		}}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newHistoryCommand(deps), "busybox"); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"IMAGE          CREATED       CREATED BY                                      SIZE      COMMENT",
		"6fd955f66c23   2 hours ago   /bin/sh -c #(nop)  CMD [\"sh\"]                   0B        ",
		"<missing>      3 hours ago   /bin/sh -c #(nop) ADD file:0123456789abcdef0…   4.26MB    imported",
		"",
	}, "\n")
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}

	deps, out, _ = testDeps(fake, "")
	if err := execute(t, newHistoryCommand(deps), "-q", "--no-trunc", "busybox"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "quiet", out.String(), busyboxID+"\n<missing>\n")

	deps, out, _ = testDeps(fake, "")
	if err := execute(t, newHistoryCommand(deps), "-H=false", "--format", "{{.Size}}", "busybox"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "not human", out.String(), "0\n4261550\n")
}

func TestInspectAgainstHTTPDaemon(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		switch {
		case strings.HasSuffix(r.URL.Path, "/images/busybox/json"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"Id":"`+busyboxID+`","RepoTags":["busybox:latest"],"Size":4261550}`)
		case strings.HasSuffix(r.URL.Path, "/_ping"):
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"No such image: ghost:latest"}`)
		}
	}))
	defer srv.Close()
	c, err := client.New(client.WithHost("tcp://" + srv.Listener.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	deps, out, _ := testDeps(c, "")
	err = execute(t, newInspectCommand(deps), "-f", "{{.Id}} {{index .RepoTags 0}} {{.Size}}", "busybox", "ghost")
	assertEqual(t, "stdout", out.String(), busyboxID+" busybox:latest 4261550\n")
	if err == nil || err.Error() != "Error response from daemon: No such image: ghost:latest" {
		t.Errorf("error: %v", err)
	}
}
