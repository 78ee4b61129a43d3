package archive

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestArchiveAPI: the stat header, archives of files, directories and
// links, compressed uploads, and every refusal with Docker's status and
// message.
func TestArchiveAPI(t *testing.T) {
	t.Parallel()
	ctr := runD(t, nil, "mkdir /d && echo 12345 > /d/f && ln -s /d/f /l && ln -s nowhere /dangling && touch /ready; sleep 1000")
	r := d.Do(t, "HEAD", "/v1.24/containers/"+ctr+"/archive?path=/d/f", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("HEAD: %d", r.Status)
	}
	st := decodeStat(t, r.Header)
	if st.Name != "f" || st.Size != 6 || st.Mode.Perm() != 0o644 || !st.Mode.IsRegular() || time.Since(st.Mtime) > time.Hour {
		t.Errorf("stat %+v", st)
	}
	r = d.Do(t, "HEAD", "/containers/"+ctr+"/archive?path=/l", nil)
	if st := decodeStat(t, r.Header); st.Mode&os.ModeSymlink == 0 || st.LinkTarget != "/d/f" {
		t.Errorf("symlink stat %+v", st)
	}
	r = d.Do(t, "HEAD", "/containers/"+ctr+"/archive?path=/dangling", nil)
	if st := decodeStat(t, r.Header); r.Status != http.StatusOK || st.LinkTarget != "/nowhere" {
		t.Errorf("dangling symlink stat %d %+v", r.Status, st)
	}
	r = d.Do(t, "HEAD", "/containers/"+ctr+"/archive?path=/d/", nil)
	if st := decodeStat(t, r.Header); !st.Mode.IsDir() || st.Name != "d" {
		t.Errorf("directory stat %+v", st)
	}
	r, st = getArchive(t, ctr, "/d")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/x-tar" || !st.Mode.IsDir() {
		t.Fatalf("GET: %d %v", r.Status, r.Header)
	}
	if names := strings.Join(tarNames(readTar(t, r.Body)), " "); names != "d/ d/f" {
		t.Errorf("archive of /d: %s", names)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(makeTar(t, tarFile{name: "zipped", data: "z"}))
	_ = zw.Close()
	if r := putArchive(t, ctr, "/d", gz.Bytes(), ""); r.Status != http.StatusOK {
		t.Errorf("gzip upload: %d %s", r.Status, r.Body)
	}
	if got, _ := readIn(t, ctr, "/d/zipped"); got != "z" {
		t.Errorf("gzip upload landed as %q", got)
	}
	if r := putArchive(t, ctr, "/l", makeTar(t, tarFile{name: "x", data: "x"}), ""); r.Status != http.StatusBadRequest || r.Message() != "extraction point is not a directory" {
		t.Errorf("PUT into a symlink to a file: %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct {
		method, path string
		body         []byte
		status       int
		message      string
	}{
		{"HEAD", "/containers/nope-" + ctr + "/archive?path=/", nil, http.StatusNotFound, ""},
		{"GET", "/containers/nope-" + ctr + "/archive?path=/", nil, http.StatusNotFound, "No such container: nope-" + ctr},
		{"PUT", "/containers/nope-" + ctr + "/archive?path=/", makeTar(t), http.StatusNotFound, "No such container: nope-" + ctr},
		{"GET", "/containers/" + ctr + "/archive", nil, http.StatusBadRequest, "path cannot be empty"},
		{"PUT", "/containers/" + ctr + "/archive", makeTar(t), http.StatusBadRequest, "path cannot be empty"},
		{"HEAD", "/containers/" + ctr + "/archive?path=/nope", nil, http.StatusNotFound, ""},
		{"GET", "/containers/" + ctr + "/archive?path=/nope", nil, http.StatusNotFound, "Could not find the file /nope in container " + ctr},
		{"GET", "/containers/" + ctr + "/archive?path=/d/f/", nil, http.StatusBadRequest, "/d/f/: not a directory"},
		{"PUT", "/containers/" + ctr + "/archive?path=/nope", makeTar(t), http.StatusNotFound, "Could not find the file /nope in container " + ctr},
		{"PUT", "/containers/" + ctr + "/archive?path=/d/f", makeTar(t), http.StatusBadRequest, "extraction point is not a directory"},
		{"PUT", "/containers/" + ctr + "/archive?path=/d", []byte(strings.Repeat("not a tar ", 200)), http.StatusBadRequest, ""},
		{"PUT", "/containers/" + ctr + "/archive?path=/d&noOverwriteDirNonDir=maybe", makeTar(t), http.StatusBadRequest, ""},
		{"PUT", "/containers/" + ctr + "/archive?path=/&noOverwriteDirNonDir=1", makeTar(t, tarFile{name: "d", data: "x"}), http.StatusBadRequest, `cannot overwrite directory "/d" with non-directory "/"`},
		{"PUT", "/containers/" + ctr + "/archive?path=/etc", makeTar(t, tarFile{name: "hosts", data: "x"}), http.StatusBadRequest, ""},
		{"GET", "/containers/nope-" + ctr + "/export", nil, http.StatusNotFound, "No such container: nope-" + ctr},
		{"GET", "/containers/nope-" + ctr + "/changes", nil, http.StatusNotFound, "No such container: nope-" + ctr},
	} {
		r := d.Do(t, tc.method, tc.path, tc.body)
		if r.Status != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, r.Status, r.Body, tc.status)
			continue
		}
		if tc.message != "" && r.Message() != tc.message {
			t.Errorf("%s %s: message %q, want %q", tc.method, tc.path, r.Message(), tc.message)
		}
		if tc.method != "HEAD" && r.Message() == "" {
			t.Errorf("%s %s: an error without a message: %s", tc.method, tc.path, r.Body)
		}
	}
	// A read-only root filesystem takes no copy, but gives them.
	ro := create(t, []string{"--read-only"}, "true")
	if r := putArchive(t, ro, "/tmp", makeTar(t, tarFile{name: "x", data: "x"}), ""); r.Status != http.StatusBadRequest || r.Message() != "container rootfs is marked read-only" {
		t.Errorf("PUT into a read-only container: %d %s", r.Status, r.Body)
	}
	if got, status := readIn(t, ro, "/etc/passwd"); status != http.StatusOK || !strings.HasPrefix(got, imagePasswd) {
		t.Errorf("GET from a read-only container: %d", status)
	}
}

