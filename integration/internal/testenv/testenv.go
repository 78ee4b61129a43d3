// Package testenv runs a real pouchd for integration tests: a temporary
// home with short socket paths, its own cgroup parent, test images built
// from the host's static busybox, and a cleanup that leaves no container,
// process, mount or cgroup behind. Main (a package's TestMain) and
// StartDaemon (one test's own daemon) set daemons up; helpers.go holds
// what the test packages share: the CLIs run to success, containers with
// unique names removed when the test ends, checked API calls, inspect
// into moby's types and bounded waits.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/internal/testimage"
)

// Daemon is one pouchd under test.
type Daemon struct {
	Root      string // temporary directory holding everything
	Home      string
	ExecRoot  string
	Socket    string
	Cgroup    string // cgroup parent name
	BinDir    string
	ExtraArgs []string
	// CLIEnv is added to the environment of the pouch CLI (e.g. HOME, so
	// `pouch login` writes a config file of the test's own).
	CLIEnv []string
	// BridgeName and BridgeIP (gateway/prefix) give the daemon a default
	// bridge of its own, passed as --bridge-name and --bip; New picks a
	// unique name and a free subnet. Empty: pouchd's defaults (p0,
	// 192.168.5.1/24).
	BridgeName, BridgeIP string

	ownBridges []string
	ownSubnets []netip.Prefix
	netBefore  netBaseline

	cmd    *exec.Cmd
	exited chan struct{}
	logf   *os.File
}

// BinDir finds the built binaries: $POUCH_BIN_DIR, else bin/ at the module root.
func BinDir() (string, error) {
	if d := os.Getenv("POUCH_BIN_DIR"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "bin"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module root not found; set POUCH_BIN_DIR")
		}
		dir = parent
	}
}

// New prepares a daemon in a fresh temporary directory.
func New() (*Daemon, error) {
	if os.Getuid() != 0 {
		return nil, errors.New("integration tests need root")
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(bin, "pouchd")); err != nil {
		return nil, fmt.Errorf("pouchd not built in %s (run make build): %w", bin, err)
	}
	root, err := os.MkdirTemp("/tmp", "pit")
	if err != nil {
		return nil, err
	}
	d := &Daemon{
		Root: root, Home: filepath.Join(root, "home"), ExecRoot: filepath.Join(root, "run"),
		Socket: filepath.Join(root, "p.sock"), Cgroup: "pouch-" + filepath.Base(root), BinDir: bin,
		netBefore: takeNetBaseline(),
	}
	if err := d.pickBridge(); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	return d, nil
}

// Start starts pouchd and waits until it answers /_ping.
func (d *Daemon) Start() error {
	cfgPath := filepath.Join(d.Root, "config.json")
	if _, err := os.Stat(cfgPath); os.IsNotExist(err) {
		if err := os.WriteFile(cfgPath, []byte("{}\n"), 0o600); err != nil {
			return err
		}
	}
	logf, err := os.OpenFile(filepath.Join(d.Root, "pouchd.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	args := append([]string{
		"--home-dir", d.Home, "--exec-root-dir", d.ExecRoot, "-l", "unix://" + d.Socket,
		"--cgroup-parent", d.Cgroup, "--config-file", filepath.Join(d.Root, "config.json"), "-D",
	}, append(d.bridgeArgs(), d.ExtraArgs...)...)
	cmd := exec.Command(filepath.Join(d.BinDir, "pouchd"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	d.cmd, d.logf = cmd, logf
	setRunning(d, true)
	d.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(d.exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.exited:
			return fmt.Errorf("pouchd exited at start:\n%s", d.Log())
		default:
		}
		if resp, err := d.Client().Get("http://pouch/_ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.Kill()
	return fmt.Errorf("pouchd did not answer within 20s:\n%s", d.Log())
}

// Pid is pouchd's process id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Stop sends SIGTERM and waits for pouchd to exit.
func (d *Daemon) Stop() error {
	if d.cmd == nil {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		d.Kill()
		return errors.New("pouchd did not stop within 20s of SIGTERM")
	}
	d.cmd = nil
	setRunning(d, false)
	d.logf.Close()
	return nil
}

// Kill kills pouchd with SIGKILL, as a crash would.
func (d *Daemon) Kill() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	d.cmd = nil
	setRunning(d, false)
	d.logf.Close()
}

// Log returns pouchd's log so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Root, "pouchd.log"))
	return string(b)
}

// Host is the value for DOCKER_HOST or pouch -H.
func (d *Daemon) Host() string { return "unix://" + d.Socket }

// Client is an HTTP client over the daemon's socket (use any host in URLs).
func (d *Daemon) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.Socket)
		},
		DisableKeepAlives: true,
	}}
}

