package network

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestDaemonRestart crashes (SIGKILL) and then stops (SIGTERM) a daemon
// with containers running on the default bridge and a user network: after
// each start they keep their addresses and connectivity (the published
// port answers, names resolve), new containers get other addresses, and a
// container that died while the daemon was down is cleaned up. At the end
// nothing is left on the host. It runs on a daemon of its own, alone.
func TestDaemonRestart(t *testing.T) {
	dm := testenv.StartDaemon(t, nil)
	warmUpOn(t, dm)
	before := testenv.CaptureHostNetState()

	netName, _, _ := createNetworkOn(t, dm)
	p := freePort(t)
	id1, web := dm.RunDetached(t, append([]string{"--network", netName, "--network-alias", "websvc", "-p", fmt.Sprintf("127.0.0.1:%d:80", p)}, httpdArgs("hello-restart")...)...)
	id2, _ := dm.RunDetached(t, "busybox", "sleep", "300")
	url := fmt.Sprintf("http://127.0.0.1:%d/", p)
	waitHTTP(t, url, "hello-restart\n")
	ip1 := endpointOf(t, inspectOn(t, dm, id1), netName).IPAddress
	ip2 := endpointOf(t, inspectOn(t, dm, id2), "bridge").IPAddress

	check := func(t *testing.T, how string) {
		t.Helper()
		c1, c2 := inspectOn(t, dm, id1), inspectOn(t, dm, id2)
		if !c1.State.Running || !c2.State.Running {
			t.Fatalf("after %s: running %v %v", how, c1.State.Running, c2.State.Running)
		}
		if got := endpointOf(t, c1, netName).IPAddress; got != ip1 {
			t.Errorf("after %s: %s on %s has %s, had %s", how, web, netName, got, ip1)
		}
		if got := endpointOf(t, c2, "bridge").IPAddress; got != ip2 {
			t.Errorf("after %s: the bridge container has %s, had %s", how, got, ip2)
		}
		// The addresses are still on the interfaces.
		if a := ipv4Addrs(t, c1.State.Pid); len(a) != 1 || !strings.HasPrefix(a[0], ip1+"/") {
			t.Errorf("after %s: addresses inside %s: %v", how, web, a)
		}
		waitHTTP(t, url, "hello-restart\n")
		out := dm.Sh(t, []string{"--network", netName}, fmt.Sprintf(`
			for n in %s websvc; do ping -c 1 -W 2 $n >/dev/null && echo "$n ok"; done
			ip -o -4 addr show eth0 | awk '{print "new " $4}'`, web))
		if !strings.Contains(out, web+" ok") || !strings.Contains(out, "websvc ok") {
			t.Errorf("after %s: names do not resolve:\n%s", how, out)
		}
		if strings.Contains(out, "new "+ip1+"/") {
			t.Errorf("after %s: a new container got %s's address %s", how, web, ip1)
		}
		out = dm.Sh(t, nil, "ip -o -4 addr show eth0 | awk '{print $4}'; ping -c 1 -W 2 "+ip2+" >/dev/null && echo reach")
		if strings.HasPrefix(out, ip2+"/") {
			t.Errorf("after %s: a new container on the bridge got %s again", how, ip2)
		}
		if !strings.Contains(out, "reach") {
			t.Errorf("after %s: %s on the bridge is unreachable:\n%s", how, ip2, out)
		}
		// Addresses handed out later do not collide either: a container
		// kept running gets a third address.
		id3, _ := dm.RunDetached(t, "--network", netName, "busybox", "sleep", "300")
		if ip3 := endpointOf(t, inspectOn(t, dm, id3), netName).IPAddress; ip3 == ip1 {
			t.Errorf("after %s: a new container got %s", how, ip1)
		}
	}

	t.Run("kill", func(t *testing.T) {
		// A container published on another port dies while the daemon is
		// down: the next start cleans its network up.
		p2 := freePort(t)
		id4, _ := dm.RunDetached(t, append([]string{"-p", fmt.Sprintf("127.0.0.1:%d:80", p2)}, httpdArgs("dies")...)...)
		waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p2), "dies\n")
		pid4 := inspectOn(t, dm, id4).State.Pid
		shim := testenv.ParentPid(pid4)

		dm.Kill()
		_ = syscall.Kill(pid4, syscall.SIGKILL)
		if shim > 1 {
			_ = syscall.Kill(shim, syscall.SIGKILL)
		}
		if err := dm.Start(); err != nil {
			t.Fatal(err)
		}
		check(t, "kill -9 and start")
		c4 := inspectOn(t, dm, id4)
		if c4.State.Running {
			t.Fatalf("container killed while the daemon was down runs: %+v", c4.State)
		}
		// Its port is free and its netns and veth are gone.
		testenv.Eventually(t, 10*time.Second, fmt.Sprintf("port %d to be released", p2), func() bool {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p2))
			if err == nil {
				l.Close()
			}
			return err == nil
		})
		if _, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", p2)); err == nil {
			t.Errorf("port %d still answers", p2)
		}
		if m := nsMountsMentioning(id4); len(m) > 0 {
			t.Errorf("netns of the dead container left: %v", m)
		}
	})

	t.Run("stop", func(t *testing.T) {
		if err := dm.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := dm.Start(); err != nil {
			t.Fatal(err)
		}
		check(t, "stop and start")
	})

	// Remove everything, then nothing of it may be left.
	for _, ref := range []string{id1, id2} {
		dm.PouchOK(t, "rm", "-f", ref)
	}
	removeAll(t, dm)
	if r := removeNetwork(t, dm, netName); r.Status != http.StatusNoContent {
		t.Errorf("remove network %s: %d %s", netName, r.Status, r.Body)
	}
	if diff := testenv.WaitHostNetState(before, 10*time.Second); diff != "" {
		t.Errorf("after removing every container and network of the restarted daemon, the host's network changed:\n%s", diff)
	}
}

// removeAll force-removes every container of the daemon.
func removeAll(t *testing.T, dm *testenv.Daemon) {
	t.Helper()
	var cs []struct {
		ID string `json:"Id"`
	}
	dm.Do(t, "GET", "/containers/json?all=1", nil).JSON(t, &cs)
	for _, c := range cs {
		dm.Do(t, "DELETE", "/containers/"+c.ID+"?force=1", nil)
	}
}

// warmUpOn is warmUp on another daemon.
func warmUpOn(t *testing.T, dm *testenv.Daemon) {
	t.Helper()
	name := testenv.UniqueName(t)
	subnet := freeSubnet(t)
	dm.PouchOK(t, "network", "create", "--subnet", subnet.String(), name)
	for _, opts := range [][]string{
		{"-p", fmt.Sprintf("127.0.0.1:%d:80", freePort(t))},
		{"--network", name, "-p", fmt.Sprintf("127.0.0.1:%d:80", freePort(t))},
	} {
		dm.Sh(t, opts, "true")
	}
	if r := removeNetwork(t, dm, name); r.Status != http.StatusNoContent {
		t.Fatalf("warm-up: remove network %s: %d %s", name, r.Status, r.Body)
	}
}

// nsMountsMentioning lists nsfs mounts whose path names the container.
func nsMountsMentioning(id string) []string {
	var out []string
	for _, m := range testenv.CaptureHostNetState().Netns {
		if strings.Contains(m, id) || strings.Contains(m, id[:12]) {
			out = append(out, m)
		}
	}
	return out
}
