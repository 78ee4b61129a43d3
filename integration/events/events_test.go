// Package events tests the daemon's event stream: `pouch events` and
// `docker events` with --since, --until and filters, and GET /events
// streaming live events, from image, network and container actions.
package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/registry"
	"github.com/pouchcontainer/pouch/integration/internal/testenv"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

var d *testenv.Daemon

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &d)) }

var (
	probeOnce sync.Once
	probeErr  string
)

// needEvents fails the test at once, with the reason, when the daemon does
// not serve GET /events (the events router is not wired in).
func needEvents(t testing.TB) {
	t.Helper()
	probeOnce.Do(func() {
		if r := d.Do(t, "GET", "/events?since=0&until=1", nil); r.Status != 200 {
			probeErr = fmt.Sprintf("GET /events answers %d %s: is the events router (daemon/router/events) wired in daemon/daemon.go?", r.Status, bytes.TrimSpace(r.Body))
		}
	})
	if probeErr != "" {
		t.Fatal(probeErr)
	}
}

// stamp is now as the API's since and until take it.
func stamp() string {
	now := time.Now()
	return fmt.Sprintf("%d.%09d", now.Unix(), now.Nanosecond())
}

// after waits a little, so that the next stamp is after what happened.
func after() string {
	time.Sleep(10 * time.Millisecond)
	return stamp()
}

// event is one line of `pouch events` / `docker events`.
type event struct {
	Time, Type, Action, ID string
	Attrs                  map[string]string
}

func (e event) String() string {
	keys := make([]string, 0, len(e.Attrs))
	for k := range e.Attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var kv []string
	for _, k := range keys {
		kv = append(kv, k+"="+e.Attrs[k])
	}
	return fmt.Sprintf("%s %s %s (%s)", e.Type, e.Action, e.ID, strings.Join(kv, ", "))
}

