package cni

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
)

func testBridge() Bridge {
	return Bridge{
		Name: NetworkName("abc"), Bridge: "pn-abc", MTU: 1400,
		Subnet: netip.MustParsePrefix("10.1.0.0/24"), Gateway: netip.MustParseAddr("10.1.0.1"),
		IPTables: true,
	}
}

func testEndpoint() Endpoint {
	return Endpoint{
		ContainerID: "c1", NetNS: "/run/ns/c1", IfName: "eth0",
		IP: netip.MustParseAddr("10.1.0.5"), MAC: "02:42:0a:01:00:05",
	}
}

// plugins decodes the plugin chain of an endpoint's configuration.
func plugins(t *testing.T, net Bridge, ep Endpoint) []map[string]any {
	t.Helper()
	list, err := conflist(net, ep)
	if err != nil {
		t.Fatalf("conflist: %v", err)
	}
	if list.Name != net.Name || list.CNIVersion != Version {
		t.Errorf("list name %q version %q", list.Name, list.CNIVersion)
	}
	var raw struct {
		Plugins []map[string]any `json:"plugins"`
	}
	if err := json.Unmarshal(list.Bytes, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Plugins) != len(list.Plugins) {
		t.Fatalf("libcni parsed %d plugins of %d", len(list.Plugins), len(raw.Plugins))
	}
	return raw.Plugins
}

