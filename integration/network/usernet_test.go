package network

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestUserNetworkNames checks that containers on a user network reach each
// other by name, alias and short ID through the embedded DNS, and what
// inspect reports for them.
func TestUserNetworkNames(t *testing.T) {
	t.Parallel()
	net1, netID, subnet := createNetwork(t)
	id, name := d.Sleeper(t, "--network", net1, "--network-alias", "web", "--network-alias", "www")
	c := inspect(t, id)
	ep := endpointOf(t, c, net1)
	ip := mustAddr(t, "IPAddress", ep.IPAddress)
	if !subnet.Contains(ip) || ep.Gateway != host(subnet, 1).String() || ep.IPPrefixLen != subnet.Bits() || ep.NetworkID != netID || ep.EndpointID == "" || ep.MacAddress == "" {
		t.Errorf("endpoint on %s: %+v; want an address of %s, gateway %s, prefix %d, network %s", net1, ep, subnet, host(subnet, 1), subnet.Bits(), netID)
	}
	for _, a := range []string{"web", "www"} {
		if !slices.Contains(ep.Aliases, a) {
			t.Errorf("Aliases %v lack %s", ep.Aliases, a)
		}
	}
	for _, n := range []string{name, id[:12], "web", "www"} {
		if !slices.Contains(ep.DNSNames, n) {
			t.Errorf("DNSNames %v lack %s", ep.DNSNames, n)
		}
	}
	if _, ok := c.NetworkSettings.Networks["bridge"]; ok {
		t.Errorf("--network %s also joined the default bridge: %v", net1, keys(c.NetworkSettings.Networks))
	}
	n := inspectNet(t, net1)
	if ce, ok := n.Containers[id]; !ok || ce.Name != name || ce.IPv4Address != fmt.Sprintf("%s/%d", ip, subnet.Bits()) {
		t.Errorf("GET /networks/%s Containers = %+v, want %s with %s/%d", net1, n.Containers, name, ip, subnet.Bits())
	}

	out := d.Sh(t, []string{"--network", net1}, fmt.Sprintf(`
		cat /etc/resolv.conf
		for n in %s %s web www; do ping -c 1 -W 2 $n >/dev/null && echo "ping $n ok"; done
		nslookup -type=a %s 127.0.0.11 | grep -A3 '^Name:'`, name, id[:12], name))
	if !strings.Contains(out, "nameserver 127.0.0.11") {
		t.Errorf("resolv.conf on a user network does not point at the embedded DNS:\n%s", out)
	}
	for _, n := range []string{name, id[:12], "web", "www"} {
		if !strings.Contains(out, "ping "+n+" ok") {
			t.Errorf("cannot ping %s by name on %s:\n%s", n, net1, out)
		}
	}
	if !strings.Contains(out, "Address: "+ip.String()) {
		t.Errorf("nslookup %s does not answer %s:\n%s", name, ip, out)
	}
	// A renamed container answers to its new name.
	d.PouchOK(t, "rename", name, name+"-new")
	t.Cleanup(func() { d.Do(t, "DELETE", "/containers/"+name+"-new?force=1", nil) })
	if !canPing(t, []string{"--network", net1}, name+"-new") {
		t.Errorf("renamed container %s-new does not resolve", name)
	}
	// Containers on the default bridge do not resolve user network names.
	if canPing(t, nil, "web") {
		t.Errorf("a container on the default bridge resolves alias web of %s", net1)
	}
}

