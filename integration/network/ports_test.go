package network

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

// TestPublish checks published ports: a busybox httpd answers an HTTP GET
// from the test process on the published host address, and inspect, ps
// and `pouch port` report the mapping.
func TestPublish(t *testing.T) {
	t.Parallel()
	t.Run("loopback", func(t *testing.T) {
		t.Parallel()
		p := freePort(t)
		id, name := d.RunDetached(t, append([]string{"-p", fmt.Sprintf("127.0.0.1:%d:80", p)}, httpdArgs("hello-loopback")...)...)
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p), "hello-loopback\n")
		want := []portBinding{{HostIP: "127.0.0.1", HostPort: strconv.Itoa(p)}}
		c := inspect(t, id)
		if got := c.NetworkSettings.Ports["80/tcp"]; !slices.Equal(got, want) {
			t.Errorf("NetworkSettings.Ports %v, want 80/tcp: %v", c.NetworkSettings.Ports, want)
		}
		if got := c.HostConfig.PortBindings["80/tcp"]; !slices.Equal(got, want) {
			t.Errorf("HostConfig.PortBindings %v, want 80/tcp: %v", c.HostConfig.PortBindings, want)
		}
		if _, ok := c.Config.ExposedPorts["80/tcp"]; !ok {
			t.Errorf("Config.ExposedPorts %v lacks 80/tcp (a published port is exposed)", c.Config.ExposedPorts)
		}
		if out := d.PouchOK(t, "port", name); out != fmt.Sprintf("80/tcp -> 127.0.0.1:%d\n", p) {
			t.Errorf("pouch port %s: %q", name, out)
		}
		if out := d.PouchOK(t, "port", name, "80"); out != fmt.Sprintf("127.0.0.1:%d\n", p) {
			t.Errorf("pouch port %s 80: %q", name, out)
		}
		if r := d.Pouch(t, nil, "port", name, "81"); r.ExitCode == 0 {
			t.Errorf("pouch port %s 81 (not published) succeeded: %q", name, r.Stdout)
		}
		// GET /containers/json lists the port and the address.
		entry := psEntry(t, id)
		wantPort := psPort{IP: "127.0.0.1", PrivatePort: 80, PublicPort: p, Type: "tcp"}
		if !slices.Contains(entry.Ports, wantPort) {
			t.Errorf("GET /containers/json Ports %+v, want %+v", entry.Ports, wantPort)
		}
		if ep, ok := entry.NetworkSettings.Networks["bridge"]; !ok || ep.IPAddress != endpointOf(t, c, "bridge").IPAddress {
			t.Errorf("GET /containers/json NetworkSettings.Networks %+v, want bridge with %s", entry.NetworkSettings.Networks, endpointOf(t, c, "bridge").IPAddress)
		}
		if !strings.Contains(d.PouchOK(t, "ps", "--filter", "id="+id), fmt.Sprintf("127.0.0.1:%d->80/tcp", p)) {
			t.Errorf("pouch ps does not show 127.0.0.1:%d->80/tcp:\n%s", p, d.PouchOK(t, "ps", "--filter", "id="+id))
		}
		// Published on 127.0.0.1 only: not on the host's other addresses.
		if body, err := httpGet(fmt.Sprintf("http://%s:%d/", hostAddr(t), p)); err == nil {
			t.Errorf("published on 127.0.0.1, but the host's %s answers: %q", hostAddr(t), body)
		}
	})
	t.Run("all-addresses", func(t *testing.T) {
		t.Parallel()
		p := freePort(t)
		id, _ := d.RunDetached(t, append([]string{"-p", fmt.Sprintf("%d:80", p)}, httpdArgs("hello-all")...)...)
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p), "hello-all\n")
		waitHTTP(t, fmt.Sprintf("http://%s/", net.JoinHostPort(hostAddr(t).String(), strconv.Itoa(p))), "hello-all\n")
		got := inspect(t, id).NetworkSettings.Ports["80/tcp"]
		if !slices.Contains(got, portBinding{HostIP: "0.0.0.0", HostPort: strconv.Itoa(p)}) {
			t.Errorf("Ports[80/tcp] = %v, want 0.0.0.0:%d", got, p)
		}
	})
	t.Run("random-host-port", func(t *testing.T) {
		t.Parallel()
		id, name := d.RunDetached(t, append([]string{"-p", "127.0.0.1::80"}, httpdArgs("hello-random")...)...)
		got := inspect(t, id).NetworkSettings.Ports["80/tcp"]
		if len(got) != 1 || got[0].HostIP != "127.0.0.1" || got[0].HostPort == "" || got[0].HostPort == "0" {
			t.Fatalf("Ports[80/tcp] = %v, want 127.0.0.1 with a chosen port", got)
		}
		waitHTTP(t, "http://127.0.0.1:"+got[0].HostPort+"/", "hello-random\n")
		if out := d.PouchOK(t, "port", name, "80/tcp"); out != "127.0.0.1:"+got[0].HostPort+"\n" {
			t.Errorf("pouch port %s 80/tcp: %q", name, out)
		}
	})
	t.Run("expose-publish-all", func(t *testing.T) {
		t.Parallel()
		id, _ := d.RunDetached(t, append([]string{"--expose", "80", "--expose", "7000-7001/udp", "-P"}, httpdArgs("hello-expose")...)...)
		c := inspect(t, id)
		for _, port := range []string{"80/tcp", "7000/udp", "7001/udp"} {
			if _, ok := c.Config.ExposedPorts[port]; !ok {
				t.Errorf("Config.ExposedPorts %v lacks %s", c.Config.ExposedPorts, port)
			}
			if b := c.NetworkSettings.Ports[port]; len(b) == 0 || b[0].HostPort == "" || b[0].HostPort == "0" {
				t.Errorf("-P: Ports[%s] = %v, want a host port", port, b)
			}
		}
		if b := c.NetworkSettings.Ports["80/tcp"]; len(b) > 0 {
			waitHTTP(t, "http://127.0.0.1:"+b[0].HostPort+"/", "hello-expose\n")
		}
		// Exposed but not published: listed with no binding (null).
		id2, _ := d.Sleeper(t, "--expose", "81")
		if b, ok := inspect(t, id2).NetworkSettings.Ports["81/tcp"]; !ok || b != nil {
			t.Errorf("--expose 81 without -P: Ports[81/tcp] = %v (present %v), want null", b, ok)
		}
	})
	t.Run("image-exposed-ports", func(t *testing.T) {
		t.Parallel()
		loadImage(t, d, "netexposed:latest", testimage.WithExposedPorts("80/tcp", "8443/tcp"))
		id, _ := d.RunDetached(t, "-P", "netexposed", "sh", "-c", "mkdir -p /www && echo hello-image > /www/index.html && exec httpd -f -p 80 -h /www")
		c := inspect(t, id)
		for _, port := range []string{"80/tcp", "8443/tcp"} {
			if b := c.NetworkSettings.Ports[port]; len(b) == 0 || b[0].HostPort == "" {
				t.Errorf("-P with the image's EXPOSE: Ports[%s] = %v", port, b)
			}
		}
		if b := c.NetworkSettings.Ports["80/tcp"]; len(b) > 0 {
			waitHTTP(t, "http://127.0.0.1:"+b[0].HostPort+"/", "hello-image\n")
		}
	})
	t.Run("range", func(t *testing.T) {
		t.Parallel()
		p := freePortPair(t)
		id, name := d.RunDetached(t, "-p", fmt.Sprintf("127.0.0.1:%d-%d:8000-8001", p, p+1), "busybox", "sh", "-c",
			"mkdir -p /a /b && echo A > /a/index.html && echo B > /b/index.html && httpd -p 8000 -h /a && exec httpd -f -p 8001 -h /b")
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p), "A\n")
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p+1), "B\n")
		ports := inspect(t, id).NetworkSettings.Ports
		for i, port := range []string{"8000/tcp", "8001/tcp"} {
			want := []portBinding{{HostIP: "127.0.0.1", HostPort: strconv.Itoa(p + i)}}
			if !slices.Equal(ports[port], want) {
				t.Errorf("Ports[%s] = %v, want %v", port, ports[port], want)
			}
		}
		want := fmt.Sprintf("8000/tcp -> 127.0.0.1:%d\n8001/tcp -> 127.0.0.1:%d\n", p, p+1)
		if out := d.PouchOK(t, "port", name); out != want {
			t.Errorf("pouch port %s: %q, want %q", name, out, want)
		}
	})
	t.Run("udp", func(t *testing.T) {
		t.Parallel()
		p := freePort(t)
		id, name := d.Sleeper(t, "-p", fmt.Sprintf("127.0.0.1:%d:9000/udp", p))
		want := []portBinding{{HostIP: "127.0.0.1", HostPort: strconv.Itoa(p)}}
		if got := inspect(t, id).NetworkSettings.Ports["9000/udp"]; !slices.Equal(got, want) {
			t.Errorf("Ports[9000/udp] = %v, want %v", got, want)
		}
		if out := d.PouchOK(t, "port", name, "9000/udp"); out != fmt.Sprintf("127.0.0.1:%d\n", p) {
			t.Errorf("pouch port %s 9000/udp: %q", name, out)
		}
	})
	// As with Docker, when `run --rm`, `stop` or `wait` returns, the
	// container's ports are free again.
	t.Run("port-free-after-exit", func(t *testing.T) {
		t.Parallel()
		p := freePort(t)
		publish := fmt.Sprintf("127.0.0.1:%d:80", p)
		for i := range 2 {
			if res := d.RunRm(t, "-p", publish, "busybox", "true"); res.ExitCode != 0 {
				t.Errorf("run --rm -p %s, #%d right after the first: exit %d %s", publish, i+1, res.ExitCode, res.Combined())
			}
		}
		_, name := d.Sleeper(t, "-p", publish)
		d.PouchOK(t, "stop", "-t", "1", name)
		_, name = d.RunDetached(t, "-p", publish, "busybox", "sh", "-c", "exit 3")
		if out := d.PouchOK(t, "wait", name); out != "3\n" {
			t.Errorf("pouch wait: %q", out)
		}
		if res := d.RunRm(t, "-p", publish, "busybox", "true"); res.ExitCode != 0 {
			t.Errorf("run --rm -p %s right after stop and wait of others: exit %d %s", publish, res.ExitCode, res.Combined())
		}
		// The network of an exited container can go at once.
		net, _, _ := createNetwork(t)
		d.RunRm(t, "--network", net, "busybox", "true")
		d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/networks/"+net, nil)
	})
	t.Run("user-network", func(t *testing.T) {
		t.Parallel()
		net := mustNetwork(t)
		p := freePort(t)
		d.RunDetached(t, append([]string{"--network", net, "-p", fmt.Sprintf("127.0.0.1:%d:80", p)}, httpdArgs("hello-usernet")...)...)
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p), "hello-usernet\n")
	})
}

