package cli

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
)

// registryDaemon serves the distribution endpoints of the Engine API on
// a unix socket: pulls of busybox (anything else is unknown), pushes,
// logins checked against one user, and container create that knows only
// pulled images. It records requests and the X-Registry-Auth it got.
type registryDaemon struct {
	mu       sync.Mutex
	requests []string
	auths    []registry.AuthConfig // decoded X-Registry-Auth, per pull or push
	logins   []registry.AuthConfig // bodies of POST /auth
	pulled   bool
}

func startRegistryDaemon(t *testing.T) (string, *registryDaemon) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	d := &registryDaemon{}
	srv := &http.Server{Handler: d}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock, d
}

func (d *registryDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if i := strings.Index(path[1:], "/"); strings.HasPrefix(path, "/v1.") && i > 0 {
		path = path[i+1:]
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requests = append(d.requests, r.Method+" "+path+"?"+r.URL.RawQuery)
	w.Header().Set("Api-Version", "1.41")
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
	}
	stream := func(lines ...string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, strings.Join(lines, "\n")+"\n")
	}
	switch {
	case path == "/_ping":
		_, _ = io.WriteString(w, "OK")
	case path == "/images/create" || strings.HasSuffix(path, "/push"):
		auth, err := authconfig.Decode(r.Header.Get(registry.AuthHeader))
		if err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		d.auths = append(d.auths, *auth)
		if path == "/images/create" && r.URL.Query().Get("fromImage") != "docker.io/library/busybox" {
			fail(http.StatusNotFound, "pull access denied for "+r.URL.Query().Get("fromImage")+", repository does not exist or may require authorization")
			return
		}
		if strings.HasSuffix(path, "/push") {
			stream(`{"status":"The push refers to repository [localhost:5000/app]"}`, `{"status":"v1: digest: sha256:`+strings.Repeat("0", 64)+` size: 527"}`)
			return
		}
		d.pulled = true
		stream(`{"status":"Pulling from library/busybox","id":"latest"}`,
			`{"status":"Pulling fs layer","progressDetail":{},"id":"9ad63333ebc9"}`,
			`{"status":"Downloading","progressDetail":{"current":10,"total":20},"id":"9ad63333ebc9"}`,
			`{"status":"Pull complete","progressDetail":{},"id":"9ad63333ebc9"}`,
			`{"status":"Status: Downloaded newer image for busybox:latest"}`)
	case path == "/auth":
		var auth registry.AuthConfig
		_ = json.NewDecoder(r.Body).Decode(&auth)
		d.logins = append(d.logins, auth)
		if auth.Username != "bob" || auth.Password != "pw" {
			fail(http.StatusUnauthorized, "login attempt to "+auth.ServerAddress+" failed with status: 401 Unauthorized")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"Status":"Login Succeeded"}`)
	case path == "/containers/create":
		if !d.pulled {
			fail(http.StatusNotFound, "No such image: busybox:latest")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"Id":"feedface","Warnings":[]}`)
	default:
		http.NotFound(w, r)
	}
}

func (d *registryDaemon) snapshot() ([]string, []registry.AuthConfig, []registry.AuthConfig) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.requests...), append([]registry.AuthConfig(nil), d.auths...), append([]registry.AuthConfig(nil), d.logins...)
}

