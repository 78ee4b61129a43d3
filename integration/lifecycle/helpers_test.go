package lifecycle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

// runD runs `pouch run -d ARGS...` on dm under a unique name and returns
// the container's ID; when the test ends the container is removed and
// checked to be gone.
func runD(t testing.TB, dm *testenv.Daemon, args ...string) string {
	t.Helper()
	return checkGoneOnCleanup(t, dm, func() string {
		id, _ := dm.RunDetached(t, args...)
		return id
	})
}

// createC is runD with `pouch create`.
func createC(t testing.TB, dm *testenv.Daemon, args ...string) string {
	t.Helper()
	return checkGoneOnCleanup(t, dm, func() string {
		id, _ := dm.CreateContainer(t, args...)
		return id
	})
}

// checkGoneOnCleanup makes a container with create, which has testenv
// force-remove it when the test ends, and returns its ID. If the
// container was still there to remove (and the daemon up), it checks
// after the removal that none of its processes (shim, logger, container)
// is left and that inspect no longer finds it.
func checkGoneOnCleanup(t testing.TB, dm *testenv.Daemon, create func() string) string {
	t.Helper()
	var removed string
	// Cleanups run last registered first: this one runs after the
	// removal create registered...
	t.Cleanup(func() {
		if removed == "" {
			return
		}
		deadline := time.Now().Add(3 * time.Second)
		for len(testenv.ProcessesMentioning(removed)) > 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		for _, pid := range testenv.ProcessesMentioning(removed) {
			t.Errorf("cleanup: process %d (%s) of removed container %s left", pid, cmdline(pid), removed[:12])
		}
		if r := dm.Do(t, "GET", "/containers/"+removed+"/json", nil); r.Status != http.StatusNotFound {
			t.Errorf("cleanup: container %s still there after rm -f: %d %s", removed[:12], r.Status, r.Body)
		}
	})
	id := create()
	// ...and this one before it.
	t.Cleanup(func() {
		if up(dm) && dm.Do(t, "GET", "/containers/"+id+"/json", nil).Status == http.StatusOK {
			removed = id
		}
	})
	return id
}

