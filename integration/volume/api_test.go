package volume

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/volume"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

var hexName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestVolumeAPI checks Docker's /volumes endpoints: create (named,
// anonymous, again), the JSON of a volume, inspect, list filters and
// remove.
func TestVolumeAPI(t *testing.T) {
	t.Parallel()
	start := time.Now()
	name := uniqueName(t)
	r := d.ExpectStatus(t, http.StatusCreated, "POST", "/v1.51/volumes/create", map[string]any{
		"Name": name, "Driver": "local", "Labels": map[string]string{"api": "yes", "team": ""},
	})
	removeOnCleanup(t, d, name)
	// The fields and nulls are Docker's.
	var raw map[string]json.RawMessage
	r.JSON(t, &raw)
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"}) {
		t.Errorf("volume fields: %v", keys)
	}
	if string(raw["Options"]) != "null" || string(raw["Scope"]) != `"local"` || string(raw["Driver"]) != `"local"` {
		t.Errorf("create: %s", r.Body)
	}
	var v volume.Volume
	r.JSON(t, &v)
	if v.Name != name || v.Labels["api"] != "yes" || v.Labels["team"] != "" || len(v.Labels) != 2 {
		t.Errorf("create: %+v", v)
	}
	if want := filepath.Join(volumesRoot(d), name, "_data"); v.Mountpoint != want {
		t.Errorf("Mountpoint %s, want %s", v.Mountpoint, want)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || !fi.IsDir() {
		t.Errorf("data directory: %v", err)
	}
	created, err := time.Parse(time.RFC3339, v.CreatedAt)
	if err != nil || time.Since(created) > time.Minute || time.Until(created) > time.Minute {
		t.Errorf("CreatedAt %q: %v", v.CreatedAt, err)
	}
	if got := inspectVolume(t, d, name); got.Name != name || got.CreatedAt != v.CreatedAt || got.Mountpoint != v.Mountpoint || got.Labels["api"] != "yes" {
		t.Errorf("inspect: %+v, created %+v", got, v)
	}

	// Creating it again returns it, as Docker does; other options are a
	// conflict.
	var again volume.Volume
	d.ExpectStatus(t, http.StatusCreated, "POST", "/volumes/create", map[string]any{"Name": name}).JSON(t, &again)
	if again.CreatedAt != v.CreatedAt || again.Labels["api"] != "yes" {
		t.Errorf("create again: %+v", again)
	}
	d.ExpectStatus(t, http.StatusConflict, "POST", "/volumes/create", map[string]any{
		"Name": name, "DriverOpts": map[string]string{"type": "tmpfs", "device": "tmpfs"},
	})

	// Without a name: anonymous, with a random 64-hex name and Docker's label.
	anon := createVolume(t, d, map[string]any{})
	if !hexName.MatchString(anon.Name) {
		t.Errorf("anonymous volume name %q", anon.Name)
	}
	if l, ok := anon.Labels["com.docker.volume.anonymous"]; !ok || l != "" || len(anon.Labels) != 1 {
		t.Errorf("anonymous volume labels %v", anon.Labels)
	}
	plain := createVolume(t, d, map[string]any{"Name": uniqueName(t)})
	if plain.Labels == nil || len(plain.Labels) != 0 || !strings.Contains(string(d.Do(t, "GET", "/volumes/"+plain.Name, nil).Body), `"Labels":{}`) {
		t.Errorf("labels of a volume without any: %#v", plain.Labels)
	}

	// List filters.
	mine := []string{name, anon.Name, plain.Name}
	slices.Sort(mine)
	only := func(got []string) []string {
		var out []string
		for _, n := range got {
			if slices.Contains(mine, n) {
				out = append(out, n)
			}
		}
		return out
	}
	for _, tt := range []struct {
		f    map[string][]string
		want []string
	}{
		{nil, mine},
		{map[string][]string{"name": {name}}, []string{name}},
		{map[string][]string{"name": {"^" + regexp.QuoteMeta(name) + "$"}}, []string{name}},
		{map[string][]string{"label": {"api=yes"}}, []string{name}},
		{map[string][]string{"label": {"api"}, "name": {name}}, []string{name}},
		{map[string][]string{"label": {"api=no"}}, nil},
		{map[string][]string{"label": {"com.docker.volume.anonymous"}}, []string{anon.Name}},
		{map[string][]string{"driver": {"local"}}, mine},
		{map[string][]string{"driver": {"other"}}, nil},
		{map[string][]string{"dangling": {"true"}}, mine},
		{map[string][]string{"dangling": {"false"}}, nil},
	} {
		if got := only(listVolumes(t, d, tt.f)); !slices.Equal(got, tt.want) {
			t.Errorf("filters %v: %v, want %v", tt.f, got, tt.want)
		}
	}
	var lr map[string]json.RawMessage
	d.ExpectStatus(t, http.StatusOK, "GET", "/volumes", nil).JSON(t, &lr)
	if _, ok := lr["Warnings"]; !ok || lr["Volumes"] == nil {
		t.Errorf("list response: %v", lr)
	}

	// Remove; a second remove is a 404, unless forced.
	d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+name, nil)
	if r := d.ExpectStatus(t, http.StatusNotFound, "GET", "/volumes/"+name, nil); r.Message() != "get "+name+": no such volume" {
		t.Errorf("inspect after remove: %q", r.Message())
	}
	if r := d.ExpectStatus(t, http.StatusNotFound, "DELETE", "/volumes/"+name, nil); r.Message() != "remove "+name+": no such volume" {
		t.Errorf("remove again: %q", r.Message())
	}
	d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+name+"?force=1", nil)
	if _, err := os.Stat(filepath.Join(volumesRoot(d), name)); !os.IsNotExist(err) {
		t.Errorf("volume directory left after remove: %v", err)
	}

	// Docker's events: create once (not for the second create), destroy.
	q := fmt.Sprintf("/events?since=%d&until=%d&filters=%s", start.Unix()-1, time.Now().Unix()+1,
		url.QueryEscape(`{"type":["volume"],"volume":["`+name+`"]}`))
	var got []string
	dec := json.NewDecoder(strings.NewReader(string(d.ExpectStatus(t, http.StatusOK, "GET", q, nil).Body)))
	for dec.More() {
		var m events.Message
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s driver=%s", m.Type, m.Action, m.Actor.ID, m.Actor.Attributes["driver"]))
	}
	if want := []string{"volume create " + name + " driver=local", "volume destroy " + name + " driver=local"}; !slices.Equal(got, want) {
		t.Errorf("events: %q, want %q", got, want)
	}
}

