package mounts

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestDockerCLI: docker run -v and --mount (volumes, binds, tmpfs,
// read-only), --volumes-from, docker inspect's Mounts and docker rm -v,
// against pouchd.
func TestDockerCLI(t *testing.T) {
	t.Parallel()
	testenv.NeedDocker(t)
	vols := trackVolumes(t, d)
	vol := vols.name(t)
	host := t.TempDir()
	writeFile(t, filepath.Join(host, "h"), "from host\n")
	dockerRun := func(args ...string) string {
		t.Helper()
		return d.DockerOK(t, append([]string{"run", "--rm"}, args...)...)
	}

	// -v then --mount through a named volume; copy-up on the way.
	if out := dockerRun("-v", vol+":/etc", "busybox", "sh", "-c", "head -n 1 /etc/passwd; echo hi > /etc/greeting"); out != busyboxPasswd {
		t.Errorf("docker run -v NAME:/etc: %q", out)
	}
	if out := dockerRun("--mount", "type=volume,src="+vol+",dst=/v,readonly", "busybox", "sh", "-c", "cat /v/greeting; touch /v/x 2>/dev/null || echo ro"); out != "hi\nro\n" {
		t.Errorf("docker run --mount readonly: %q", out)
	}
	if out := d.DockerOK(t, "volume", "ls", "-q", "--filter", "name="+vol); out != vol+"\n" {
		t.Errorf("docker volume ls: %q", out)
	}
	// Binds.
	if out := dockerRun("-v", host+":/h", "--mount", "type=bind,src="+host+",dst=/h2,readonly", "busybox", "sh", "-c",
		"cat /h/h; echo w > /h/w; touch /h2/x 2>/dev/null || echo ro"); out != "from host\nro\n" {
		t.Errorf("docker run binds: %q", out)
	}
	if got := readFile(t, filepath.Join(host, "w")); got != "w\n" {
		t.Errorf("written through docker's bind: %q", got)
	}
	res := d.Docker(t, nil, "run", "--rm", "--mount", "type=bind,src="+filepath.Join(host, "missing")+",dst=/x", "busybox", "true")
	if res.ExitCode != 125 || !strings.Contains(res.Stderr, "bind source path does not exist") {
		t.Errorf("docker run --mount with a missing source: %+v", res)
	}
	if exists(filepath.Join(host, "missing")) {
		t.Errorf("missing --mount source created")
	}
	res = d.Docker(t, nil, "run", "--rm", "-v", vol+":/data:bogus", "busybox", "true")
	if res.ExitCode != 125 || !strings.Contains(res.Stderr, "invalid") {
		t.Errorf("docker run -v with an unknown option: %+v", res)
	}
	// tmpfs.
	if out := dockerRun("--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770", "--tmpfs", "/u:size=2m", "busybox", "sh", "-c",
		"df -k /t /u | tail -n 2 | awk '{print $2}'; stat -c %a /t; dd if=/dev/zero of=/t/f bs=1k count=2048 2>/dev/null || echo full"); out != "1024\n2048\n1770\nfull\n" {
		t.Errorf("docker run tmpfs: %q", out)
	}

	// docker create -v /path: the CLI sends it in Config.Volumes.
	name := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, name)
	d.DockerOK(t, "create", "--name", name, "-v", "/anon", "-v", vol+":/named", "-v", host+":/bind:ro", "busybox", "sh", "-c", "echo a > /anon/f")
	var cs []ctypes.InspectResponse
	if err := json.Unmarshal([]byte(d.DockerOK(t, "inspect", name)), &cs); err != nil || len(cs) != 1 {
		t.Fatalf("docker inspect: %v", err)
	}
	anon := vols.add(anonymousVolumes(cs[0])...)
	if anon == "" {
		t.Fatalf("no anonymous volume: %+v", cs[0].Mounts)
	}
	want := []ctypes.MountPoint{
		{Type: "volume", Name: anon, Source: dataPath(d, anon), Destination: "/anon", Driver: "local", Mode: "", RW: true},
		{Type: "volume", Name: vol, Source: dataPath(d, vol), Destination: "/named", Driver: "local", Mode: "z", RW: true},
		{Type: "bind", Source: host, Destination: "/bind", Mode: "ro", RW: false, Propagation: "rprivate"},
	}
	for _, w := range want {
		got := mountAt(t, cs[0], w.Destination)
		if got.Mode != w.Mode {
			t.Errorf("docker inspect: Mode of the %s mount at %s: %q, want %q", w.Type, w.Destination, got.Mode, w.Mode)
		}
		if got.Mode = w.Mode; got != w {
			t.Errorf("docker inspect, mount at %s:\n got %+v\nwant %+v", w.Destination, got, w)
		}
	}
	if out := d.DockerOK(t, "inspect", "-f", "{{range .Mounts}}{{.Type}}:{{.Destination}}:{{.RW}} {{end}}", name); len(strings.Fields(out)) != 3 {
		t.Errorf("docker inspect -f: %q", out)
	}
	d.DockerOK(t, "start", "-a", name)
	if out := dockerRun("--volumes-from", name+":ro", "busybox", "sh", "-c", "cat /anon/f /named/greeting; touch /anon/x 2>/dev/null || echo ro"); out != "a\nhi\nro\n" {
		t.Errorf("docker run --volumes-from :ro: %q", out)
	}
	res = d.Docker(t, nil, "volume", "rm", vol)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "volume is in use") {
		t.Errorf("docker volume rm of a volume in use: %+v", res)
	}
	if out := d.DockerOK(t, "rm", "-v", name); out != name+"\n" {
		t.Errorf("docker rm -v: %q", out)
	}
	if volumeExists(t, d, anon) {
		t.Errorf("docker rm -v kept the anonymous volume")
	}
	if !volumeExists(t, d, vol) {
		t.Errorf("docker rm -v removed the named volume")
	}

	// docker run --rm removes the anonymous volumes.
	id := strings.TrimSpace(d.DockerOK(t, "run", "-d", "--rm", "-v", "/gone", "busybox", "sleep", "300"))
	d.RemoveContainerOnCleanup(t, id)
	var c ctypes.InspectResponse
	if err := json.Unmarshal([]byte(d.DockerOK(t, "inspect", "--type", "container", "-f", "{{json .}}", id)), &c); err != nil {
		t.Fatal(err)
	}
	gone := anonymousVolumes(c)
	vols.add(gone...)
	d.DockerOK(t, "stop", "-t", "0", id)
	testenv.Eventually(t, 20*time.Second, "the --rm container removed", func() bool { return !containerExists(t, d, id) })
	if len(gone) != 1 {
		t.Errorf("anonymous volumes of docker run -v /gone: %v", gone)
	}
	for _, n := range gone {
		if volumeExists(t, d, n) {
			t.Errorf("docker run --rm kept the anonymous volume %s", n)
		}
	}
}
