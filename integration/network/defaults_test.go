package network

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestDefaultBridge checks the bridge network a daemon makes at start and
// what a container on it gets: address, gateway, MAC, route, and the
// records in container and network inspect.
func TestDefaultBridge(t *testing.T) {
	t.Parallel()
	subnet, gw := d.BridgeSubnet(), d.BridgeGateway()
	if !subnet.IsValid() {
		t.Fatal("the test daemon has no bridge subnet of its own")
	}

	br := inspectNet(t, "bridge")
	if br.Name != "bridge" || br.Driver != "bridge" || br.Scope != "local" || br.Internal {
		t.Errorf("network bridge: name %q driver %q scope %q internal %v", br.Name, br.Driver, br.Scope, br.Internal)
	}
	if len(br.IPAM.Config) != 1 || br.IPAM.Config[0].Subnet != subnet.String() || br.IPAM.Config[0].Gateway != gw.String() {
		t.Errorf("network bridge IPAM %+v, want subnet %s gateway %s", br.IPAM.Config, subnet, gw)
	}
	if got := br.Options["com.docker.network.bridge.name"]; got != d.BridgeName {
		t.Errorf("network bridge option com.docker.network.bridge.name = %q, want %q", got, d.BridgeName)
	}
	if !testenv.IsID(br.ID) {
		t.Errorf("network bridge ID %q", br.ID)
	}
	// The Linux bridge exists with the gateway address.
	ifc, err := net.InterfaceByName(d.BridgeName)
	if err != nil {
		t.Fatalf("bridge %s: %v", d.BridgeName, err)
	}
	addrs, _ := ifc.Addrs()
	if !containsAddrString(addrs, d.BridgeIP) {
		t.Errorf("bridge %s addresses %v, want %s", d.BridgeName, addrs, d.BridgeIP)
	}

	id, name := d.Sleeper(t)
	c := inspect(t, id)
	ep := endpointOf(t, c, "bridge")
	ip := mustAddr(t, "IPAddress", ep.IPAddress)
	if !subnet.Contains(ip) || ip == gw {
		t.Errorf("IPAddress %s not a host of %s", ip, subnet)
	}
	if ep.Gateway != gw.String() || ep.IPPrefixLen != subnet.Bits() || ep.NetworkID != br.ID || ep.EndpointID == "" {
		t.Errorf("endpoint %+v, want gateway %s prefix %d network %s and an endpoint ID", ep, gw, subnet.Bits(), br.ID)
	}
	mac, err := net.ParseMAC(ep.MacAddress)
	if err != nil {
		t.Errorf("MacAddress %q: %v", ep.MacAddress, err)
	}
	if c.HostConfig.NetworkMode != "bridge" && c.HostConfig.NetworkMode != "default" {
		t.Errorf("HostConfig.NetworkMode %q, want bridge", c.HostConfig.NetworkMode)
	}
	if c.NetworkSettings.SandboxKey == "" {
		t.Errorf("NetworkSettings.SandboxKey is empty")
	}

	// Inside: eth0 with that address and MAC, a default route via the gateway.
	if got := ipv4Addrs(t, c.State.Pid); len(got) != 1 || got[0] != fmt.Sprintf("%s/%d eth0", ip, subnet.Bits()) {
		t.Errorf("container addresses %v, want %s/%d on eth0", got, ip, subnet.Bits())
	}
	if link := nsenter(t, c.State.Pid, "ip", "-o", "link", "show", "eth0"); mac != nil && !strings.Contains(link, mac.String()) {
		t.Errorf("eth0 %q, want MAC %s", link, mac)
	}
	if route := nsenter(t, c.State.Pid, "ip", "-4", "route", "show", "default"); !strings.Contains(route, "default via "+gw.String()) {
		t.Errorf("default route %q, want via %s", route, gw)
	}
	// Its host side is a veth on the daemon's bridge.
	if n := vethsOn(d.BridgeName); n < 1 {
		t.Errorf("no veth on %s", d.BridgeName)
	}

	// The network lists the container.
	br = inspectNet(t, "bridge")
	if ce, ok := br.Containers[id]; !ok {
		t.Errorf("GET /networks/bridge Containers %v lacks %s", br.Containers, id)
	} else if ce.Name != name || ce.IPv4Address != fmt.Sprintf("%s/%d", ip, subnet.Bits()) || ce.MacAddress != ep.MacAddress || ce.EndpointID != ep.EndpointID {
		t.Errorf("GET /networks/bridge Containers[%s] = %+v, want name %s, %s/%d, MAC %s, endpoint %s", id[:12], ce, name, ip, subnet.Bits(), ep.MacAddress, ep.EndpointID)
	}

	// The host reaches it, and so does another container on the bridge.
	if out, err := exec.Command("busybox", "ping", "-c", "1", "-W", "2", ip.String()).CombinedOutput(); err != nil {
		t.Errorf("ping %s from the host: %v\n%s", ip, err, out)
	}
	if !canPing(t, nil, ip.String()) {
		t.Errorf("a container on the default bridge cannot ping %s", ip)
	}
	// The default bridge has no embedded DNS (as Docker): the host's
	// resolvers are used.
	if rc := d.Sh(t, nil, "cat /etc/resolv.conf"); strings.Contains(rc, "127.0.0.11") {
		t.Errorf("default bridge resolv.conf uses the embedded DNS:\n%s", rc)
	}
}

