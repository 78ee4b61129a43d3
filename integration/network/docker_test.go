package network

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestDockerCLI drives networking with the real docker CLI against pouchd:
// network create/ls/inspect/connect/disconnect/rm/prune, run with
// --network, --network-alias and -p, and port.
func TestDockerCLI(t *testing.T) {
	t.Parallel()
	testenv.NeedDocker(t)
	docker := func(args ...string) testenv.Result {
		t.Helper()
		return d.Docker(t, nil, args...)
	}
	subnet := freeSubnet(t)
	net1, net2 := testenv.UniqueName(t), testenv.UniqueName(t)
	web, other := testenv.UniqueName(t), testenv.UniqueName(t)
	t.Cleanup(func() {
		docker("rm", "-f", web, other)
		docker("network", "rm", net1, net2)
	})

	id := strings.TrimSpace(d.DockerOK(t, "network", "create", "--subnet", subnet.String(), "--label", "via=docker", net1))
	if !testenv.IsID(id) {
		t.Errorf("docker network create printed %q", id)
	}
	d.DockerOK(t, "network", "create", "--internal", "--subnet", freeSubnet(t).String(), net2)
	if out := d.DockerOK(t, "network", "ls", "--filter", "name="+net1, "--format", "{{.Name}} {{.Driver}} {{.Scope}}"); out != net1+" bridge local\n" {
		t.Errorf("docker network ls: %q", out)
	}
	if out := d.DockerOK(t, "network", "ls", "-q", "--filter", "label=via=docker"); out != id[:12]+"\n" {
		t.Errorf("docker network ls -q --filter label: %q", out)
	}
	if out := d.DockerOK(t, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Internal}}", net1); out != fmt.Sprintf("%s %s false\n", subnet, host(subnet, 1)) {
		t.Errorf("docker network inspect: %q", out)
	}
	if !strings.Contains(d.DockerOK(t, "network", "ls"), "bridge") {
		t.Errorf("docker network ls lacks bridge")
	}

	p := freePort(t)
	d.DockerOK(t, append([]string{"run", "-d", "--name", web, "--network", net1, "--network-alias", "dkweb", "-p", fmt.Sprintf("127.0.0.1:%d:80", p)}, httpdArgs("hello-docker")...)...)
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", p), "hello-docker\n")
	if out := d.DockerOK(t, "port", web, "80"); out != fmt.Sprintf("127.0.0.1:%d\n", p) {
		t.Errorf("docker port: %q", out)
	}
	if out := d.DockerOK(t, "port", web); out != fmt.Sprintf("80/tcp -> 127.0.0.1:%d\n", p) {
		t.Errorf("docker port: %q", out)
	}
	ip := strings.TrimSpace(d.DockerOK(t, "inspect", "-f", fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).IPAddress}}`, net1), web))
	if a := mustAddr(t, "docker inspect IPAddress", ip); !subnet.Contains(a) {
		t.Errorf("docker inspect: %s not in %s", ip, subnet)
	}
	if out := d.DockerOK(t, "ps", "--filter", "name="+web, "--format", "{{.Ports}} {{.Networks}}"); out != fmt.Sprintf("127.0.0.1:%d->80/tcp %s\n", p, net1) {
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
	if err := json.Unmarshal([]byte(d.DockerOK(t, "network", "inspect", net1)), &nets); err != nil || len(nets) != 1 {
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
	d.DockerOK(t, "network", "connect", "--alias", "dkweb2", net2, web)
	if out := d.DockerOK(t, "inspect", "-f", "{{len .NetworkSettings.Networks}}", web); out != "2\n" {
		t.Errorf("after docker network connect: %q networks", out)
	}
	r = docker("run", "--rm", "--network", net2, "busybox", "ping", "-c", "1", "-W", "2", "dkweb2")
	if r.ExitCode != 0 {
		t.Errorf("docker run on %s pinging dkweb2: %s", net2, r.Combined())
	}
	d.DockerOK(t, "network", "disconnect", net2, web)
	if out := d.DockerOK(t, "inspect", "-f", "{{len .NetworkSettings.Networks}}", web); out != "1\n" {
		t.Errorf("after docker network disconnect: %q networks", out)
	}

	// rm of a network in use fails; after the container goes, it works.
	if r := docker("network", "rm", net1); r.ExitCode == 0 {
		t.Errorf("docker network rm of a network in use succeeded")
	}
	d.DockerOK(t, "rm", "-f", web)
	if out := d.DockerOK(t, "network", "rm", net1); out != net1+"\n" {
		t.Errorf("docker network rm: %q", out)
	}
	if r := docker("network", "inspect", net1); r.ExitCode == 0 || !strings.Contains(r.Stderr, "not found") {
		t.Errorf("docker network inspect of a removed network: %s", r.Combined())
	}
	// prune with a label filter removes only the unused labelled network.
	d.DockerOK(t, "network", "create", "--label", "dkprune="+net2, "--subnet", freeSubnet(t).String(), other)
	if out := d.DockerOK(t, "network", "prune", "-f", "--filter", "label=dkprune="+net2); !strings.Contains(out, other) {
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
