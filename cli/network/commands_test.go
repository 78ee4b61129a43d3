package network

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// createWith runs `network create` with args and returns the request
// sent (nil if none) and the error.
func createWith(t *testing.T, args ...string) (*client.NetworkCreateOptions, string, error) {
	t.Helper()
	var got *client.NetworkCreateOptions
	var name string
	fake := &fakeClient{createFunc: func(n string, o client.NetworkCreateOptions) (client.NetworkCreateResult, error) {
		got, name = &o, n
		return client.NetworkCreateResult{ID: "5e1f00d5"}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newCreateCommand(deps), args...)
	if err == nil {
		assertEqual(t, "stdout", out.String(), "5e1f00d5\n")
	}
	return got, name, err
}

func TestCreateDefaults(t *testing.T) {
	got, name, err := createWith(t, "appnet")
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "name", name, "appnet")
	assertEqual(t, "request", *got, client.NetworkCreateOptions{
		Driver:  "bridge",
		Options: map[string]string{},
		Labels:  map[string]string{},
		IPAM:    &network.IPAM{Driver: "default", Config: []network.IPAMConfig{}, Options: map[string]string{}},
	})
}

func TestCreateTranslatesFlags(t *testing.T) {
	got, _, err := createWith(t, "-d", "macvlan", "--internal", "--attachable", "--ipv6", "--ipv4=false",
		"--subnet", "10.10.0.0/16", "--gateway", "10.10.0.1", "--ip-range", "10.10.5.0/24",
		"--subnet", "fd00:1::/64,192.168.7.0/24", "--gateway", "fd00:1::1",
		"--aux-address", "router=10.10.0.2",
		"-o", "com.docker.network.bridge.name=br-app", "--opt", "mtu=1400", "-o", "flag",
		"--label", "env=prod", "--label", "team",
		"--ipam-driver", "custom", "--ipam-opt", "k=v",
		"appnet")
	if err != nil {
		t.Fatal(err)
	}
	f, tr := false, true
	assertEqual(t, "request", *got, client.NetworkCreateOptions{
		Driver:     "macvlan",
		Internal:   true,
		Attachable: true,
		EnableIPv4: &f,
		EnableIPv6: &tr,
		Options:    map[string]string{"com.docker.network.bridge.name": "br-app", "mtu": "1400", "flag": ""},
		Labels:     map[string]string{"env": "prod", "team": ""},
		IPAM: &network.IPAM{
			Driver:  "custom",
			Options: map[string]string{"k": "v"},
			Config: []network.IPAMConfig{
				{
					Subnet:     netip.MustParsePrefix("10.10.0.0/16"),
					IPRange:    netip.MustParsePrefix("10.10.5.0/24"),
					Gateway:    netip.MustParseAddr("10.10.0.1"),
					AuxAddress: map[string]netip.Addr{"router": netip.MustParseAddr("10.10.0.2")},
				},
				{Subnet: netip.MustParsePrefix("fd00:1::/64"), Gateway: netip.MustParseAddr("fd00:1::1"), AuxAddress: map[string]netip.Addr{}},
				{Subnet: netip.MustParsePrefix("192.168.7.0/24"), AuxAddress: map[string]netip.Addr{}},
			},
		},
	})
}

