package network

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// Wire shapes read by the tests, with Docker's field names. Addresses stay
// strings so a wrong value shows as it was sent.
type endpointJSON struct {
	IPAMConfig *struct {
		IPv4Address string
	}
	Aliases     []string
	DNSNames    []string
	NetworkID   string
	EndpointID  string
	Gateway     string
	IPAddress   string
	IPPrefixLen int
	MacAddress  string
}

type portBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

type containerJSON struct {
	ID    string `json:"Id"`
	Name  string
	State struct {
		Status   string
		Running  bool
		Pid      int
		ExitCode int
		Error    string
	}
	Config struct {
		Hostname     string
		ExposedPorts map[string]struct{}
	}
	HostConfig struct {
		NetworkMode  string
		PortBindings map[string][]portBinding
	}
	NetworkSettings struct {
		SandboxKey string
		Ports      map[string][]portBinding
		Networks   map[string]endpointJSON
	}
}

type networkJSON struct {
	Name     string
	ID       string `json:"Id"`
	Scope    string
	Driver   string
	Internal bool
	IPAM     struct {
		Driver string
		Config []struct {
			Subnet  string
			IPRange string
			Gateway string
		}
	}
	Options    map[string]string
	Labels     map[string]string
	Containers map[string]struct {
		Name        string
		EndpointID  string
		MacAddress  string
		IPv4Address string
		IPv6Address string
	}
}

// removeNetworkOnCleanup removes the network when the test ends.
func removeNetworkOnCleanup(t testing.TB, dm *testenv.Daemon, ref string) {
	t.Helper()
	t.Cleanup(func() {
		if r := removeNetwork(t, dm, ref); r.Status != http.StatusNoContent && r.Status != http.StatusNotFound {
			t.Errorf("cleanup: remove network %s: %d %s", ref, r.Status, r.Body)
		}
	})
}

// removeNetwork removes a network, retrying for up to 10 seconds while it
// is in use: containers removed just before may still be leaving it (the
// tests of that are strict; cleanup is not).
func removeNetwork(t testing.TB, dm *testenv.Daemon, ref string) testenv.Response {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := dm.Do(t, "DELETE", "/networks/"+url.PathEscape(ref), nil)
		if r.Status != http.StatusConflict && r.Status != http.StatusForbidden || time.Now().After(deadline) {
			return r
		}
	}
}

// canPing runs a fresh container with the options that pings target once
// and tells whether it answered.
func canPing(t testing.TB, opts []string, target string) bool {
	t.Helper()
	return canPingWithin(t, opts, target, 2)
}

// canPingWithin is canPing waiting seconds for the answer.
func canPingWithin(t testing.TB, opts []string, target string, seconds int) bool {
	t.Helper()
	res := d.RunRm(t, append(opts, "busybox", "timeout", "8", "ping", "-c", "1", "-W", strconv.Itoa(seconds), target)...)
	return res.ExitCode == 0 && strings.Contains(res.Stdout, "1 packets received")
}

func inspectOn(t testing.TB, dm *testenv.Daemon, ref string) containerJSON {
	t.Helper()
	r := dm.Do(t, "GET", "/containers/"+url.PathEscape(ref)+"/json", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("inspect container %s: %d %s", ref, r.Status, r.Body)
	}
	var c containerJSON
	r.JSON(t, &c)
	return c
}

func inspect(t testing.TB, ref string) containerJSON {
	t.Helper()
	return inspectOn(t, d, ref)
}

func inspectNetOn(t testing.TB, dm *testenv.Daemon, ref string) networkJSON {
	t.Helper()
	r := dm.Do(t, "GET", "/networks/"+url.PathEscape(ref), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("inspect network %s: %d %s", ref, r.Status, r.Body)
	}
	var n networkJSON
	r.JSON(t, &n)
	return n
}

func inspectNet(t testing.TB, ref string) networkJSON {
	t.Helper()
	return inspectNetOn(t, d, ref)
}

func listNetworks(t testing.TB, dm *testenv.Daemon, filters map[string][]string) []networkJSON {
	t.Helper()
	path := "/networks"
	if filters != nil {
		b, _ := json.Marshal(filters)
		path += "?filters=" + url.QueryEscape(string(b))
	}
	r := dm.Do(t, "GET", path, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	var ns []networkJSON
	r.JSON(t, &ns)
	return ns
}

func networkNames(ns []networkJSON) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	slices.Sort(out)
	return out
}

// ifaceSeq numbers the bridges, veths and namespaces tests name
// themselves (interface names stay within 15 characters).
var ifaceSeq atomic.Int64

