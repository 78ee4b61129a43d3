// Package image holds the integration tests of Pouch's image verbs: load,
// save, list, inspect, tag, history, remove and prune, through the API and
// through the pouch CLI, against one real pouchd.
package image

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

var d *testenv.Daemon

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &d))
}

// newImage builds a busybox image with a layer of its own on top, so its ID
// is new to the daemon. name may be "" for the image's default.
func newImage(t *testing.T, name string, opts ...testimage.Option) *testimage.Image {
	t.Helper()
	marker := make([]byte, 16)
	_, _ = rand.Read(marker)
	all := []testimage.Option{testimage.WithLayer("COPY marker /marker", testimage.RegularFile("/marker", 0o644, marker))}
	if name != "" {
		all = append(all, testimage.WithName(name))
	}
	img, err := testimage.Busybox(append(all, opts...)...)
	if errors.Is(err, testimage.ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func imageID(t *testing.T, img *testimage.Image) string {
	t.Helper()
	id, err := img.ID()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func archiveOf(t *testing.T, format testimage.Format, imgs ...*testimage.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := testimage.Write(&buf, format, imgs...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// loadStream is one line of a /images/load answer.
type loadStream struct {
	Stream      string `json:"stream"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// load posts an archive and returns the lines the daemon printed; the load
// must succeed.
func load(t *testing.T, data []byte) []string {
	t.Helper()
	resp := d.Do(t, "POST", "/images/load?quiet=1", data)
	if resp.Status != 200 {
		t.Fatalf("load: %d %s", resp.Status, resp.Body)
	}
	var lines []string
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	for {
		var s loadStream
		if err := dec.Decode(&s); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("load answer %q: %v", resp.Body, err)
		}
		if s.Error != "" {
			t.Fatalf("load: %s", s.Error)
		}
		if l := strings.TrimSpace(s.Stream); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// removeOnCleanup force-removes refs when the test ends, whatever happened.
func removeOnCleanup(t *testing.T, refs ...string) {
	t.Helper()
	t.Cleanup(func() {
		for _, r := range refs {
			resp := d.Do(t, "DELETE", "/images/"+r+"?force=1", nil)
			if resp.Status != 200 && resp.Status != 404 {
				t.Errorf("cleanup: remove image %s: %d %s", r, resp.Status, resp.Body)
			}
		}
	})
}

// loadImage loads img (docker-archive) and removes it when the test ends.
func loadImage(t *testing.T, img *testimage.Image) string {
	t.Helper()
	id := imageID(t, img)
	removeOnCleanup(t, id)
	load(t, archiveOf(t, testimage.FormatDocker, img))
	return id
}

// summary is the part of GET /images/json the tests read.
type summary struct {
	ID          string `json:"Id"`
	RepoTags    []string
	RepoDigests []string
	Size        int64
	Containers  int64
	Created     int64
}

func listImages(t *testing.T, filters map[string][]string) []summary {
	t.Helper()
	p := "/images/json"
	if filters != nil {
		b, _ := json.Marshal(filters)
		p += "?filters=" + url.QueryEscape(string(b))
	}
	resp := d.Do(t, "GET", p, nil)
	if resp.Status != 200 {
		t.Fatalf("list images: %d %s", resp.Status, resp.Body)
	}
	var out []summary
	resp.JSON(t, &out)
	return out
}

// findImage returns the listed image with that ID, or nil.
func findImage(list []summary, id string) *summary {
	for i := range list {
		if list[i].ID == id {
			return &list[i]
		}
	}
	return nil
}

func ids(list []summary) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.ID)
	}
	sort.Strings(out)
	return out
}

type inspectResp struct {
	ID           string `json:"Id"`
	RepoTags     []string
	RepoDigests  []string
	Os           string
	Architecture string
	Size         int64
	Config       struct {
		Cmd []string
		Env []string
	}
	RootFS struct {
		Type   string
		Layers []string
	}
}

func inspect(t *testing.T, ref string) inspectResp {
	t.Helper()
	resp := d.Do(t, "GET", "/images/"+ref+"/json", nil)
	if resp.Status != 200 {
		t.Fatalf("inspect %s: %d %s", ref, resp.Status, resp.Body)
	}
	var out inspectResp
	resp.JSON(t, &out)
	return out
}

func sameStrings(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// createContainer creates a container and force-removes it at cleanup.
func createContainer(t *testing.T, image string, cmd ...string) string {
	t.Helper()
	body := map[string]any{"Image": image, "Cmd": cmd}
	resp := d.Do(t, "POST", "/containers/create", body)
	if resp.Status != 201 {
		t.Fatalf("create from %s: %d %s", image, resp.Status, resp.Body)
	}
	var c struct {
		ID string `json:"Id"`
	}
	resp.JSON(t, &c)
	d.RemoveContainerOnCleanup(t, c.ID)
	return c.ID
}

func startContainer(t *testing.T, id string) {
	t.Helper()
	if resp := d.Do(t, "POST", "/containers/"+id+"/start", nil); resp.Status != 204 {
		t.Fatalf("start %s: %d %s", id, resp.Status, resp.Body)
	}
}

// runContainer creates, starts and waits for a container, and returns its
// exit code and its output.
func runContainer(t *testing.T, image string, cmd ...string) (int, string) {
	t.Helper()
	id := createContainer(t, image, cmd...)
	startContainer(t, id)
	resp := d.Do(t, "POST", "/containers/"+id+"/wait", nil)
	if resp.Status != 200 {
		t.Fatalf("wait %s: %d %s", id, resp.Status, resp.Body)
	}
	var w struct{ StatusCode int }
	resp.JSON(t, &w)
	return w.StatusCode, logs(t, id)
}

// logs returns a container's stdout and stderr, demultiplexed.
func logs(t *testing.T, id string) string {
	t.Helper()
	resp := d.Do(t, "GET", "/containers/"+id+"/logs?stdout=1&stderr=1", nil)
	if resp.Status != 200 {
		t.Fatalf("logs %s: %d %s", id, resp.Status, resp.Body)
	}
	b := resp.Body
	if !strings.Contains(resp.Header.Get("Content-Type"), "multiplexed") {
		return string(b)
	}
	var out strings.Builder
	for len(b) >= 8 {
		n := int(binary.BigEndian.Uint32(b[4:8]))
		if len(b) < 8+n {
			t.Fatalf("logs %s: short frame", id)
		}
		out.Write(b[8 : 8+n])
		b = b[8+n:]
	}
	return out.String()
}

// blobDir is where the daemon's content store keeps its blobs.
func blobDir() string {
	return filepath.Join(d.Home, "image", "content", "blobs", "sha256")
}

func blobs(t *testing.T) map[string]bool {
	t.Helper()
	return dirEntries(t, blobDir())
}

// dirEntries returns the names in dir (none if it does not exist).
func dirEntries(t *testing.T, dir string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

// waitNoNewBlobs waits (bounded) until the content store holds no blob
// that was not in before: garbage collection runs debounced in the
// background after a failed load.
func waitNoNewBlobs(t *testing.T, before map[string]bool) {
	t.Helper()
	waitNoNew(t, "blobs", blobs, before)
}

// waitNoNew waits up to 10s until list holds nothing that was not in before.
func waitNoNew(t *testing.T, what string, list func(*testing.T) map[string]bool, before map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var extra []string
		for name := range list(t) {
			if !before[name] {
				extra = append(extra, name)
			}
		}
		if len(extra) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s left behind 10s after a failed load: %v", what, extra)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rewriteTar copies a tar archive, passing each regular file through edit,
// which returns the new body and whether to keep the entry.
func rewriteTar(t *testing.T, data []byte, edit func(name string, body []byte) ([]byte, bool)) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			var keep bool
			body, keep = edit(hdr.Name, body)
			if !keep {
				continue
			}
			hdr.Size = int64(len(body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// tarFiles returns the regular files of a tar archive by name.
func tarFiles(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	rewriteTar(t, data, func(name string, body []byte) ([]byte, bool) {
		out[name] = body
		return body, true
	})
	return out
}

var loadedIDRe = regexp.MustCompile(`^Loaded image ID: (sha256:[0-9a-f]{64})$`)