func containsAddrString(addrs []net.Addr, want string) bool {
	for _, a := range addrs {
		if a.String() == want {
			return true
		}
	}
	return false
}

// vethsOn counts the veths whose master is the bridge.
func vethsOn(bridge string) int {
	n := 0
	for _, l := range testenv.CaptureHostNetState().Links {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "veth" && f[2] == bridge {
			n++
		}
	}
	return n
}

// TestNetworkModes checks that host, none and container:NAME keep working
// beside the bridge.
func TestNetworkModes(t *testing.T) {
	t.Parallel()
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		if out := d.Sh(t, []string{"--network", "none"}, "ls /sys/class/net"); strings.Fields(out)[0] != "lo" || len(strings.Fields(out)) != 1 {
			t.Errorf("--network none interfaces %q, want only lo", out)
		}
		id, _ := d.Sleeper(t, "--network", "none")
		if c := inspect(t, id); len(c.NetworkSettings.Networks) != 1 || c.NetworkSettings.Networks["none"].IPAddress != "" {
			t.Errorf("--network none: Networks %+v, want only none without an address", c.NetworkSettings.Networks)
		}
	})
	t.Run("host", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, []string{"--network", "host"}, "ls /sys/class/net")
		if !strings.Contains(out, d.BridgeName) {
			t.Errorf("--network host does not see the host's %s: %q", d.BridgeName, out)
		}
	})
	t.Run("container", func(t *testing.T) {
		t.Parallel()
		id, name := d.Sleeper(t)
		ip := endpointOf(t, inspect(t, id), "bridge").IPAddress
		for _, ref := range []string{name, id[:12]} {
			out := d.Sh(t, []string{"--network", "container:" + ref}, "ip -o -4 addr show eth0")
			if !strings.Contains(out, " "+ip+"/") {
				t.Errorf("--network container:%s sees %q, want %s", ref, out, ip)
			}
		}
		if r := d.Pouch(t, nil, "run", "--rm", "--network", "container:nosuchcontainer", "busybox", "true"); r.ExitCode != 125 {
			t.Errorf("--network container:nosuchcontainer: exit %d %s, want 125", r.ExitCode, r.Combined())
		}
	})
}