// freeSubnet is a 10.x.y.0/24 nothing on the machine uses.
func freeSubnet(t testing.TB) netip.Prefix {
	t.Helper()
	p, err := testenv.FreeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// host returns the n-th address of the subnet (1: the first host).
func host(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr()
	for range n {
		a = a.Next()
	}
	return a
}

// createNetwork creates a user bridge network with the CLI on a free
// subnet (unless args give one), removes it when the test ends, and
// returns its name, ID and subnet.
func createNetwork(t testing.TB, args ...string) (name, id string, subnet netip.Prefix) {
	t.Helper()
	return createNetworkOn(t, d, args...)
}

func createNetworkOn(t testing.TB, dm *testenv.Daemon, args ...string) (name, id string, subnet netip.Prefix) {
	t.Helper()
	name = testenv.UniqueName(t)
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--subnet") }) {
		subnet = freeSubnet(t)
		args = append(args, "--subnet", subnet.String())
	}
	removeNetworkOnCleanup(t, dm, name)
	id = strings.TrimSpace(dm.PouchOK(t, append(append([]string{"network", "create"}, args...), name)...))
	if !testenv.IsID(id) {
		t.Fatalf("pouch network create printed %q, want a 64-hex ID", id)
	}
	n := inspectNetOn(t, dm, id)
	if len(n.IPAM.Config) == 0 {
		t.Fatalf("network %s has no IPAM config: %+v", name, n)
	}
	subnet, err := netip.ParsePrefix(n.IPAM.Config[0].Subnet)
	if err != nil {
		t.Fatalf("network %s: subnet %q: %v", name, n.IPAM.Config[0].Subnet, err)
	}
	return name, id, subnet
}

// nsenter runs a host command in the network namespace of the process.
func nsenter(t testing.TB, pid int, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(pid), "-n", "--"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter -t %d -n %v: %v\n%s", pid, args, err, out)
	}
	return string(out)
}

// ipv4Addrs lists "ADDR/PREFIX dev" of the container's interfaces but lo.
func ipv4Addrs(t testing.TB, pid int) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(nsenter(t, pid, "ip", "-o", "-4", "addr", "show"), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[2] == "inet" && f[1] != "lo" {
			dev, _, _ := strings.Cut(f[1], "@")
			out = append(out, f[3]+" "+dev)
		}
	}
	return out
}

// freePort is a TCP port of 127.0.0.1 nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// httpGet fetches the URL from the test process, bounded by 3 seconds.
func httpGet(rawURL string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	resp, err := c.Get(rawURL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", rawURL, resp.Status)
	}
	return string(b), err
}

// waitHTTP waits up to 15 seconds until GET url answers the body.
func waitHTTP(t testing.TB, rawURL, want string) {
	t.Helper()
	var got string
	var err error
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got, err = httpGet(rawURL); err == nil && got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: got %q, %v; want %q", rawURL, got, err, want)
}

// httpdArgs are run arguments for a busybox httpd on port 80 serving
// "body\n" as its index page.
func httpdArgs(body string) []string {
	return []string{"busybox", "sh", "-c", "mkdir -p /www && echo " + body + " > /www/index.html && exec httpd -f -p 80 -h /www"}
}

// expectOneOf calls the API and checks that the answer has one of the
// statuses (and a message, for an error).
func expectOneOf(t testing.TB, dm *testenv.Daemon, want []int, method, path string, body any) testenv.Response {
	t.Helper()
	r := dm.Do(t, method, path, body)
	if !slices.Contains(want, r.Status) {
		t.Fatalf("%s %s: status %d (%s), want one of %v", method, path, r.Status, r.Body, want)
	}
	if r.Status >= 400 && r.Message() == "" {
		t.Fatalf("%s %s: error answer without a message: %s", method, path, r.Body)
	}
	return r
}

// hostAddr is the host's address on its default route's interface, or
// failing that any non-loopback address outside the tests' subnets.
func hostAddr(t testing.TB) netip.Addr {
	t.Helper()
	out, err := exec.Command("ip", "-j", "-4", "route", "show", "default").Output()
	if err == nil {
		var routes []struct {
			Dev      string `json:"dev"`
			Prefsrc  string `json:"prefsrc"`
			Gateway  string `json:"gateway"`
			Protocol string `json:"protocol"`
		}
		_ = json.Unmarshal(out, &routes)
		for _, r := range routes {
			if ifc, err := net.InterfaceByName(r.Dev); err == nil {
				addrs, _ := ifc.Addrs()
				for _, a := range addrs {
					if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
						return p.Addr()
					}
				}
			}
		}
	}
	t.Skip("no default route with an IPv4 address on this machine")
	return netip.Addr{}
}

// endpointOf is the container's endpoint on the network (failing the test
// when it has none).
func endpointOf(t testing.TB, c containerJSON, network string) endpointJSON {
	t.Helper()
	ep, ok := c.NetworkSettings.Networks[network]
	if !ok {
		t.Fatalf("container %s is not on network %s: networks %v", c.Name, network, keys(c.NetworkSettings.Networks))
	}
	return ep
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// mustAddr parses an address the daemon reported.
func mustAddr(t testing.TB, what, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("%s: %q is not an address", what, s)
	}
	return a
}

// containerCount is the number of containers the daemon lists.
func containerCount(t testing.TB, dm *testenv.Daemon) int {
	t.Helper()
	var cs []struct {
		ID string `json:"Id"`
	}
	dm.Do(t, "GET", "/containers/json?all=1", nil).JSON(t, &cs)
	return len(cs)
}

// runCmd runs a host command bounded by 20 seconds and returns its
// combined output.
func runCmd(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
