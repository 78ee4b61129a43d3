package container

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/network"
)

func TestParsePortSpec(t *testing.T) {
	type m = portMapping
	tcp := func(n uint16) network.Port { p, _ := network.PortFrom(n, network.TCP); return p }
	udp := func(n uint16) network.Port { p, _ := network.PortFrom(n, network.UDP); return p }
	sctp := func(n uint16) network.Port { p, _ := network.PortFrom(n, network.SCTP); return p }
	bind := func(ip, port string) network.PortBinding {
		b := network.PortBinding{HostPort: port}
		if ip != "" {
			b.HostIP = netip.MustParseAddr(ip)
		}
		return b
	}
	tests := []struct {
		spec string
		want []portMapping
	}{
		{"80", []m{{tcp(80), bind("", "")}}},
		{"80/udp", []m{{udp(80), bind("", "")}}},
		{"80/SCTP", []m{{sctp(80), bind("", "")}}},
		{"8080:80", []m{{tcp(80), bind("", "8080")}}},
		{"0.0.0.0:8080:80/tcp", []m{{tcp(80), bind("0.0.0.0", "8080")}}},
		{"127.0.0.1::80", []m{{tcp(80), bind("127.0.0.1", "")}}},
		{"[::1]:80:80", []m{{tcp(80), bind("::1", "80")}}},
		{"[::1]::80/udp", []m{{udp(80), bind("::1", "")}}},
		{"::1:8080:80", []m{{tcp(80), bind("::1", "8080")}}},
		{"8000-8001:80-81", []m{{tcp(80), bind("", "8000")}, {tcp(81), bind("", "8001")}}},
		{"127.0.0.1:9000-9001:9000-9001/udp", []m{{udp(9000), bind("127.0.0.1", "9000")}, {udp(9001), bind("127.0.0.1", "9001")}}},
		{"80-81", []m{{tcp(80), bind("", "")}, {tcp(81), bind("", "")}}},
		{"8000-8010:80", []m{{tcp(80), bind("", "8000-8010")}}},
		{"5000-5000:80", []m{{tcp(80), bind("", "5000")}}},
		{"published=8080,target=80", []m{{tcp(80), bind("", "8080")}}},
		{"target=53,protocol=udp", []m{{udp(53), bind("", "")}}},
	}
	for _, tt := range tests {
		got, err := parsePortSpec(tt.spec)
		if err != nil {
			t.Errorf("%q: %v", tt.spec, err)
			continue
		}
		assertEqual(t, tt.spec, got, tt.want)
	}
}

func TestParsePortSpecErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"", "no port specified: <empty>"},
		{"8080:", "no port specified: 8080:<empty>"},
		{"/tcp", "no port specified: /tcp<empty>"},
		{"80/http", "invalid proto: http"},
		{"http", "invalid containerPort: http"},
		{"65536", "invalid containerPort: 65536"},
		{"-1", "invalid containerPort: -1"},
		{"90-80", "invalid containerPort: 90-80"},
		{"80-", "invalid containerPort: 80-"},
		{"x:80", "invalid hostPort: x"},
		{"70000:80", "invalid hostPort: 70000"},
		{"8000-8010:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000-8010"},
		{"8000:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8000"},
		{"1.2.3:80:80", "invalid IP address: 1.2.3"},
		{"localhost:80:80", "invalid IP address: localhost"},
		{"1.2.3.4:80:80:80", "invalid IP address: 1.2.3.4:80"},
		{"a:b:c:d", "invalid IP address: a:b"},
		{"[::1:80:80", "invalid IP address [::1:"},
		{"[fe80::1%eth0]:80:80", "invalid IP address: fe80::1%eth0"},
		{"published=8080,bogus", "invalid publish opts format (should be name=value but got 'bogus')"},
	}
	for _, tt := range tests {
		_, err := parsePortSpec(tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %q", tt.spec, err, tt.want)
		}
	}
}