// lineRE is docker's event line: TIME TYPE ACTION ID (k=v, ...).
var lineRE = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(?:Z|[+-]\d\d:\d\d)) (\S+) (\S+) (\S*)(?: \((.*)\))?$`)

func parseEvents(t testing.TB, out string) []event {
	t.Helper()
	var evs []event
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not an event line: %q", line)
		}
		e := event{Time: m[1], Type: m[2], Action: m[3], ID: m[4], Attrs: map[string]string{}}
		if m[5] != "" {
			for _, kv := range strings.Split(m[5], ", ") {
				k, v, _ := strings.Cut(kv, "=")
				e.Attrs[k] = v
			}
		}
		evs = append(evs, e)
	}
	return evs
}

// eventsBetween runs `pouch events --since S --until U [args]`.
func eventsBetween(t testing.TB, since, until string, args ...string) []event {
	t.Helper()
	return parseEvents(t, d.PouchOK(t, append([]string{"events", "--since", since, "--until", until}, args...)...))
}

func strs(evs []event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.String())
	}
	return out
}

// only keeps the events whose actor or name attribute mentions one of names.
func only(evs []event, names ...string) []event {
	var out []event
	for _, e := range evs {
		for _, n := range names {
			if e.ID == n || strings.HasPrefix(e.Attrs["name"], n) || e.Attrs["container"] == n {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

func expect(t testing.TB, what string, got []event, want ...string) {
	t.Helper()
	if g := strs(got); !slices.Equal(g, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, g, want)
	}
}

// createNetwork creates a user network on a free subnet and returns its ID.
func createNetwork(t testing.TB, name string) string {
	t.Helper()
	subnet, err := testenv.FreeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Pouch(t, nil, "network", "rm", name) })
	return strings.TrimSpace(d.PouchOK(t, "network", "create", "--subnet", subnet.String(), name))
}

func busyboxID(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(d.PouchOK(t, "image", "inspect", "-f", "{{.Id}}", "busybox"))
}

// TestSinceUntilAndFilters drives image and network actions with the CLI,
// then reads them back between two times, in order, with and without filters.
func TestSinceUntilAndFilters(t *testing.T) {
	needEvents(t)
	net := testenv.Unique("evnet")
	img := testenv.Unique("evimg") + ":v1"
	imgID := busyboxID(t)

	since := stamp()
	netID := createNetwork(t, net)
	d.PouchOK(t, "tag", "busybox", img)
	d.PouchOK(t, "rmi", img)
	d.PouchOK(t, "network", "rm", net)
	until := after()

	create := fmt.Sprintf("network create %s (name=%s, type=bridge)", netID, net)
	tag := fmt.Sprintf("image tag %s (name=%s)", imgID, img)
	untag := fmt.Sprintf("image untag %s (name=%s)", imgID, img)
	destroy := fmt.Sprintf("network destroy %s (name=%s, type=bridge)", netID, net)

	all := eventsBetween(t, since, until)
	expect(t, "all", only(all, netID, img), create, tag, untag, destroy)
	for i := 1; i < len(all); i++ {
		if all[i].Time < all[i-1].Time && all[i].Time[len(all[i].Time)-1] == 'Z' {
			t.Errorf("events out of order: %v then %v", all[i-1], all[i])
		}
	}

	expect(t, "type=network", only(eventsBetween(t, since, until, "-f", "type=network"), netID), create, destroy)
	expect(t, "type=image", only(eventsBetween(t, since, until, "-f", "type=image"), netID, img), tag, untag)
	expect(t, "event=tag", eventsBetween(t, since, until, "-f", "event=tag"), tag)
	expect(t, "event=create,destroy", only(eventsBetween(t, since, until, "--filter", "event=create", "--filter", "event=destroy"), netID, img), create, destroy)
	expect(t, "network=NAME", eventsBetween(t, since, until, "-f", "network="+net), create, destroy)
	expect(t, "network=ID prefix", eventsBetween(t, since, until, "-f", "network="+netID[:12]), create, destroy)
	expect(t, "image=REPO", eventsBetween(t, since, until, "-f", "image="+strings.TrimSuffix(img, ":v1")), tag, untag)
	expect(t, "type=network,event=destroy", eventsBetween(t, since, until, "-f", "type=network", "-f", "event=destroy", "-f", "network="+net), destroy)
	expect(t, "type=volume", eventsBetween(t, since, until, "-f", "type=volume"))

	// Only since: the history, then live events until until (here: soon).
	soon := time.Now().Add(500 * time.Millisecond)
	began := time.Now()
	evs := eventsBetween(t, since, fmt.Sprintf("%d.%09d", soon.Unix(), soon.Nanosecond()), "-f", "network="+net)
	expect(t, "since and an until in the future", evs, create, destroy)
	if time.Since(began) < 400*time.Millisecond {
		t.Errorf("an until in the future ended the stream after %v", time.Since(began))
	}

	// until before since is refused; so is an unknown filter.
	if res := d.Pouch(t, nil, "events", "--since", until, "--until", since); res.ExitCode == 0 || !strings.Contains(res.Stderr, "cannot be after") {
		t.Errorf("until before since: exit %d %q", res.ExitCode, res.Stderr)
	}
	if res := d.Pouch(t, nil, "events", "--until", until, "-f", "colour=red"); res.ExitCode == 0 || !strings.Contains(res.Stderr, "invalid filter") {
		t.Errorf("unknown filter: exit %d %q", res.ExitCode, res.Stderr)
	}

	// --format.
	out := d.PouchOK(t, "events", "--since", since, "--until", until, "-f", "network="+net, "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
	if out != fmt.Sprintf("network create %s\nnetwork destroy %s\n", net, net) {
		t.Errorf("--format: %q", out)
	}
	out = d.PouchOK(t, "events", "--since", since, "--until", until, "-f", "event=tag", "--format", "json")
	var m struct {
		Type, Action string
		Actor        struct{ ID string }
		TimeNano     int64 `json:"timeNano"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.Type != "image" || m.Action != "tag" || m.Actor.ID != imgID || m.TimeNano == 0 {
		t.Errorf("--format json: %q (%v)", out, err)
	}
}

