package config

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
)

func assertEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got: %#v\nwant: %#v", what, got, want)
	}
}

func TestServerKey(t *testing.T) {
	for in, want := range map[string]string{
		"":                             IndexServer,
		IndexServer:                    IndexServer,
		"docker.io":                    IndexServer,
		"index.docker.io":              IndexServer,
		"registry-1.docker.io":         IndexServer,
		"https://registry-1.docker.io": IndexServer,
		"Docker.IO":                    IndexServer,
		"localhost:5000":               "localhost:5000",
		"http://localhost:5000":        "localhost:5000",
		"https://localhost:5000/v2/":   "localhost:5000",
		"registry.example.com":         "registry.example.com",
		" registry.example.com ":       "registry.example.com",
		"127.0.0.1:5000/some/path":     "127.0.0.1:5000",
	} {
		if got := ServerKey(in); got != want {
			t.Errorf("ServerKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestServerKeyForImage(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                         IndexServer,
		"library/busybox:1.36":            IndexServer,
		"docker.io/library/busybox":       IndexServer,
		"index.docker.io/library/busybox": IndexServer,
		"localhost:5000/app:v1":           "localhost:5000",
		"registry.example.com/team/app@sha256:" + strings.Repeat("a", 64): "registry.example.com",
	} {
		got, err := ServerKeyForImage(in)
		if err != nil || got != want {
			t.Errorf("ServerKeyForImage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ServerKeyForImage("Bad Name"); err == nil {
		t.Error("an invalid reference must fail")
	}
}

func TestDir(t *testing.T) {
	t.Setenv(EnvDir, "/etc/pouch-cli")
	if dir, err := Dir(); err != nil || dir != "/etc/pouch-cli" {
		t.Errorf("override: %q %v", dir, err)
	}
	t.Setenv(EnvDir, "")
	t.Setenv("HOME", "/home/someone")
	if dir, err := Dir(); err != nil || dir != "/home/someone/.pouch" {
		t.Errorf("default: %q %v", dir, err)
	}
}

func TestSaveWritesDockerFormatWithPrivateModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg")
	f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.SetCredentials(registry.AuthConfig{Username: "alice", Password: "s3cret:with:colons", ServerAddress: "docker.io"})
	f.SetCredentials(registry.AuthConfig{Username: "bob", Password: "pw", ServerAddress: "https://localhost:5000"})
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Join(dir, FileName), 0o600)

	var doc map[string]map[string]map[string]string
	data, _ := os.ReadFile(filepath.Join(dir, FileName))
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "file", doc, map[string]map[string]map[string]string{"auths": {
		IndexServer:      {"auth": base64.StdEncoding.EncodeToString([]byte("alice:s3cret:with:colons"))},
		"localhost:5000": {"auth": base64.StdEncoding.EncodeToString([]byte("bob:pw"))},
	}})

	again, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := again.Credentials("index.docker.io")
	assertEqual(t, "hub credentials", got, registry.AuthConfig{Username: "alice", Password: "s3cret:with:colons", ServerAddress: IndexServer})
	assertEqual(t, "found", ok, true)
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != want {
		t.Errorf("%s: mode %o, want %o", path, st.Mode().Perm(), want)
	}
}

func TestLoadKeepsOtherKeysAndFindsSchemeEntries(t *testing.T) {
	dir := t.TempDir()
	orig := `{"auths":{"https://reg.example.com:5000":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("u:p")) + `"},` +
		`"tok.example.com":{"identitytoken":"tok123","auth":"` + base64.StdEncoding.EncodeToString([]byte("u:")) + `"}},` +
		`"psFormat":"table {{.ID}}","proxies":{"default":{"httpProxy":"http://proxy"}}}`
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := f.Credentials("reg.example.com:5000")
	if !ok || got.Username != "u" || got.Password != "p" || got.ServerAddress != "reg.example.com:5000" {
		t.Errorf("scheme-prefixed entry: %+v %v", got, ok)
	}
	got, _ = f.Credentials("tok.example.com")
	assertEqual(t, "token entry", got, registry.AuthConfig{Username: "u", ServerAddress: "tok.example.com", IdentityToken: "tok123"})
	if _, ok := f.Credentials("other.example.com"); ok {
		t.Error("no credentials for an unknown server")
	}

	// Storing for the same server under another spelling replaces the
	// old entry; unknown keys survive a save.
	f.SetCredentials(registry.AuthConfig{Username: "v", Password: "q", ServerAddress: "reg.example.com:5000"})
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	data, _ := os.ReadFile(filepath.Join(dir, FileName))
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "psFormat", string(doc["psFormat"]), `"table {{.ID}}"`)
	if !strings.Contains(string(doc["proxies"]), "http://proxy") {
		t.Errorf("proxies lost: %s", doc["proxies"])
	}
	var auths map[string]AuthEntry
	_ = json.Unmarshal(doc["auths"], &auths)
	if _, old := auths["https://reg.example.com:5000"]; old || auths["reg.example.com:5000"].Auth != base64.StdEncoding.EncodeToString([]byte("v:q")) {
		t.Errorf("auths: %+v", auths)
	}

	if !f.RemoveCredentials("http://tok.example.com") || f.RemoveCredentials("tok.example.com") {
		t.Error("remove must report whether there was an entry")
	}
}

func TestLoadRejectsBrokenFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, FileName)) {
		t.Errorf("got %v", err)
	}
	var warn strings.Builder
	f := LoadOrEmpty(dir, &warn)
	if len(f.Auths) != 0 || !strings.HasPrefix(warn.String(), "WARNING: Error loading config file: ") {
		t.Errorf("auths %v, warning %q", f.Auths, warn.String())
	}
	if _, err := Load(""); err == nil {
		t.Error("an unknown directory must fail")
	}
}

func TestEncodedAuthForImage(t *testing.T) {
	dir := t.TempDir()
	f, _ := Load(dir)
	f.SetCredentials(registry.AuthConfig{Username: "bob", Password: "pw", ServerAddress: "localhost:5000"})

	enc, err := f.EncodedAuthForImage("localhost:5000/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := authconfig.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "with credentials", *got, registry.AuthConfig{Username: "bob", Password: "pw", ServerAddress: "localhost:5000"})

	enc, _ = f.EncodedAuthForImage("busybox")
	got, _ = authconfig.Decode(enc)
	assertEqual(t, "without", *got, registry.AuthConfig{ServerAddress: IndexServer})
}
