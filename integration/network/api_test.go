package network

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestNetworkAPI checks Docker's /networks endpoints: the predefined
// networks, create with IPAM and options, and list filters.
func TestNetworkAPI(t *testing.T) {
	t.Parallel()
	all := listNetworks(t, d, nil)
	drivers := map[string]string{}
	for _, n := range all {
		drivers[n.Name] = n.Driver
	}
	for name, driver := range map[string]string{"bridge": "bridge", "host": "host", "none": "null"} {
		if drivers[name] != driver {
			t.Errorf("GET /networks: %s has driver %q, want %q", name, drivers[name], driver)
		}
	}

	subnet := freeSubnet(t)
	ipRange := netip.PrefixFrom(host(subnet, 64), 26)
	name := testenv.UniqueName(t)
	removeNetworkOnCleanup(t, d, name)
	r := d.ExpectStatus(t, http.StatusCreated, "POST", "/networks/create", map[string]any{
		"Name": name, "Driver": "bridge", "Internal": true,
		"IPAM":    map[string]any{"Driver": "default", "Config": []map[string]string{{"Subnet": subnet.String(), "IPRange": ipRange.String(), "Gateway": host(subnet, 1).String()}}},
		"Labels":  map[string]string{"api": "yes"},
		"Options": map[string]string{"com.docker.network.driver.mtu": "1450"},
	})
	var created struct {
		ID      string `json:"Id"`
		Warning string
	}
	r.JSON(t, &created)
	if !testenv.IsID(created.ID) {
		t.Fatalf("POST /networks/create: %s", r.Body)
	}
	n := inspectNet(t, created.ID)
	if n.Name != name || n.ID != created.ID || n.Driver != "bridge" || !n.Internal || n.Labels["api"] != "yes" || n.Options["com.docker.network.driver.mtu"] != "1450" {
		t.Errorf("GET /networks/%s: %+v", created.ID[:12], n)
	}
	if len(n.IPAM.Config) != 1 || n.IPAM.Config[0].Subnet != subnet.String() || n.IPAM.Config[0].IPRange != ipRange.String() || n.IPAM.Config[0].Gateway != host(subnet, 1).String() {
		t.Errorf("IPAM.Config %+v", n.IPAM.Config)
	}
	if n.Containers == nil {
		t.Errorf("GET /networks/{id}: Containers is null, Docker sends {}")
	}
	// Inspect by name, full ID and ID prefix.
	for _, ref := range []string{name, created.ID, created.ID[:12]} {
		if got := inspectNet(t, ref); got.ID != created.ID {
			t.Errorf("GET /networks/%s: ID %s", ref, got.ID)
		}
	}

	filtered := func(f map[string][]string) []string {
		t.Helper()
		return networkNames(listNetworks(t, d, f))
	}
	if got := filtered(map[string][]string{"name": {name}}); !slices.Equal(got, []string{name}) {
		t.Errorf("filter name=%s: %v", name, got)
	}
	if got := filtered(map[string][]string{"id": {created.ID[:12]}}); !slices.Equal(got, []string{name}) {
		t.Errorf("filter id=%s: %v", created.ID[:12], got)
	}
	if got := filtered(map[string][]string{"label": {"api=yes"}, "name": {name}}); !slices.Equal(got, []string{name}) {
		t.Errorf("filter label=api=yes: %v", got)
	}
	if got := filtered(map[string][]string{"label": {"api"}, "name": {name}}); !slices.Equal(got, []string{name}) {
		t.Errorf("filter label=api: %v", got)
	}
	if got := filtered(map[string][]string{"label": {"api=no"}, "name": {name}}); len(got) != 0 {
		t.Errorf("filter label=api=no: %v", got)
	}
	if got := filtered(map[string][]string{"driver": {"bridge"}}); !slices.Contains(got, name) || !slices.Contains(got, "bridge") || slices.Contains(got, "host") {
		t.Errorf("filter driver=bridge: %v", got)
	}
	if got := filtered(map[string][]string{"type": {"custom"}}); !slices.Contains(got, name) || slices.Contains(got, "bridge") {
		t.Errorf("filter type=custom: %v", got)
	}
	if got := filtered(map[string][]string{"type": {"builtin"}}); !slices.Equal(got, []string{"bridge", "host", "none"}) {
		t.Errorf("filter type=builtin: %v", got)
	}
	if got := filtered(map[string][]string{"dangling": {"true"}, "name": {name}}); !slices.Equal(got, []string{name}) {
		t.Errorf("filter dangling=true on an unused network: %v", got)
	}
	id, _ := d.Sleeper(t, "--network", name)
	if got := filtered(map[string][]string{"dangling": {"true"}, "name": {name}}); len(got) != 0 {
		t.Errorf("filter dangling=true on a network in use: %v", got)
	}
	if got := filtered(map[string][]string{"dangling": {"false"}, "name": {name}}); !slices.Equal(got, []string{name}) {
		t.Errorf("filter dangling=false on a network in use: %v", got)
	}
	// The container's endpoint, through the network and the container.
	n = inspectNet(t, name)
	ep := endpointOf(t, inspect(t, id), name)
	ce, ok := n.Containers[id]
	if !ok || ce.EndpointID != ep.EndpointID || ce.MacAddress != ep.MacAddress || ce.IPv4Address != ep.IPAddress+"/24" || ce.IPv6Address != "" {
		t.Errorf("GET /networks/%s Containers[%s] = %+v, want endpoint %+v", name, id[:12], ce, ep)
	}
	if !ipRange.Contains(mustAddr(t, "IPAddress", ep.IPAddress)) {
		t.Errorf("address %s outside the IP range %s", ep.IPAddress, ipRange)
	}
	// Connect through the API with an address and an alias.
	name2, _, subnet2 := createNetwork(t)
	want := host(subnet2, 77).String()
	d.ExpectStatus(t, http.StatusOK, "POST", "/networks/"+name2+"/connect", map[string]any{
		"Container": id, "EndpointConfig": map[string]any{"IPAMConfig": map[string]any{"IPv4Address": want}, "Aliases": []string{"apialias"}},
	})
	ep2 := endpointOf(t, inspect(t, id), name2)
	if ep2.IPAddress != want || !slices.Contains(ep2.Aliases, "apialias") {
		t.Errorf("endpoint after API connect: %+v, want %s and alias apialias", ep2, want)
	}
	d.ExpectStatus(t, http.StatusOK, "POST", "/networks/"+name2+"/disconnect", map[string]any{"Container": id, "Force": true})
	if _, ok := inspect(t, id).NetworkSettings.Networks[name2]; ok {
		t.Errorf("still on %s after a forced disconnect", name2)
	}
}
