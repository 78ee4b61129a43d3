package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/config"
)

// fakeClient accepts the credentials in valid and records every login.
type fakeClient struct {
	valid  map[string]string // username → password
	token  string            // identity token to hand out, if any
	logins []client.RegistryLoginOptions
}

func (f *fakeClient) RegistryLogin(_ context.Context, o client.RegistryLoginOptions) (client.RegistryLoginResult, error) {
	f.logins = append(f.logins, o)
	pw, ok := f.valid[o.Username]
	if !ok || (pw != o.Password && (f.token == "" || o.IdentityToken != f.token)) {
		return client.RegistryLoginResult{}, fmt.Errorf("Error response from daemon: login attempt to %s failed: unauthorized: incorrect username or password: %w", o.ServerAddress, cerrdefs.ErrUnauthenticated)
	}
	return client.RegistryLoginResult{Auth: registry.AuthResponse{Status: "Login Succeeded", IdentityToken: f.token}}, nil
}

type testEnv struct {
	deps     *Deps
	out, err *bytes.Buffer
	dir      string
}

// newEnv returns deps over a fresh config directory; typed is what a
// user types at the password prompt (nil: stdin is no terminal).
func newEnv(t *testing.T, c APIClient, stdin string, typed *string) *testEnv {
	t.Helper()
	e := &testEnv{out: new(bytes.Buffer), err: new(bytes.Buffer), dir: filepath.Join(t.TempDir(), "pouch")}
	e.deps = &Deps{
		Streams:   command.Streams{In: strings.NewReader(stdin), Out: e.out, Err: e.err},
		Client:    c,
		ConfigDir: e.dir,
	}
	if typed != nil {
		e.deps.readPassword = func() (string, error) { return *typed, nil }
	}
	return e
}

func (e *testEnv) run(t *testing.T, newCmd func(*Deps) *cobra.Command, args ...string) error {
	t.Helper()
	e.out.Reset()
	e.err.Reset()
	cmd := newCmd(e.deps)
	cmd.SetArgs(args)
	cmd.SetOut(new(bytes.Buffer))
	cmd.SetErr(new(bytes.Buffer))
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.ExecuteContext(context.Background())
}

// auths reads the stored file as JSON.
func (e *testEnv) auths(t *testing.T) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return doc.Auths
}

func assertEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got: %#v\nwant: %#v", what, got, want)
	}
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func TestLoginStoresCredentialsAndLogoutRemovesThem(t *testing.T) {
	fake := &fakeClient{valid: map[string]string{"bob": "pw"}}
	e := newEnv(t, fake, "pw\n", nil)
	if err := e.run(t, newLoginCommand, "-u", "bob", "--password-stdin", "http://localhost:5000/v2/"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", e.out.String(), "Login Succeeded\n")
	assertEqual(t, "stderr", e.err.String(), "")
	assertEqual(t, "sent", fake.logins, []client.RegistryLoginOptions{{Username: "bob", Password: "pw", ServerAddress: "localhost:5000"}})
	assertEqual(t, "file", e.auths(t), map[string]map[string]string{"localhost:5000": {"auth": basic("bob", "pw")}})
	for path, want := range map[string]os.FileMode{e.dir: 0o700, filepath.Join(e.dir, "config.json"): 0o600} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %o", path, st.Mode(), err, want)
		}
	}
	if strings.Contains(e.out.String()+e.err.String(), "pw\n") {
		t.Error("the password must never be printed")
	}

	if err := e.run(t, newLogoutCommand, "https://localhost:5000"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "logout", e.out.String(), "Removing login credentials for localhost:5000\n")
	assertEqual(t, "file after logout", e.auths(t), map[string]map[string]string{})

	if err := e.run(t, newLogoutCommand, "localhost:5000"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "second logout", e.out.String(), "Not logged in to localhost:5000\n")
}