// jsonOf renders v as the configuration holds it, to compare with what
// was decoded.
func jsonOf(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConflistBridgeWithStaticAddress(t *testing.T) {
	ps := plugins(t, testBridge(), testEndpoint())
	if len(ps) != 1 {
		t.Fatalf("plugins %v, want the bridge alone (no ports)", ps)
	}
	br := ps[0]
	if br["type"] != "bridge" || br["bridge"] != "pn-abc" || br["isGateway"] != true || br["hairpinMode"] != true {
		t.Errorf("bridge plugin %v", br)
	}
	if br["mtu"] != float64(1400) {
		t.Errorf("mtu %v, want 1400", br["mtu"])
	}
	if !reflect.DeepEqual(br["capabilities"], jsonOf(t, map[string]bool{"mac": true})) {
		t.Errorf("capabilities %v, want mac", br["capabilities"])
	}
	wantIPAM := jsonOf(t, map[string]any{
		"type":      "static",
		"addresses": []any{map[string]any{"address": "10.1.0.5/24", "gateway": "10.1.0.1"}},
		"routes":    []any{map[string]any{"dst": "0.0.0.0/0"}},
	})
	if !reflect.DeepEqual(br["ipam"], wantIPAM) {
		t.Errorf("ipam\n got %v\nwant %v", br["ipam"], wantIPAM)
	}
	// Masquerade is the network's rule, not the plugin's.
	if _, ok := br["ipMasq"]; ok {
		t.Errorf("ipMasq set: %v", br)
	}
}

func TestConflistInternalHasNoDefaultRoute(t *testing.T) {
	net := testBridge()
	net.Internal = true
	ipam := plugins(t, net, testEndpoint())[0]["ipam"].(map[string]any)
	if routes := ipam["routes"].([]any); len(routes) != 0 {
		t.Errorf("internal network routes %v, want none", routes)
	}
	addr := ipam["addresses"].([]any)[0].(map[string]any)
	if addr["address"] != "10.1.0.5/24" || addr["gateway"] != "10.1.0.1" {
		t.Errorf("internal network address %v", addr)
	}
}

func TestConflistWithoutGatewayHasNoRoute(t *testing.T) {
	net := testBridge()
	net.Gateway = netip.Addr{}
	br := plugins(t, net, testEndpoint())[0]
	ipam := br["ipam"].(map[string]any)
	if routes := ipam["routes"].([]any); len(routes) != 0 {
		t.Errorf("routes %v without a gateway", routes)
	}
	if _, ok := ipam["addresses"].([]any)[0].(map[string]any)["gateway"]; ok || br["isGateway"] != false {
		t.Errorf("gateway set without one: %v", br)
	}
}

func TestConflistMTU(t *testing.T) {
	net := testBridge()
	net.MTU = 0
	if br := plugins(t, net, testEndpoint())[0]; br["mtu"] != nil {
		t.Errorf("mtu %v for MTU 0, want the plugin's default", br["mtu"])
	}
}

func TestConflistPortmap(t *testing.T) {
	withPorts := testEndpoint()
	withPorts.Ports = []PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
	noIPTables := testBridge()
	noIPTables.IPTables = false
	for _, tc := range []struct {
		name    string
		net     Bridge
		ep      Endpoint
		portmap bool
	}{
		{"ports and iptables", testBridge(), withPorts, true},
		{"no ports", testBridge(), testEndpoint(), false},
		{"ports without iptables", noIPTables, withPorts, false},
	} {
		ps := plugins(t, tc.net, tc.ep)
		var pm map[string]any
		for _, p := range ps {
			if p["type"] == "portmap" {
				pm = p
			}
		}
		if (pm != nil) != tc.portmap {
			t.Errorf("%s: plugins %v; want portmap %v", tc.name, ps, tc.portmap)
			continue
		}
		if pm == nil {
			continue
		}
		if ps[len(ps)-1]["type"] != "portmap" {
			t.Errorf("%s: portmap is not after the bridge: %v", tc.name, ps)
		}
		if !reflect.DeepEqual(pm["capabilities"], jsonOf(t, map[string]bool{"portMappings": true})) || pm["snat"] != true {
			t.Errorf("%s: portmap %v", tc.name, pm)
		}
	}
}

func TestConflistRefusesAddressOutsideSubnet(t *testing.T) {
	for _, ip := range []netip.Addr{{}, netip.MustParseAddr("10.2.0.5"), netip.MustParseAddr("fd00::5")} {
		ep := testEndpoint()
		ep.IP = ip
		if list, err := conflist(testBridge(), ep); err == nil {
			t.Errorf("address %s: got %s, want an error", ip, list.Bytes)
		}
	}
}

func TestRuntimeConf(t *testing.T) {
	ep := testEndpoint()
	ep.Ports = []PortMapping{
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 5353, ContainerPort: 53, Protocol: "udp"},
		{HostIP: netip.IPv4Unspecified(), HostPort: 9000, ContainerPort: 90, Protocol: "tcp"},
	}
	rt := runtimeConf(ep)
	if rt.ContainerID != "c1" || rt.NetNS != "/run/ns/c1" || rt.IfName != "eth0" {
		t.Errorf("runtime conf %+v", rt)
	}
	if rt.CapabilityArgs["mac"] != "02:42:0a:01:00:05" {
		t.Errorf("mac capability %v", rt.CapabilityArgs["mac"])
	}
	want := []map[string]any{
		{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
		{"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"},
		{"hostPort": 9000, "containerPort": 90, "protocol": "tcp"}, // 0.0.0.0: every address
	}
	if got := rt.CapabilityArgs["portMappings"]; !reflect.DeepEqual(jsonOf(t, got), jsonOf(t, want)) {
		t.Errorf("portMappings\n got %v\nwant %v", got, want)
	}

	bare := runtimeConf(Endpoint{ContainerID: "c2", IfName: "eth1"})
	if _, ok := bare.CapabilityArgs["mac"]; ok {
		t.Errorf("mac capability without a MAC: %v", bare.CapabilityArgs)
	}
	if _, ok := bare.CapabilityArgs["portMappings"]; ok {
		t.Errorf("portMappings without ports: %v", bare.CapabilityArgs)
	}
}

func TestNetworkName(t *testing.T) {
	if got := NetworkName("abc"); got != "pouch-abc" {
		t.Errorf("NetworkName = %q; want pouch-abc, apart from other runtimes' names", got)
	}
}