func TestCreateRejectsBadIPAMBeforeAnyAPICall(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--gateway", "10.0.0.1", "n"}, "every ip-range or gateway must have a corresponding subnet"},
		{[]string{"--subnet", "10.0.0.0/24", "--gateway", "10.1.0.1", "n"}, "no matching subnet for gateway 10.1.0.1"},
		{[]string{"--subnet", "10.0.0.0/24", "--ip-range", "10.1.0.0/28", "n"}, "no matching subnet for range 10.1.0.0/28"},
		{[]string{"--subnet", "10.0.0.0/16", "--subnet", "10.0.1.0/24", "n"}, "multiple overlapping subnet configuration is not supported"},
		{[]string{"--subnet", "10.0.0.0/24", "--gateway", "10.0.0.1,10.0.0.2", "--subnet", "10.9.0.0/24", "n"}, "cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/24)"},
		{[]string{"--subnet", "10.0.0.0/24", "--ip-range", "10.0.0.0/28,10.0.0.16/28", "--subnet", "10.9.0.0/24", "n"}, "cannot configure multiple ranges (10.0.0.16/28, 10.0.0.0/28) on the same subnet (10.0.0.0/24)"},
		{[]string{"--subnet", "bogus", "n"}, "invalid subnet: invalid CIDR address: bogus"},
		{[]string{"--subnet", "10.0.0.0/24", "--gateway", "bogus", "n"}, `invalid argument "bogus" for "--gateway" flag`},
		{[]string{"--subnet", "10.0.0.0/24", "--ip-range", "10.0.0.1", "n"}, `invalid argument "10.0.0.1" for "--ip-range" flag`},
		{[]string{"--subnet", "10.0.0.0/24", "--aux-address", "a=10.9.9.9", "n"}, "no matching subnet for aux-address 10.9.9.9"},
		{[]string{"--subnet", "10.0.0.0/24", "--aux-address", "a", "n"}, `invalid value "a" for --aux-address`},
		{[]string{"--label", "=x", "n"}, "invalid label '=x': empty name"},
		{[]string{"--label", "a b=x", "n"}, "label 'a b' contains whitespaces"},
		{[]string{"-o", "=x", "n"}, `invalid value "=x" for --opt`},
		{[]string{}, `"create" requires exactly 1 argument.`},
	} {
		got, _, err := createWith(t, tt.args...)
		if got != nil {
			t.Errorf("%v: a request was sent", tt.args)
		}
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want %q", tt.args, err, tt.want)
		}
	}
}

func listFixture() []network.Summary {
	created := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	mk := func(id, name, driver string) network.Summary {
		var s network.Summary
		s.ID, s.Name, s.Driver, s.Scope, s.Created, s.EnableIPv4 = id, name, driver, "local", created, true
		return s
	}
	web10 := mk("c0ffee0000000000000000000000000000000000000000000000000000000010", "web10", "bridge")
	web10.Labels = map[string]string{"tier": "front", "app": "shop"}
	return []network.Summary{
		web10,
		mk("b7d1a9e3f4c2000000000000000000000000000000000000000000000000beef", "bridge", "bridge"),
		mk("aa11000000000000000000000000000000000000000000000000000000000002", "web2", "bridge"),
		mk("dd44000000000000000000000000000000000000000000000000000000000003", "host", "host"),
		mk("ee55000000000000000000000000000000000000000000000000000000000004", "none", "null"),
	}
}

func listWith(t *testing.T, args ...string) (string, client.NetworkListOptions) {
	t.Helper()
	var got client.NetworkListOptions
	fake := &fakeClient{listFunc: func(o client.NetworkListOptions) (client.NetworkListResult, error) {
		got = o
		return client.NetworkListResult{Items: listFixture()}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newListCommand(deps), args...); err != nil {
		t.Fatal(err)
	}
	return out.String(), got
}

func TestListTable(t *testing.T) {
	out, _ := listWith(t)
	assertEqual(t, "table", out, strings.Join([]string{
		"NETWORK ID     NAME      DRIVER    SCOPE",
		"b7d1a9e3f4c2   bridge    bridge    local",
		"dd4400000000   host      host      local",
		"ee5500000000   none      null      local",
		"aa1100000000   web2      bridge    local",
		"c0ffee000000   web10     bridge    local",
		"",
	}, "\n"))
}

func TestListQuietNoTruncAndFormats(t *testing.T) {
	out, _ := listWith(t, "-q")
	assertEqual(t, "quiet", out, "b7d1a9e3f4c2\ndd4400000000\nee5500000000\naa1100000000\nc0ffee000000\n")

	out, _ = listWith(t, "--no-trunc", "--format", "{{.ID}} {{.Name}}")
	if !strings.HasPrefix(out, "b7d1a9e3f4c2000000000000000000000000000000000000000000000000beef bridge\n") {
		t.Errorf("no-trunc: %q", out)
	}

	out, _ = listWith(t, "--format", "table {{.Name}}\t{{.Internal}}\t{{.IPv4}}\t{{.Labels}}", "-f", "name=web10")
	assertEqual(t, "table template", strings.Split(out, "\n")[0], "NAME      INTERNAL   IPV4      LABELS")
	assertEqual(t, "labels", strings.Split(out, "\n")[5], "web10     false      true      app=shop,tier=front")

	out, _ = listWith(t, "--format", `{{.Name}}={{.Label "tier"}}`, "-q")
	assertEqual(t, "custom format wins over -q", strings.Split(out, "\n")[4], "web10=front")

	out, _ = listWith(t, "--format", "json")
	var row map[string]string
	if err := json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &row); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "json", row, map[string]string{
		"CreatedAt": "2024-05-01 10:00:00 +0000 UTC", "Driver": "bridge", "ID": "b7d1a9e3f4c2",
		"IPv4": "true", "IPv6": "false", "Internal": "false", "Labels": "", "Name": "bridge", "Scope": "local",
	})
}

