package network

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/containerd/errdefs"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// allocateN allocates n addresses in a row and fails the test on an error.
func allocateN(t *testing.T, s *Service, n *Network, count int) []netip.Addr {
	t.Helper()
	var out []netip.Addr
	for range count {
		a, err := s.allocateLocked(n, netip.Addr{})
		if err != nil {
			t.Fatalf("allocation %d: %v", len(out)+1, err)
		}
		out = append(out, a)
	}
	return out
}

func TestAllocateSequentialSkipsReservedAddresses(t *testing.T) {
	// 10.1.0.0/29: .0 is the network, .1 the gateway, .7 the broadcast.
	n := userNet("small", "10.1.0.0/29")
	s := testService(t, Config{}, n)
	got := allocateN(t, s, n, 5)
	want := addrs("10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6")
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocated %v, want %v", got, want)
		}
	}
	if a, err := s.allocateLocked(n, netip.Addr{}); !errdefs.IsUnavailable(err) {
		t.Fatalf("full network: got %s, %v; want an unavailable error", a, err)
	}
}

func TestAllocateSkipsGatewayAnywhere(t *testing.T) {
	n := userNet("gw", "10.1.0.0/29")
	n.Gateway = netip.MustParseAddr("10.1.0.3")
	s := testService(t, Config{}, n)
	got := allocateN(t, s, n, 5)
	for _, a := range got {
		if a == n.Gateway {
			t.Fatalf("gateway %s handed out: %v", n.Gateway, got)
		}
	}
	if got[0] != netip.MustParseAddr("10.1.0.1") {
		t.Errorf("first address %s, want 10.1.0.1 (the gateway is elsewhere)", got[0])
	}
}

func TestAllocateHonoursIPRange(t *testing.T) {
	// The range holds the network address and the gateway: only .2 and
	// .3 can be handed out, although the subnet has room.
	n := userNet("ranged", "10.1.0.0/24")
	n.IPRange = netip.MustParsePrefix("10.1.0.0/30")
	s := testService(t, Config{}, n)
	got := allocateN(t, s, n, 2)
	if got[0] != netip.MustParseAddr("10.1.0.2") || got[1] != netip.MustParseAddr("10.1.0.3") {
		t.Fatalf("allocated %v, want [10.1.0.2 10.1.0.3]", got)
	}
	if a, err := s.allocateLocked(n, netip.Addr{}); !errdefs.IsUnavailable(err) {
		t.Fatalf("full range: got %s, %v; want an unavailable error", a, err)
	}

	// A range in the middle of the subnet: every address comes from it.
	m := userNet("mid", "10.2.0.0/24")
	m.IPRange = netip.MustParsePrefix("10.2.0.128/28")
	s = testService(t, Config{}, m)
	for _, a := range allocateN(t, s, m, 16) {
		if !m.IPRange.Contains(a) {
			t.Errorf("%s is outside the range %s", a, m.IPRange)
		}
	}
	if _, err := s.allocateLocked(m, netip.Addr{}); !errdefs.IsUnavailable(err) {
		t.Errorf("range of 16 gave a 17th address: %v", err)
	}
	// A requested address is taken from the whole subnet.
	if a, err := s.allocateLocked(m, netip.MustParseAddr("10.2.0.10")); err != nil || a != netip.MustParseAddr("10.2.0.10") {
		t.Errorf("requested address outside the range: %s, %v", a, err)
	}
}

