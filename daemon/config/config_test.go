package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func parse(t *testing.T, args []string, file string) (Config, error) {
	t.Helper()
	c := Default()
	fs := pflag.NewFlagSet("pouchd", pflag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if file != "" {
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c, c.Merge(fs, path, false)
}

func TestMerge(t *testing.T) {
	c, err := parse(t, []string{"--home-dir", "/a"}, `{"debug": true, "exec-root-dir": "/r"}`)
	if err != nil {
		t.Fatal(err)
	}
	if c.HomeDir != "/a" || !c.Debug || c.ExecRootDir != "/r" {
		t.Errorf("got %+v", c)
	}
	if _, err := parse(t, []string{"--home-dir", "/a"}, `{"home-dir": "/b"}`); err == nil || !strings.Contains(err.Error(), "home-dir") {
		t.Errorf("conflict not reported by key: %v", err)
	}
	c, err = parse(t, []string{"-l", "unix:///x.sock"}, `{"listen": ["tcp://127.0.0.1:1"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Listen) != 2 {
		t.Errorf("lists should join: %v", c.Listen)
	}
	if _, err := parse(t, nil, `{"nope": 1}`); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown key accepted: %v", err)
	}
	if _, err := parse(t, nil, `{bad`); err == nil {
		t.Error("bad JSON accepted")
	}
	c, err = parse(t, nil, "")
	if err != nil || c.HomeDir != "/var/lib/pouch" {
		t.Errorf("missing file should keep defaults: %v %+v", err, c)
	}
}

func TestRuntimes(t *testing.T) {
	look := func(string) (string, error) { return "/usr/bin/runc", nil }
	c := Default()
	c.AddRuntime = []string{"crun=/usr/bin/crun"}
	rt, err := c.Runtimes(look)
	if err != nil || rt["runc"] != "/usr/bin/runc" || rt["crun"] != "/usr/bin/crun" {
		t.Errorf("got %v %v", rt, err)
	}
	c.AddRuntime = []string{"bad"}
	if _, err := c.Runtimes(look); err == nil {
		t.Error("bad runtime accepted")
	}
	c.AddRuntime = nil
	c.DefaultRuntime = "missing"
	if _, err := c.Runtimes(look); err == nil {
		t.Error("missing default runtime accepted")
	}
}

func TestRegistryKeys(t *testing.T) {
	c, err := parse(t, []string{"--insecure-registries", "a:5000", "--registry-mirrors", "https://m1"},
		`{"insecure-registries": ["10.0.0.0/8"], "registry-mirrors": ["https://m2"], "default-registry": "r.example", "certs-dir": "/c"}`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.InsecureRegistries, ",") != "a:5000,10.0.0.0/8" || strings.Join(c.RegistryMirrors, ",") != "https://m1,https://m2" {
		t.Errorf("lists should join, flags first: %v %v", c.InsecureRegistries, c.RegistryMirrors)
	}
	if c.DefaultRegistry != "r.example" || c.CertsDir != "/c" {
		t.Errorf("scalars from the file: %+v", c)
	}
	if c := Default(); c.CertsDir != "/etc/pouch/certs.d" || c.DefaultRegistry != "" {
		t.Errorf("defaults: %+v", c)
	}
	for _, key := range []string{"default-registry", "certs-dir"} {
		_, err := parse(t, []string{"--" + key, "x"}, `{"`+key+`": "y"}`)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s in both places: %v", key, err)
		}
	}
}
