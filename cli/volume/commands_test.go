package volume

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
)

// createWith runs `volume create` with args and returns the request sent
// (nil if none), the output and the error.
func createWith(t *testing.T, args ...string) (*client.VolumeCreateOptions, string, error) {
	t.Helper()
	var got *client.VolumeCreateOptions
	fake := &fakeClient{createFunc: func(o client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
		got = &o
		name := o.Name
		if name == "" {
			name = "8f1b6c0e"
		}
		return client.VolumeCreateResult{Volume: volume.Volume{Name: name, Driver: "local"}}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newCreateCommand(deps), args...)
	return got, out.String(), err
}

func TestCreate(t *testing.T) {
	got, out, err := createWith(t, "data")
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", out, "data\n")
	assertEqual(t, "request", *got, client.VolumeCreateOptions{Name: "data", Driver: "local", DriverOpts: map[string]string{}, Labels: map[string]string{}})

	got, out, err = createWith(t, "-d", "local", "-o", "type=tmpfs", "--opt", "device=tmpfs", "-o", "o=size=64m,uid=1000",
		"--label", "env=prod", "--label", "team", "cache")
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", out, "cache\n")
	assertEqual(t, "request", *got, client.VolumeCreateOptions{
		Name: "cache", Driver: "local",
		DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=64m,uid=1000"},
		Labels:     map[string]string{"env": "prod", "team": ""},
	})

	// No name: the daemon makes one, the CLI prints it.
	got, out, err = createWith(t)
	if err != nil || got.Name != "" || out != "8f1b6c0e\n" {
		t.Errorf("anonymous: %+v %q %v", got, out, err)
	}
	// The hidden --name, as docker's.
	if got, _, err := createWith(t, "--name", "legacy"); err != nil || got.Name != "legacy" {
		t.Errorf("--name: %+v %v", got, err)
	}
}

func TestCreateRejectsBadFlagsBeforeAnyAPICall(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "a", "b"}, "conflicting options: either specify --name or provide positional arg, not both"},
		{[]string{"a", "b"}, `"create" requires at most 1 argument.`},
		{[]string{"--label", "=x", "v1"}, "invalid label '=x': empty name"},
		{[]string{"--label", "a b=x", "v1"}, "label 'a b' contains whitespaces"},
		{[]string{"-o", "=x", "v1"}, `invalid value "=x" for --opt`},
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

func listFixture() []volume.Volume {
	mk := func(name string, labels map[string]string) volume.Volume {
		return volume.Volume{Name: name, Driver: "local", Scope: "local", Mountpoint: "/var/lib/pouch/volumes/" + name + "/_data", Labels: labels}
	}
	return []volume.Volume{
		mk("web10", map[string]string{"tier": "front", "app": "shop"}),
		mk("3f0c9e7a0000000000000000000000000000000000000000000000000000beef", map[string]string{"com.docker.volume.anonymous": ""}),
		mk("web2", nil),
		mk("db", map[string]string{}),
	}
}

func listWith(t *testing.T, args ...string) (string, client.VolumeListOptions) {
	t.Helper()
	var got client.VolumeListOptions
	fake := &fakeClient{listFunc: func(o client.VolumeListOptions) (client.VolumeListResult, error) {
		got = o
		return client.VolumeListResult{Items: listFixture()}, nil
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
		"DRIVER    VOLUME NAME",
		"local     3f0c9e7a0000000000000000000000000000000000000000000000000000beef",
		"local     db",
		"local     web2",
		"local     web10",
		"",
	}, "\n"))
	// list is an alias.
	cmd := NewVolumeCommand(&Deps{})
	if c, _, err := cmd.Find([]string{"list"}); err != nil || c.Name() != "ls" {
		t.Errorf("volume list: %v %v", c, err)
	}
	if c, _, err := cmd.Find([]string{"remove"}); err != nil || c.Name() != "rm" {
		t.Errorf("volume remove: %v %v", c, err)
	}
}

func TestListQuietAndFormats(t *testing.T) {
	out, _ := listWith(t, "-q")
	assertEqual(t, "quiet", out, "3f0c9e7a0000000000000000000000000000000000000000000000000000beef\ndb\nweb2\nweb10\n")

	out, _ = listWith(t, "--format", "table {{.Name}}\t{{.Scope}}\t{{.Labels}}\t{{.Links}}\t{{.Size}}", "-f", "name=web10")
	lines := strings.Split(out, "\n")
	assertEqual(t, "header", lines[0], "VOLUME NAME                                                        SCOPE     LABELS                         LINKS     SIZE")
	assertEqual(t, "row", strings.Join(strings.Fields(lines[4]), " "), "web10 local app=shop,tier=front N/A N/A")

	out, _ = listWith(t, "--format", `{{.Name}}={{.Label "tier"}} {{.Mountpoint}}`, "-q")
	assertEqual(t, "custom format wins over -q", strings.Split(out, "\n")[3], "web10=front /var/lib/pouch/volumes/web10/_data")

	out, _ = listWith(t, "--format", "json")
	var row map[string]string
	if err := json.Unmarshal([]byte(strings.Split(out, "\n")[1]), &row); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "json", row, map[string]string{
		"Availability": "N/A", "Driver": "local", "Group": "N/A", "Labels": "", "Links": "N/A",
		"Mountpoint": "/var/lib/pouch/volumes/db/_data", "Name": "db", "Scope": "local", "Size": "N/A", "Status": "N/A",
	})
}