func TestLoginDefaultsToDockerHubAndWarnsAboutPasswordFlag(t *testing.T) {
	fake := &fakeClient{valid: map[string]string{"alice": "hub"}}
	e := newEnv(t, fake, "", nil)
	if err := e.run(t, newLoginCommand, "-u", "alice", "-p", "hub"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stderr", e.err.String(), "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
	assertEqual(t, "server", fake.logins[0].ServerAddress, config.IndexServer)
	assertEqual(t, "file", e.auths(t), map[string]map[string]string{config.IndexServer: {"auth": basic("alice", "hub")}})

	if err := e.run(t, newLogoutCommand, "docker.io"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "logout", e.out.String(), "Removing login credentials for "+config.IndexServer+"\n")
}

func TestLoginRejected(t *testing.T) {
	fake := &fakeClient{valid: map[string]string{"bob": "pw"}}
	e := newEnv(t, fake, "wrong", nil)
	err := e.run(t, newLoginCommand, "-u", "bob", "--password-stdin", "localhost:5000")
	if err == nil || !cerrdefs.IsUnauthorized(err) || !strings.HasPrefix(err.Error(), "Error response from daemon: ") {
		t.Fatalf("got %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(e.dir, "config.json")); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("nothing may be stored after a failed login: %v", statErr)
	}
}

func TestLoginOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"-p", "x", "--password-stdin", "-u", "bob"}, "", "--password and --password-stdin are mutually exclusive"},
		{[]string{"--password-stdin"}, "pw", "Must provide --username with --password-stdin"},
		{[]string{"-u", "bob"}, "", "Error: Cannot perform an interactive login from a non TTY device"},
		{nil, "", "Error: Cannot perform an interactive login from a non TTY device"},
		{[]string{"a", "b"}, "", `"login" requires at most 1 argument.`},
	} {
		e := newEnv(t, &fakeClient{}, tc.stdin, nil)
		err := e.run(t, newLoginCommand, tc.args...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestLoginPromptsOnTerminal(t *testing.T) {
	typed := "pw"
	fake := &fakeClient{valid: map[string]string{"bob": "pw"}}
	e := newEnv(t, fake, "bob\n", &typed)
	if err := e.run(t, newLoginCommand, "localhost:5000"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", e.out.String(), "Username: Password: \nLogin Succeeded\n")
	assertEqual(t, "sent", fake.logins[0], client.RegistryLoginOptions{Username: "bob", Password: "pw", ServerAddress: "localhost:5000"})

	// Logged in already: the stored credentials are checked again, no
	// prompt.
	fake.logins = nil
	if err := e.run(t, newLoginCommand, "localhost:5000"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "again", e.out.String(), "Authenticating with existing credentials... [Username: bob]\n"+
		"To login with a different account, run 'pouch logout' followed by 'pouch login'\n\nLogin Succeeded\n")
	assertEqual(t, "logins", len(fake.logins), 1)

	// Stored credentials no longer valid: say so and prompt, offering the
	// stored username.
	fake.valid["bob"] = "new"
	typed = "new"
	e.deps.In = strings.NewReader("\n")
	if err := e.run(t, newLoginCommand, "localhost:5000"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stderr", e.err.String(), "Stored credentials invalid or expired\n")
	if !strings.HasSuffix(e.out.String(), "Username (bob): Password: \nLogin Succeeded\n") {
		t.Errorf("stdout: %q", e.out.String())
	}
	assertEqual(t, "file", e.auths(t), map[string]map[string]string{"localhost:5000": {"auth": basic("bob", "new")}})

	typed = ""
	e.deps.In = strings.NewReader("carol\n")
	if err := e.run(t, newLoginCommand, "-u", "carol", "other:5000"); err == nil || err.Error() != "Error: Password Required" {
		t.Errorf("empty password: %v", err)
	}
}

func TestLoginStoresIdentityToken(t *testing.T) {
	fake := &fakeClient{valid: map[string]string{"bob": "pw"}, token: "tok-123"}
	e := newEnv(t, fake, "pw", nil)
	if err := e.run(t, newLoginCommand, "-u", "bob", "--password-stdin", "reg.example.com"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "file", e.auths(t), map[string]map[string]string{"reg.example.com": {"auth": basic("bob", ""), "identitytoken": "tok-123"}})
}

func TestLogoutKeepsOtherServers(t *testing.T) {
	e := newEnv(t, &fakeClient{}, "", nil)
	if err := os.MkdirAll(e.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	doc := `{"auths":{"https://reg.example.com":{"auth":"` + basic("a", "b") + `"},"reg.example.com":{"auth":"` + basic("c", "d") + `"},"other:5000":{"auth":"` + basic("e", "f") + `"}},"detachKeys":"ctrl-x"}`
	if err := os.WriteFile(filepath.Join(e.dir, "config.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.run(t, newLogoutCommand, "reg.example.com"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "auths", e.auths(t), map[string]map[string]string{"other:5000": {"auth": basic("e", "f")}})
	data, _ := os.ReadFile(filepath.Join(e.dir, "config.json"))
	if !strings.Contains(string(data), `"detachKeys": "ctrl-x"`) {
		t.Errorf("other settings lost: %s", data)
	}
}
