// Package distribution tests pulling and pushing images through real
// registries: Debian's docker-registry started by the test harness
// (integration/internal/registry) over plain HTTP, TLS from a generated CA,
// htpasswd basic auth and the bearer-token flow, with a proxy in front that
// counts requests and injects faults. Each test starts its own pouchd with
// the registry flags it needs, so counters, faults and kills stay local.
package distribution

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/pouchcontainer/pouch/integration/internal/registry"
	"github.com/pouchcontainer/pouch/integration/internal/testenv"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

// env is one test's pouchd and the registries it talks to.
type env struct {
	d       *testenv.Daemon
	cliHome string // HOME of the pouch CLI: its config is cliHome/.pouch/config.json
}

// startDaemon starts a pouchd with extra flags and the busybox test image
// loaded; it is removed, with everything it made, when the test ends.
func startDaemon(t *testing.T, args ...string) *env {
	t.Helper()
	return startDaemonWith(t, nil, args...)
}

// startDaemonWith is startDaemon with a step run before pouchd starts
// (e.g. mounting a small filesystem as its home).
func startDaemonWith(t *testing.T, before func(d *testenv.Daemon), args ...string) *env {
	t.Helper()
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip(testimage.ErrNoBusybox)
	}
	// Only loopback traffic: a request for any other host (Docker Hub, after
	// a mirror failed) goes to a dead loopback proxy instead of the network.
	// Go never proxies loopback addresses, so the test registries are
	// reached directly.
	dead, err := registry.ClosedPort()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		t.Setenv(k, "http://"+dead)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	e := &env{}
	e.d = testenv.StartDaemon(t, func(d *testenv.Daemon) {
		e.cliHome = filepath.Join(d.Root, "cli-home")
		if err := os.MkdirAll(e.cliHome, 0o700); err != nil {
			t.Fatal(err)
		}
		d.ExtraArgs = args
		d.CLIEnv = []string{"HOME=" + e.cliHome, "POUCH_CONFIG="}
		if before != nil {
			before(d)
		}
	})
	return e
}

