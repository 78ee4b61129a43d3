package network

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestDockerCLI drives networking with the real docker CLI against pouchd:
// network create/ls/inspect/connect/disconnect/rm/prune, run with
// --network, --network-alias and -p, and port.
func TestDockerCLI(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	docker := func(args ...string) testenv.Result {
		t.Helper()
		return d.Docker(t, nil, args...)
	}
	ok := func(args ...string) string {
		t.Helper()
		r := docker(args...)
		if r.ExitCode != 0 {
			t.Fatalf("docker %s: exit %d\n%s", strings.Join(args, " "), r.ExitCode, r.Combined())
		}
		return r.Stdout
	}
	subnet := freeSubnet(t)
	net1, net2 := uniqueName(t), uniqueName(t)
	web, other := uniqueName(t), uniqueName(t)
	t.Cleanup(func() {
		docker("rm", "-f", web, other)
		docker("network", "rm", net1, net2)
	})

	id := strings.TrimSpace(ok("network", "create", "--subnet", subnet.String(), "--label", "via=docker", net1))
	if !hexID.MatchString(id) {
		t.Errorf("docker network create printed %q", id)
	}
	ok("network", "create", "--internal", "--subnet", freeSubnet(t).String(), net2)
	if out := ok("network", "ls", "--filter", "name="+net1, "--format", "{{.Name}} {{.Driver}} {{.Scope}}"); out != net1+" bridge local\n" {
		t.Errorf("docker network ls: %q", out)
	}
	if out := ok("network", "ls", "-q", "--filter", "label=via=docker"); out != id[:12]+"\n" {
		t.Errorf("docker network ls -q --filter label: %q", out)
	}
	if out := ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Internal}}", net1); out != fmt.Sprintf("%s %s false\n", subnet, host(subnet, 1)) {
		t.Errorf("docker network inspect: %q", out)
	}
	if !strings.Contains(ok("network", "ls"), "bridge") {
		t.Errorf("docker network ls lacks bridge")
	}

	p := freePort(t)
	ok(append([]string{"run", "-d", "--name", web, "--network", net1, "--network-alias", "dkweb", "-p", fmt.Sprintf("127.0.0.1:%d:80", p)}, httpdArgs("hello-docker")...)...)
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p), "hello-docker\n")
	if out := ok("port", web, "80"); out != fmt.Sprintf("127.0.0.1:%d\n", p) {
		t.Errorf("docker port: %q", out)
	}
	if out := ok("port", web); out != fmt.Sprintf("80/tcp -> 127.0.0.1:%d\n", p) {
		t.Errorf("docker port: %q", out)
	}
	ip := strings.TrimSpace(ok("inspect", "-f", fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).IPAddress}}`, net1), web))
	if a := mustAddr(t, "docker inspect IPAddress", ip); !subnet.Contains(a) {
		t.Errorf("docker inspect: %s not in %s", ip, subnet)
	}
	if out := ok("ps", "--filter", "name="+web, "--format", "{{.Ports}} {{.Networks}}"); out != fmt.Sprintf("127.0.0.1:%d->80/tcp %s\n", p, net1) {
		t.Errorf("docker ps --format '{{.Ports}} {{.Networks}}': %q", out)
	}
	r := docker("run", "--rm", "--network", net1, "busybox", "sh", "-c", "ping -c 1 -W 2 dkweb >/dev/null && ping -c 1 -W 2 "+web+" >/dev/null && echo both")
	if r.ExitCode != 0 || r.Stdout != "both\n" {
		t.Errorf("docker run on %s pinging dkweb and %s: %s", net1, web, r.Combined())
	}
	// The network lists its container.
	var nets []struct {
		Containers map[string]struct{ Name, IPv4Address string }
	}
	if err := json.Unmarshal([]byte(ok("network", "inspect", net1)), &nets); err != nil || len(nets) != 1 {
		t.Fatalf("docker network inspect: %v", err)
	}
	found := false
	for _, c := range nets[0].Containers {
		found = found || (c.Name == web && strings.HasPrefix(c.IPv4Address, ip+"/"))
	}
	if !found {
		t.Errorf("docker network inspect Containers %+v lacks %s %s", nets[0].Containers, web, ip)
	}

	// connect, disconnect.
	ok("network", "connect", "--alias", "dkweb2", net2, web)
	if out := ok("inspect", "-f", "{{len .NetworkSettings.Networks}}", web); out != "2\n" {
		t.Errorf("after docker network connect: %q networks", out)
	}
	r = docker("run", "--rm", "--network", net2, "busybox", "ping", "-c", "1", "-W", "2", "dkweb2")
	if r.ExitCode != 0 {
		t.Errorf("docker run on %s pinging dkweb2: %s", net2, r.Combined())
	}
	ok("network", "disconnect", net2, web)
	if out := ok("inspect", "-f", "{{len .NetworkSettings.Networks}}", web); out != "1\n" {
		t.Errorf("after docker network disconnect: %q networks", out)
	}

	// rm of a network in use fails; after the container goes, it works.
	if r := docker("network", "rm", net1); r.ExitCode == 0 {
		t.Errorf("docker network rm of a network in use succeeded")
	}
	ok("rm", "-f", web)
	if out := ok("network", "rm", net1); out != net1+"\n" {
		t.Errorf("docker network rm: %q", out)
	}
	if r := docker("network", "inspect", net1); r.ExitCode == 0 || !strings.Contains(r.Stderr, "not found") {
		t.Errorf("docker network inspect of a removed network: %s", r.Combined())
	}
	// prune with a label filter removes only the unused labelled network.
	ok("network", "create", "--label", "dkprune="+net2, "--subnet", freeSubnet(t).String(), other)
	if out := ok("network", "prune", "-f", "--filter", "label=dkprune="+net2); !strings.Contains(out, other) {
		t.Errorf("docker network prune: %q", out)
	}
	if r := docker("network", "inspect", other); r.ExitCode == 0 {
		t.Errorf("%s survived docker network prune", other)
	}
	// A bad request is an error, not a crash.
	if r := docker("run", "--rm", "--network", "nosuchnet-dk", "busybox", "true"); r.ExitCode != 125 || !strings.Contains(r.Stderr, "nosuchnet-dk") {
		t.Errorf("docker run --network nosuchnet-dk: %s", r.Combined())
	}
}