func TestListPassesFilters(t *testing.T) {
	_, opts := listWith(t, "-f", "driver=bridge", "--filter", "label=env=prod")
	assertEqual(t, "filters", opts.Filters, client.Filters{}.Add("driver", "bridge").Add("label", "env=prod"))
}

func TestInspect(t *testing.T) {
	var verbose []bool
	fake := &fakeClient{inspectFunc: func(name string, o client.NetworkInspectOptions) (client.NetworkInspectResult, error) {
		verbose = append(verbose, o.Verbose)
		if name == "ghost" {
			return client.NetworkInspectResult{}, fmt.Errorf("Error response from daemon: network ghost not found: %w", cerrdefs.ErrNotFound)
		}
		return client.NetworkInspectResult{Raw: json.RawMessage(`{"Name":"` + name + `","Driver":"bridge","IPAM":{"Config":[{"Subnet":"10.0.0.0/24"}]}}`)}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newInspectCommand(deps), "appnet", "ghost", "bridge")
	assertEqual(t, "array", out.String(), "[\n    {\n        \"Name\": \"appnet\",\n        \"Driver\": \"bridge\",\n        \"IPAM\": {\n            \"Config\": [\n                {\n                    \"Subnet\": \"10.0.0.0/24\"\n                }\n            ]\n        }\n    },\n    {\n        \"Name\": \"bridge\",\n        \"Driver\": \"bridge\",\n        \"IPAM\": {\n            \"Config\": [\n                {\n                    \"Subnet\": \"10.0.0.0/24\"\n                }\n            ]\n        }\n    }\n]\n")
	if err == nil || !cerrdefs.IsNotFound(err) {
		t.Errorf("error: %v", err)
	}

	deps, out, _ = testDeps(fake, "")
	verbose = nil
	if err := execute(t, newInspectCommand(deps), "-v", "-f", "{{.Name}} {{range .IPAM.Config}}{{.Subnet}}{{end}}", "appnet"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "template", out.String(), "appnet 10.0.0.0/24\n")
	assertEqual(t, "verbose", verbose, []bool{true})
}

func TestRemove(t *testing.T) {
	var removed []string
	fake := &fakeClient{removeFunc: func(name string) error {
		switch name {
		case "ghost":
			return fmt.Errorf("Error response from daemon: network ghost not found: %w", cerrdefs.ErrNotFound)
		case "busy":
			return fmt.Errorf("Error response from daemon: error while removing network: network busy has active endpoints: %w", cerrdefs.ErrConflict)
		}
		removed = append(removed, name)
		return nil
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newRemoveCommand(deps), "a", "ghost", "busy", "b")
	assertEqual(t, "stdout", out.String(), "a\nb\n")
	assertEqual(t, "removed", removed, []string{"a", "b"})
	assertEqual(t, "error", fmt.Sprint(err), "Error response from daemon: network ghost not found: not found\n"+
		"Error response from daemon: error while removing network: network busy has active endpoints: conflict")

	deps, out, _ = testDeps(fake, "")
	err = execute(t, newRemoveCommand(deps), "-f", "ghost", "c")
	if err != nil || out.String() != "c\n" {
		t.Errorf("--force: %v %q", err, out.String())
	}
	deps, _, _ = testDeps(fake, "")
	if err := execute(t, newRemoveCommand(deps), "--force", "busy"); err == nil {
		t.Error("--force only ignores missing networks")
	}
}

func TestPrune(t *testing.T) {
	var calls []client.NetworkPruneOptions
	fake := &fakeClient{pruneFunc: func(o client.NetworkPruneOptions) (client.NetworkPruneResult, error) {
		calls = append(calls, o)
		return client.NetworkPruneResult{Report: network.PruneReport{NetworksDeleted: []string{"old1", "old2"}}}, nil
	}}
	const prompt = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] "

	deps, out, _ := testDeps(fake, "n\n")
	if err := execute(t, newPruneCommand(deps)); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "declined", out.String(), prompt)
	assertEqual(t, "no call when declined", len(calls), 0)

	deps, out, _ = testDeps(fake, "y\n")
	if err := execute(t, newPruneCommand(deps), "--filter", "until=24h"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "accepted", out.String(), prompt+"Deleted Networks:\nold1\nold2\n\n")
	assertEqual(t, "filters", calls[0].Filters, client.Filters{}.Add("until", "24h"))

	fake.pruneFunc = func(client.NetworkPruneOptions) (client.NetworkPruneResult, error) {
		return client.NetworkPruneResult{}, nil
	}
	deps, out, _ = testDeps(fake, "")
	if err := execute(t, newPruneCommand(deps), "-f"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "nothing pruned", out.String(), "")
}