// TestLabelFilter loads an image with labels: its events carry them.
func TestLabelFilter(t *testing.T) {
	needEvents(t)
	repo := testenv.Unique("evlabel")
	img, err := testimage.Busybox(testimage.WithName(repo+":1"), testimage.WithLabels(map[string]string{"pouch.test": repo, "tier": "front"}))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := testimage.WriteDockerArchive(&buf, img); err != nil {
		t.Fatal(err)
	}
	id, _ := img.ID()
	since := stamp()
	if r := d.Do(t, "POST", "/images/load", buf.Bytes()); r.Status != 200 {
		t.Fatalf("load: %d %s", r.Status, r.Body)
	}
	t.Cleanup(func() { d.Pouch(t, nil, "rmi", "-f", repo+":1") })
	d.PouchOK(t, "tag", repo+":1", repo+":2")
	until := after()

	load := fmt.Sprintf("image load %s (name=%s:1, pouch.test=%s, tier=front)", id, repo, repo)
	tag := fmt.Sprintf("image tag %s (name=%s:2, pouch.test=%s, tier=front)", id, repo, repo)
	expect(t, "label=KEY=VALUE", eventsBetween(t, since, until, "-f", "label=pouch.test="+repo), load, tag)
	expect(t, "label=KEY and label=KEY=VALUE", eventsBetween(t, since, until, "-f", "label=pouch.test", "-f", "label=tier=front", "-f", "event=load"), load)
	expect(t, "label with another value", eventsBetween(t, since, until, "-f", "label=pouch.test=nope"))
	expect(t, "label and image", eventsBetween(t, since, until, "-f", "label=pouch.test="+repo, "-f", "image="+repo+":2"), tag)
}

// TestLiveAPI reads GET /events as a stream: a live event arrives at once,
// with the legacy fields of API 1.51 for image events.
func TestLiveAPI(t *testing.T) {
	needEvents(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := url.Values{"filters": {`{"type":["network","image"]}`}}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://pouch/v1.51/events?"+q.Encode(), nil)
	resp, err := d.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /events: %d %s (is the events router wired in daemon/daemon.go?)", resp.StatusCode, b)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(what string) map[string]any {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s: the stream ended", what)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%s: %q: %v", what, l, err)
			}
			return m
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no event within 10s", what)
		}
		return nil
	}

	net := testenv.Unique("evlive")
	netID := createNetwork(t, net)
	m := next("network create")
	actor, _ := m["Actor"].(map[string]any)
	attrs, _ := actor["Attributes"].(map[string]any)
	if m["Type"] != "network" || m["Action"] != "create" || actor["ID"] != netID || attrs["name"] != net || attrs["type"] != "bridge" || m["scope"] != "local" {
		t.Errorf("network create: %v", m)
	}
	if _, ok := m["status"]; ok {
		t.Errorf("network events have no legacy status: %v", m)
	}
	if m["time"] == nil || m["timeNano"] == nil {
		t.Errorf("no time: %v", m)
	}

	img := testenv.Unique("evlive") + ":x"
	d.PouchOK(t, "tag", "busybox", img)
	t.Cleanup(func() { d.Pouch(t, nil, "rmi", img) })
	m = next("image tag")
	if m["Type"] != "image" || m["status"] != "tag" || m["id"] != busyboxID(t) {
		t.Errorf("image tag with the legacy fields: %v", m)
	}

	// `pouch events --until` sends the history up to until (no since: all
	// of it, as Docker), then follows live events until until passes.
	until := time.Now().Add(3 * time.Second)
	cmd := exec.Command(filepath.Join(d.BinDir, "pouch"), "-H", d.Host(), "events", "--until",
		fmt.Sprintf("%d.%09d", until.Unix(), until.Nanosecond()), "-f", "network="+net)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // subscribed
	d.PouchOK(t, "network", "rm", net)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("pouch events: %v: %s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("pouch events did not end when --until passed")
	}
	expect(t, "pouch events --until (history, then live)", parseEvents(t, out.String()),
		fmt.Sprintf("network create %s (name=%s, type=bridge)", netID, net),
		fmt.Sprintf("network destroy %s (name=%s, type=bridge)", netID, net))
	if time.Now().Before(until) {
		t.Error("pouch events ended before --until")
	}

	// Closing the connection ends the subscription without harm.
	cancel()
	for range lines {
	}
}