// TestImportLeavesNothing: a broken import leaves no blob once collected.
// Not parallel: it counts the content store's blobs.
func TestImportLeavesNothing(t *testing.T) {
	blobDir := filepath.Join(d.Home, "image", "content", "blobs", "sha256")
	list := func() map[string]bool {
		entries, _ := os.ReadDir(blobDir)
		m := map[string]bool{}
		for _, e := range entries {
			m[e.Name()] = true
		}
		return m
	}
	// Let an earlier collection finish first.
	time.Sleep(1500 * time.Millisecond)
	before := list()
	big := makeTar(t, tarFile{name: "big", data: strings.Repeat("x", 1<<20)})
	for _, bad := range [][]byte{big[:len(big)/2], append([]byte("garbage"), big...)} {
		if r := d.Do(t, "POST", "/images/create?fromSrc=-&repo=leftover", bad); r.Status != http.StatusBadRequest {
			t.Errorf("broken import: %d %s", r.Status, r.Body)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var extra []string
		for b := range list() {
			if !before[b] {
				extra = append(extra, b)
			}
		}
		if len(extra) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("blobs left after failed imports: %v", extra)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := d.Do(t, "GET", "/images/leftover/json", nil); r.Status != http.StatusNotFound {
		t.Errorf("an image of a failed import: %d", r.Status)
	}
	// Ingests are gone too.
	if entries, _ := os.ReadDir(filepath.Join(d.Home, "image", "content", "ingest")); len(entries) != 0 {
		t.Errorf("ingests left: %d", len(entries))
	}
}
