// Package system tests the daemon itself: its socket, flags, config file,
// single-instance lock, API versioning and error shapes.
package system

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

var d *testenv.Daemon

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &d)) }

func TestPingVersionInfo(t *testing.T) {
	r := d.Do(t, "HEAD", "/_ping", nil)
	if r.Status != 200 || r.Header.Get("Api-Version") == "" || r.Header.Get("Builder-Version") != "1" {
		t.Fatalf("HEAD /_ping: %d %v", r.Status, r.Header)
	}
	if r := d.Do(t, "GET", "/_ping", nil); string(r.Body) != "OK" {
		t.Fatalf("GET /_ping: %q", r.Body)
	}
	var v struct{ APIVersion, MinAPIVersion, Version, Os string }
	r = d.Do(t, "GET", "/v1.24/version", nil)
	if r.Status != 200 {
		t.Fatalf("versioned path: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &v)
	if v.APIVersion < "1.41" || v.Os != "linux" || v.Version == "" {
		t.Errorf("version: %+v", v)
	}
	var info struct {
		Images, Containers                                   int
		Driver, DefaultRuntime, DockerRootDir, LoggingDriver string
	}
	d.Do(t, "GET", "/info", nil).JSON(t, &info)
	if info.Images < 1 || info.Driver != "overlayfs" || info.DefaultRuntime != "runc" || info.DockerRootDir != d.Home || info.LoggingDriver != "json-file" {
		t.Errorf("info: %+v", info)
	}
}

func TestErrorsAreDockerShaped(t *testing.T) {
	cases := []struct {
		method, path string
		body         any
		status       int
	}{
		{"GET", "/nope", nil, 404},
		{"GET", "/v1.12/version", nil, 400},
		{"GET", "/containers/doesnotexist/json", nil, 404},
		{"POST", "/containers/create", "{not json", 400},
		{"DELETE", "/images/doesnotexist:1", nil, 404},
		{"GET", "/containers/json?filters=%7Bbad", nil, 400},
		{"GET", "/containers/json?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D", nil, 400},
	}
	for _, c := range cases {
		r := d.Do(t, c.method, c.path, c.body)
		if r.Status != c.status {
			t.Errorf("%s %s: status %d, want %d (%s)", c.method, c.path, r.Status, c.status, r.Body)
			continue
		}
		if r.Message() == "" {
			t.Errorf("%s %s: no message in %s", c.method, c.path, r.Body)
		}
	}
}

func TestSocketIsRootOnly(t *testing.T) {
	st, err := os.Stat(d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if st.Mode().Perm() != 0o660 || sys.Uid != 0 || sys.Gid != 0 {
		t.Errorf("socket mode %v owner %d:%d, want 0660 root:root", st.Mode().Perm(), sys.Uid, sys.Gid)
	}
}

func runPouchd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(d.BinDir, "pouchd"), args...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("pouchd %v did not exit", args)
	}
	return string(out), err
}

func TestSecondDaemonOnSameHomeRefuses(t *testing.T) {
	sock := filepath.Join(d.Root, "second.sock")
	out, err := runPouchd(t, "--home-dir", d.Home, "--exec-root-dir", filepath.Join(d.Root, "run2"),
		"-l", "unix://"+sock, "--config-file", filepath.Join(d.Root, "config.json"))
	if err == nil || !strings.Contains(out, "already running") {
		t.Fatalf("second pouchd: err %v, output %q", err, out)
	}
	// The first one is unharmed.
	if r := d.Do(t, "GET", "/_ping", nil); r.Status != 200 {
		t.Fatalf("first daemon: %d", r.Status)
	}
}

func TestConfigFileConflictNamesTheKey(t *testing.T) {
	cfg := filepath.Join(d.Root, "conflict.json")
	if err := os.WriteFile(cfg, []byte(`{"exec-root-dir": "/nowhere"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runPouchd(t, "--config-file", cfg, "--exec-root-dir", "/elsewhere", "--home-dir", filepath.Join(d.Root, "h2"))
	if err == nil || !strings.Contains(out, "exec-root-dir") {
		t.Fatalf("conflict: err %v, output %q", err, out)
	}
	out, err = runPouchd(t, "--config-file", filepath.Join(d.Root, "missing.json"))
	if err == nil || !strings.Contains(out, "missing.json") {
		t.Fatalf("missing explicit config: err %v, output %q", err, out)
	}
}