// TestDockerCLI reads the events with the real docker CLI.
func TestDockerCLI(t *testing.T) {
	needEvents(t)
	testenv.NeedDocker(t)
	net := testenv.Unique("evdk")
	img := testenv.Unique("evdk") + ":v1"
	imgID := busyboxID(t)
	since := stamp()
	netID := createNetwork(t, net)
	d.PouchOK(t, "tag", "busybox", img)
	d.PouchOK(t, "rmi", img)
	d.PouchOK(t, "network", "rm", net)
	until := after()

	docker := func(args ...string) string {
		t.Helper()
		r := d.Docker(t, nil, args...)
		if r.ExitCode != 0 {
			t.Fatalf("docker %s: exit %d\n%s", strings.Join(args, " "), r.ExitCode, r.Combined())
		}
		return r.Stdout
	}
	evs := parseEvents(t, docker("events", "--since", since, "--until", until))
	expect(t, "docker events", only(evs, netID, img),
		fmt.Sprintf("network create %s (name=%s, type=bridge)", netID, net),
		fmt.Sprintf("image tag %s (name=%s)", imgID, img),
		fmt.Sprintf("image untag %s (name=%s)", imgID, img),
		fmt.Sprintf("network destroy %s (name=%s, type=bridge)", netID, net))
	expect(t, "docker events -f network", parseEvents(t, docker("events", "--since", since, "--until", until, "-f", "network="+net, "-f", "event=destroy")),
		fmt.Sprintf("network destroy %s (name=%s, type=bridge)", netID, net))

	// docker 28 decodes the legacy fields of API 1.51.
	out := docker("events", "--since", since, "--until", until, "-f", "event=tag", "-f", "image="+img, "--format", "{{json .}}")
	if !strings.Contains(out, `"status":"tag"`) || !strings.Contains(out, `"id":"`+imgID+`"`) {
		t.Errorf("docker events --format json: %q", out)
	}
	// Relative times, as docker sends them (whole seconds).
	time.Sleep(1100 * time.Millisecond)
	evs = parseEvents(t, docker("events", "--since", "5m", "--until", "0s", "-f", "network="+net))
	if len(evs) != 2 {
		t.Errorf("docker events --since 5m --until 0s: %v", strs(evs))
	}
}

// TestPushPullEvents pushes to and pulls from a local registry, with a
// daemon of its own that trusts it: push and pull events name the
// reference, tag and untag the image ID.
func TestPushPullEvents(t *testing.T) {
	needEvents(t)
	reg := registry.Start(t)
	dm := testenv.StartDaemon(t, func(dm *testenv.Daemon) {
		dm.ExtraArgs = []string{"--insecure-registries", reg.Host}
	})
	id := strings.TrimSpace(dm.PouchOK(t, "image", "inspect", "-f", "{{.Id}}", "busybox"))
	ref := reg.Ref("events/busybox", "v1")
	repo := strings.TrimSuffix(ref, ":v1")
	since := stamp()
	dm.PouchOK(t, "tag", "busybox", ref)
	dm.PouchOK(t, "push", ref)
	dm.PouchOK(t, "rmi", ref)
	dm.PouchOK(t, "pull", ref)
	until := after()
	evs := parseEvents(t, dm.PouchOK(t, "events", "--since", since, "--until", until, "-f", "image="+repo))
	expect(t, "image="+repo, evs,
		fmt.Sprintf("image tag %s (name=%s)", id, ref),
		fmt.Sprintf("image push %s (name=%s)", ref, repo),
		fmt.Sprintf("image untag %s (name=%s)", id, ref),
		fmt.Sprintf("image pull %s (name=%s)", ref, repo))
}