// TestUserNetworkPeers runs two containers on a user network that each
// ping the other by name and by alias.
func TestUserNetworkPeers(t *testing.T) {
	t.Parallel()
	net1, _, _ := createNetwork(t)
	a, b := testenv.UniqueName(t), testenv.UniqueName(t)
	script := func(peer, alias string) []string {
		return []string{"busybox", "sh", "-c", fmt.Sprintf(`
			for i in $(seq 50); do ping -c 1 -W 1 %[1]s >/dev/null 2>&1 && break; sleep 0.2; done
			ping -c 1 -W 2 %[1]s >/dev/null && echo "name %[1]s ok"
			ping -c 1 -W 2 %[2]s >/dev/null && echo "alias %[2]s ok"
			echo done; exec sleep 300`, peer, alias)}
	}
	d.RunDetachedNamed(t, a, append([]string{"--network", net1, "--network-alias", "alias-a"}, script(b, "alias-b")...)...)
	d.RunDetachedNamed(t, b, append([]string{"--network", net1, "--network-alias", "alias-b"}, script(a, "alias-a")...)...)
	for _, tc := range []struct{ self, peer, alias string }{{a, b, "alias-b"}, {b, a, "alias-a"}} {
		var logs string
		testenv.Eventually(t, 30*time.Second, tc.self+" to finish pinging", func() bool {
			logs = string(d.Do(t, "GET", "/containers/"+tc.self+"/logs?stdout=1&stderr=1", nil).Body)
			return strings.Contains(logs, "done")
		})
		if !strings.Contains(logs, "name "+tc.peer+" ok") || !strings.Contains(logs, "alias "+tc.alias+" ok") {
			t.Errorf("%s could not ping %s by name and alias %s:\n%q", tc.self, tc.peer, tc.alias, logs)
		}
	}
}

// TestNetworkIsolation checks that containers on two user networks cannot
// reach each other, while each reaches its own network.
func TestNetworkIsolation(t *testing.T) {
	t.Parallel()
	net1, _, _ := createNetwork(t)
	net2, _, _ := createNetwork(t)
	id1, name1 := d.Sleeper(t, "--network", net1)
	id2, name2 := d.Sleeper(t, "--network", net2)
	ip1 := endpointOf(t, inspect(t, id1), net1).IPAddress
	ip2 := endpointOf(t, inspect(t, id2), net2).IPAddress
	for _, tc := range []struct {
		from, target string
		want         bool
	}{
		{net1, ip1, true},
		{net2, ip2, true},
		{net1, ip2, false},
		{net2, ip1, false},
		{net1, name2, false},
		{net2, name1, false},
		{"bridge", ip1, false},
		{"bridge", ip2, false},
	} {
		wait := 2
		if !tc.want {
			wait = 1
		}
		if got := canPingWithin(t, []string{"--network", tc.from}, tc.target, wait); got != tc.want {
			t.Errorf("from %s, ping %s: reachable %v, want %v", tc.from, tc.target, got, tc.want)
		}
	}
	// Nor from a running container on the other network.
	pid := inspect(t, id2).State.Pid
	if out, err := nsenterTry(pid, "ping", "-c", "1", "-W", "1", ip1); err == nil {
		t.Errorf("container on %s reaches %s on %s:\n%s", net2, ip1, net1, out)
	}
}

// TestInternalNetwork checks that an --internal network has no route out
// while its containers still reach each other.
func TestInternalNetwork(t *testing.T) {
	t.Parallel()
	name, _, subnet := createNetwork(t, "--internal")
	if n := inspectNet(t, name); !n.Internal {
		t.Errorf("network %s: Internal false", name)
	}
	_, peer := d.Sleeper(t, "--network", name)
	hostIP := hostAddr(t)
	out := d.Sh(t, []string{"--network", name}, fmt.Sprintf(`
		echo "routes:"; ip -4 route
		ping -c 1 -W 2 %s >/dev/null && echo "peer ok"
		ping -c 1 -W 1 %s >/dev/null 2>&1 && echo "host reachable"
		ping -c 1 -W 1 %s >/dev/null 2>&1 && echo "other gateway reachable"
		true`, peer, hostIP, d.BridgeGateway()))
	if strings.Contains(out, "default") {
		t.Errorf("an internal network has a default route:\n%s", out)
	}
	if !strings.Contains(out, subnet.String()) {
		t.Errorf("no route to the network's own subnet %s:\n%s", subnet, out)
	}
	if !strings.Contains(out, "peer ok") {
		t.Errorf("containers on an internal network cannot reach each other by name:\n%s", out)
	}
	if strings.Contains(out, "reachable") {
		t.Errorf("an internal network reaches outside:\n%s", out)
	}
	// The outside is not reachable even with a route added by hand.
	o := newOutside(t)
	res := d.RunRm(t, "--network", name, "--cap-add", "NET_ADMIN", "busybox", "sh", "-c",
		fmt.Sprintf("ip route add default via %s && ping -c 1 -W 1 %s", host(subnet, 1), o.peer))
	if res.ExitCode == 0 {
		t.Errorf("an internal network forwards to the outside with a default route added: %s", res.Combined())
	}
}

