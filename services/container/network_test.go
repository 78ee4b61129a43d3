package container

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	netsvc "github.com/pouchcontainer/pouch/services/network"
)

func TestPortBindings(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	port := network.MustParsePort
	for _, tc := range []struct {
		name    string
		hc      ctypes.HostConfig
		exposed network.PortSet
		want    []netsvc.PortBinding
	}{
		{
			name: "host port",
			hc:   ctypes.HostConfig{PortBindings: network.PortMap{port("80/tcp"): {{HostPort: "8080"}}}},
			want: []netsvc.PortBinding{{Proto: "tcp", ContainerPort: 80, HostPort: 8080}},
		},
		{
			name: "host address, empty host port means any",
			hc:   ctypes.HostConfig{PortBindings: network.PortMap{port("53/udp"): {{HostIP: lo, HostPort: ""}}}},
			want: []netsvc.PortBinding{{Proto: "udp", ContainerPort: 53, HostIP: lo, HostPort: 0}},
		},
		{
			name: "a port without bindings is published on any port",
			hc:   ctypes.HostConfig{PortBindings: network.PortMap{port("80/tcp"): nil}},
			want: []netsvc.PortBinding{{Proto: "tcp", ContainerPort: 80}},
		},
		{
			name: "one port on two host ports",
			hc:   ctypes.HostConfig{PortBindings: network.PortMap{port("80/tcp"): {{HostPort: "8080"}, {HostIP: lo, HostPort: "8081"}}}},
			want: []netsvc.PortBinding{{Proto: "tcp", ContainerPort: 80, HostPort: 8080}, {Proto: "tcp", ContainerPort: 80, HostIP: lo, HostPort: 8081}},
		},
		{
			name: "IPv4-mapped host address is the IPv4 one",
			hc:   ctypes.HostConfig{PortBindings: network.PortMap{port("80/tcp"): {{HostIP: netip.MustParseAddr("::ffff:127.0.0.1"), HostPort: "8080"}}}},
			want: []netsvc.PortBinding{{Proto: "tcp", ContainerPort: 80, HostIP: lo, HostPort: 8080}},
		},
		{
			name: "ordered by port",
			hc: ctypes.HostConfig{PortBindings: network.PortMap{
				port("81/tcp"): {{HostPort: "9081"}}, port("53/udp"): {{HostPort: "9053"}}, port("80/tcp"): {{HostPort: "9080"}},
			}},
			want: []netsvc.PortBinding{
				{Proto: "udp", ContainerPort: 53, HostPort: 9053},
				{Proto: "tcp", ContainerPort: 80, HostPort: 9080},
				{Proto: "tcp", ContainerPort: 81, HostPort: 9081},
			},
		},
		{
			name:    "-P adds the exposed ports not already bound",
			hc:      ctypes.HostConfig{PublishAllPorts: true, PortBindings: network.PortMap{port("80/tcp"): {{HostPort: "8080"}}}},
			exposed: network.PortSet{port("80/tcp"): {}, port("443/tcp"): {}, port("53/udp"): {}},
			want: []netsvc.PortBinding{
				{Proto: "tcp", ContainerPort: 80, HostPort: 8080},
				{Proto: "tcp", ContainerPort: 443},
				{Proto: "udp", ContainerPort: 53},
			},
		},
		{
			name:    "-P skips exposed sctp ports",
			hc:      ctypes.HostConfig{PublishAllPorts: true},
			exposed: network.PortSet{port("80/tcp"): {}, port("9/sctp"): {}},
			want:    []netsvc.PortBinding{{Proto: "tcp", ContainerPort: 80}},
		},
		{
			name:    "exposed ports are not published without -P",
			hc:      ctypes.HostConfig{},
			exposed: network.PortSet{port("80/tcp"): {}},
			want:    nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := portBindings(&tc.hc, tc.exposed)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestPortBindingsRefuses(t *testing.T) {
	port := network.MustParsePort
	for _, tc := range []struct {
		name string
		pm   network.PortMap
	}{
		{"sctp", network.PortMap{port("80/sctp"): {{HostPort: "8080"}}}},
		{"sctp without a host port", network.PortMap{port("80/sctp"): nil}},
		{"host port not a number", network.PortMap{port("80/tcp"): {{HostPort: "http"}}}},
		{"host port out of range", network.PortMap{port("80/tcp"): {{HostPort: "70000"}}}},
		{"negative host port", network.PortMap{port("80/tcp"): {{HostPort: "-1"}}}},
		{"host port range with a bad end", network.PortMap{port("80/tcp"): {{HostPort: "8000-abc"}}}},
		{"IPv6 host address", network.PortMap{port("80/tcp"): {{HostIP: netip.MustParseAddr("::1"), HostPort: "8080"}}}},
		{"IPv6 global host address", network.PortMap{port("80/tcp"): {{HostIP: netip.MustParseAddr("2001:db8::1")}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := portBindings(&ctypes.HostConfig{PortBindings: tc.pm}, nil)
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("got %+v, %v; want an invalid-argument error", got, err)
			}
		})
	}
}

// Publishing on "::" must not give a binding that the reservation holds on
// IPv6 only while the CNI portmap publishes it on every IPv4 address:
// either refuse it, as other IPv6 addresses are, or take it for 0.0.0.0.
func TestPortBindingsIPv6Unspecified(t *testing.T) {
	hc := &ctypes.HostConfig{PortBindings: network.PortMap{
		network.MustParsePort("80/tcp"): {{HostIP: netip.IPv6Unspecified(), HostPort: "8080"}},
	}}
	got, err := portBindings(hc, nil)
	if errdefs.IsInvalidArgument(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || (got[0].HostIP.IsValid() && !got[0].HostIP.Is4()) {
		t.Errorf("got %+v: an IPv6 host address in a binding of an IPv4-only network", got)
	}
}

func TestHostsFile(t *testing.T) {
	got, err := hostsFile("web", netip.MustParseAddr("10.1.0.5"), []string{
		"db:10.0.0.5",
		"cache=10.0.0.6",
		"v6:::1",
		"v6b:[fd00::2]",
		"v6c=fd00::3",
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	for _, want := range []string{
		"127.0.0.1\tlocalhost",
		"::1\tlocalhost ip6-localhost ip6-loopback",
		"10.0.0.5\tdb",
		"10.0.0.6\tcache",
		"::1\tv6",
		"fd00::2\tv6b",
		"fd00::3\tv6c",
	} {
		if !contains(lines, want) {
			t.Errorf("no line %q in\n%s", want, got)
		}
	}
	if last := lines[len(lines)-1]; last != "10.1.0.5\tweb" {
		t.Errorf("last line %q, want the container's own address and name", last)
	}

	// Without an address (host or none networking) no line of its own.
	got, err = hostsFile("web", netip.Addr{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "web") {
		t.Errorf("own line without an address:\n%s", got)
	}
}

func TestExtraHostLinesRefuses(t *testing.T) {
	for _, h := range []string{
		"db",            // no address
		"db:",           // empty address
		":10.0.0.5",     // empty name
		"=10.0.0.5",     // empty name
		"db:notanip",    // not an address
		"db:10.0.0.256", // not an address
		"db=host",
	} {
		if got, err := extraHostLines([]string{"ok:10.0.0.1", h}); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: got %q, %v; want an invalid-argument error", h, got, err)
		}
		if _, err := hostsFile("web", netip.MustParseAddr("10.1.0.5"), []string{h}); !errdefs.IsInvalidArgument(err) {
			t.Errorf("hostsFile with %q: %v; want an invalid-argument error", h, err)
		}
	}
	if got, err := extraHostLines(nil); err != nil || got != "" {
		t.Errorf("no extra hosts: %q, %v", got, err)
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// resolvConf is a rendered resolv.conf, by directive.
type resolvConf struct {
	nameservers, search, options []string
}

func parseResolvConf(s string) resolvConf {
	var rc resolvConf
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			rc.nameservers = append(rc.nameservers, f[1])
		case "search", "domain":
			rc.search = f[1:]
		case "options":
			rc.options = append(rc.options, f[1:]...)
		}
	}
	return rc
}

func hostResolvConf(t *testing.T) (string, resolvConf) {
	t.Helper()
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b), parseResolvConf(string(b))
}

func TestResolvConfEmbedded(t *testing.T) {
	for _, tc := range []struct {
		name        string
		hc          ctypes.HostConfig
		wantOptions []string // nil: the host's, plus ndots:0
	}{
		{"host's search and options", ctypes.HostConfig{NetworkMode: "front"}, nil},
		{"--dns goes to the resolver, not the file", ctypes.HostConfig{NetworkMode: "front", DNS: []netip.Addr{netip.MustParseAddr("1.1.1.1")}}, nil},
		{"--dns-option without ndots", ctypes.HostConfig{NetworkMode: "front", DNSOptions: []string{"timeout:1"}}, []string{"timeout:1", "ndots:0"}},
		{"--dns-option ndots is kept", ctypes.HostConfig{NetworkMode: "front", DNSOptions: []string{"ndots:3", "timeout:1"}}, []string{"ndots:3", "timeout:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, host := hostResolvConf(t)
			got := parseResolvConf(resolvConfFor(&tc.hc, true))
			if !reflect.DeepEqual(got.nameservers, []string{"127.0.0.11"}) {
				t.Errorf("nameservers %v, want the embedded resolver alone", got.nameservers)
			}
			want := tc.wantOptions
			if want == nil {
				want = host.options
				hasNdots := false
				for _, o := range want {
					hasNdots = hasNdots || strings.HasPrefix(o, "ndots:")
				}
				if !hasNdots {
					want = append(append([]string{}, want...), "ndots:0")
				}
			}
			if !reflect.DeepEqual(got.options, want) {
				t.Errorf("options %v, want %v", got.options, want)
			}
		})
	}
}

func TestResolvConfFlagsReplaceHosts(t *testing.T) {
	hc := &ctypes.HostConfig{
		NetworkMode: "bridge",
		DNS:         []netip.Addr{netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("9.9.9.9")},
		DNSSearch:   []string{"a.example", "b.example"},
		DNSOptions:  []string{"rotate", "timeout:2"},
	}
	out := resolvConfFor(hc, false)
	want := "nameserver 1.1.1.1\nnameserver 9.9.9.9\nsearch a.example b.example\noptions rotate timeout:2\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}

	// --dns-search . clears the search list.
	hc = &ctypes.HostConfig{NetworkMode: "bridge", DNS: []netip.Addr{netip.MustParseAddr("1.1.1.1")}, DNSSearch: []string{"."}}
	if got := parseResolvConf(resolvConfFor(hc, false)); got.search != nil {
		t.Errorf("--dns-search . gave search %v", got.search)
	}

	// Host networking with flags: the flags still replace the host's.
	hc = &ctypes.HostConfig{NetworkMode: "host", DNS: []netip.Addr{netip.MustParseAddr("1.1.1.1")}}
	if got := parseResolvConf(resolvConfFor(hc, false)); !reflect.DeepEqual(got.nameservers, []string{"1.1.1.1"}) {
		t.Errorf("host mode with --dns: nameservers %v", got.nameservers)
	}
}

func TestResolvConfHostServers(t *testing.T) {
	_, host := hostResolvConf(t)
	var want []string
	for _, ns := range host.nameservers {
		if !strings.HasPrefix(ns, "127.") && ns != "::1" {
			want = append(want, ns)
		}
	}
	if len(want) == 0 {
		want = []string{"8.8.8.8", "8.8.4.4"} // Docker's fallback
	}
	for _, mode := range []ctypes.NetworkMode{"bridge", "front", "none"} {
		got := parseResolvConf(resolvConfFor(&ctypes.HostConfig{NetworkMode: mode}, false))
		if !reflect.DeepEqual(got.nameservers, want) {
			t.Errorf("%s: nameservers %v, want %v (the host's, loopback ones dropped)", mode, got.nameservers, want)
		}
		for _, ns := range got.nameservers {
			if strings.HasPrefix(ns, "127.") || ns == "::1" {
				t.Errorf("%s: loopback nameserver %s is unreachable from the container", mode, ns)
			}
		}
		if !reflect.DeepEqual(got.search, host.search) || !reflect.DeepEqual(got.options, host.options) {
			t.Errorf("%s: search %v options %v, want the host's %v %v", mode, got.search, got.options, host.search, host.options)
		}
	}
}

func TestResolvConfHostModeCopiesHostFile(t *testing.T) {
	raw, _ := hostResolvConf(t)
	if got := resolvConfFor(&ctypes.HostConfig{NetworkMode: "host"}, false); got != raw {
		t.Errorf("host mode:\n%q\nwant the host's file\n%q", got, raw)
	}
}
