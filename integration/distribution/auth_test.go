package distribution

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/registry"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// login calls POST /auth.
func (e *env) login(t *testing.T, user, password, server string) (int, string, string) {
	t.Helper()
	resp := e.d.Do(t, "POST", "/auth", map[string]string{"username": user, "password": password, "serveraddress": server})
	var ok struct{ Status string }
	if resp.Status == http.StatusOK {
		resp.JSON(t, &ok)
	}
	return resp.Status, ok.Status, resp.Message()
}

// cliConfig reads the pouch CLI's config file (nil if there is none).
func (e *env) cliConfig(t *testing.T) map[string]map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.cliHome, ".pouch", "config.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]map[string]any `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("config.json: %v\n%s", err, b)
	}
	return cfg.Auths
}

// authSteps are the auth checks both auth kinds share: the API login,
// pulls and pushes with X-Registry-Auth, and the CLI's login, pull, push
// and logout.
func authSteps(t *testing.T, e *env, reg *registry.Registry) {
	img := image(t)
	reg.Push(t, img, "auth/app", "v1")
	ref := reg.Ref("auth/app", "v1")
	good := authHeader(reg.User, reg.Password, reg.Host)
	e.rmiOnCleanup(t, ref)

	t.Run("no credentials", func(t *testing.T) {
		s := e.pull(t, ref, pullOpts{})
		if s.ok() {
			t.Fatal("pull without credentials succeeded")
		}
		if s.Status != http.StatusUnauthorized {
			t.Errorf("pull without credentials: %s, want 401", s)
		}
		readable(t, "pull without credentials", s.Err)
		e.assertNotListed(t, ref, configDigest(t, img))
	})

	t.Run("API login", func(t *testing.T) {
		status, msg, errMsg := e.login(t, reg.User, "wrong-"+reg.Password, reg.Host)
		if status != http.StatusUnauthorized {
			t.Errorf("POST /auth with a wrong password: %d %q, want 401", status, errMsg)
		}
		readable(t, "wrong password", errMsg)
		if strings.Contains(errMsg, reg.Password) {
			t.Errorf("error message shows the password: %q", errMsg)
		}
		status, msg, errMsg = e.login(t, reg.User, reg.Password, reg.Host)
		if status != http.StatusOK || msg != "Login Succeeded" {
			t.Errorf("POST /auth: %d %q %q, want 200 Login Succeeded", status, msg, errMsg)
		}
	})

	t.Run("wrong password pull", func(t *testing.T) {
		s := e.pull(t, ref, pullOpts{auth: authHeader(reg.User, "nope", reg.Host)})
		if s.Status != http.StatusUnauthorized {
			t.Errorf("pull with a wrong password: %s, want 401", s)
		}
		readable(t, "pull with a wrong password", s.Err)
	})

	t.Run("API pull and push", func(t *testing.T) {
		e.mustPull(t, ref, pullOpts{auth: good})
		if got := e.inspect(t, ref); got == nil || got.ID != configDigest(t, img) {
			t.Fatalf("pulled image: %+v", got)
		}
		e.assertRuns(t, ref)

		pushed := reg.Ref("auth/pushed", "v1")
		e.tag(t, "busybox:latest", pushed)
		e.rmiOnCleanup(t, pushed)
		s := e.push(t, pushed, good)
		if !s.ok() {
			t.Fatalf("push %s: %s", pushed, s)
		}
		_, _, d := reg.Manifest(t, "auth/pushed", "v1")
		if !s.has("v1: digest: " + d.String()) {
			t.Errorf("push stream lacks the final digest line for %s:\n%s", d, s.Body)
		}
		bad := e.push(t, pushed, authHeader(reg.User, "nope", reg.Host))
		if bad.ok() {
			t.Errorf("push with a wrong password succeeded")
		}
	})

	t.Run("CLI", func(t *testing.T) {
		cliRef := reg.Ref("auth/cli", "v1")
		reg.Push(t, img, "auth/cli", "v1")
		e.rmiOnCleanup(t, cliRef)

		r := e.d.Pouch(t, strings.NewReader("wrong\n"), "login", "-u", reg.User, "--password-stdin", reg.Host)
		if r.ExitCode == 0 {
			t.Errorf("pouch login with a wrong password: %+v", r)
		}
		readable(t, "pouch login with a wrong password", strings.TrimSpace(r.Stderr))
		if e.cliConfig(t)[reg.Host] != nil {
			t.Errorf("a failed login stored credentials")
		}

		r = e.d.Pouch(t, strings.NewReader(reg.Password+"\n"), "login", "-u", reg.User, "--password-stdin", reg.Host)
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "Login Succeeded") {
			t.Fatalf("pouch login: %+v", r)
		}
		stored := e.cliConfig(t)[reg.Host]
		want := base64.StdEncoding.EncodeToString([]byte(reg.User + ":" + reg.Password))
		if stored == nil || stored["auth"] != want {
			t.Errorf("config.json auths[%s] = %v, want auth %s", reg.Host, stored, want)
		}

		r = e.d.Pouch(t, nil, "pull", cliRef)
		if r.ExitCode != 0 {
			t.Fatalf("pouch pull after login: %+v", r)
		}
		pushed := reg.Ref("auth/cli-pushed", "v1")
		e.tag(t, cliRef, pushed)
		e.rmiOnCleanup(t, pushed)
		r = e.d.Pouch(t, nil, "push", pushed)
		if r.ExitCode != 0 {
			t.Fatalf("pouch push after login: %+v", r)
		}
		if _, _, d := reg.Manifest(t, "auth/cli-pushed", "v1"); !strings.Contains(r.Stdout, d.String()) {
			t.Errorf("pouch push output lacks the digest %s: %q", d, r.Stdout)
		}

		r = e.d.Pouch(t, nil, "logout", reg.Host)
		if r.ExitCode != 0 {
			t.Fatalf("pouch logout: %+v", r)
		}
		if e.cliConfig(t)[reg.Host] != nil {
			t.Errorf("logout left the credentials")
		}
		e.rmi(t, cliRef)
		r = e.d.Pouch(t, nil, "pull", cliRef)
		if r.ExitCode == 0 {
			t.Errorf("pouch pull after logout succeeded: %+v", r)
		}
	})

	t.Run("password not logged", func(t *testing.T) {
		if strings.Contains(e.d.Log(), reg.Password) {
			t.Error("pouchd's log shows the registry password")
		}
	})
}