func TestParsePublishAndExpose(t *testing.T) {
	exposed, bindings, err := parsePublish([]string{"8080:80", "127.0.0.1:8081:80", "53/udp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := parseExpose(exposed, []string{"443", "7000-7001/udp", "80"}); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "exposed", exposed, network.PortSet{
		network.MustParsePort("80/tcp"):   {},
		network.MustParsePort("53/udp"):   {},
		network.MustParsePort("443/tcp"):  {},
		network.MustParsePort("7000/udp"): {},
		network.MustParsePort("7001/udp"): {},
	})
	assertEqual(t, "bindings", bindings, network.PortMap{
		network.MustParsePort("80/tcp"): {
			{HostPort: "8080"},
			{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8081"},
		},
		network.MustParsePort("53/udp"): {{}},
	})

	for _, bad := range []string{"http", "80-70", "80/icmp", ""} {
		err := parseExpose(network.PortSet{}, []string{bad})
		if err == nil || !strings.HasPrefix(err.Error(), "invalid range format for --expose: ") {
			t.Errorf("%q: got %v", bad, err)
		}
	}
}

func TestParseExtraHosts(t *testing.T) {
	got, err := parseExtraHosts([]string{"db:10.0.0.2", "v6:::1", "v6b=::1", "br:[2001:db8::1]", "gw:host-gateway", "eq=10.0.0.3"})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "hosts", got, []string{"db:10.0.0.2", "v6:::1", "v6b:::1", "br:2001:db8::1", "gw:host-gateway", "eq:10.0.0.3"})
	for bad, want := range map[string]string{
		"nohost":      `bad format for add-host: "nohost"`,
		":1.2.3.4":    `bad format for add-host: ":1.2.3.4"`,
		"a:b=1.2.3.4": `bad format for add-host: "a:b=1.2.3.4"`,
		"db:notanip":  `invalid IP address in add-host: "notanip"`,
		"db=":         `invalid IP address in add-host: ""`,
	} {
		_, err := parseExtraHosts([]string{bad})
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %q", bad, err, want)
		}
	}
}

func TestParseDNS(t *testing.T) {
	servers, err := parseDNS([]string{"8.8.8.8", "2001:4860:4860::8888"})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "dns", servers, []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2001:4860:4860::8888")})
	if _, err := parseDNS([]string{"dns.google"}); err == nil || err.Error() != "IP address is not correctly formatted: dns.google" {
		t.Errorf("bad server: %v", err)
	}

	search, err := parseDNSSearch([]string{"example.com", "corp.example.org.", "."})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "search", search, []string{"example.com", "corp.example.org", "."})
	for _, bad := range []string{"-bad.com", "123", "a..b", "under_score.com", strings.Repeat("a", 255)} {
		if _, err := parseDNSSearch([]string{bad}); err == nil || err.Error() != bad+" is not a valid domain" {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if search, _ := parseDNSSearch(nil); search == nil {
		t.Error("an empty search list must be sent as [], not null")
	}
}

func TestNetworkOptLongSyntax(t *testing.T) {
	var n networkOpt
	for _, v := range []string{"front", "name=back,alias=db,alias=cache,ip=10.1.0.5,ip6=2001:db8::5,mac-address=02:42:ac:11:00:02,driver-opt=com.example.x=1,gw-priority=10"} {
		if err := n.Set(v); err != nil {
			t.Fatalf("%q: %v", v, err)
		}
	}
	assertEqual(t, "mode", n.mode(), "front")
	assertEqual(t, "attachments", n.attachments, []networkAttachment{
		{target: "front"},
		{target: "back", aliases: []string{"db", "cache"}, ipv4: "10.1.0.5", ipv6: "2001:db8::5",
			macAddress: "02:42:ac:11:00:02", driverOpts: map[string]string{"com.example.x": "1"}, gwPriority: 10},
	})
	for bad, want := range map[string]string{
		"alias=x":                   "network name/id is not specified",
		"name=x,color=red":          "invalid field key color",
		"name=x,gw-priority=top":    "invalid gw-priority value top",
		"name=x,driver-opt=novalue": "invalid key value pair format in driver options",
	} {
		var n networkOpt
		if err := n.Set(bad); err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %q", bad, err, want)
		}
	}
}

