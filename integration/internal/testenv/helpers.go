package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
)

// Helpers the integration packages share: the CLIs run to success,
// containers with unique names removed when the test ends, API answers
// checked for their status, container inspect into moby's types, and
// bounded waits.

// PouchOK runs the pouch CLI and fails the test unless it exits 0; it
// returns stdout.
func (d *Daemon) PouchOK(t testing.TB, args ...string) string {
	t.Helper()
	return succeeded(t, "pouch", args, d.Pouch(t, nil, args...))
}

// PouchFails runs the pouch CLI, fails the test if it exits 0, and
// returns the result.
func (d *Daemon) PouchFails(t testing.TB, args ...string) Result {
	t.Helper()
	res := d.Pouch(t, nil, args...)
	if res.ExitCode == 0 {
		t.Fatalf("pouch %s succeeded, want a failure\nstdout: %s", strings.Join(args, " "), res.Stdout)
	}
	return res
}

// DockerOK runs the real docker CLI and fails the test unless it exits 0;
// it returns stdout.
func (d *Daemon) DockerOK(t testing.TB, args ...string) string {
	t.Helper()
	return succeeded(t, "docker", args, d.Docker(t, nil, args...))
}

// succeeded fails the test unless the command exited 0, and returns its
// stdout.
func succeeded(t testing.TB, bin string, args []string, res Result) string {
	t.Helper()
	if res.ExitCode != 0 {
		t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", bin, strings.Join(args, " "), res.ExitCode, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

// NeedDocker skips the test when the docker CLI is not installed.
func NeedDocker(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
}

var nameSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// UniqueName is a container or network name no other test uses, made from
// the test's name: lower case, usable as a DNS name.
func UniqueName(t testing.TB) string {
	n := unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "-")
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	return fmt.Sprintf("t%d-%s", nameSeq.Add(1), strings.Trim(n, "-"))
}

// Unique returns prefix and a random suffix: a lower-case name (of an
// image, a container, a directory) no other test uses.
func Unique(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

var hexID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// IsID tells whether s is a full 64-hex ID.
func IsID(s string) bool { return hexID.MatchString(s) }

// RunDetached runs a container in the background (`pouch run -d --name
// NAME ARGS...`) under a unique name, removes it when the test ends, and
// returns its ID and name.
func (d *Daemon) RunDetached(t testing.TB, args ...string) (id, name string) {
	t.Helper()
	name = UniqueName(t)
	return d.RunDetachedNamed(t, name, args...), name
}

// RunDetachedNamed is RunDetached under a name the test chose; it returns
// the ID.
func (d *Daemon) RunDetachedNamed(t testing.TB, name string, args ...string) string {
	t.Helper()
	return d.newContainer(t, []string{"run", "-d"}, name, args)
}

// CreateContainer creates a container without starting it (`pouch create
// --name NAME ARGS...`) under a unique name, removes it when the test
// ends, and returns its ID and name.
func (d *Daemon) CreateContainer(t testing.TB, args ...string) (id, name string) {
	t.Helper()
	name = UniqueName(t)
	return d.newContainer(t, []string{"create"}, name, args), name
}

func (d *Daemon) newContainer(t testing.TB, verb []string, name string, args []string) string {
	t.Helper()
	d.RemoveContainerOnCleanup(t, name)
	id := strings.TrimSpace(d.PouchOK(t, append(append(verb, "--name", name), args...)...))
	if !IsID(id) {
		t.Fatalf("pouch %s printed %q, want a 64-hex ID", strings.Join(verb, " "), id)
	}
	return id
}

// Sleeper runs busybox `sleep 300` in the background with the run
// options, as RunDetached does.
func (d *Daemon) Sleeper(t testing.TB, opts ...string) (id, name string) {
	t.Helper()
	return d.RunDetached(t, append(opts, "busybox", "sleep", "300")...)
}

// RunRm runs a container in the foreground and removes it afterwards
// (`pouch run --rm ARGS...`): the result carries its output and exit code.
func (d *Daemon) RunRm(t testing.TB, args ...string) Result {
	t.Helper()
	return d.Pouch(t, nil, append([]string{"run", "--rm"}, args...)...)
}

// Sh runs `sh -c script` in a fresh busybox container with the run
// options and returns its stdout; the container must exit 0.
func (d *Daemon) Sh(t testing.TB, opts []string, script string) string {
	t.Helper()
	args := append(append([]string{}, opts...), "busybox", "sh", "-c", script)
	res := d.RunRm(t, args...)
	if res.ExitCode != 0 {
		t.Fatalf("pouch run --rm %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.ExitCode, res.Stdout, res.Stderr)
	}
	return res.Stdout
}

// RemoveContainerOnCleanup force-removes the container when the test ends.
func (d *Daemon) RemoveContainerOnCleanup(t testing.TB, ref string) {
	t.Helper()
	t.Cleanup(func() {
		r := d.Do(t, "DELETE", "/containers/"+url.PathEscape(ref)+"?force=1", nil)
		if r.Status != http.StatusNoContent && r.Status != http.StatusNotFound {
			t.Errorf("cleanup: remove container %s: %d %s", ref, r.Status, r.Body)
		}
	})
}

// ExpectStatus calls the API and checks the answer's status; an error
// answer must carry a message.
func (d *Daemon) ExpectStatus(t testing.TB, want int, method, path string, body any) Response {
	t.Helper()
	r := d.Do(t, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s: status %d (%s), want %d", method, path, r.Status, r.Body, want)
	}
	if want >= 400 && r.Message() == "" {
		t.Fatalf("%s %s: error answer without a message: %s", method, path, r.Body)
	}
	return r
}

// Inspect inspects a container through the API, which must answer 200.
func (d *Daemon) Inspect(t testing.TB, ref string) ctypes.InspectResponse {
	t.Helper()
	r := d.ExpectStatus(t, http.StatusOK, "GET", "/containers/"+url.PathEscape(ref)+"/json", nil)
	var c ctypes.InspectResponse
	r.JSON(t, &c)
	return c
}

// WaitStatus waits up to 20 seconds until the container reaches the
// status, and returns its inspect then.
func (d *Daemon) WaitStatus(t testing.TB, ref string, want ctypes.ContainerState) ctypes.InspectResponse {
	t.Helper()
	var c ctypes.InspectResponse
	Eventually(t, 20*time.Second, fmt.Sprintf("%s to be %s", ref, want), func() bool {
		c = d.Inspect(t, ref)
		return c.State.Status == want
	})
	return c
}

// Eventually polls cond every 20ms until it holds, and fails the test
// once the limit has passed without.
func Eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Alive tells whether a process exists and is not a zombie.
func Alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

// ProcessesMentioning lists the live PIDs (zombies left out) whose
// command line contains s: shims and loggers name their container's ID
// and their daemon's directories.
func ProcessesMentioning(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), s) {
			continue
		}
		if Alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// ParentPid is the parent of a process (0 when it is gone).
func ParentPid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// MountPoints lists the mount points of this process's mount namespace.
func MountPoints() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			out = append(out, f[4])
		}
	}
	return out, nil
}

// MountsUnder lists the mount points below dir.
func MountsUnder(dir string) []string {
	mounts, _ := MountPoints()
	var out []string
	for _, m := range mounts {
		if strings.HasPrefix(m, dir+"/") {
			out = append(out, m)
		}
	}
	return out
}

// NonEmptyDirs describes each of the directories that holds anything
// ("DIR holds [NAMES]").
func NonEmptyDirs(dirs ...string) []string {
	var out []string
	for _, dir := range dirs {
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			out = append(out, fmt.Sprintf("%s holds %v", dir, names))
		}
	}
	return out
}

// WaitNothingLeft calls check every interval until it reports nothing,
// for up to limit; then it returns an error listing what check still
// reports.
func WaitNothingLeft(limit, interval time.Duration, check func() []string) error {
	for deadline := time.Now().Add(limit); ; time.Sleep(interval) {
		problems := check()
		if len(problems) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("left behind:\n  %s", strings.Join(problems, "\n  "))
		}
	}
}