// image builds the busybox test image with layers of its own on top
// (a marker file makes it new to every registry and daemon).
func image(t *testing.T, opts ...testimage.Option) *testimage.Image {
	t.Helper()
	marker := make([]byte, 16)
	_, _ = rand.Read(marker)
	all := append([]testimage.Option{testimage.WithLayer("marker", testimage.RegularFile("/marker", 0o644, []byte(hex.EncodeToString(marker)+"\n")))}, opts...)
	img, err := testimage.Busybox(all...)
	if errors.Is(err, testimage.ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// randomLayer is a layer of size bytes of random, incompressible data.
func randomLayer(t *testing.T, name string, size int) testimage.Option {
	t.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	return testimage.WithLayer("random "+name, testimage.RegularFile("/data/"+name, 0o644, data))
}

func configDigest(t *testing.T, img *testimage.Image) string {
	t.Helper()
	id, err := img.ID()
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// message is one line of Docker's JSON progress stream.
type message struct {
	Status         string `json:"status"`
	ID             string `json:"id"`
	Progress       string `json:"progress"`
	ProgressDetail struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux json.RawMessage `json:"aux"`
}

// stream is the outcome of a streaming call (pull, push).
type stream struct {
	Status   int       // HTTP status
	Messages []message // progress messages, when the call streamed
	Err      string    // the error: the stream's last error or the answer's message
	Body     []byte
}

// ok reports a 200 answer whose stream carried no error.
func (s stream) ok() bool { return s.Status == http.StatusOK && s.Err == "" }

func (s stream) String() string {
	return fmt.Sprintf("status %d, error %q, body:\n%s", s.Status, s.Err, s.Body)
}

// statuses returns the status texts of the messages for a layer id ("" =
// messages without id).
func (s stream) statuses(id string) []string {
	var out []string
	for _, m := range s.Messages {
		if m.ID == id {
			out = append(out, m.Status)
		}
	}
	return out
}

// has reports whether some message's status starts with prefix.
func (s stream) has(prefix string) bool {
	for _, m := range s.Messages {
		if strings.HasPrefix(m.Status, prefix) {
			return true
		}
	}
	return false
}

func parseStream(status int, body []byte) stream {
	s := stream{Status: status, Body: body}
	if status != http.StatusOK {
		var m struct{ Message string }
		_ = json.Unmarshal(body, &m)
		s.Err = m.Message
		if s.Err == "" {
			s.Err = strings.TrimSpace(string(body))
		}
		return s
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			s.Err = "undecodable stream: " + err.Error()
			break
		}
		s.Messages = append(s.Messages, m)
		if m.Error != "" {
			s.Err = m.Error
		} else if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			s.Err = m.ErrorDetail.Message
		}
	}
	return s
}

// authHeader is the X-Registry-Auth value for credentials, as the docker
// CLI encodes it.
func authHeader(user, password, server string) string {
	b, _ := json.Marshal(map[string]string{"username": user, "password": password, "serveraddress": server})
	return base64.URLEncoding.EncodeToString(b)
}

// pullOpts are the optional parts of a pull.
type pullOpts struct {
	auth     string // X-Registry-Auth
	platform string
	ctx      context.Context
}

// splitRef splits a reference the way the docker CLI sends it: fromImage
// is the name, tag the tag or the digest.
func splitRef(ref string) (name, tag string) {
	if n, d, ok := strings.Cut(ref, "@"); ok {
		return n, d
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

// pull calls POST /images/create and reads the whole stream (bounded).
func (e *env) pull(t *testing.T, ref string, o pullOpts) stream {
	t.Helper()
	name, tag := splitRef(ref)
	q := url.Values{"fromImage": {name}}
	if tag != "" {
		q.Set("tag", tag)
	}
	if o.platform != "" {
		q.Set("platform", o.platform)
	}
	return e.call(t, o.ctx, "POST", "/images/create?"+q.Encode(), o.auth)
}

// push calls POST /images/{name}/push (bounded).
func (e *env) push(t *testing.T, ref, auth string) stream {
	t.Helper()
	name, tag := splitRef(ref)
	q := url.Values{}
	if tag != "" {
		q.Set("tag", tag)
	}
	if auth == "" {
		auth = base64.URLEncoding.EncodeToString([]byte("{}"))
	}
	return e.call(t, nil, "POST", "/images/"+name+"/push?"+q.Encode(), auth)
}

func (e *env) call(t *testing.T, ctx context.Context, method, path, auth string) stream {
	t.Helper()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://pouch"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("X-Registry-Auth", auth)
	}
	resp, err := e.d.Client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return stream{Err: "client: " + err.Error()}
		}
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil && ctx.Err() == nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return parseStream(resp.StatusCode, body)
}

// mustPull pulls and fails the test unless the pull succeeded.
func (e *env) mustPull(t *testing.T, ref string, o pullOpts) stream {
	t.Helper()
	s := e.pull(t, ref, o)
	if !s.ok() {
		t.Fatalf("pull %s: %s", ref, s)
	}
	return s
}

// inspected is the part of GET /images/{name}/json the tests read.
type inspected struct {
	ID           string `json:"Id"`
	RepoTags     []string
	RepoDigests  []string
	Architecture string
	Os           string
	RootFS       struct{ Layers []string }
}

// inspect returns the image, or nil when the daemon answers 404.
func (e *env) inspect(t *testing.T, ref string) *inspected {
	t.Helper()
	resp := e.d.Do(t, "GET", "/images/"+ref+"/json", nil)
	if resp.Status == http.StatusNotFound {
		return nil
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("inspect %s: %d %s", ref, resp.Status, resp.Body)
	}
	var out inspected
	resp.JSON(t, &out)
	return &out
}

type summary struct {
	ID          string `json:"Id"`
	RepoTags    []string
	RepoDigests []string
}

func (e *env) images(t *testing.T) []summary {
	t.Helper()
	resp := e.d.Do(t, "GET", "/images/json?all=1", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("list images: %d %s", resp.Status, resp.Body)
	}
	var out []summary
	resp.JSON(t, &out)
	return out
}

// assertNotListed fails when an image named like ref (or with that ID)
// is listed.
func (e *env) assertNotListed(t *testing.T, ref, id string) {
	t.Helper()
	name, _ := splitRef(ref)
	for _, s := range e.images(t) {
		if id != "" && s.ID == id {
			t.Errorf("image %s listed after a failed pull: %+v", id, s)
		}
		for _, n := range append(s.RepoTags, s.RepoDigests...) {
			if strings.HasPrefix(n, name+":") || strings.HasPrefix(n, name+"@") {
				t.Errorf("image %s listed after a failed pull: %+v", ref, s)
			}
		}
	}
}

// rmi removes images by name (404 is fine).
func (e *env) rmi(t *testing.T, refs ...string) {
	t.Helper()
	for _, r := range refs {
		resp := e.d.Do(t, "DELETE", "/images/"+r+"?force=1", nil)
		if resp.Status != http.StatusOK && resp.Status != http.StatusNotFound {
			t.Errorf("remove image %s: %d %s", r, resp.Status, resp.Body)
		}
	}
}

// rmiOnCleanup removes images when the test ends.
func (e *env) rmiOnCleanup(t *testing.T, refs ...string) {
	t.Helper()
	t.Cleanup(func() { e.rmi(t, refs...) })
}

// tag names an existing image ref as newRef.
func (e *env) tag(t *testing.T, ref, newRef string) {
	t.Helper()
	name, tag := splitRef(newRef)
	q := url.Values{"repo": {name}}
	if tag != "" {
		q.Set("tag", tag)
	}
	resp := e.d.Do(t, "POST", "/images/"+ref+"/tag?"+q.Encode(), nil)
	if resp.Status != http.StatusCreated && resp.Status != http.StatusOK {
		t.Fatalf("tag %s %s: %d %s", ref, newRef, resp.Status, resp.Body)
	}
}

// load loads images from a docker-archive.
func (e *env) load(t *testing.T, imgs ...*testimage.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := testimage.Write(&buf, testimage.FormatDocker, imgs...); err != nil {
		t.Fatal(err)
	}
	resp := e.d.Do(t, "POST", "/images/load?quiet=1", buf.Bytes())
	if resp.Status != http.StatusOK || bytes.Contains(resp.Body, []byte(`"error"`)) {
		t.Fatalf("load: %d %s", resp.Status, resp.Body)
	}
}

// run runs `pouch run --rm ref args...` and returns its result.
func (e *env) run(t *testing.T, ref string, args ...string) testenv.Result {
	t.Helper()
	return e.d.Pouch(t, nil, append([]string{"run", "--rm", ref}, args...)...)
}

// assertRuns checks that ref runs and shows the busybox image's files.
func (e *env) assertRuns(t *testing.T, ref string) {
	t.Helper()
	r := e.run(t, ref, "cat", "/etc/layer2")
	if r.ExitCode != 0 || r.Stdout != "layer2\n" {
		t.Errorf("pouch run --rm %s cat /etc/layer2: exit %d, stdout %q, stderr %q", ref, r.ExitCode, r.Stdout, r.Stderr)
	}
}

// assertBusyboxIntact checks that the image loaded at start still runs.
func (e *env) assertBusyboxIntact(t *testing.T) {
	t.Helper()
	e.assertRuns(t, "busybox:latest")
}

// assertNoContainers fails when a container is left.
func (e *env) assertNoContainers(t *testing.T) {
	t.Helper()
	resp := e.d.Do(t, "GET", "/containers/json?all=1", nil)
	var cs []struct {
		ID string `json:"Id"`
	}
	resp.JSON(t, &cs)
	if len(cs) != 0 {
		t.Errorf("containers left behind: %+v", cs)
	}
}

// shortID is how Docker's progress names a layer: 12 hex digits.
func shortID(d digest.Digest) string { return d.Encoded()[:12] }

// blobGETs counts GETs of the blob through the proxy.
func blobGETs(p *registry.FaultProxy, d digest.Digest) int {
	return p.Count(registry.BlobGET(d))
}

// waitFor polls cond until it holds or limit passes.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readable checks an error message is short and single-line: no stack of
// wrapped errors, no Go struct dumps.
func readable(t *testing.T, what, msg string) {
	t.Helper()
	t.Logf("%s: error %q", what, msg)
	if msg == "" {
		t.Errorf("%s: empty error message", what)
		return
	}
	if len(msg) > 400 || strings.Contains(msg, "\n") || strings.Contains(msg, "&{") || strings.Contains(msg, "goroutine") {
		t.Errorf("%s: error message is not readable (%d bytes): %q", what, len(msg), msg)
	}
}