// freePortPair is a port p with p and p+1 free on 127.0.0.1.
func freePortPair(t testing.TB) int {
	t.Helper()
	for range 50 {
		p := freePort(t)
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0
}

type psPort struct {
	IP          string
	PrivatePort int
	PublicPort  int
	Type        string
}

type psJSON struct {
	ID              string `json:"Id"`
	Ports           []psPort
	NetworkSettings struct {
		Networks map[string]endpointJSON
	}
	HostConfig struct{ NetworkMode string }
}

// psEntry is the container's entry in GET /containers/json.
func psEntry(t testing.TB, id string) psJSON {
	t.Helper()
	f, _ := json.Marshal(map[string][]string{"id": {id}})
	r := d.Do(t, "GET", "/containers/json?all=1&filters="+url.QueryEscape(string(f)), nil)
	var list []psJSON
	r.JSON(t, &list)
	if len(list) != 1 {
		t.Fatalf("GET /containers/json filtered on %s: %s", id[:12], r.Body)
	}
	return list[0]
}

// loadImage loads a busybox-based image with the options under the name
// and removes it when the test ends.
func loadImage(t testing.TB, dm *testenv.Daemon, name string, opts ...testimage.Option) {
	t.Helper()
	img, err := testimage.Busybox(append([]testimage.Option{testimage.WithName(name)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := testimage.WriteDockerArchive(&buf, img); err != nil {
		t.Fatal(err)
	}
	if r := dm.Do(t, "POST", "/images/load", buf.Bytes()); r.Status != http.StatusOK {
		t.Fatalf("load %s: %d %s", name, r.Status, r.Body)
	}
	t.Cleanup(func() { dm.Do(t, "DELETE", "/images/"+name+"?force=1", nil) })
}

// TestPortConflicts checks that a host port already taken makes start fail
// with 409 and a readable message, leaving the container not running and
// nothing behind; it compares the host's whole network state, so it runs
// alone.
func TestPortConflicts(t *testing.T) {
	warmUp(t)
	before := testenv.CaptureHostNetState()

	t.Run("held-by-a-host-listener", func(t *testing.T) {
		for _, tc := range []struct{ listen, publish string }{
			{"127.0.0.1:%d", "127.0.0.1:%d:80"},
			{"0.0.0.0:%d", "127.0.0.1:%d:80"},
			{"127.0.0.1:%d", "%d:80"},
		} {
			p := freePort(t)
			l, err := net.Listen("tcp", fmt.Sprintf(tc.listen, p))
			if err != nil {
				t.Fatal(err)
			}
			publish := fmt.Sprintf(tc.publish, p)
			name := testenv.UniqueName(t)
			d.RemoveContainerOnCleanup(t, name)
			res := d.Pouch(t, nil, append([]string{"run", "-d", "--name", name, "-p", publish}, httpdArgs("late")...)...)
			if res.ExitCode != 125 {
				t.Errorf("listener on %s, run -p %s: exit %d, want 125: %s", l.Addr(), publish, res.ExitCode, res.Combined())
			}
			if !strings.Contains(res.Stderr, strconv.Itoa(p)) || !regexp.MustCompile(`(?i)(already|in use|allocated)`).MatchString(res.Stderr) {
				t.Errorf("listener on %s, run -p %s: unclear message %q", l.Addr(), publish, res.Stderr)
			}
			c := inspect(t, name)
			if c.State.Running || c.State.Status == "running" {
				t.Errorf("the container runs after a failed start: %+v", c.State)
			}
			// Through the API: 409 with the port in the message.
			r := d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+name+"/start", nil)
			if !strings.Contains(r.Message(), strconv.Itoa(p)) {
				t.Errorf("409 message %q does not name port %d", r.Message(), p)
			}
			// The listener still gets the connections.
			if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 2*time.Second); err != nil {
				t.Errorf("the test's listener on %d is unreachable: %v", p, err)
			} else {
				conn.Close()
			}
			// Nothing of the failed starts is left: no veth, netns, rule.
			if diff := testenv.WaitHostNetState(before, 5*time.Second); diff != "" {
				t.Errorf("after failed starts with -p %s, the host's network changed:\n%s", publish, diff)
			}
			// Once the port is free, the same container starts and answers.
			l.Close()
			d.ExpectStatus(t, http.StatusNoContent, "POST", "/containers/"+name+"/start", nil)
			waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p), "late\n")
			d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/containers/"+name+"?force=1", nil)
			if l, err := net.Listen("tcp", fmt.Sprintf(tc.listen, p)); err != nil {
				t.Errorf("port %d still held after the container was removed: %v", p, err)
			} else {
				l.Close()
			}
		}
	})

	t.Run("two-containers", func(t *testing.T) {
		p := freePort(t)
		d.RunDetached(t, append([]string{"-p", fmt.Sprintf("127.0.0.1:%d:80", p)}, httpdArgs("first")...)...)
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p), "first\n")
		for _, publish := range []string{fmt.Sprintf("127.0.0.1:%d:80", p), fmt.Sprintf("%d:8080", p)} {
			name := testenv.UniqueName(t)
			d.RemoveContainerOnCleanup(t, name)
			res := d.Pouch(t, nil, append([]string{"run", "-d", "--name", name, "-p", publish}, httpdArgs("second")...)...)
			if res.ExitCode != 125 || !strings.Contains(res.Stderr, strconv.Itoa(p)) {
				t.Errorf("second container with -p %s: exit %d %q, want 125 naming port %d", publish, res.ExitCode, res.Combined(), p)
			}
			d.ExpectStatus(t, http.StatusConflict, "POST", "/containers/"+name+"/start", nil)
			if c := inspect(t, name); c.State.Running {
				t.Errorf("second container runs: %+v", c.State)
			}
			d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/containers/"+name, nil)
			// The first still answers.
			waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p), "first\n")
		}
	})

	if diff := testenv.WaitHostNetState(before, 10*time.Second); diff != "" {
		t.Errorf("after the conflicts and removals, the host's network changed:\n%s", diff)
	}
}

// warmUp runs and removes containers publishing ports on the default
// bridge and on a user network, so that chains and rules created once per
// daemon exist before a test records the host's state.
func warmUp(t *testing.T) {
	t.Helper()
	name, _, _ := createNetwork(t)
	for _, opts := range [][]string{
		{"-p", fmt.Sprintf("127.0.0.1:%d:80", freePort(t))},
		{"--network", name, "-p", fmt.Sprintf("127.0.0.1:%d:80", freePort(t))},
	} {
		res := d.RunRm(t, append(opts, "busybox", "true")...)
		if res.ExitCode != 0 {
			t.Fatalf("warm-up run %v: exit %d %s", opts, res.ExitCode, res.Combined())
		}
	}
	if r := removeNetwork(t, d, name); r.Status != http.StatusNoContent {
		t.Fatalf("warm-up: remove network %s: %d %s", name, r.Status, r.Body)
	}
}