// TestStreamEndsWhenDaemonStops: an open event stream ends when pouchd
// stops, and does not hold its shutdown up.
func TestStreamEndsWhenDaemonStops(t *testing.T) {
	needEvents(t)
	dm := testenv.StartDaemon(t, nil)
	resp, err := dm.Client().Get("http://pouch/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /events: %d", resp.StatusCode)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		ended <- err
	}()
	began := time.Now()
	if err := dm.Stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("pouchd took %v to stop with an event stream open", took)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Error("the event stream did not end when pouchd stopped")
	}
}

// TestContainerEvents checks the container events Docker sends for a
// container's life, once the container service publishes them.
func TestContainerEvents(t *testing.T) {
	needEvents(t)
	since := stamp()
	probe := testenv.Unique("evprobe")
	d.PouchOK(t, "run", "--rm", "--name", probe, "busybox", "true")
	if len(eventsBetween(t, since, after(), "-f", "type=container")) == 0 {
		t.Skip("container events are not published yet: `pouch run --rm busybox true` produced none")
	}

	name := testenv.Unique("evctr")
	since = stamp()
	d.PouchOK(t, "run", "--name", name, "--label", "pouch.test="+name, "busybox", "true")
	id := strings.TrimSpace(d.PouchOK(t, "inspect", "-f", "{{.Id}}", name))
	d.PouchOK(t, "rm", name)
	attrs := func(extra string) string {
		return fmt.Sprintf("(%simage=busybox, name=%s, pouch.test=%s)", extra, name, name)
	}
	want := []string{
		fmt.Sprintf("container create %s %s", id, attrs("")),
		fmt.Sprintf("container start %s %s", id, attrs("")),
		fmt.Sprintf("container die %s %s", id, attrs("exitCode=0, ")),
		fmt.Sprintf("container destroy %s %s", id, attrs("")),
	}
	lifecycle := []string{"-f", "event=create", "-f", "event=start", "-f", "event=die", "-f", "event=destroy"}
	until := after()
	got := withoutDuration(strs(eventsBetween(t, since, until, append([]string{"-f", "container=" + name}, lifecycle...)...)))
	if !slices.Equal(got, want) {
		t.Errorf("container=NAME:\n got %q\nwant %q", got, want)
	}
	if got := withoutDuration(strs(only(eventsBetween(t, since, until, "-f", "container="+id[:12], "-f", "event=die", "-f", "label=pouch.test="+name), id))); !slices.Equal(got, []string{fmt.Sprintf("container die %s %s", id, attrs("exitCode=0, "))}) {
		t.Errorf("container=ID prefix, event=die, label: %q", got)
	}

	// The default bridge: connect at start, disconnect when it exited.
	var net []event
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		net = only(eventsBetween(t, since, stamp(), "-f", "type=network", "-f", "network=bridge"), id)
		if len(net) >= 2 {
			break
		}
	}
	if len(net) != 2 || net[0].Action != "connect" || net[1].Action != "disconnect" ||
		net[0].Attrs["name"] != "bridge" || net[0].Attrs["type"] != "bridge" {
		t.Errorf("bridge connect/disconnect: %q", strs(net))
	}

	if _, err := exec.LookPath("docker"); err == nil {
		r := d.Docker(t, nil, append([]string{"events", "--since", since, "--until", until, "-f", "container=" + name}, lifecycle...)...)
		got := strs(parseEvents(t, r.Stdout))
		for i := range got {
			got[i] = regexp.MustCompile(`execDuration=\d+, `).ReplaceAllString(got[i], "")
		}
		if r.ExitCode != 0 || !slices.Equal(got, want) {
			t.Errorf("docker events -f container=NAME: exit %d %s\n got %q\nwant %q", r.ExitCode, r.Stderr, got, want)
		}
	}
}

// withoutDuration drops the execDuration attribute of die events (it
// depends on timing), as compared lines would otherwise differ.
func withoutDuration(lines []string) []string {
	re := regexp.MustCompile(`execDuration=\d+, `)
	for i := range lines {
		lines[i] = re.ReplaceAllString(lines[i], "")
	}
	return lines
}