// up tells whether the daemon answers /_ping.
func up(dm *testenv.Daemon) bool {
	c := dm.Client()
	c.Timeout = 2 * time.Second
	resp, err := c.Get("http://pouch/_ping")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// brief is the part of inspect a failure message shows.
func brief(c ctypes.InspectResponse) string {
	s := fmt.Sprintf("status=%s pid=%d exit=%d restarts=%d started=%s finished=%s error=%q",
		c.State.Status, c.State.Pid, c.State.ExitCode, c.RestartCount, c.State.StartedAt, c.State.FinishedAt, c.State.Error)
	if h := c.State.Health; h != nil {
		s += fmt.Sprintf(" health=%s streak=%d log=%d", h.Status, h.FailingStreak, len(h.Log))
	}
	return s
}

// waitFor polls the container every 50ms until cond holds, for at most
// limit, and returns the inspect that satisfied it.
func waitFor(t testing.TB, dm *testenv.Daemon, ref string, limit time.Duration, what string, cond func(c ctypes.InspectResponse) bool) ctypes.InspectResponse {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		c := dm.Inspect(t, ref)
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not %s after %v: %s", shortRef(ref), what, limit, brief(c))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// holds checks that cond holds on every poll for the whole duration.
func holds(t testing.TB, dm *testenv.Daemon, ref string, dur time.Duration, what string, cond func(c ctypes.InspectResponse) bool) ctypes.InspectResponse {
	t.Helper()
	deadline := time.Now().Add(dur)
	for {
		c := dm.Inspect(t, ref)
		if !cond(c) {
			t.Fatalf("%s: no longer %s: %s", shortRef(ref), what, brief(c))
		}
		if time.Now().After(deadline) {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func shortRef(ref string) string {
	if testenv.IsID(ref) {
		return ref[:12]
	}
	return ref
}

func isStatus(s ctypes.ContainerState) func(ctypes.InspectResponse) bool {
	return func(c ctypes.InspectResponse) bool { return c.State.Status == s }
}

// restartedFrom holds once the container runs again with another PID and
// at least n restarts.
func restartedFrom(oldPid, n int) func(ctypes.InspectResponse) bool {
	return func(c ctypes.InspectResponse) bool {
		return c.State.Status == ctypes.StateRunning && c.State.Pid != 0 && c.State.Pid != oldPid && c.RestartCount >= n
	}
}

// hostKill kills a process with SIGKILL from the host, as the OOM killer
// or an operator would, and waits until it is gone.
func hostKill(t testing.TB, pid int) {
	t.Helper()
	if pid <= 1 {
		t.Fatalf("refusing to kill pid %d", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	testenv.Eventually(t, 10*time.Second, fmt.Sprintf("pid %d to die of SIGKILL", pid), func() bool { return !testenv.Alive(pid) })
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// processesInCgroupOf lists the live PIDs whose cgroup path names the
// container and whose command line is exactly argv.
func processesInCgroupOf(id string, argv ...string) []int {
	want := strings.Join(argv, "\x00") + "\x00"
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || string(b) != want {
			continue
		}
		cg, _ := os.ReadFile("/proc/" + e.Name() + "/cgroup")
		if strings.Contains(string(cg), id) && testenv.Alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// processAge is how long ago pid started.
func processAge(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64) // starttime, field 22
	if err != nil {
		return 0, err
	}
	u, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	up, err := strconv.ParseFloat(strings.Fields(string(u))[0], 64)
	if err != nil {
		return 0, err
	}
	const userHZ = 100
	return time.Duration((up - float64(ticks)/userHZ) * float64(time.Second)), nil
}

// failThen is a script that exits with code on its first n runs and then
// sleeps: the container counts its runs in its own root filesystem, which
// a restart keeps.
func failThen(n, code int) string {
	return fmt.Sprintf(`n=$(cat /runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > /runs; [ $n -gt %d ] && exec sleep 600; exit %d`, n, code)
}

// stamp is t as the API's since and until take it.
func stamp(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// containerEvents reads the container's events from since to now through
// GET /events, oldest first; actions, when given, keep only those whose
// action starts with one of them.
func containerEvents(t testing.TB, dm *testenv.Daemon, since time.Time, id string, actions ...string) []events.Message {
	t.Helper()
	time.Sleep(10 * time.Millisecond)
	q := url.Values{}
	q.Set("since", stamp(since))
	q.Set("until", stamp(time.Now()))
	f, _ := json.Marshal(map[string][]string{"container": {id}})
	q.Set("filters", string(f))
	r := dm.Do(t, "GET", "/events?"+q.Encode(), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /events: %d %s", r.Status, r.Body)
	}
	var out []events.Message
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	for {
		var m events.Message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("GET /events: %v in %s", err, r.Body)
		}
		keep := len(actions) == 0
		for _, a := range actions {
			if strings.HasPrefix(string(m.Action), a) {
				keep = true
			}
		}
		if keep {
			out = append(out, m)
		}
	}
	return out
}

// waitRestartWindow waits until the container has exited n+1 times and
// waits, restarting, for its (n+1)-th restart: RestartCount n, the
// back-off 100ms<<n. (Restarting with RestartCount n also holds while the
// n-th restart is starting the container: the die events tell them apart.)
func waitRestartWindow(t testing.TB, dm *testenv.Daemon, id string, since time.Time, n int) ctypes.InspectResponse {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if dies := containerEvents(t, dm, since, id, "die"); len(dies) >= n+1 {
			c := dm.Inspect(t, id)
			if c.State.Status == ctypes.StateRestarting && c.RestartCount == n && len(containerEvents(t, dm, since, id, "die")) == n+1 {
				return c
			}
			if len(dies) > n+1 || c.RestartCount > n {
				t.Fatalf("%s: missed the restart window after exit %d: %s, %d exits", id[:12], n+1, brief(c), len(dies))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no restart window after exit %d: %s", id[:12], n+1, brief(dm.Inspect(t, id)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitTornDown waits until nothing of the container's last run is left
// on the host: no bundle, no shim or logger process.
func waitTornDown(t testing.TB, dm *testenv.Daemon, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := os.Stat(filepath.Join(dm.ExecRoot, "c", id))
		procs := testenv.ProcessesMentioning(id)
		if os.IsNotExist(err) && len(procs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: run not torn down after 10s: bundle stat %v, processes %v", id[:12], err, procs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitEvent streams the container's events and returns as soon as one
// with the action comes (at most 20s).
func awaitEvent(t testing.TB, dm *testenv.Daemon, id, action string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f, _ := json.Marshal(map[string][]string{"container": {id}, "event": {action}})
	req, err := http.NewRequestWithContext(ctx, "GET", "http://pouch/events?filters="+url.QueryEscape(string(f)), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := dm.Client().Do(req)
	if err != nil {
		t.Fatalf("GET /events: %v", err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var m events.Message
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("waiting for a %s event of %s: %v", action, id[:12], err)
		}
		if string(m.Action) == action {
			return
		}
	}
}

func actionsOf(evs []events.Message) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		a := string(e.Action)
		if c, ok := e.Actor.Attributes["exitCode"]; ok {
			a += "(" + c + ")"
		}
		out = append(out, a)
	}
	return out
}

// psStatus is the STATUS column `pouch ps` (or `docker ps`) shows for the
// container.
func psStatus(t testing.TB, dm *testenv.Daemon, docker bool, id string) string {
	t.Helper()
	run := dm.PouchOK
	if docker {
		run = dm.DockerOK
	}
	return strings.TrimSpace(run(t, "ps", "-a", "--filter", "id="+id, "--format", "{{.Status}}"))
}

// psIDs lists the short IDs `pouch ps -q ARGS...` prints.
func psIDs(t testing.TB, dm *testenv.Daemon, args ...string) []string {
	t.Helper()
	return strings.Fields(dm.PouchOK(t, append([]string{"ps", "-q", "--no-trunc"}, args...)...))
}

// loadImageWithHealthcheck loads into dm a busybox image named name whose
// configuration carries hc, as `docker build` writes a HEALTHCHECK. The
// testimage helpers write OCI image configs, which have no Healthcheck:
// the archive's config is rewritten with it (and renamed to its digest).
func loadImageWithHealthcheck(t testing.TB, dm *testenv.Daemon, name string, hc ctypes.HealthConfig) {
	t.Helper()
	img, err := testimage.Busybox(testimage.WithName(name))
	if errors.Is(err, testimage.ErrNoBusybox) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := testimage.WriteDockerArchive(&buf, img); err != nil {
		t.Fatal(err)
	}
	archive, err := withHealthcheck(buf.Bytes(), hc)
	if err != nil {
		t.Fatal(err)
	}
	r := dm.Do(t, "POST", "/images/load", archive)
	if r.Status != http.StatusOK {
		t.Fatalf("load %s: %d %s", name, r.Status, r.Body)
	}
	t.Cleanup(func() {
		if up(dm) {
			dm.Do(t, "DELETE", "/images/"+url.PathEscape(name)+"?force=1", nil)
		}
	})
}

// withHealthcheck rewrites a docker-archive with one image so that its
// config has the health check.
func withHealthcheck(archive []byte, hc ctypes.HealthConfig) ([]byte, error) {
	type entry struct {
		hdr  *tar.Header
		data []byte
	}
	var entries []entry
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{hdr, data})
		files[hdr.Name] = data
	}
	var manifest []testimage.DockerManifest
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		return nil, fmt.Errorf("manifest.json: %v (%d images)", err, len(manifest))
	}
	oldName := manifest[0].Config
	var cfg map[string]any
	if err := json.Unmarshal(files[oldName], &cfg); err != nil {
		return nil, fmt.Errorf("config %s: %w", oldName, err)
	}
	rc, _ := cfg["config"].(map[string]any)
	if rc == nil {
		rc = map[string]any{}
		cfg["config"] = rc
	}
	rc["Healthcheck"] = hc
	newCfg, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(newCfg)
	newName := hex.EncodeToString(sum[:]) + ".json"
	manifest[0].Config = newName
	newManifest, err := json.Marshal(manifest)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, e := range entries {
		hdr, data := *e.hdr, e.data
		switch hdr.Name {
		case oldName:
			hdr.Name, data = newName, newCfg
		case "manifest.json":
			data = newManifest
		}
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(&hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