// TestConnectDisconnect connects a running container to a second network
// (with --ip and --alias) and disconnects it: the address appears and
// disappears in inspect and inside the container.
func TestConnectDisconnect(t *testing.T) {
	t.Parallel()
	net1, _, _ := createNetwork(t)
	net2, net2ID, subnet2 := createNetwork(t)
	id, name := d.Sleeper(t, "--network", net1)
	pid := inspect(t, id).State.Pid
	static := host(subnet2, 50)

	d.PouchOK(t, "network", "connect", "--ip", static.String(), "--alias", "al2", net2, name)
	c := inspect(t, id)
	ep := endpointOf(t, c, net2)
	if ep.IPAddress != static.String() || ep.NetworkID != net2ID || !slices.Contains(ep.Aliases, "al2") {
		t.Errorf("after connect: endpoint on %s %+v, want %s, alias al2", net2, ep, static)
	}
	endpointOf(t, c, net1)
	addrs := ipv4Addrs(t, pid)
	if len(addrs) != 2 || !slices.ContainsFunc(addrs, func(a string) bool { return strings.HasPrefix(a, static.String()+"/24 ") }) {
		t.Errorf("after connect: addresses inside %v, want two, one %s/24", addrs, static)
	}
	if _, ok := inspectNet(t, net2).Containers[id]; !ok {
		t.Errorf("GET /networks/%s does not list the connected container", net2)
	}
	for _, target := range []string{"al2", name, static.String()} {
		if !canPing(t, []string{"--network", net2}, target) {
			t.Errorf("from %s, %s is unreachable after connect", net2, target)
		}
	}
	// Connecting twice is refused.
	expectOneOf(t, d, []int{http.StatusBadRequest, http.StatusForbidden, http.StatusConflict}, "POST", "/networks/"+net2+"/connect", map[string]any{"Container": id})

	// Disconnect through the API.
	d.ExpectStatus(t, http.StatusOK, "POST", "/networks/"+net2+"/disconnect", map[string]any{"Container": name})
	c = inspect(t, id)
	if _, ok := c.NetworkSettings.Networks[net2]; ok {
		t.Errorf("after disconnect: still on %s: %v", net2, keys(c.NetworkSettings.Networks))
	}
	if addrs := ipv4Addrs(t, pid); len(addrs) != 1 || strings.HasPrefix(addrs[0], static.String()+"/") {
		t.Errorf("after disconnect: addresses inside %v, want only the one on %s", addrs, net1)
	}
	if _, ok := inspectNet(t, net2).Containers[id]; ok {
		t.Errorf("after disconnect: GET /networks/%s still lists the container", net2)
	}
	if canPing(t, []string{"--network", net2}, static.String()) {
		t.Errorf("after disconnect: %s still answers on %s", static, net2)
	}
	// Disconnecting again is refused.
	r := d.Do(t, "POST", "/networks/"+net2+"/disconnect", map[string]any{"Container": name})
	if r.Status < 400 || r.Status >= 500 {
		t.Errorf("second disconnect: %d %s, want a 4xx", r.Status, r.Body)
	}
	// The address is free again for another container.
	if out := d.Sh(t, []string{"--network", net2, "--ip", static.String()}, "ip -o -4 addr show eth0"); !strings.Contains(out, static.String()+"/24") {
		t.Errorf("reusing %s after disconnect: %q", static, out)
	}

	// The default bridge too, through the API with an endpoint config;
	// disconnect -f with the CLI.
	d.ExpectStatus(t, http.StatusOK, "POST", "/networks/bridge/connect", map[string]any{
		"Container": id, "EndpointConfig": map[string]any{},
	})
	if ep := endpointOf(t, inspect(t, id), "bridge"); !d.BridgeSubnet().Contains(mustAddr(t, "bridge IPAddress", ep.IPAddress)) {
		t.Errorf("connected to bridge: %+v", ep)
	}
	d.PouchOK(t, "network", "disconnect", "-f", "bridge", name)
	if _, ok := inspect(t, id).NetworkSettings.Networks["bridge"]; ok {
		t.Errorf("disconnect -f bridge: still connected")
	}
	if len(ipv4Addrs(t, pid)) != 1 {
		t.Errorf("after disconnect -f bridge: addresses %v", ipv4Addrs(t, pid))
	}

	// A created container connected before it starts joins both networks.
	created := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, created)
	d.PouchOK(t, "create", "--name", created, "--network", net1, "busybox", "sleep", "300")
	d.PouchOK(t, "network", "connect", net2, created)
	d.PouchOK(t, "start", created)
	c = inspect(t, created)
	endpointOf(t, c, net1)
	endpointOf(t, c, net2)
	if addrs := ipv4Addrs(t, c.State.Pid); len(addrs) != 2 {
		t.Errorf("container connected while created: addresses %v, want two", addrs)
	}
}