func TestListPassesFilters(t *testing.T) {
	_, opts := listWith(t, "-f", "dangling=true", "--filter", "label=env=prod")
	assertEqual(t, "filters", opts.Filters, client.Filters{}.Add("dangling", "true").Add("label", "env=prod"))
}

func TestInspect(t *testing.T) {
	fake := &fakeClient{inspectFunc: func(name string) (client.VolumeInspectResult, error) {
		if name == "ghost" {
			return client.VolumeInspectResult{}, fmt.Errorf("Error response from daemon: get ghost: no such volume: %w", cerrdefs.ErrNotFound)
		}
		return client.VolumeInspectResult{Raw: json.RawMessage(`{"Name":"` + name + `","Driver":"local","Options":null}`)}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newInspectCommand(deps), "data", "ghost", "cache")
	assertEqual(t, "array", out.String(), "[\n    {\n        \"Name\": \"data\",\n        \"Driver\": \"local\",\n        \"Options\": null\n    },\n    {\n        \"Name\": \"cache\",\n        \"Driver\": \"local\",\n        \"Options\": null\n    }\n]\n")
	if err == nil || !cerrdefs.IsNotFound(err) {
		t.Errorf("error: %v", err)
	}

	deps, out, _ = testDeps(fake, "")
	if err := execute(t, newInspectCommand(deps), "-f", "{{.Name}} {{.Driver}}", "data", "cache"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "template", out.String(), "data local\ncache local\n")
}

func TestRemove(t *testing.T) {
	var removed []string
	var forced []bool
	fake := &fakeClient{removeFunc: func(name string, o client.VolumeRemoveOptions) error {
		forced = append(forced, o.Force)
		switch name {
		case "ghost":
			return fmt.Errorf("Error response from daemon: remove ghost: no such volume: %w", cerrdefs.ErrNotFound)
		case "busy":
			return fmt.Errorf("Error response from daemon: remove busy: volume is in use - [c0ffee]: %w", cerrdefs.ErrConflict)
		}
		removed = append(removed, name)
		return nil
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newRemoveCommand(deps), "a", "ghost", "busy", "b")
	assertEqual(t, "stdout", out.String(), "a\nb\n")
	assertEqual(t, "removed", removed, []string{"a", "b"})
	assertEqual(t, "error", fmt.Sprint(err), "Error response from daemon: remove ghost: no such volume: not found\n"+
		"Error response from daemon: remove busy: volume is in use - [c0ffee]: conflict")
	assertEqual(t, "not forced", forced, []bool{false, false, false, false})

	// -f is the daemon's to apply.
	forced = nil
	deps, _, _ = testDeps(fake, "")
	_ = execute(t, newRemoveCommand(deps), "-f", "c")
	assertEqual(t, "forced", forced, []bool{true})
}

func TestPrune(t *testing.T) {
	var calls []client.VolumePruneOptions
	fake := &fakeClient{pruneFunc: func(o client.VolumePruneOptions) (client.VolumePruneResult, error) {
		calls = append(calls, o)
		return client.VolumePruneResult{Report: volume.PruneReport{VolumesDeleted: []string{"old1", "old2"}, SpaceReclaimed: 2048}}, nil
	}}
	const prompt = "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] "
	const promptAll = "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] "

	deps, out, _ := testDeps(fake, "n\n")
	if err := execute(t, newPruneCommand(deps)); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "declined", out.String(), prompt)
	assertEqual(t, "no call when declined", len(calls), 0)

	deps, out, _ = testDeps(fake, "y\n")
	if err := execute(t, newPruneCommand(deps), "--filter", "label=tmp"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "accepted", out.String(), prompt+"Deleted Volumes:\nold1\nold2\n\nTotal reclaimed space: 2.048kB\n")
	assertEqual(t, "filters", calls[0].Filters, client.Filters{}.Add("label", "tmp"))

	deps, out, _ = testDeps(fake, "yes\n")
	if err := execute(t, newPruneCommand(deps), "-a"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), promptAll) {
		t.Errorf("--all prompt: %q", out.String())
	}
	assertEqual(t, "--all filter", calls[1].Filters, client.Filters{}.Add("all", "true"))

	deps, _, _ = testDeps(fake, "")
	err := execute(t, newPruneCommand(deps), "-a", "-f", "--filter", "all=1")
	if err == nil || err.Error() != "conflicting options: cannot specify both --all and --filter all=1" {
		t.Errorf("--all with --filter all: %v", err)
	}
	assertEqual(t, "no call on conflict", len(calls), 2)

	fake.pruneFunc = func(client.VolumePruneOptions) (client.VolumePruneResult, error) {
		return client.VolumePruneResult{}, nil
	}
	deps, out, _ = testDeps(fake, "")
	if err := execute(t, newPruneCommand(deps), "-f"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "nothing pruned", out.String(), "Total reclaimed space: 0B\n")
}
