package mounts

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// TestInspectMounts: the Mounts of inspect and of the container list, one
// per mount, field by field as Docker shows them: a local volume without
// a mode gets Docker's "z" (an anonymous one too, when given in Binds as
// pouch's -v /path does; see TestDockerCLI for Config.Volumes); a bind its propagation, rprivate by default;
// Mode is what -v gave; --tmpfs mounts are not listed.
func TestInspectMounts(t *testing.T) {
	t.Parallel()
	vols := trackVolumes(t, d)
	named, named2, named3 := vols.name(t), vols.name(t), vols.name(t)
	host := t.TempDir()
	id, _ := d.CreateContainer(t,
		"-v", named+":/named",
		"-v", named2+":/named-ro:ro",
		"-v", "/anon",
		"-v", host+":/bind",
		"-v", host+":/bind-ro:ro,rslave",
		"--mount", "type=volume,src="+named3+",dst=/m-volume",
		"--mount", "type=volume,dst=/m-anon,volume-nocopy",
		"--mount", "type=bind,src="+host+",dst=/m-bind,readonly",
		"--mount", "type=bind,src="+host+",dst=/m-bind-shared,bind-propagation=rshared",
		"--mount", "type=tmpfs,dst=/m-tmpfs,tmpfs-size=1m",
		"--tmpfs", "/tmpfs",
		"busybox", "true")
	c := d.Inspect(t, id)
	anon := anonymousVolumes(c)
	vols.add(anon...)
	if len(anon) != 2 {
		t.Fatalf("anonymous volumes %v in %+v", anon, c.Mounts)
	}
	anonAt := func(dst string) string { return mountAt(t, c, dst).Name }
	want := []ctypes.MountPoint{
		{Type: "volume", Name: named, Source: dataPath(d, named), Destination: "/named", Driver: "local", Mode: "z", RW: true},
		{Type: "volume", Name: named2, Source: dataPath(d, named2), Destination: "/named-ro", Driver: "local", Mode: "ro", RW: false},
		{Type: "volume", Name: anonAt("/anon"), Source: dataPath(d, anonAt("/anon")), Destination: "/anon", Driver: "local", Mode: "z", RW: true},
		{Type: "bind", Source: host, Destination: "/bind", Mode: "", RW: true, Propagation: "rprivate"},
		{Type: "bind", Source: host, Destination: "/bind-ro", Mode: "ro,rslave", RW: false, Propagation: "rslave"},
		{Type: "volume", Name: named3, Source: dataPath(d, named3), Destination: "/m-volume", Driver: "local", Mode: "z", RW: true},
		{Type: "volume", Name: anonAt("/m-anon"), Source: dataPath(d, anonAt("/m-anon")), Destination: "/m-anon", Driver: "local", Mode: "z", RW: true},
		{Type: "bind", Source: host, Destination: "/m-bind", Mode: "", RW: false, Propagation: "rprivate"},
		{Type: "bind", Source: host, Destination: "/m-bind-shared", Mode: "", RW: true, Propagation: "rshared"},
		{Type: "tmpfs", Destination: "/m-tmpfs", Mode: "", RW: true},
	}
	check := func(where string, got []ctypes.MountPoint) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d mounts, want %d: %+v", where, len(got), len(want), got)
		}
		for _, w := range want {
			i := slices.IndexFunc(got, func(m ctypes.MountPoint) bool { return m.Destination == w.Destination })
			if i < 0 {
				t.Errorf("%s: no mount at %s", where, w.Destination)
				continue
			}
			// Mode apart, to tell Docker's "z" from other differences.
			g := got[i]
			if g.Mode != w.Mode {
				t.Errorf("%s: Mode of the %s mount at %s: %q, want %q", where, w.Type, w.Destination, g.Mode, w.Mode)
			}
			g.Mode = w.Mode
			if g != w {
				t.Errorf("%s: mount at %s:\n got %+v\nwant %+v", where, w.Destination, got[i], w)
			}
		}
	}
	check("inspect", c.Mounts)

	// The JSON keys are Docker's: Name and Driver left out when empty.
	var raw struct{ Mounts []map[string]json.RawMessage }
	d.ExpectStatus(t, http.StatusOK, "GET", "/containers/"+id+"/json", nil).JSON(t, &raw)
	for _, m := range raw.Mounts {
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var typ mount.Type
		_ = json.Unmarshal(m["Type"], &typ)
		wantKeys := []string{"Destination", "Mode", "Propagation", "RW", "Source", "Type"}
		if typ == mount.TypeVolume {
			wantKeys = []string{"Destination", "Driver", "Mode", "Name", "Propagation", "RW", "Source", "Type"}
		}
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("keys of a %s mount: %v, want %v", typ, keys, wantKeys)
		}
	}

	// The container list shows the same.
	f, _ := json.Marshal(map[string][]string{"id": {id}})
	var list []struct{ Mounts []ctypes.MountPoint }
	d.ExpectStatus(t, http.StatusOK, "GET", "/containers/json?all=1&filters="+url.QueryEscape(string(f)), nil).JSON(t, &list)
	if len(list) != 1 {
		t.Fatalf("list: %+v", list)
	}
	check("list", list[0].Mounts)

	// The request's mounts are kept as given.
	if !slices.Contains(c.HostConfig.Binds, "/anon") || len(c.HostConfig.Binds) != 5 || len(c.HostConfig.Mounts) != 5 || c.HostConfig.Tmpfs["/tmpfs"] != "" {
		t.Errorf("HostConfig: Binds %v Mounts %+v Tmpfs %v", c.HostConfig.Binds, c.HostConfig.Mounts, c.HostConfig.Tmpfs)
	}
}