// TestStaticAddresses checks --ip-range, --gateway, --ip and --mac-address.
func TestStaticAddresses(t *testing.T) {
	t.Parallel()
	subnet := freeSubnet(t)
	ipRange := netip.PrefixFrom(host(subnet, 128), 25)
	gw := host(subnet, 254)
	name, _, _ := createNetwork(t, "--subnet", subnet.String(), "--ip-range", ipRange.String(), "--gateway", gw.String())
	n := inspectNet(t, name)
	if len(n.IPAM.Config) != 1 || n.IPAM.Config[0].Subnet != subnet.String() || n.IPAM.Config[0].IPRange != ipRange.String() || n.IPAM.Config[0].Gateway != gw.String() {
		t.Errorf("IPAM.Config %+v, want subnet %s range %s gateway %s", n.IPAM.Config, subnet, ipRange, gw)
	}
	id, _ := d.Sleeper(t, "--network", name)
	c := inspect(t, id)
	ep := endpointOf(t, c, name)
	if !ipRange.Contains(mustAddr(t, "IPAddress", ep.IPAddress)) || ep.Gateway != gw.String() {
		t.Errorf("dynamic address %s gateway %s, want one of %s via %s", ep.IPAddress, ep.Gateway, ipRange, gw)
	}
	if route := nsenter(t, c.State.Pid, "ip", "-4", "route", "show", "default"); !strings.Contains(route, "via "+gw.String()) {
		t.Errorf("default route %q, want via %s", route, gw)
	}

	static := host(subnet, 10) // outside the range, inside the subnet: allowed
	mac := "02:42:0a:00:00:0a"
	id2, name2 := d.Sleeper(t, "--network", name, "--ip", static.String(), "--mac-address", mac)
	c2 := inspect(t, id2)
	ep2 := endpointOf(t, c2, name)
	if ep2.IPAddress != static.String() || ep2.MacAddress != mac || ep2.IPAMConfig == nil || ep2.IPAMConfig.IPv4Address != static.String() {
		t.Errorf("static endpoint %+v, want %s MAC %s", ep2, static, mac)
	}
	if link := nsenter(t, c2.State.Pid, "ip", "-o", "link", "show", "eth0"); !strings.Contains(link, mac) {
		t.Errorf("eth0 %q, want MAC %s", link, mac)
	}
	// The address is taken: a second container asking for it fails.
	dup := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, dup)
	if res := d.Pouch(t, nil, "run", "-d", "--name", dup, "--network", name, "--ip", static.String(), "busybox", "sleep", "300"); res.ExitCode == 0 {
		t.Errorf("a second container got %s: %s", static, res.Combined())
	}
	if got := endpointOf(t, inspect(t, id2), name).IPAddress; got != static.String() {
		t.Errorf("the first holder of %s now has %s", static, got)
	}
	// Once released, it can be taken again.
	d.PouchOK(t, "rm", "-f", name2)
	if out := d.Sh(t, []string{"--network", name, "--ip", static.String()}, "ip -o -4 addr show eth0"); !strings.Contains(out, static.String()+"/24") {
		t.Errorf("reusing %s after rm: %q", static, out)
	}
}

