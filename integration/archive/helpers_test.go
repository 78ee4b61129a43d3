package archive

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// pouchFails runs the CLI, which must fail with stderr holding want.
func pouchFails(t testing.TB, want string, args ...string) testenv.Result {
	t.Helper()
	res := d.PouchFails(t, args...)
	if !strings.Contains(res.Stderr, want) {
		t.Fatalf("pouch %s: stderr %q, want it to hold %q", strings.Join(args, " "), res.Stderr, want)
	}
	return res
}

func removeImageOnCleanup(t testing.TB, ref string) {
	t.Helper()
	t.Cleanup(func() {
		r := d.Do(t, "DELETE", "/images/"+url.PathEscape(ref)+"?force=1", nil)
		if r.Status != http.StatusOK && r.Status != http.StatusNotFound {
			t.Errorf("cleanup: remove image %s: %d %s", ref, r.Status, r.Body)
		}
	})
}

// runD runs busybox `sh -c script` in the background and waits until the
// script touched /ready (when it mentions it). It returns the name.
func runD(t testing.TB, opts []string, script string) string {
	t.Helper()
	_, name := d.RunDetached(t, append(append([]string{}, opts...), "busybox", "sh", "-c", script)...)
	if strings.Contains(script, "/ready") {
		waitPath(t, name, "/ready")
	}
	return name
}

// create creates (without starting) busybox `sh -c script`.
func create(t testing.TB, opts []string, script string) string {
	t.Helper()
	_, name := d.CreateContainer(t, append(append([]string{}, opts...), "busybox", "sh", "-c", script)...)
	return name
}

// waitPath waits until the container has path.
func waitPath(t testing.TB, ctr, p string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := d.Do(t, "HEAD", "/containers/"+ctr+"/archive?path="+url.QueryEscape(p), nil)
		if r.Status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared in %s: %d", p, ctr, r.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startAttached starts a created container attached and returns its output.
func startAttached(t testing.TB, ctr string) string {
	t.Helper()
	res := d.Pouch(t, nil, "start", "-a", ctr)
	if res.ExitCode != 0 {
		t.Fatalf("start -a %s: exit %d\n%s%s", ctr, res.ExitCode, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

// runRm runs a container of image to completion and returns its output.
func runRm(t testing.TB, image string, cmd ...string) string {
	t.Helper()
	return d.PouchOK(t, append([]string{"run", "--rm", image}, cmd...)...)
}

type tarFile struct {
	name     string
	typ      byte
	data     string
	linkname string
	mode     int64
	uid, gid int
}

func makeTar(t testing.TB, files ...tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if f.typ == 0 {
			f.typ = tar.TypeReg
		}
		if f.mode == 0 {
			f.mode = 0o644
			if f.typ == tar.TypeDir {
				f.mode = 0o755
			}
		}
		hdr := &tar.Header{Name: f.name, Typeflag: f.typ, Linkname: f.linkname, Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: time.Now()}
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

type tarEntry struct {
	hdr  *tar.Header
	data string
}

func readTar(t testing.TB, data []byte) map[string]tarEntry {
	t.Helper()
	out := map[string]tarEntry{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		b, _ := io.ReadAll(tr)
		out[hdr.Name] = tarEntry{hdr, string(b)}
	}
}

func tarNames(m map[string]tarEntry) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// getArchive fetches GET /containers/{id}/archive?path=p.
func getArchive(t testing.TB, ctr, p string) (testenv.Response, *ctypes.PathStat) {
	t.Helper()
	r := d.Do(t, "GET", "/containers/"+url.PathEscape(ctr)+"/archive?path="+url.QueryEscape(p), nil)
	if r.Status != http.StatusOK {
		return r, nil
	}
	return r, decodeStat(t, r.Header)
}

func decodeStat(t testing.TB, h http.Header) *ctypes.PathStat {
	t.Helper()
	v := h.Get("X-Docker-Container-Path-Stat")
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		t.Fatalf("stat header %q: %v", v, err)
	}
	var st ctypes.PathStat
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("stat header %s: %v", b, err)
	}
	return &st
}

// putArchive extracts a tar into a container directory through the API.
func putArchive(t testing.TB, ctr, p string, data []byte, query string) testenv.Response {
	t.Helper()
	q := "path=" + url.QueryEscape(p)
	if query != "" {
		q += "&" + query
	}
	return d.Do(t, "PUT", "/containers/"+url.PathEscape(ctr)+"/archive?"+q, data)
}

// readIn reads a file of a container through the archive API.
func readIn(t testing.TB, ctr, p string) (string, int) {
	t.Helper()
	r, st := getArchive(t, ctr, p)
	if r.Status != http.StatusOK {
		return "", r.Status
	}
	e := readTar(t, r.Body)[st.Name]
	return e.data, r.Status
}

func writeFile(t testing.TB, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var imageIDRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// hostSecret is what the host's files the traps point at hold.
const hostSecret = "HOST SECRET: no container copy may read or write this"

// hostDir makes a directory of the host with a secret file, for traps to
// point at, and returns a check that it is untouched.
func hostDir(t testing.TB) (string, func()) {
	t.Helper()
	dir := filepath.Join(d.Root, testenv.Unique("host"))
	writeFile(t, filepath.Join(dir, "secret"), hostSecret, 0o600)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir, func() {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "secret" || !entries[0].Type().IsRegular() {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name()+"("+e.Type().String()+")")
			}
			t.Errorf("the host directory %s changed: %v", dir, names)
		}
		if got := readFile(t, filepath.Join(dir, "secret")); got != hostSecret {
			t.Errorf("the host's secret changed: %q", got)
		}
	}
}