func TestLoginPullPushLogoutAgainstFakeDaemon(t *testing.T) {
	host, d := startRegistryDaemon(t)
	cfgDir := filepath.Join(t.TempDir(), "pouch-config")
	t.Setenv("POUCH_CONFIG", cfgDir)

	code, stdout, stderr := run(t, "wrong\n", "-H", host, "login", "-u", "bob", "--password-stdin", "localhost:5000")
	if code != 1 || stdout != "" || stderr != "Error response from daemon: login attempt to localhost:5000 failed with status: 401 Unauthorized\n" {
		t.Errorf("bad login: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "pw\n", "-H", host, "login", "-u", "bob", "--password-stdin", "localhost:5000")
	if code != 0 || stdout != "Login Succeeded\n" || stderr != "" {
		t.Fatalf("login: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(cfgDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]map[string]string
	if err := json.Unmarshal(data, &doc); err != nil || doc["auths"]["localhost:5000"]["auth"] != base64.StdEncoding.EncodeToString([]byte("bob:pw")) {
		t.Errorf("config.json: %s (%v)", data, err)
	}

	// The stored credentials go with pulls and pushes to that registry
	// only; Docker Hub gets just its address.
	code, stdout, stderr = run(t, "", "-H", host, "pull", "-q", "localhost:5000/app:v1")
	if code != 1 || stdout != "" || stderr != "Error response from daemon: pull access denied for localhost:5000/app, repository does not exist or may require authorization\n" {
		t.Errorf("unknown image: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = run(t, "", "-H", host, "push", "localhost:5000/app:v1")
	if code != 0 || !strings.HasPrefix(stdout, "The push refers to repository [localhost:5000/app]\nv1: digest: ") {
		t.Errorf("push: code %d, stdout %q", code, stdout)
	}
	code, stdout, _ = run(t, "", "-H", host, "pull", "busybox")
	if code != 0 || stdout != "Using default tag: latest\nlatest: Pulling from library/busybox\n9ad63333ebc9: Pulling fs layer\n9ad63333ebc9: Pull complete\nStatus: Downloaded newer image for busybox:latest\ndocker.io/library/busybox:latest\n" {
		t.Errorf("pull: code %d, stdout %q", code, stdout)
	}

	requests, auths, logins := d.snapshot()
	bob := registry.AuthConfig{Username: "bob", Password: "pw", ServerAddress: "localhost:5000"}
	wantAuths := []registry.AuthConfig{bob, bob, {ServerAddress: "https://index.docker.io/v1/"}}
	assertAuths(t, "X-Registry-Auth", auths, wantAuths)
	assertAuths(t, "POST /auth", logins, []registry.AuthConfig{{Username: "bob", Password: "wrong", ServerAddress: "localhost:5000"}, bob})
	for _, want := range []string{
		"POST /images/create?fromImage=localhost%3A5000%2Fapp&tag=v1",
		"POST /images/localhost:5000/app/push?tag=v1",
		"POST /images/create?fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest",
	} {
		if !slices.Contains(requests, want) {
			t.Errorf("no request %q in %q", want, requests)
		}
	}

	code, stdout, _ = run(t, "", "-H", host, "logout", "localhost:5000")
	if code != 0 || stdout != "Removing login credentials for localhost:5000\n" {
		t.Errorf("logout: code %d, stdout %q", code, stdout)
	}
	code, stdout, _ = run(t, "", "-H", host, "logout", "localhost:5000")
	if code != 0 || stdout != "Not logged in to localhost:5000\n" {
		t.Errorf("logout again: code %d, stdout %q", code, stdout)
	}
}

func TestCreatePullsMissingImageFromFakeDaemon(t *testing.T) {
	host, d := startRegistryDaemon(t)
	t.Setenv("POUCH_CONFIG", t.TempDir())

	code, _, stderr := run(t, "", "-H", host, "create", "--pull", "never", "busybox")
	if code != 125 || stderr != "pouch: Error response from daemon: No such image: busybox:latest.\n" {
		t.Errorf("never: code %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := run(t, "", "-H", host, "create", "--platform", "linux/amd64", "busybox")
	if code != 0 || stdout != "feedface\n" || !strings.HasPrefix(stderr, "Unable to find image 'busybox:latest' locally\nlatest: Pulling from library/busybox\n") {
		t.Errorf("missing: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	requests, _, _ := d.snapshot()
	want := []string{
		"HEAD /_ping?",
		"POST /containers/create?",
		"POST /containers/create?platform=linux%2Famd64",
		"POST /images/create?fromImage=docker.io%2Flibrary%2Fbusybox&platform=linux%2Famd64&tag=latest",
		"POST /containers/create?platform=linux%2Famd64",
	}
	got := requests[:0]
	for _, r := range requests {
		if r != "HEAD /_ping?" || len(got) == 0 {
			got = append(got, r)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func assertAuths(t *testing.T, what string, got, want []registry.AuthConfig) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s %d: got %+v, want %+v", what, i, got[i], want[i])
		}
	}
}
