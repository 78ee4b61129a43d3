package volume

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/volume"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestPouchCLI drives `pouch volume` against pouchd: create with options
// and labels, ls with filters and formats, inspect, rm and prune.
func TestPouchCLI(t *testing.T) {
	t.Parallel()
	name, tmpfs := uniqueName(t), uniqueName(t)
	removeOnCleanup(t, d, name)
	removeOnCleanup(t, d, tmpfs)

	if out := d.PouchOK(t, "volume", "create", "--label", "via=pouch", "--label", "owner="+name, name); out != name+"\n" {
		t.Errorf("pouch volume create: %q", out)
	}
	if out := d.PouchOK(t, "volume", "create", "-d", "local", "-o", "type=tmpfs", "--opt", "device=tmpfs", "-o", "o=size=16m", tmpfs); out != tmpfs+"\n" {
		t.Errorf("pouch volume create with options: %q", out)
	}
	anon := strings.TrimSpace(d.PouchOK(t, "volume", "create"))
	removeOnCleanup(t, d, anon)
	if !hexName.MatchString(anon) {
		t.Errorf("anonymous volume name %q", anon)
	}

	out := d.PouchOK(t, "volume", "ls", "--filter", "name="+name)
	if out != "DRIVER    VOLUME NAME\nlocal     "+name+"\n" {
		t.Errorf("pouch volume ls:\n%s", out)
	}
	if out := d.PouchOK(t, "volume", "list", "-q", "-f", "label=owner="+name); out != name+"\n" {
		t.Errorf("pouch volume list -q -f label: %q", out)
	}
	if out := d.PouchOK(t, "volume", "ls", "-q", "-f", "name="+tmpfs, "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{.Links}}"); out != tmpfs+" local local N/A\n" {
		t.Errorf("pouch volume ls --format: %q", out)
	}
	if out := d.PouchOK(t, "volume", "ls", "-f", "dangling=true", "-q"); !strings.Contains(out, name+"\n") || !strings.Contains(out, anon+"\n") {
		t.Errorf("pouch volume ls -f dangling=true: %q", out)
	}
	if out := d.PouchOK(t, "volume", "inspect", "-f", "{{.Driver}} {{.Options.type}} {{.Options.o}} {{.Scope}}", tmpfs); out != "local tmpfs size=16m local\n" {
		t.Errorf("pouch volume inspect -f: %q", out)
	}
	var vs []volume.Volume
	if err := json.Unmarshal([]byte(d.PouchOK(t, "volume", "inspect", name, anon)), &vs); err != nil || len(vs) != 2 {
		t.Fatalf("pouch volume inspect: %v %v", vs, err)
	}
	if vs[0].Name != name || vs[0].Labels["via"] != "pouch" || vs[1].Name != anon {
		t.Errorf("pouch volume inspect: %+v", vs)
	}
	r := d.PouchFails(t, "volume", "inspect", name, "nosuchvolume")
	if !strings.Contains(r.Stdout, name) || !strings.Contains(r.Stderr, "no such volume") {
		t.Errorf("pouch volume inspect of a missing volume: %+v", r)
	}

	// Bad input fails before or at the daemon, with Docker's message.
	r = d.PouchFails(t, "volume", "create", "bad/name")
	if !strings.Contains(r.Stderr, `"bad/name" includes invalid characters for a local volume name`) {
		t.Errorf("pouch volume create bad/name: %+v", r)
	}
	r = d.PouchFails(t, "volume", "create", "-o", "uid=1", uniqueName(t))
	if !strings.Contains(r.Stderr, `invalid option: "uid"`) {
		t.Errorf("pouch volume create -o uid=1: %+v", r)
	}

	// rm: several at once; a missing one fails unless -f.
	if out := d.PouchOK(t, "volume", "rm", name, tmpfs); out != name+"\n"+tmpfs+"\n" {
		t.Errorf("pouch volume rm: %q", out)
	}
	r = d.PouchFails(t, "volume", "remove", name)
	if !strings.Contains(r.Stderr, "no such volume") {
		t.Errorf("pouch volume remove of a missing volume: %+v", r)
	}
	if out := d.PouchOK(t, "volume", "rm", "-f", name); out != name+"\n" {
		t.Errorf("pouch volume rm -f of a missing volume: %q", out)
	}
}