// TestBadInput: bad names, drivers, options and filters are 400s, and
// nothing is created.
func TestBadInput(t *testing.T) {
	t.Parallel()
	before := listVolumes(t, d, nil)
	for _, tt := range []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"POST", "/volumes/create", map[string]any{"Name": "a"}, 400, "create a: volume name is too short, names should be at least two alphanumeric characters"},
		{"POST", "/volumes/create", map[string]any{"Name": "../escape"}, 400, `create ../escape: "../escape" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`},
		{"POST", "/volumes/create", map[string]any{"Name": "/abs/path"}, 400, "includes invalid characters"},
		{"POST", "/volumes/create", map[string]any{"Name": ".hidden"}, 400, "includes invalid characters"},
		{"POST", "/volumes/create", map[string]any{"Name": "sp ace"}, 400, "includes invalid characters"},
		{"POST", "/volumes/create", map[string]any{"Name": "okname", "Driver": "nfsplugin"}, 400, `plugin "nfsplugin" not found`},
		{"POST", "/volumes/create", map[string]any{"Name": "okname", "DriverOpts": map[string]string{"nope": "1"}}, 400, `create okname: invalid option: "nope"`},
		{"POST", "/volumes/create", map[string]any{"Name": "okname", "DriverOpts": map[string]string{"type": "tmpfs"}}, 400, `create okname: missing required option: "device"`},
		{"POST", "/volumes/create", map[string]any{"Name": "okname", "DriverOpts": map[string]string{"size": "10g"}}, 400, "quota size requested but no quota support"},
		{"POST", "/volumes/create", "{bad json", 400, "invalid JSON"},
		{"GET", "/volumes" + filterQuery(map[string][]string{"until": {"1h"}}), nil, 400, "invalid filter 'until'"},
		{"GET", "/volumes" + filterQuery(map[string][]string{"dangling": {"perhaps"}}), nil, 400, "invalid filter 'dangling=perhaps'"},
		{"GET", "/volumes?filters=notjson", nil, 400, "invalid filters"},
		{"POST", "/volumes/prune" + filterQuery(map[string][]string{"all": {"perhaps"}}), nil, 400, "invalid filter 'all'"},
		{"POST", "/volumes/prune" + filterQuery(map[string][]string{"dangling": {"true"}}), nil, 400, "invalid filter 'dangling'"},
		{"DELETE", "/volumes/nosuchvolume", nil, 404, "remove nosuchvolume: no such volume"},
		{"GET", "/volumes/nosuchvolume", nil, 404, "get nosuchvolume: no such volume"},
		{"PUT", "/volumes/nosuchvolume?version=1", map[string]any{}, 503, "volume update only valid for cluster volumes"},
	} {
		r := d.ExpectStatus(t, tt.status, tt.method, tt.path, tt.body)
		if !strings.HasPrefix(r.Message(), tt.msg) && !strings.Contains(r.Message(), tt.msg) {
			t.Errorf("%s %s: %q, want %q", tt.method, tt.path, r.Message(), tt.msg)
		}
	}
	for _, n := range []string{"a", "escape", "abs", "path", ".hidden", "okname"} {
		if _, err := os.Lstat(filepath.Join(volumesRoot(d), n)); !os.IsNotExist(err) {
			t.Errorf("%s created on disk: %v", n, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(volumesRoot(d)), "escape")); !os.IsNotExist(err) {
		t.Errorf("../escape created: %v", err)
	}
	// Others' tests run meanwhile: only check none of ours appeared.
	for _, n := range listVolumes(t, d, nil) {
		if !slices.Contains(before, n) && (n == "okname" || n == "a") {
			t.Errorf("volume %s listed", n)
		}
	}
}

