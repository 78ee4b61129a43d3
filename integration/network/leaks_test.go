package network

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestNoLeaks runs containers in every networking shape and removes them:
// afterwards the host has exactly the links, network namespaces and
// iptables rules it had before (`ip -o link`, nsfs mounts, iptables-save
// without counters). It compares the host's whole network state, so it
// runs alone.
func TestNoLeaks(t *testing.T) {
	warmUp(t)
	before := testenv.CaptureHostNetState()

	net1, _, _ := createNetwork(t)
	net2, _, _ := createNetwork(t, "--internal")
	p1, p2 := freePort(t), freePort(t)
	var ids []string
	add := func(id, _ string) { ids = append(ids, id) }

	add(d.RunDetached(t, append([]string{"-p", fmt.Sprintf("127.0.0.1:%d:80", p1), "-p", "127.0.0.1::81/udp"}, httpdArgs("leak1")...)...))
	add(d.RunDetached(t, append([]string{"--network", net1, "--network-alias", "leaky", "-p", fmt.Sprintf("127.0.0.1:%d:80", p2)}, httpdArgs("leak2")...)...))
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p1), "leak1\n")
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p2), "leak2\n")
	id3, name3 := d.Sleeper(t, "--network", net1)
	add(id3, name3)
	d.PouchOK(t, "network", "connect", net2, name3)
	d.PouchOK(t, "network", "connect", "bridge", name3)
	d.PouchOK(t, "network", "disconnect", "bridge", name3)
	add(d.Sleeper(t, "--network", "container:"+name3))
	add(d.Sleeper(t, "--network", "none"))
	add(d.Sleeper(t, "--network", "host"))
	// Stopped, restarted and stopped again.
	id7, name7 := d.Sleeper(t, "--network", net2, "-p", "127.0.0.1::80")
	add(id7, name7)
	d.PouchOK(t, "stop", "-t", "1", name7)
	d.PouchOK(t, "start", name7)
	d.PouchOK(t, "restart", "-t", "1", name7)
	d.PouchOK(t, "stop", "-t", "1", name7)
	// A start that fails after the network is set up.
	bad := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, bad)
	if res := d.Pouch(t, nil, "run", "--name", bad, "--network", net1, "-p", "127.0.0.1::80", "busybox", "nosuchcommand"); res.ExitCode != 127 {
		t.Errorf("run of a missing command: exit %d %s", res.ExitCode, res.Combined())
	}
	// --rm containers, which exit on their own.
	for _, opts := range [][]string{nil, {"--network", net1}, {"-p", "127.0.0.1::80"}} {
		d.Sh(t, opts, "true")
	}

	// Remove all, then the networks.
	var ips []string
	for _, id := range ids {
		for _, ep := range inspect(t, id).NetworkSettings.Networks {
			if ep.IPAddress != "" {
				ips = append(ips, ep.IPAddress)
			}
		}
	}
	for _, ref := range append(ids, bad) {
		d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/containers/"+ref+"?force=1", nil)
	}
	for _, n := range []string{net1, net2} {
		if r := removeNetwork(t, d, n); r.Status != http.StatusNoContent {
			t.Errorf("remove network %s: %d %s", n, r.Status, r.Body)
		}
	}
	if diff := testenv.WaitHostNetState(before, 10*time.Second); diff != "" {
		t.Errorf("after removing every container and network, the host's network changed:\n%s", diff)
	}
	rules := testenv.IptablesRules()
	for _, id := range ids {
		if m := nsMountsMentioning(id); len(m) > 0 {
			t.Errorf("netns of %s left: %v", id[:12], m)
		}
		if strings.Contains(rules, id) {
			t.Errorf("iptables rules mention removed container %s:\n%s", id[:12], grepLines(rules, id))
		}
	}
	for _, ip := range ips {
		if strings.Contains(rules, ip+"/") || strings.Contains(rules, ip+":") {
			t.Errorf("iptables rules mention removed address %s:\n%s", ip, grepLines(rules, ip))
		}
	}
}
