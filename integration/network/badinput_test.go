package network

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestBadInput checks that bad networking input gets a clear error of the
// right class and changes nothing: no container, network, link, netns or
// iptables rule appears. It compares the host's whole network state, so
// it runs alone.
func TestBadInput(t *testing.T) {
	warmUp(t)
	netName, _, subnet := createNetwork(t)
	created := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, created)
	d.PouchOK(t, "create", "--name", created, "busybox", "true")
	beforeNets := networkNames(listNetworks(t, d, nil))
	beforeCount := containerCount(t, d)
	before := testenv.CaptureHostNetState()

	outside := netip.MustParseAddr("203.0.113.9").String()
	create := func(hostConfig, netConfig map[string]any) map[string]any {
		body := map[string]any{"Image": "busybox", "Cmd": []string{"true"}}
		if hostConfig != nil {
			body["HostConfig"] = hostConfig
		}
		if netConfig != nil {
			body["NetworkingConfig"] = map[string]any{"EndpointsConfig": netConfig}
		}
		return body
	}

	t.Run("api", func(t *testing.T) {
		for _, tc := range []struct {
			what   string
			want   []int
			method string
			path   string
			body   any
		}{
			// 400, not 404: clients take a 404 from a create for a missing
			// image and try to pull it.
			{"unknown network", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"NetworkMode": "nosuchnet-x"}, nil)},
			{"unknown network in EndpointsConfig", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"NetworkMode": "nosuchnet-x"}, map[string]any{"nosuchnet-x": map[string]any{}})},
			{"unknown container:", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"NetworkMode": "container:nosuchcontainer-x"}, nil)},
			{"--ip outside the subnet", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"NetworkMode": netName}, map[string]any{netName: map[string]any{"IPAMConfig": map[string]any{"IPv4Address": outside}}})},
			{"--ip that is not an address", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"NetworkMode": netName}, map[string]any{netName: map[string]any{"IPAMConfig": map[string]any{"IPv4Address": "10.0.0.300"}}})},
			{"--ip on the default bridge", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"NetworkMode": "bridge"}, map[string]any{"bridge": map[string]any{"IPAMConfig": map[string]any{"IPv4Address": host(d.BridgeSubnet(), 30).String()}}})},
			{"alias on the default bridge", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"NetworkMode": "bridge"}, map[string]any{"bridge": map[string]any{"Aliases": []string{"x"}}})},
			{"bad MAC", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"NetworkMode": netName}, map[string]any{netName: map[string]any{"MacAddress": "not-a-mac"}})},
			{"bad host port", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"PortBindings": map[string]any{"80/tcp": []map[string]string{{"HostPort": "abc"}}}}, nil)},
			{"host port out of range", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"PortBindings": map[string]any{"80/tcp": []map[string]string{{"HostPort": "70000"}}}}, nil)},
			{"bad host IP", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"PortBindings": map[string]any{"80/tcp": []map[string]string{{"HostIp": "1.2.3", "HostPort": "8080"}}}}, nil)},
			{"bad container port", []int{http.StatusBadRequest}, "POST", "/containers/create",
				create(map[string]any{"PortBindings": map[string]any{"http/tcp": []map[string]string{{"HostPort": "8080"}}}}, nil)},
			{"inspect unknown network", []int{http.StatusNotFound}, "GET", "/networks/nosuchnet-x", nil},
			{"remove unknown network", []int{http.StatusNotFound}, "DELETE", "/networks/nosuchnet-x", nil},
			{"connect to an unknown network", []int{http.StatusNotFound}, "POST", "/networks/nosuchnet-x/connect", map[string]any{"Container": "nosuchcontainer-x"}},
			{"connect an unknown container", []int{http.StatusNotFound}, "POST", "/networks/" + netName + "/connect", map[string]any{"Container": "nosuchcontainer-x"}},
			{"disconnect an unknown container", []int{http.StatusNotFound}, "POST", "/networks/" + netName + "/disconnect", map[string]any{"Container": "nosuchcontainer-x"}},
			{"duplicate network name", []int{http.StatusConflict}, "POST", "/networks/create", map[string]any{"Name": netName}},
			{"overlapping subnet (user network)", []int{http.StatusBadRequest, http.StatusForbidden, http.StatusConflict}, "POST", "/networks/create",
				netBody("ovl1", netip.PrefixFrom(subnet.Addr(), 25).String(), "", "")},
			{"overlapping subnet (default bridge)", []int{http.StatusBadRequest, http.StatusForbidden, http.StatusConflict}, "POST", "/networks/create",
				netBody("ovl2", d.BridgeSubnet().String(), "", "")},
			{"same subnet, wider", []int{http.StatusBadRequest, http.StatusForbidden, http.StatusConflict}, "POST", "/networks/create",
				netBody("ovl3", netip.PrefixFrom(subnet.Addr(), 16).Masked().String(), "", "")},
			{"gateway outside the subnet", []int{http.StatusBadRequest}, "POST", "/networks/create",
				netBody("badgw", freeSubnet(t).String(), outside, "")},
			{"ip-range outside the subnet", []int{http.StatusBadRequest}, "POST", "/networks/create",
				netBody("badrange", freeSubnet(t).String(), "", "203.0.113.0/28")},
			{"malformed subnet", []int{http.StatusBadRequest}, "POST", "/networks/create",
				netBody("badsubnet", "10.1.2.0/33", "", "")},
			{"unsupported driver", []int{http.StatusBadRequest, http.StatusNotFound}, "POST", "/networks/create",
				map[string]any{"Name": "baddriver", "Driver": "nosuchdriver"}},
			{"bridge name too long", []int{http.StatusBadRequest}, "POST", "/networks/create",
				map[string]any{"Name": "badbridge", "Options": map[string]string{"com.docker.network.bridge.name": "averyveryverylongbridgename"}}},
			{"bad MTU", []int{http.StatusBadRequest}, "POST", "/networks/create",
				map[string]any{"Name": "badmtu", "Options": map[string]string{"com.docker.network.driver.mtu": "lots"}}},
			{"missing name", []int{http.StatusBadRequest}, "POST", "/networks/create", map[string]any{"Driver": "bridge"}},
			{"predefined name", []int{http.StatusConflict, http.StatusForbidden, http.StatusBadRequest}, "POST", "/networks/create", map[string]any{"Name": "host"}},
			{"bad filter", []int{http.StatusBadRequest}, "GET", `/networks?filters={"nosuchfilter":["x"]}`, nil},
		} {
			r := d.Do(t, tc.method, strings.ReplaceAll(tc.path, `"`, "%22"), tc.body)
			if !slices.Contains(tc.want, r.Status) {
				t.Errorf("%s: %s %s: %d %s, want one of %v", tc.what, tc.method, tc.path, r.Status, r.Body, tc.want)
			} else if r.Message() == "" {
				t.Errorf("%s: error without a message: %s", tc.what, r.Body)
			}
			if r.Status == http.StatusCreated {
				// Remove what should not have been made.
				var created struct {
					ID string `json:"Id"`
				}
				r.JSON(t, &created)
				if strings.HasPrefix(tc.path, "/networks") {
					d.Do(t, "DELETE", "/networks/"+created.ID, nil)
				} else {
					d.Do(t, "DELETE", "/containers/"+created.ID+"?force=1", nil)
				}
			}
		}
	})

	t.Run("cli", func(t *testing.T) {
		for _, tc := range []struct {
			args     []string
			mentions string
		}{
			{[]string{"run", "--rm", "--network", "nosuchnet-x", "busybox", "true"}, "nosuchnet-x"},
			{[]string{"run", "--rm", "--network", netName, "--ip", outside, "busybox", "true"}, outside},
			{[]string{"run", "--rm", "--network", netName, "--ip", "notanip", "busybox", "true"}, "notanip"},
			{[]string{"run", "--rm", "-p", "80:80:80:80", "busybox", "true"}, "80:80"},
			{[]string{"run", "--rm", "-p", "abc:80", "busybox", "true"}, "abc"},
			{[]string{"run", "--rm", "-p", "70000:80", "busybox", "true"}, "70000"},
			{[]string{"run", "--rm", "-p", "8080:80/xyz", "busybox", "true"}, "xyz"},
			{[]string{"run", "--rm", "-p", "1000-1001:80-82", "busybox", "true"}, ""},
			{[]string{"run", "--rm", "-p", "", "busybox", "true"}, ""},
			{[]string{"run", "--rm", "--expose", "abc", "busybox", "true"}, "abc"},
			{[]string{"run", "--rm", "--mac-address", "zz:zz", "busybox", "true"}, "zz:zz"},
			{[]string{"run", "--rm", "--add-host", "nocolon", "busybox", "true"}, "nocolon"},
			{[]string{"run", "--rm", "--add-host", "h:notanip", "busybox", "true"}, "notanip"},
			{[]string{"run", "--rm", "--dns", "notanip", "busybox", "true"}, "notanip"},
			{[]string{"network", "create", "--subnet", "10.1.2.0/33", "badsubnet-cli"}, "10.1.2.0/33"},
			{[]string{"network", "create", "--subnet", d.BridgeSubnet().String(), "overlap-cli"}, ""},
			{[]string{"network", "connect", "nosuchnet-x", created}, "nosuchnet-x"},
			{[]string{"network", "rm", "nosuchnet-x"}, "nosuchnet-x"},
		} {
			res := d.Pouch(t, nil, tc.args...)
			want := 1
			if tc.args[0] == "run" {
				want = 125
			}
			if res.ExitCode != want || res.Stderr == "" || !strings.Contains(res.Stderr, tc.mentions) {
				t.Errorf("pouch %s: exit %d %q; want %d and an error naming %q", strings.Join(tc.args, " "), res.ExitCode, res.Combined(), want, tc.mentions)
			}
			if strings.Contains(res.Stderr, "panic") || strings.Contains(res.Stderr, "goroutine ") {
				t.Errorf("pouch %s crashed:\n%s", strings.Join(tc.args, " "), res.Stderr)
			}
		}
	})

	// Nothing changed.
	if got := networkNames(listNetworks(t, d, nil)); !slices.Equal(got, beforeNets) {
		t.Errorf("networks after bad input %v, before %v", got, beforeNets)
	}
	if n := containerCount(t, d); n != beforeCount {
		t.Errorf("%d containers after bad input, %d before", n, beforeCount)
	}
	if diff := testenv.WaitHostNetState(before, 10*time.Second); diff != "" {
		t.Errorf("bad input changed the host's network:\n%s", diff)
	}
}

// netBody is a POST /networks/create body.
func netBody(name, subnet, gateway, ipRange string) map[string]any {
	cfg := map[string]string{"Subnet": subnet}
	if gateway != "" {
		cfg["Gateway"] = gateway
	}
	if ipRange != "" {
		cfg["IPRange"] = ipRange
	}
	return map[string]any{"Name": name, "Driver": "bridge", "IPAM": map[string]any{"Config": []map[string]string{cfg}}}
}