// TestDriverOptions: tmpfs and bind volumes keep their options; they are
// not mounted until a container uses them, and their removal leaves a
// bound host directory alone.
func TestDriverOptions(t *testing.T) {
	t.Parallel()
	tmpfs := createVolume(t, d, map[string]any{"Name": uniqueName(t),
		"DriverOpts": map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=8m,uid=1000"}})
	want := map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=8m,uid=1000"}
	if got := inspectVolume(t, d, tmpfs.Name).Options; !mapsEqual(got, want) {
		t.Errorf("tmpfs options %v, want %v", got, want)
	}
	if m := testenv.MountsUnder(filepath.Dir(tmpfs.Mountpoint)); len(m) != 0 {
		t.Errorf("mounted before any use: %v", m)
	}
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "keep"), []byte("host data"), 0o644); err != nil {
		t.Fatal(err)
	}
	bind := createVolume(t, d, map[string]any{"Name": uniqueName(t),
		"DriverOpts": map[string]string{"type": "none", "device": host, "o": "bind"}})
	d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+bind.Name, nil)
	d.ExpectStatus(t, http.StatusNoContent, "DELETE", "/volumes/"+tmpfs.Name, nil)
	if b, err := os.ReadFile(filepath.Join(host, "keep")); err != nil || string(b) != "host data" {
		t.Errorf("host directory after removing its bind volume: %q %v", b, err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// TestPrune: anonymous volumes only by default, all with all=true, label
// filters, the space reclaimed, and volumes with driver options kept, as
// Docker does. It runs alone: prune takes every volume of the daemon.
func TestPrune(t *testing.T) {
	dm := testenv.StartDaemon(t, nil)
	anon := createVolume(t, dm, map[string]any{"Labels": map[string]string{"tier": "db"}})
	named := createVolume(t, dm, map[string]any{"Name": "named-keep", "Labels": map[string]string{"keep": "yes"}})
	named2 := createVolume(t, dm, map[string]any{"Name": "named-go", "Labels": map[string]string{"tier": "db"}})
	opts := createVolume(t, dm, map[string]any{"Name": "tmpfs-kept", "DriverOpts": map[string]string{"type": "tmpfs", "device": "tmpfs"}})
	if err := os.WriteFile(filepath.Join(anon.Mountpoint, "blob"), make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(named2.Mountpoint, "blob"), make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	prune := func(path string) volume.PruneReport {
		t.Helper()
		var rep volume.PruneReport
		dm.ExpectStatus(t, http.StatusOK, "POST", path, nil).JSON(t, &rep)
		if rep.VolumesDeleted == nil {
			t.Errorf("POST %s: VolumesDeleted is null", path)
		}
		slices.Sort(rep.VolumesDeleted)
		return rep
	}
	if rep := prune("/volumes/prune"); !slices.Equal(rep.VolumesDeleted, []string{anon.Name}) || rep.SpaceReclaimed != 4096 {
		t.Errorf("default prune: %+v", rep)
	}
	if rep := prune("/volumes/prune" + filterQuery(map[string][]string{"all": {"true"}, "label": {"tier=db"}})); !slices.Equal(rep.VolumesDeleted, []string{named2.Name}) || rep.SpaceReclaimed != 1000 {
		t.Errorf("prune all, label=tier=db: %+v", rep)
	}
	if rep := prune("/volumes/prune" + filterQuery(map[string][]string{"all": {"1"}, "label!": {"keep=yes"}})); len(rep.VolumesDeleted) != 0 {
		t.Errorf("prune all, label!=keep=yes: %+v", rep)
	}
	if got := listVolumes(t, dm, nil); !slices.Equal(got, []string{named.Name, opts.Name}) {
		t.Errorf("after prunes: %v", got)
	}
	// API 1.41 and older pruned named volumes too.
	if rep := prune("/v1.41/volumes/prune"); !slices.Equal(rep.VolumesDeleted, []string{named.Name}) {
		t.Errorf("prune at API 1.41: %+v", rep)
	}
	if got := onDisk(t, dm); !slices.Equal(got, []string{opts.Name}) {
		t.Errorf("on disk: %v", got)
	}
}

// TestRestart: volumes, their labels, options and creation times survive a
// daemon restart, and a volume directory replaced by a symlink is neither
// loaded nor followed.
func TestRestart(t *testing.T) {
	dm := testenv.StartDaemon(t, nil)
	v := createVolume(t, dm, map[string]any{"Name": "persist", "Labels": map[string]string{"a": "b"},
		"DriverOpts": map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}})
	anon := createVolume(t, dm, nil)
	os.WriteFile(filepath.Join(anon.Mountpoint, "data"), []byte("kept"), 0o644)
	victim := createVolume(t, dm, map[string]any{"Name": "victim"})
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "precious"), []byte("keep"), 0o644)

	if err := dm.Stop(); err != nil {
		t.Fatal(err)
	}
	// While the daemon is down, replace a volume's directory with a link.
	if err := os.RemoveAll(filepath.Dir(victim.Mountpoint)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Dir(victim.Mountpoint)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(filepath.Dir(victim.Mountpoint)) })
	if err := dm.Start(); err != nil {
		t.Fatal(err)
	}
	got := inspectVolume(t, dm, "persist")
	if got.CreatedAt != v.CreatedAt || got.Labels["a"] != "b" || got.Options["o"] != "size=1m" || got.Mountpoint != v.Mountpoint {
		t.Errorf("after restart: %+v, before %+v", got, v)
	}
	a := inspectVolume(t, dm, anon.Name)
	if _, ok := a.Labels["com.docker.volume.anonymous"]; !ok {
		t.Errorf("anonymous label lost: %v", a.Labels)
	}
	if b, err := os.ReadFile(filepath.Join(a.Mountpoint, "data")); err != nil || string(b) != "kept" {
		t.Errorf("data after restart: %q %v", b, err)
	}
	dm.ExpectStatus(t, http.StatusNotFound, "GET", "/volumes/victim", nil)
	if b, err := os.ReadFile(filepath.Join(outside, "precious")); err != nil || string(b) != "keep" {
		t.Errorf("symlink target touched: %q %v", b, err)
	}
}