func TestAllocateRequested(t *testing.T) {
	n := userNet("req", "10.1.0.0/24")
	for _, tc := range []struct {
		want  string
		class func(error) bool
	}{
		{"10.1.0.50", nil},
		{"::ffff:10.1.0.51", nil}, // mapped: the IPv4 address
		{"10.1.0.254", nil},
		{"10.1.1.5", errdefs.IsInvalidArgument},   // outside the subnet
		{"10.1.0.0", errdefs.IsInvalidArgument},   // network address
		{"10.1.0.255", errdefs.IsInvalidArgument}, // broadcast
		{"10.1.0.1", errdefs.IsInvalidArgument},   // gateway
		{"fd00::5", errdefs.IsInvalidArgument},
	} {
		s := testService(t, Config{}, n)
		a, err := s.allocateLocked(n, netip.MustParseAddr(tc.want))
		if tc.class != nil {
			if !tc.class(err) {
				t.Errorf("%s: got %s, %v; want an error of the expected class", tc.want, a, err)
			}
			continue
		}
		if err != nil || a != netip.MustParseAddr(tc.want).Unmap() {
			t.Errorf("%s: got %s, %v", tc.want, a, err)
		}
		if _, err := s.allocateLocked(n, a); !errdefs.IsConflict(err) {
			t.Errorf("%s a second time: %v; want a conflict", tc.want, err)
		}
	}

	// A requested address is not handed out again by the sequential search.
	s := testService(t, Config{}, n)
	if _, err := s.allocateLocked(n, netip.MustParseAddr("10.1.0.2")); err != nil {
		t.Fatal(err)
	}
	if a := allocateN(t, s, n, 1)[0]; a != netip.MustParseAddr("10.1.0.3") {
		t.Errorf("next address %s, want 10.1.0.3", a)
	}
}

func TestAllocateDoesNotReuseReleasedAddressAtOnce(t *testing.T) {
	n := userNet("reuse", "10.1.0.0/29")
	s := testService(t, Config{}, n)
	got := allocateN(t, s, n, 2) // .2 .3
	s.releaseIPLocked(n.ID, got[0])
	if a := allocateN(t, s, n, 1)[0]; a != netip.MustParseAddr("10.1.0.4") {
		t.Fatalf("after releasing %s got %s, want 10.1.0.4", got[0], a)
	}
	// Once the search wraps around, the released address is free again.
	rest := allocateN(t, s, n, 3) // .5 .6, then .2 again
	if rest[2] != got[0] {
		t.Errorf("after the wrap got %v, want %s last", rest, got[0])
	}
	if _, err := s.allocateLocked(n, netip.Addr{}); !errdefs.IsUnavailable(err) {
		t.Errorf("full network: %v", err)
	}
}

