package container

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

func TestCreateSendsNetworkSettings(t *testing.T) {
	got, err := createWith(t,
		"-p", "8080:80", "-p", "127.0.0.1:9000-9001:9000-9001/udp", "-P", "--expose", "443",
		"--network", "appnet", "--ip", "172.30.0.10", "--network-alias", "web", "--net-alias", "www",
		"--mac-address", "02:42:ac:11:00:02", "-h", "box", "--domainname", "example.com",
		"--dns", "1.1.1.1", "--dns-search", "example.com", "--dns-option", "ndots:2", "--dns-opt", "timeout:1",
		"--add-host", "db:10.0.0.2", "--add-host", "gw=host-gateway",
		"busybox")
	if err != nil {
		t.Fatal(err)
	}
	c, h := got.Config, got.HostConfig
	assertEqual(t, "Hostname", c.Hostname, "box")
	assertEqual(t, "Domainname", c.Domainname, "example.com")
	assertEqual(t, "ExposedPorts", c.ExposedPorts, network.PortSet{
		network.MustParsePort("80/tcp"):   {},
		network.MustParsePort("443/tcp"):  {},
		network.MustParsePort("9000/udp"): {},
		network.MustParsePort("9001/udp"): {},
	})
	lo := netip.MustParseAddr("127.0.0.1")
	assertEqual(t, "PortBindings", h.PortBindings, network.PortMap{
		network.MustParsePort("80/tcp"):   {{HostPort: "8080"}},
		network.MustParsePort("9000/udp"): {{HostIP: lo, HostPort: "9000"}},
		network.MustParsePort("9001/udp"): {{HostIP: lo, HostPort: "9001"}},
	})
	assertEqual(t, "PublishAllPorts", h.PublishAllPorts, true)
	assertEqual(t, "NetworkMode", h.NetworkMode, container.NetworkMode("appnet"))
	assertEqual(t, "DNS", h.DNS, []netip.Addr{netip.MustParseAddr("1.1.1.1")})
	assertEqual(t, "DNSSearch", h.DNSSearch, []string{"example.com"})
	assertEqual(t, "DNSOptions", h.DNSOptions, []string{"ndots:2", "timeout:1"})
	assertEqual(t, "ExtraHosts", h.ExtraHosts, []string{"db:10.0.0.2", "gw:host-gateway"})
	mac, _ := parseMAC("02:42:ac:11:00:02")
	assertEqual(t, "EndpointsConfig", got.NetworkingConfig.EndpointsConfig, map[string]*network.EndpointSettings{
		"appnet": {
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr("172.30.0.10")},
			Aliases:    []string{"web", "www"},
			MacAddress: mac,
		},
	})
}

func TestCreateNetworkDefaults(t *testing.T) {
	got, err := createWith(t, "busybox")
	if err != nil {
		t.Fatal(err)
	}
	h := got.HostConfig
	assertEqual(t, "NetworkMode", h.NetworkMode, container.NetworkMode("default"))
	assertEqual(t, "EndpointsConfig", got.NetworkingConfig.EndpointsConfig, map[string]*network.EndpointSettings{"default": {}})
	if h.DNSSearch == nil || h.DNSOptions == nil || len(h.DNSSearch)+len(h.DNSOptions) != 0 {
		t.Errorf("DNS lists must be empty, not null: %q %q", h.DNSSearch, h.DNSOptions)
	}
	if h.DNS != nil || h.ExtraHosts != nil || len(h.PortBindings) != 0 || len(got.Config.ExposedPorts) != 0 || h.PublishAllPorts {
		t.Errorf("unexpected network settings: %+v", h)
	}

	for _, mode := range []string{"bridge", "host", "none", "container:web", "appnet"} {
		got, err := createWith(t, "--network", mode, "busybox")
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		assertEqual(t, mode, got.HostConfig.NetworkMode, container.NetworkMode(mode))
		assertEqual(t, mode+" endpoints", got.NetworkingConfig.EndpointsConfig, map[string]*network.EndpointSettings{})
	}

	// --net is docker's hidden spelling of --network.
	got, err = createWith(t, "--net", "host", "busybox")
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "--net", got.HostConfig.NetworkMode, container.NetworkMode("host"))
}