// TestPouchPrune: prune's prompt and report, on a daemon of its own.
func TestPouchPrune(t *testing.T) {
	dm := testenv.StartDaemon(t, nil)
	anon := strings.TrimSpace(dm.PouchOK(t, "volume", "create"))
	dm.PouchOK(t, "volume", "create", "--label", "temp=1", "named")
	dm.PouchOK(t, "volume", "create", "kept")
	res := dm.Pouch(t, strings.NewReader("n\n"), "volume", "prune")
	if res.ExitCode != 0 || !strings.HasPrefix(res.Stdout, "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ") {
		t.Errorf("declined prune: %+v", res)
	}
	res = dm.Pouch(t, strings.NewReader("y\n"), "volume", "prune")
	if res.ExitCode != 0 || !strings.HasSuffix(res.Stdout, "Deleted Volumes:\n"+anon+"\n\nTotal reclaimed space: 0B\n") {
		t.Errorf("prune: %+v", res)
	}
	if out := dm.PouchOK(t, "volume", "prune", "-f", "-a", "--filter", "label=temp"); out != "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n" {
		t.Errorf("prune -a --filter label=temp: %q", out)
	}
	if out := dm.PouchOK(t, "volume", "ls", "-q"); out != "kept\n" {
		t.Errorf("left: %q", out)
	}
	dm.PouchOK(t, "volume", "rm", "kept")
}

// TestDockerCLI drives volumes with the real docker CLI against pouchd.
func TestDockerCLI(t *testing.T) {
	t.Parallel()
	testenv.NeedDocker(t)
	name, cache := uniqueName(t), uniqueName(t)
	removeOnCleanup(t, d, name)
	removeOnCleanup(t, d, cache)

	if out := d.DockerOK(t, "volume", "create", "--label", "via=docker", name); out != name+"\n" {
		t.Errorf("docker volume create: %q", out)
	}
	if out := d.DockerOK(t, "volume", "create", "--driver", "local", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=64m", cache); out != cache+"\n" {
		t.Errorf("docker volume create --opt: %q", out)
	}
	if out := d.DockerOK(t, "volume", "ls", "--filter", "label=via=docker"); out != "DRIVER    VOLUME NAME\nlocal     "+name+"\n" {
		t.Errorf("docker volume ls:\n%s", out)
	}
	if out := d.DockerOK(t, "volume", "ls", "-q", "--filter", "name="+cache); out != cache+"\n" {
		t.Errorf("docker volume ls -q: %q", out)
	}
	if out := d.DockerOK(t, "volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Labels}}", "--filter", "name="+name); out != name+" local via=docker\n" {
		t.Errorf("docker volume ls --format: %q", out)
	}
	if out := d.DockerOK(t, "volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{.Options.type}} {{.Options.o}}", cache); out != cache+" local local tmpfs size=64m\n" {
		t.Errorf("docker volume inspect --format: %q", out)
	}
	var vs []volume.Volume
	if err := json.Unmarshal([]byte(d.DockerOK(t, "volume", "inspect", name)), &vs); err != nil || len(vs) != 1 || vs[0].Labels["via"] != "docker" || vs[0].Mountpoint == "" {
		t.Errorf("docker volume inspect: %+v %v", vs, err)
	}
	anon := strings.TrimSpace(d.DockerOK(t, "volume", "create"))
	removeOnCleanup(t, d, anon)
	if !hexName.MatchString(anon) {
		t.Errorf("docker volume create without a name: %q", anon)
	}
	r := d.Docker(t, nil, "volume", "create", "x")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "volume name is too short") {
		t.Errorf("docker volume create x: %+v", r)
	}
	r = d.Docker(t, nil, "volume", "inspect", "nosuchvolume")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "no such volume") {
		t.Errorf("docker volume inspect of a missing volume: %+v", r)
	}
	if out := d.DockerOK(t, "volume", "rm", name, cache, anon); out != name+"\n"+cache+"\n"+anon+"\n" {
		t.Errorf("docker volume rm: %q", out)
	}
	r = d.Docker(t, nil, "volume", "rm", name)
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "no such volume") {
		t.Errorf("docker volume rm of a missing volume: %+v", r)
	}
	d.DockerOK(t, "volume", "rm", "-f", name)
}

// TestDockerPrune: docker volume prune, on a daemon of its own.
func TestDockerPrune(t *testing.T) {
	testenv.NeedDocker(t)
	dm := testenv.StartDaemon(t, nil)
	anon := strings.TrimSpace(dm.DockerOK(t, "volume", "create"))
	dm.DockerOK(t, "volume", "create", "named")
	out := dm.DockerOK(t, "volume", "prune", "-f")
	if !strings.Contains(out, "Deleted Volumes:\n"+anon+"\n") || strings.Contains(out, "named") || !strings.Contains(out, "Total reclaimed space:") {
		t.Errorf("docker volume prune -f: %q", out)
	}
	if out := dm.DockerOK(t, "volume", "prune", "-f", "--all"); !strings.Contains(out, "named") {
		t.Errorf("docker volume prune -f --all: %q", out)
	}
	if out := dm.DockerOK(t, "volume", "ls", "-q"); out != "" {
		t.Errorf("left: %q", out)
	}
}