// TestNetworkCreateOptions checks -d, --label and -o on create, and the
// ls, inspect and rm commands.
func TestNetworkCreateOptions(t *testing.T) {
	t.Parallel()
	bridge := fmt.Sprintf("ptb%d%d", os.Getpid()%100000, ifaceSeq.Add(1))
	name, id, subnet := createNetwork(t, "-d", "bridge", "--label", "team=net", "--label", "solo",
		"-o", "com.docker.network.driver.mtu=1400", "-o", "com.docker.network.bridge.name="+bridge)
	n := inspectNet(t, name)
	if n.Driver != "bridge" || n.Scope != "local" || n.Labels["team"] != "net" || n.Labels["solo"] != "" || len(n.Labels) != 2 {
		t.Errorf("network %+v, want driver bridge, scope local, labels team=net and solo", n)
	}
	if n.Options["com.docker.network.driver.mtu"] != "1400" || n.Options["com.docker.network.bridge.name"] != bridge {
		t.Errorf("Options %v", n.Options)
	}
	ifc, err := net.InterfaceByName(bridge)
	if err != nil {
		t.Fatalf("bridge %s (-o com.docker.network.bridge.name): %v", bridge, err)
	}
	if addrs, _ := ifc.Addrs(); !containsAddrString(addrs, fmt.Sprintf("%s/%d", host(subnet, 1), subnet.Bits())) {
		t.Errorf("bridge %s addresses %v, want %s/%d", bridge, addrs, host(subnet, 1), subnet.Bits())
	}
	if out := d.Sh(t, []string{"--network", name}, "cat /sys/class/net/eth0/mtu"); strings.TrimSpace(out) != "1400" {
		t.Errorf("eth0 MTU %q, want 1400", out)
	}

	// ls: table, -q, --no-trunc, -f.
	out := d.PouchOK(t, "network", "ls")
	if hdr := strings.Fields(strings.SplitN(out, "\n", 2)[0]); !slices.Equal(hdr, []string{"NETWORK", "ID", "NAME", "DRIVER", "SCOPE"}) {
		t.Errorf("network ls header %v", hdr)
	}
	if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
		return slices.Equal(strings.Fields(l), []string{id[:12], name, "bridge", "local"})
	}) {
		t.Errorf("network ls lacks the row %s %s bridge local:\n%s", id[:12], name, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-q", "-f", "name=" + name}, id[:12] + "\n"},
		{[]string{"-q", "--no-trunc", "-f", "id=" + id[:10]}, id + "\n"},
		{[]string{"-q", "-f", "label=team=net", "-f", "name=" + name}, id[:12] + "\n"},
		{[]string{"-q", "-f", "label=team=other", "-f", "name=" + name}, ""},
		{[]string{"--format", "{{.Name}} {{.Driver}}", "-f", "name=" + name}, name + " bridge\n"},
	} {
		if got := d.PouchOK(t, append([]string{"network", "ls"}, tc.args...)...); got != tc.want {
			t.Errorf("network ls %v: %q, want %q", tc.args, got, tc.want)
		}
	}
	// inspect: a JSON array; --format.
	var arr []networkJSON
	if err := json.Unmarshal([]byte(d.PouchOK(t, "network", "inspect", name)), &arr); err != nil || len(arr) != 1 || arr[0].ID != id {
		t.Errorf("network inspect %s: %v %+v", name, err, arr)
	}
	if got := d.PouchOK(t, "network", "inspect", "-f", "{{.Driver}} {{.Internal}}", name); got != "bridge false\n" {
		t.Errorf("network inspect -f: %q", got)
	}
	if res := d.Pouch(t, nil, "network", "inspect", "nosuchnetwork-x"); res.ExitCode == 0 || !strings.Contains(res.Stderr, "nosuchnetwork-x") {
		t.Errorf("network inspect of an unknown network: exit %d %q", res.ExitCode, res.Combined())
	}
	// rm prints the name and takes the bridge away.
	if got := d.PouchOK(t, "network", "rm", name); got != name+"\n" {
		t.Errorf("network rm printed %q", got)
	}
	if _, err := net.InterfaceByName(bridge); err == nil {
		t.Errorf("bridge %s left after network rm", bridge)
	}
	if r := d.Do(t, "GET", "/networks/"+id, nil); r.Status != http.StatusNotFound {
		t.Errorf("GET /networks/%s after rm: %d", id[:12], r.Status)
	}
}