func TestCreateRejectsBadNetworkValuesBeforeAnyAPICall(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-p", "80/http", "busybox"}, "invalid proto: http"},
		{[]string{"-p", "99999", "busybox"}, "invalid containerPort: 99999"},
		{[]string{"-p", "8000-8001:80-82", "busybox"}, "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"},
		{[]string{"-p", "1.2.3.4:5:6:7", "busybox"}, "invalid IP address: 1.2.3.4:5"},
		{[]string{"-p", "nothere:80:80", "busybox"}, "invalid IP address: nothere"},
		{[]string{"--expose", "80-", "busybox"}, "invalid range format for --expose"},
		{[]string{"--dns", "resolver", "busybox"}, "IP address is not correctly formatted: resolver"},
		{[]string{"--dns-search", "-x-", "busybox"}, "-x- is not a valid domain"},
		{[]string{"--add-host", "db", "busybox"}, `bad format for add-host: "db"`},
		{[]string{"--add-host", "db:1.2.3", "busybox"}, `invalid IP address in add-host: "1.2.3"`},
		{[]string{"--mac-address", "zz", "busybox"}, "zz is not a valid mac address"},
		{[]string{"--ip", "1.2.3", "--network", "appnet", "busybox"}, `invalid value "1.2.3" for --ip`},
		{[]string{"--network-alias", "web", "busybox"}, "network-scoped aliases are only supported for user-defined networks"},
		{[]string{"--network", "name=x,bogus=1", "busybox"}, "invalid field key bogus"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := createWith(t, tt.args...)
			if got != nil {
				t.Errorf("a request was sent: %+v", got)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "invalid argument") && exitCode(err) != 125 {
				t.Errorf("exit code: got %d, want 125", exitCode(err))
			}
		})
	}
}

func inspectWithPorts(ports network.PortMap) *fakeClient {
	return &fakeClient{inspectFunc: func(name string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
		if name != "web" {
			return client.ContainerInspectResult{}, errorString("Error response from daemon: No such container: " + name)
		}
		var res client.ContainerInspectResult
		res.Container.NetworkSettings = &container.NetworkSettings{Ports: ports}
		return res, nil
	}}
}

func TestPortListsMappings(t *testing.T) {
	any4, any6 := netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("::")
	fake := inspectWithPorts(network.PortMap{
		network.MustParsePort("443/tcp"): {{HostIP: any4, HostPort: "8443"}},
		network.MustParsePort("80/tcp"):  {{HostIP: any4, HostPort: "8080"}, {HostIP: any6, HostPort: "8080"}},
		network.MustParsePort("53/udp"):  {{HostIP: any4, HostPort: "5353"}},
		network.MustParsePort("9/tcp"):   {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "10009"}},
		network.MustParsePort("22/tcp"):  nil, // exposed only
	})
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"web"}, "9/tcp -> 127.0.0.1:10009\n53/udp -> 0.0.0.0:5353\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n443/tcp -> 0.0.0.0:8443\n"},
		{[]string{"web", "80"}, "0.0.0.0:8080\n[::]:8080\n"},
		{[]string{"web", "80/tcp"}, "0.0.0.0:8080\n[::]:8080\n"},
		{[]string{"web", "53/udp"}, "0.0.0.0:5353\n"},
	}
	for _, tt := range tests {
		deps, out, _ := testDeps(fake, "")
		if err := execute(t, newPortCommand(deps), tt.args...); err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		assertEqual(t, strings.Join(tt.args, " "), out.String(), tt.want)
	}
}

func TestPortErrors(t *testing.T) {
	fake := inspectWithPorts(network.PortMap{
		network.MustParsePort("80/tcp"): {{HostIP: netip.MustParseAddr("0.0.0.0"), HostPort: "8080"}},
		network.MustParsePort("22/tcp"): {},
	})
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"web", "53"}, "Error: No public port '53/tcp' published for web"},
		{[]string{"web", "80/udp"}, "Error: No public port '80/udp' published for web"},
		{[]string{"web", "22"}, "Error: No public port '22/tcp' published for web"},
		{[]string{"web", "http"}, "Error: invalid port (http)"},
		{[]string{"gone"}, "Error response from daemon: No such container: gone"},
		{[]string{"web", "80", "extra"}, `"port" requires at least 1 and at most 2 arguments.`},
	} {
		deps, out, _ := testDeps(fake, "")
		err := execute(t, newPortCommand(deps), tt.args...)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want %q", tt.args, err, tt.want)
		}
		assertEqual(t, "stdout", out.String(), "")
	}

	// No ports at all: nothing printed, no error.
	deps, out, _ := testDeps(inspectWithPorts(nil), "")
	if err := execute(t, newPortCommand(deps), "web"); err != nil || out.String() != "" {
		t.Errorf("no ports: %v %q", err, out.String())
	}
}