// TestOutboundMasquerade checks that traffic leaving the host from a
// container on a bridge is masqueraded: a peer outside (a network
// namespace behind a veth, with no route back to the containers) sees the
// host's address and answers.
func TestOutboundMasquerade(t *testing.T) {
	t.Parallel()
	out := newOutside(t)
	l, err := out.listen("tcp", net.JoinHostPort(out.peer.String(), "8000"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	seen := make(chan string, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			seen <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			_, _ = c.Write([]byte("pong\n"))
			c.Close()
		}
	}()
	target := out.peer.String() + " 8000"
	for _, tc := range []struct {
		what string
		opts []string
	}{
		{"default bridge", nil},
		{"user network", []string{"--network", mustNetwork(t)}},
	} {
		res := d.RunRm(t, append(tc.opts, "busybox", "sh", "-c", "echo ping | nc -w 3 "+target)...)
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "pong") {
			t.Errorf("%s: connecting to %s outside: exit %d %q", tc.what, target, res.ExitCode, res.Combined())
			continue
		}
		select {
		case src := <-seen:
			if src != out.local.String() {
				t.Errorf("%s: the outside peer saw %s, want the host's %s (masqueraded)", tc.what, src, out.local)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: no connection seen outside", tc.what)
		}
	}
}

// mustNetwork creates a user network for the test and returns its name.
func mustNetwork(t *testing.T, args ...string) string {
	t.Helper()
	name, _, _ := createNetwork(t, args...)
	return name
}

// outside is a network namespace behind a veth pair: local is the host's
// end, peer the namespace's; the namespace has no route to containers.
type outside struct {
	ns          string
	local, peer netip.Addr
}

func newOutside(t *testing.T) *outside {
	t.Helper()
	subnet := freeSubnet(t)
	suffix := strconv.Itoa(os.Getpid()%10000) + strconv.Itoa(int(ifaceSeq.Add(1)))
	o := &outside{ns: "pto" + suffix, local: host(subnet, 1), peer: host(subnet, 2)}
	hostEnd, nsEnd := "ptoh"+suffix, "ptop"+suffix
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", hostEnd).Run()
		_ = exec.Command("ip", "netns", "del", o.ns).Run()
	})
	for _, args := range [][]string{
		{"netns", "add", o.ns},
		{"link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd, "netns", o.ns},
		{"addr", "add", o.local.String() + "/24", "dev", hostEnd},
		{"link", "set", hostEnd, "up"},
		{"-n", o.ns, "addr", "add", o.peer.String() + "/24", "dev", nsEnd},
		{"-n", o.ns, "link", "set", nsEnd, "up"},
		{"-n", o.ns, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	return o
}

// listen opens a listener inside the outside namespace.
func (o *outside) listen(network, addr string) (net.Listener, error) {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer orig.Close()
	ns, err := os.Open("/run/netns/" + o.ns)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer ns.Close()
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	var l net.Listener
	for i := 0; i < 50; i++ { // the address may still be tentative
		if l, err = net.Listen(network, addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it dies with this goroutine.
		return l, err
	}
	runtime.UnlockOSThread()
	return l, err
}

// TestRealDefaults starts a daemon with pouchd's own defaults: bridge p0,
// 192.168.5.0/24, gateway 192.168.5.1.
func TestRealDefaults(t *testing.T) {
	t.Parallel()
	want := netip.MustParsePrefix("192.168.5.0/24")
	if _, err := net.InterfaceByName("p0"); err == nil {
		t.Skip("p0 exists already (a pouchd runs on this machine)")
	}
	if used, _ := exec.Command("ip", "-4", "route", "show", "match", "192.168.5.1").Output(); strings.Contains(string(used), "192.168.5.") {
		t.Skipf("192.168.5.0/24 is routed already: %s", used)
	}
	t.Cleanup(func() {
		if _, err := net.InterfaceByName("p0"); err == nil {
			t.Errorf("p0 is left after the daemon's cleanup")
		}
	})
	dm := testenv.StartDaemon(t, func(dm *testenv.Daemon) {
		dm.BridgeName, dm.BridgeIP = "", ""
		dm.Own([]string{"p0"}, []netip.Prefix{want})
	})
	br := inspectNetOn(t, dm, "bridge")
	if len(br.IPAM.Config) != 1 || br.IPAM.Config[0].Subnet != want.String() || br.IPAM.Config[0].Gateway != "192.168.5.1" {
		t.Errorf("bridge IPAM %+v, want 192.168.5.0/24 via 192.168.5.1", br.IPAM.Config)
	}
	if br.Options["com.docker.network.bridge.name"] != "p0" {
		t.Errorf("bridge options %v, want bridge name p0", br.Options)
	}
	ifc, err := net.InterfaceByName("p0")
	if err != nil {
		t.Fatalf("bridge p0: %v", err)
	}
	if addrs, _ := ifc.Addrs(); !containsAddrString(addrs, "192.168.5.1/24") {
		t.Errorf("p0 addresses %v, want 192.168.5.1/24", addrs)
	}
	out := dm.Sh(t, nil, "ip -o -4 addr show eth0; ip -4 route show default")
	if !strings.Contains(out, "inet 192.168.5.") || !strings.Contains(out, "default via 192.168.5.1") {
		t.Errorf("container on the default bridge:\n%s", out)
	}
}

// TestDaemonBridgeFlags checks --bip, --fixed-cidr and --mtu, and that
// --iptables=false writes no rule.
func TestDaemonBridgeFlags(t *testing.T) {
	t.Parallel()
	t.Run("bip-fixed-cidr-mtu", func(t *testing.T) {
		t.Parallel()
		var fixed netip.Prefix
		dm := testenv.StartDaemon(t, func(dm *testenv.Daemon) {
			fixed = netip.PrefixFrom(host(dm.BridgeSubnet(), 128), 25)
			dm.ExtraArgs = append(dm.ExtraArgs, "--fixed-cidr", fixed.String(), "--mtu", "1280")
		})
		out := dm.Sh(t, nil, "ip -o -4 addr show eth0; cat /sys/class/net/eth0/mtu")
		f := strings.Fields(out)
		if len(f) < 4 {
			t.Fatalf("container: %q", out)
		}
		ip, err := netip.ParsePrefix(f[3])
		if err != nil || !fixed.Contains(ip.Addr()) || ip.Bits() != 24 {
			t.Errorf("address %q, want one of %s with the subnet's /24", f[3], fixed)
		}
		if !strings.HasSuffix(strings.TrimSpace(out), "\n1280") {
			t.Errorf("eth0 MTU: %q, want 1280", out)
		}
	})
	t.Run("iptables-false", func(t *testing.T) {
		t.Parallel()
		dm := testenv.StartDaemon(t, func(dm *testenv.Daemon) {
			dm.ExtraArgs = append(dm.ExtraArgs, "--iptables=false")
		})
		id, _ := dm.RunDetached(t, "busybox", "sleep", "300")
		ip := endpointOf(t, inspectOn(t, dm, id), "bridge").IPAddress
		rules := testenv.IptablesRules()
		for _, s := range []string{dm.BridgeName, dm.BridgeSubnet().String(), ip + "/", ip + ":", id} {
			if strings.Contains(rules, s) {
				t.Errorf("--iptables=false, but a rule mentions %s:\n%s", s, grepLines(rules, s))
			}
		}
	})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