// Response is an API answer.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
}

// Message is the "message" of an error answer.
func (r Response) Message() string {
	var m struct{ Message string }
	_ = json.Unmarshal(r.Body, &m)
	return m.Message
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Do calls the API. body may be nil, []byte, string, io.Reader, or a value
// sent as JSON.
func (d *Daemon) Do(t testing.TB, method, path string, body any) Response {
	t.Helper()
	var r io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r, ct = strings.NewReader(b), "application/json"
	case io.Reader:
		r = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r, ct = bytes.NewReader(j), "application/json"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://pouch"+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := d.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return Response{Status: resp.StatusCode, Body: data, Header: resp.Header}
}

// Result is the outcome of a command.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Combined is stdout then stderr.
func (r Result) Combined() string { return r.Stdout + r.Stderr }

// Pouch runs the pouch CLI against the daemon, bounded by a minute.
func (d *Daemon) Pouch(t testing.TB, stdin io.Reader, args ...string) Result {
	t.Helper()
	return d.run(t, stdin, filepath.Join(d.BinDir, "pouch"), append([]string{"-H", d.Host()}, args...), d.CLIEnv)
}

// Docker runs the real docker CLI against the daemon.
func (d *Daemon) Docker(t testing.TB, stdin io.Reader, args ...string) Result {
	t.Helper()
	cfg := filepath.Join(d.Root, "docker-config")
	_ = os.MkdirAll(cfg, 0o700)
	return d.run(t, stdin, "docker", args, []string{"DOCKER_HOST=" + d.Host(), "DOCKER_CONFIG=" + cfg})
}

func (d *Daemon) run(t testing.TB, stdin io.Reader, bin string, args, env []string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %v: timed out; stdout %q stderr %q", bin, args, res.Stdout, res.Stderr)
	}
	return res
}

// LoadImages loads the standard test images: busybox:latest (two layers,
// the second with a whiteout).
func (d *Daemon) LoadImages() error {
	img, err := testimage.Busybox()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := testimage.WriteDockerArchive(&buf, img); err != nil {
		return err
	}
	resp, err := d.Client().Post("http://pouch/images/load", "application/x-tar", &buf)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("load busybox: %d %s", resp.StatusCode, body)
	}
	return nil
}

// Cleanup removes every container and network, stops pouchd, and removes
// every process, mount and cgroup the daemon left under its directories,
// and the bridges, veths, network namespaces and iptables rules it left.
func (d *Daemon) Cleanup() {
	own := netOwned{containers: d.containerIDs()}
	if d.cmd != nil {
		if resp, err := d.Client().Get("http://pouch/containers/json?all=1"); err == nil {
			var list []struct {
				ID string `json:"Id"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
			for _, c := range list {
				req, _ := http.NewRequest("DELETE", "http://pouch/containers/"+c.ID+"?force=1", nil)
				if r, err := d.Client().Do(req); err == nil {
					r.Body.Close()
				}
			}
		}
		d.removeNetworks(&own)
		_ = d.Stop()
	}
	KillProcessesUnder(d.Root)
	UnmountUnder(d.Root)
	d.cleanupNetwork(own)
	RemoveCgroup(d.Cgroup)
	_ = os.RemoveAll(d.Root)
}

// KillProcessesUnder kills every process whose command line or working
// directory mentions dir (shims, loggers, containers of a test daemon).
func KillProcessesUnder(dir string) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if strings.Contains(string(cmdline), dir) || strings.HasPrefix(cwd, dir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	time.Sleep(50 * time.Millisecond)
}

// UnmountUnder unmounts everything mounted below dir, deepest first.
func UnmountUnder(dir string) {
	for i := 0; i < 5; i++ {
		found := MountsUnder(dir)
		if len(found) == 0 {
			return
		}
		for j := len(found) - 1; j >= 0; j-- {
			_ = unix.Unmount(found[j], unix.MNT_DETACH)
		}
	}
}

// RemoveCgroup removes a cgroup parent and its children from every hierarchy.
func RemoveCgroup(name string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	for _, root := range roots {
		dir := filepath.Join(root, name)
		subs, _ := os.ReadDir(dir)
		for _, s := range subs {
			if s.IsDir() {
				_ = unix.Rmdir(filepath.Join(dir, s.Name()))
			}
		}
		_ = unix.Rmdir(dir)
	}
}

// CgroupExists reports whether any hierarchy still has the named cgroup.
func CgroupExists(name string) bool {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, root := range roots {
		if st, err := os.Stat(filepath.Join(root, name)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}