func TestReserve(t *testing.T) {
	br, user := defaultBridge(), userNet("front", "10.1.0.0/24")
	host := &Network{ID: id("3h"), Name: NameHost, Driver: DriverHost}
	s := testService(t, Config{}, br, user, host)

	ep, err := s.Reserve(JoinRequest{ContainerID: id("c1"), Name: "web", Network: "front", IfName: "eth0",
		IP: netip.MustParseAddr("10.1.0.50"), Aliases: []string{"www"}})
	if err != nil {
		t.Fatal(err)
	}
	if ep.IP != netip.MustParseAddr("10.1.0.50") || ep.PrefixLen != 24 || ep.Gateway != user.Gateway ||
		ep.NetworkID != user.ID || ep.NetworkName != "front" || !ep.UserDefined || ep.Name != "web" {
		t.Errorf("endpoint %+v", ep)
	}
	if ep.MAC != "02:42:0a:01:00:32" {
		t.Errorf("MAC %s, want 02:42:0a:01:00:32 (derived from the address)", ep.MAC)
	}
	if len(ep.Aliases) != 1 || ep.Aliases[0] != "www" {
		t.Errorf("aliases %v", ep.Aliases)
	}
	if _, ok := s.Endpoints(user.ID)[id("c1")]; !ok {
		t.Error("the endpoint is not listed on its network")
	}

	for _, tc := range []struct {
		name  string
		req   JoinRequest
		class func(error) bool
	}{
		{"same container again", JoinRequest{ContainerID: id("c1"), Name: "web", Network: "front", IfName: "eth1"}, errdefs.IsConflict},
		{"address in use", JoinRequest{ContainerID: id("c2"), Network: "front", IfName: "eth0", IP: netip.MustParseAddr("10.1.0.50")}, errdefs.IsConflict},
		{"aliases on the default bridge", JoinRequest{ContainerID: id("c2"), Network: NameBridge, IfName: "eth0", Aliases: []string{"x"}}, errdefs.IsInvalidArgument},
		{"address on the default bridge", JoinRequest{ContainerID: id("c2"), Network: NameBridge, IfName: "eth0", IP: netip.MustParseAddr("172.17.0.9")}, errdefs.IsInvalidArgument},
		{"host network", JoinRequest{ContainerID: id("c2"), Network: NameHost, IfName: "eth0"}, errdefs.IsInvalidArgument},
		{"unknown network", JoinRequest{ContainerID: id("c2"), Network: "nope", IfName: "eth0"}, errdefs.IsNotFound},
		{"bad MAC", JoinRequest{ContainerID: id("c2"), Network: "front", IfName: "eth0", MAC: "zz"}, errdefs.IsInvalidArgument},
		{"ports without iptables", JoinRequest{ContainerID: id("c2"), Network: "front", IfName: "eth0",
			Ports: []PortBinding{{Proto: "tcp", ContainerPort: 80, HostIP: netip.MustParseAddr("127.0.0.1")}}}, errdefs.IsInvalidArgument},
	} {
		if got, err := s.Reserve(tc.req); !tc.class(err) {
			t.Errorf("%s: got %+v, %v; want an error of the expected class", tc.name, got, err)
		}
	}
	if _, ok := s.Endpoints(user.ID)[id("c2")]; ok {
		t.Error("a refused request left an endpoint")
	}
	if eps := s.Endpoints(br.ID); len(eps) != 0 {
		t.Errorf("refused requests left endpoints on the default bridge: %v", eps)
	}

	// The same container on another network is fine; the default bridge
	// gives no name resolution.
	ep2, err := s.Reserve(JoinRequest{ContainerID: id("c1"), Name: "web", Network: br.ID, IfName: "eth1"})
	if err != nil {
		t.Fatal(err)
	}
	if ep2.UserDefined || ep2.DNSNames() != nil || !br.Subnet.Contains(ep2.IP) || ep2.IP == br.Gateway {
		t.Errorf("default bridge endpoint %+v", ep2)
	}
	if ep2.MAC != macFor(ep2.IP) {
		t.Errorf("MAC %s for %s", ep2.MAC, ep2.IP)
	}

	// A requested MAC is normalised.
	ep3, err := s.Reserve(JoinRequest{ContainerID: id("c3"), Network: "front", IfName: "eth0", MAC: "02-42-AA-BB-CC-DD"})
	if err != nil || ep3.MAC != "02:42:aa:bb:cc:dd" {
		t.Errorf("requested MAC: %+v, %v", ep3, err)
	}
}

func TestRefusedReserveFreesTheAddress(t *testing.T) {
	user := userNet("front", "10.1.0.0/24")
	s := testService(t, Config{}, user)
	want := netip.MustParseAddr("10.1.0.9")
	if _, err := s.Reserve(JoinRequest{ContainerID: id("c1"), Network: "front", IfName: "eth0", IP: want, MAC: "01:00:5e:00:00:01"}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("multicast MAC: %v", err)
	}
	if _, err := s.Reserve(JoinRequest{ContainerID: id("c1"), Network: "front", IfName: "eth0", IP: want,
		Ports: []PortBinding{{Proto: "tcp", ContainerPort: 80}}}); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("ports without iptables: %v", err)
	}
	ep, err := s.Reserve(JoinRequest{ContainerID: id("c1"), Network: "front", IfName: "eth0", IP: want})
	if err != nil || ep.IP != want {
		t.Fatalf("the address of refused requests is still taken: %+v, %v", ep, err)
	}
}

func TestReleaseFreesAddress(t *testing.T) {
	user := userNet("front", "10.1.0.0/24")
	s := testService(t, Config{}, user)
	want := netip.MustParseAddr("10.1.0.9")
	ep, err := s.Reserve(JoinRequest{ContainerID: id("c1"), Name: "a", Network: "front", IfName: "eth0", IP: want})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Release(context.Background(), ep); err != nil {
		t.Fatalf("release of an endpoint never plugged: %v", err)
	}
	if _, ok := s.Endpoints(user.ID)[id("c1")]; ok {
		t.Error("released endpoint still listed")
	}
	ep2, err := s.Reserve(JoinRequest{ContainerID: id("c2"), Name: "b", Network: "front", IfName: "eth0", IP: want})
	if err != nil || ep2.IP != want {
		t.Fatalf("released address not free: %+v, %v", ep2, err)
	}
	// The first container may join again, with a new address.
	ep3, err := s.Reserve(JoinRequest{ContainerID: id("c1"), Name: "a", Network: "front", IfName: "eth0"})
	if err != nil || ep3.IP == want {
		t.Fatalf("rejoin: %+v, %v", ep3, err)
	}
}