func TestConnect(t *testing.T) {
	var gotNet string
	var got client.NetworkConnectOptions
	fake := &fakeClient{connectFunc: func(n string, o client.NetworkConnectOptions) error {
		gotNet, got = n, o
		return nil
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newConnectCommand(deps), "--ip", "10.0.0.7", "--ip6", "fd00::7", "--alias", "db", "--alias", "cache,store",
		"--driver-opt", "k=v", "--gw-priority", "5", "--mac-address", "02:42:ac:11:00:02", "appnet", "web")
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", out.String(), "")
	assertEqual(t, "network", gotNet, "appnet")
	var mac network.HardwareAddr
	_ = mac.UnmarshalText([]byte("02:42:ac:11:00:02"))
	assertEqual(t, "request", got, client.NetworkConnectOptions{
		Container: "web",
		EndpointConfig: &network.EndpointSettings{
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: netip.MustParseAddr("10.0.0.7"), IPv6Address: netip.MustParseAddr("fd00::7")},
			Aliases:    []string{"db", "cache", "store"},
			DriverOpts: map[string]string{"k": "v"},
			GwPriority: 5,
			MacAddress: mac,
		},
	})

	// Without flags docker still sends an (empty) IPAM config.
	deps, _, _ = testDeps(fake, "")
	if err := execute(t, newConnectCommand(deps), "appnet", "web"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "bare", got.EndpointConfig, &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{}, DriverOpts: map[string]string{}})

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--ip", "fd00::1", "n", "c"}, `invalid argument "fd00::1" for "--ip" flag: invalid IP address`},
		{[]string{"--ip6", "10.0.0.1", "n", "c"}, `invalid argument "10.0.0.1" for "--ip6" flag: invalid IP address`},
		{[]string{"--mac-address", "xx", "n", "c"}, `invalid MAC address: "xx"`},
		{[]string{"--driver-opt", "novalue", "n", "c"}, "invalid key/value pair format in driver options"},
		{[]string{"n"}, `"connect" requires exactly 2 arguments.`},
	} {
		got = client.NetworkConnectOptions{}
		deps, _, _ := testDeps(fake, "")
		err := execute(t, newConnectCommand(deps), tt.args...)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want %q", tt.args, err, tt.want)
		}
		if got.Container != "" {
			t.Errorf("%v: a request was sent", tt.args)
		}
	}
}

func TestDisconnect(t *testing.T) {
	var gotNet string
	var got client.NetworkDisconnectOptions
	fake := &fakeClient{disconnectFunc: func(n string, o client.NetworkDisconnectOptions) error {
		gotNet, got = n, o
		return nil
	}}
	deps, _, _ := testDeps(fake, "")
	if err := execute(t, newDisconnectCommand(deps), "-f", "appnet", "web"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "network", gotNet, "appnet")
	assertEqual(t, "request", got, client.NetworkDisconnectOptions{Container: "web", Force: true})
}