func TestEndpointsConfig(t *testing.T) {
	withNets := func(values ...string) *networkOpt {
		var n networkOpt
		for _, v := range values {
			if err := n.Set(v); err != nil {
				t.Fatal(err)
			}
		}
		return &n
	}
	mac, _ := parseMAC("02:42:ac:11:00:02")

	// No --network: docker keys the endpoint "default", even when empty.
	eps, err := endpointsConfig(withNets(), endpointFlags{})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "default", eps, map[string]*network.EndpointSettings{"default": {}})

	// One network without settings: no endpoint config at all.
	eps, err = endpointsConfig(withNets("host"), endpointFlags{})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "host", eps, map[string]*network.EndpointSettings{})

	// The flags apply to the first network.
	eps, err = endpointsConfig(withNets("appnet", "name=other,alias=o"), endpointFlags{
		ipv4: "172.30.0.10", aliases: []string{"web"}, macAddress: "02:42:ac:11:00:02",
	})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "user networks", eps, map[string]*network.EndpointSettings{
		"appnet": {
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr("172.30.0.10")},
			Aliases:    []string{"web"},
			MacAddress: mac,
		},
		"other": {Aliases: []string{"o"}},
	})

	// --ip on the default network is sent; the daemon decides.
	eps, err = endpointsConfig(withNets(), endpointFlags{ipv4: "172.17.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "ip on default", eps["default"].IPAMConfig.IPv4Address, netip.MustParseAddr("172.17.0.9"))

	for _, tc := range []struct {
		nets  []string
		flags endpointFlags
		want  string
	}{
		{nil, endpointFlags{aliases: []string{"a"}}, "network-scoped aliases are only supported for user-defined networks"},
		{[]string{"bridge"}, endpointFlags{aliases: []string{"a"}}, "network-scoped aliases are only supported for user-defined networks"},
		{[]string{"appnet"}, endpointFlags{ipv4: "2001:db8::1"}, `invalid value "2001:db8::1" for --ip: not an IPv4 address`},
		{[]string{"appnet"}, endpointFlags{ipv4: "300.1.1.1"}, `invalid value "300.1.1.1" for --ip: not an IP address`},
		{[]string{"appnet"}, endpointFlags{ipv6: "10.0.0.1"}, `invalid value "10.0.0.1" for --ip6: not an IPv6 address`},
		{[]string{"appnet"}, endpointFlags{macAddress: "nope"}, "nope is not a valid mac address"},
		{[]string{"appnet"}, endpointFlags{linkLocalIPs: []string{"x"}}, `invalid value "x" for --link-local-ip: not an IP address`},
		{[]string{"name=appnet,ip=10.0.0.2"}, endpointFlags{ipv4: "10.0.0.3"}, "conflicting options: cannot specify both --ip and per-network IPv4 address"},
		{[]string{"name=appnet,alias=x"}, endpointFlags{aliases: []string{"y"}}, "conflicting options: cannot specify both --network-alias and per-network alias"},
		{[]string{"appnet", "appnet"}, endpointFlags{}, `network "appnet" is specified multiple times`},
		{[]string{"appnet", "host"}, endpointFlags{}, "conflicting options: cannot attach both user-defined and non-user-defined network-modes"},
	} {
		_, err := endpointsConfig(withNets(tc.nets...), tc.flags)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v %+v: got %v, want %q", tc.nets, tc.flags, err, tc.want)
		}
	}
}

func parseMAC(s string) (network.HardwareAddr, error) {
	var mac network.HardwareAddr
	err := mac.UnmarshalText([]byte(s))
	return mac, err
}