func TestReservePortsAndRelease(t *testing.T) {
	user := userNet("front", "10.1.0.0/24")
	s := testService(t, Config{IPTables: true}, user)
	lo := netip.MustParseAddr("127.0.0.1")
	ep, err := s.Reserve(JoinRequest{ContainerID: id("c1"), Network: "front", IfName: "eth0",
		Ports: []PortBinding{{Proto: "tcp", ContainerPort: 80, HostIP: lo}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ep.Ports) != 1 || ep.Ports[0].HostPort == 0 || ep.Ports[0].ContainerPort != 80 || ep.Ports[0].HostIP != lo {
		t.Fatalf("ports %+v", ep.Ports)
	}
	hostPort := strconv.Itoa(int(ep.Ports[0].HostPort))
	if l, err := net.Listen("tcp", "127.0.0.1:"+hostPort); err == nil {
		l.Close()
		t.Fatalf("published port %s is not held", hostPort)
	}

	// A second container asking for the same host port is refused, and
	// keeps neither address nor endpoint.
	want := netip.MustParseAddr("10.1.0.77")
	_, err = s.Reserve(JoinRequest{ContainerID: id("c2"), Network: "front", IfName: "eth0", IP: want,
		Ports: []PortBinding{{Proto: "tcp", ContainerPort: 80, HostIP: lo, HostPort: ep.Ports[0].HostPort}}})
	if !errdefs.IsConflict(err) {
		t.Fatalf("same host port twice: %v; want a conflict", err)
	}
	if _, ok := s.Endpoints(user.ID)[id("c2")]; ok {
		t.Error("refused endpoint listed")
	}
	if _, err := s.Reserve(JoinRequest{ContainerID: id("c3"), Network: "front", IfName: "eth0", IP: want}); err != nil {
		t.Errorf("address of the refused endpoint still taken: %v", err)
	}

	if err := s.Release(context.Background(), ep); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+hostPort)
	if err != nil {
		t.Fatalf("released port %s still held: %v", hostPort, err)
	}
	l.Close()
}

func TestMACFor(t *testing.T) {
	for ip, want := range map[string]string{
		"172.17.0.2":      "02:42:ac:11:00:02",
		"10.1.0.50":       "02:42:0a:01:00:32",
		"192.168.255.254": "02:42:c0:a8:ff:fe",
	} {
		if got := macFor(netip.MustParseAddr(ip)); got != want {
			t.Errorf("macFor(%s) = %s, want %s", ip, got, want)
		}
	}
}

func TestNormaliseMAC(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "": refused
	}{
		{"02:42:ac:11:00:02", "02:42:ac:11:00:02"},
		{"02:42:AC:11:00:02", "02:42:ac:11:00:02"},
		{"02-42-ac-11-00-02", "02:42:ac:11:00:02"},
		{"", ""},
		{"02:42:ac:11:00", ""},       // five bytes
		{"02:42:ac:11:00:02:03", ""}, // seven bytes
		{"02:42:ac:11:00:002", ""},   // a byte of three digits
		{"02:42:ac:11:00:2", ""},     // a byte of one digit
		{"02:42:ac:11:00:zz", ""},    // not hex
		{"02:42:ac:11:00:0g", ""},    // half hex
		{"01:00:5e:00:00:01", ""},    // multicast
		{"ff:ff:ff:ff:ff:ff", ""},    // broadcast
	} {
		got, err := normaliseMAC(tc.in)
		if tc.want == "" {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("normaliseMAC(%q) = %q, %v; want an invalid-argument error", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("normaliseMAC(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