// TestNetworkAutoSubnet checks that a network created without --subnet
// gets one that overlaps nothing of the daemon's.
func TestNetworkAutoSubnet(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	removeNetworkOnCleanup(t, d, name)
	d.PouchOK(t, "network", "create", name)
	n := inspectNet(t, name)
	if len(n.IPAM.Config) != 1 {
		t.Fatalf("IPAM.Config %+v", n.IPAM.Config)
	}
	subnet, err := netip.ParsePrefix(n.IPAM.Config[0].Subnet)
	if err != nil {
		t.Fatalf("subnet %q: %v", n.IPAM.Config[0].Subnet, err)
	}
	if subnet.Overlaps(d.BridgeSubnet()) {
		t.Errorf("subnet %s overlaps the default bridge's %s", subnet, d.BridgeSubnet())
	}
	if gw, err := netip.ParseAddr(n.IPAM.Config[0].Gateway); err != nil || !subnet.Contains(gw) {
		t.Errorf("gateway %q not in %s", n.IPAM.Config[0].Gateway, subnet)
	}
	out := d.Sh(t, []string{"--network", name}, "ip -o -4 addr show eth0")
	if f := strings.Fields(out); len(f) < 4 {
		t.Errorf("container on %s: %q", subnet, out)
	} else if p, err := netip.ParsePrefix(f[3]); err != nil || !subnet.Contains(p.Addr()) || p.Bits() != subnet.Bits() {
		t.Errorf("container on %s has %s", subnet, f[3])
	}
}

// TestNetworkRemove checks that a network in use cannot be removed, that
// predefined networks cannot be, and prune.
func TestNetworkRemove(t *testing.T) {
	t.Parallel()
	name, id, _ := createNetwork(t)
	_, ctr := d.Sleeper(t, "--network", name)
	res := d.Pouch(t, nil, "network", "rm", name)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, name) && !strings.Contains(res.Stderr, id[:12]) {
		t.Errorf("network rm of a network in use: exit %d %q", res.ExitCode, res.Combined())
	}
	expectOneOf(t, d, []int{http.StatusConflict, http.StatusForbidden}, "DELETE", "/networks/"+name, nil)
	inspectNet(t, name)
	// Once the container stops, the network can go (as Docker).
	d.PouchOK(t, "stop", "-t", "1", ctr)
	d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/networks/"+name, nil)
	if r := d.Do(t, "POST", "/containers/"+ctr+"/start", nil); r.Status < 400 {
		t.Errorf("starting a container whose network is gone: %d %s", r.Status, r.Body)
	}

	for _, p := range []string{"bridge", "host", "none"} {
		expectOneOf(t, d, []int{http.StatusForbidden, http.StatusConflict}, "DELETE", "/networks/"+p, nil)
		inspectNet(t, p)
	}

	t.Run("prune", func(t *testing.T) {
		label := "prune=" + testenv.UniqueName(t)
		unused1, _, _ := createNetwork(t, "--label", label)
		unused2, _, _ := createNetwork(t, "--label", label)
		used, _, _ := createNetwork(t, "--label", label)
		other, _, _ := createNetwork(t, "--label", "prune=other")
		d.Sleeper(t, "--network", used)
		out := d.PouchOK(t, "network", "prune", "-f", "--filter", "label="+label)
		if !strings.Contains(out, "Deleted Networks:") || !strings.Contains(out, unused1) || !strings.Contains(out, unused2) || strings.Contains(out, used) {
			t.Errorf("network prune: %q, want %s and %s deleted", out, unused1, unused2)
		}
		names := networkNames(listNetworks(t, d, nil))
		for _, n := range []string{unused1, unused2} {
			if slices.Contains(names, n) {
				t.Errorf("%s survived prune", n)
			}
		}
		for _, n := range []string{used, other, "bridge", "host", "none"} {
			if !slices.Contains(names, n) {
				t.Errorf("prune removed %s", n)
			}
		}
		// Through the API.
		label2 := "prune=" + testenv.UniqueName(t)
		unused3, _, _ := createNetwork(t, "--label", label2)
		f, _ := json.Marshal(map[string][]string{"label": {label2}})
		r := d.ExpectStatus(t, http.StatusOK, "POST", "/networks/prune?filters="+string(f), nil)
		var rep struct{ NetworksDeleted []string }
		r.JSON(t, &rep)
		if !slices.Equal(rep.NetworksDeleted, []string{unused3}) {
			t.Errorf("POST /networks/prune: %s, want [%s]", r.Body, unused3)
		}
	})
}

// nsenterTry is nsenter that returns the error instead of failing.
func nsenterTry(pid int, args ...string) (string, error) {
	return runCmd("nsenter", append([]string{"-t", fmt.Sprint(pid), "-n", "--"}, args...)...)
}