// TestBasicAuthTLS: htpasswd basic auth behind TLS from the generated CA.
func TestBasicAuthTLS(t *testing.T) {
	certs := t.TempDir()
	reg := registry.Start(t, registry.WithTLS(certs), registry.WithBasicAuth("alice", "pw-"+testenv.Unique("basic")))
	e := startDaemon(t, "--certs-dir", certs)
	authSteps(t, e, reg)
	e.assertBusyboxIntact(t)
}

// TestBearerToken: the token flow (401 with a Bearer challenge naming an
// in-test token server, which issues JWTs for the account).
func TestBearerToken(t *testing.T) {
	reg := registry.Start(t, registry.WithTokenAuth("bob", "pw-"+testenv.Unique("token")))
	e := startDaemon(t, "--insecure-registries", reg.Host)
	before := reg.Token.Granted()
	authSteps(t, e, reg)
	if reg.Token.Granted() <= before {
		t.Fatal("pouchd never got a token from the token server")
	}
	var pull, push bool
	for _, r := range reg.Token.Requests() {
		if !r.Granted || r.User != "bob" {
			continue
		}
		for _, s := range r.Scopes {
			pull = pull || s == "repository:auth/app:pull"
			push = push || strings.HasPrefix(s, "repository:auth/pushed:") && strings.Contains(s, "push")
		}
	}
	if !pull || !push {
		t.Errorf("token requests lack pull or push scopes (pull %v, push %v): %+v", pull, push, reg.Token.Requests())
	}
	if slices.ContainsFunc(reg.Token.Requests(), func(r registry.TokenRequest) bool { return r.Granted && r.User != "bob" }) {
		t.Error("a token was granted to someone else")
	}
}
