package volume

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	eventtypes "github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"

	"github.com/pouchcontainer/pouch/volume/local"
)

type eventRecorder struct {
	mu sync.Mutex
	ms []eventtypes.Message
}

func (r *eventRecorder) Publish(m eventtypes.Message) {
	r.mu.Lock()
	r.ms = append(r.ms, m)
	r.mu.Unlock()
}

func (r *eventRecorder) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.ms {
		parts := []string{string(m.Action)}
		if m.Actor.ID != "" {
			parts = append(parts, m.Actor.ID)
		}
		for _, k := range sortedKeys(m.Actor.Attributes) {
			parts = append(parts, k+"="+m.Actor.Attributes[k])
		}
		if m.Type != eventtypes.VolumeEventType {
			parts = append(parts, "type="+string(m.Type))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func newService(t *testing.T) (*Service, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "volumes")
	s, err := New(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	return s, s.root.Path()
}

func create(t *testing.T, s *Service, o CreateOptions) *Volume {
	t.Helper()
	v, err := s.Create(context.Background(), o)
	if err != nil {
		t.Fatalf("create %+v: %v", o, err)
	}
	return v
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestCreateNamedAndAnonymous(t *testing.T) {
	s, root := newService(t)
	rec := &eventRecorder{}
	s.SetEvents(rec)
	before := time.Now().Add(-time.Second)
	v := create(t, s, CreateOptions{Name: "data", Labels: map[string]string{"app": "web"}})
	if v.Name != "data" || v.Driver != "local" || v.Mountpoint != filepath.Join(root, "data", "_data") ||
		v.Labels["app"] != "web" || len(v.Labels) != 1 || v.Options != nil || v.Anonymous || v.CreatedAt.Before(before) {
		t.Errorf("named volume: %+v", v)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || !fi.IsDir() {
		t.Errorf("data directory: %v", err)
	}
	var r record
	b, _ := os.ReadFile(filepath.Join(root, "data", "volume.json"))
	if err := json.Unmarshal(b, &r); err != nil || r.Name != "data" || r.Driver != "local" || r.Labels["app"] != "web" {
		t.Errorf("record: %s %v", b, err)
	}

	anon := create(t, s, CreateOptions{})
	if len(anon.Name) != 64 || !anon.Anonymous {
		t.Errorf("anonymous volume: %+v", anon)
	}
	if v, ok := anon.Labels[local.AnonymousLabel]; !ok || v != "" {
		t.Errorf("anonymous volume labels: %v", anon.Labels)
	}
	named := create(t, s, CreateOptions{Name: "anon-named", Anonymous: true})
	if _, ok := named.Labels[local.AnonymousLabel]; !ok || !named.Anonymous {
		t.Errorf("named anonymous volume: %+v", named)
	}
	v2 := create(t, s, CreateOptions{Name: "plain", Driver: "local"})
	if len(v2.Labels) != 0 || v2.Labels == nil {
		t.Errorf("labels of a volume without any: %#v", v2.Labels)
	}
	if got := rec.actions(); !slices.Equal(got, []string{
		"create data driver=local", "create " + anon.Name + " driver=local", "create anon-named driver=local", "create plain driver=local",
	}) {
		t.Errorf("events: %q", got)
	}
	names := []string{}
	for _, v := range s.List() {
		names = append(names, v.Name)
	}
	want := []string{anon.Name, "anon-named", "data", "plain"}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("List: %v", names)
	}
	if got, err := s.Get("data"); err != nil || got != v {
		t.Errorf("Get: %v %v", got, err)
	}
	if _, err := s.Get("nope"); !errdefs.IsNotFound(err) || err.Error() != "get nope: no such volume: not found" {
		t.Errorf("Get of a missing volume: %v", err)
	}
}

// Bad requests are refused before anything is made on disk.
func TestCreateRefusesBadRequests(t *testing.T) {
	s, root := newService(t)
	for _, tt := range []struct {
		o    CreateOptions
		want string
	}{
		{CreateOptions{Name: "a"}, "create a: volume name is too short"},
		{CreateOptions{Name: "../x"}, `create ../x: "../x" includes invalid characters`},
		{CreateOptions{Name: "a/b"}, "includes invalid characters"},
		{CreateOptions{Name: ".hidden"}, "includes invalid characters"},
		{CreateOptions{Name: "has space"}, "includes invalid characters"},
		{CreateOptions{Name: "ok", Driver: "nfs-plugin"}, `plugin "nfs-plugin" not found`},
		{CreateOptions{Name: "ok", Options: map[string]string{"uid": "1"}}, `create ok: invalid option: "uid"`},
		{CreateOptions{Name: "ok", Options: map[string]string{"type": "tmpfs"}}, `missing required option: "device"`},
		{CreateOptions{Name: "ok", Options: map[string]string{"o": "size=1m"}}, `missing required option`},
		{CreateOptions{Name: "ok", Options: map[string]string{"size": "1g"}}, "no quota support"},
	} {
		_, err := s.Create(context.Background(), tt.o)
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want %q (invalid argument)", tt.o, err, tt.want)
		}
	}
	if got := dirNames(t, root); len(got) != 0 {
		t.Errorf("created on disk: %v", got)
	}
	if got := s.List(); len(got) != 0 {
		t.Errorf("listed: %v", got)
	}
}

// Creating a name that exists returns the volume, as Docker does; asking
// for other options is a conflict.
func TestCreateExisting(t *testing.T) {
	s, _ := newService(t)
	rec := &eventRecorder{}
	s.SetEvents(rec)
	ctx := context.Background()
	tmpfs := map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
	v := create(t, s, CreateOptions{Name: "cache", Options: tmpfs, Labels: map[string]string{"a": "1"}})
	again := create(t, s, CreateOptions{Name: "cache", Driver: "local", Options: tmpfs})
	if again != v {
		t.Errorf("same request: got another volume %+v", again)
	}
	// Without options (docker run -v cache:/x) or other labels: the same one.
	if got := create(t, s, CreateOptions{Name: "cache", Labels: map[string]string{"b": "2"}}); got != v || got.Labels["a"] != "1" {
		t.Errorf("without options: %+v", got)
	}
	_, err := s.Create(ctx, CreateOptions{Name: "cache", Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=2m"}})
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "volume name must be unique") {
		t.Errorf("other options: %v", err)
	}
	name, mp, created, err := s.Ensure(ctx, "", "cache", "", nil, nil)
	if err != nil || name != "cache" || mp != v.Mountpoint || created {
		t.Errorf("Ensure of an existing volume: %q %q %v %v", name, mp, created, err)
	}
	name, mp, created, err = s.Ensure(ctx, "c2", "fresh", "local", nil, map[string]string{"x": "y"})
	if err != nil || name != "fresh" || !created || mp != s.root.DataPath("fresh") {
		t.Errorf("Ensure of a new volume: %q %q %v %v", name, mp, created, err)
	}
	name, _, created, err = s.Ensure(ctx, "", "", "", nil, nil)
	if err != nil || len(name) != 64 || !created {
		t.Errorf("Ensure of an anonymous volume: %q %v %v", name, created, err)
	}
	if got := rec.actions(); len(got) != 3 {
		t.Errorf("events (one per volume made): %q", got)
	}
	if err := s.Remove(ctx, "fresh"); !errdefs.IsConflict(err) {
		t.Errorf("remove of a volume Ensure referenced for its container: %v", err)
	}
	// A reference taken with the create holds the volume at once.
	create(t, s, CreateOptions{Name: "cache", Reference: "c1"})
	if err := s.Remove(ctx, "cache"); !errdefs.IsConflict(err) {
		t.Errorf("remove of a volume referenced at create: %v", err)
	}
}

func TestReload(t *testing.T) {
	s, root := newService(t)
	v := create(t, s, CreateOptions{Name: "keep", Labels: map[string]string{"k": "v"}, Options: map[string]string{"type": "tmpfs", "device": "tmpfs"}})
	anon := create(t, s, CreateOptions{})
	// A Docker volume directory without a record is adopted as a plain
	// volume; a broken record is skipped, not fatal.
	os.MkdirAll(filepath.Join(root, "from-docker", "_data"), 0o755)
	os.MkdirAll(filepath.Join(root, "broken", "_data"), 0o755)
	os.WriteFile(filepath.Join(root, "broken", "volume.json"), []byte("{not json"), 0o600)
	os.MkdirAll(filepath.Join(root, "nodata"), 0o755)

	s2, err := New(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Get("keep")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != v.Name || got.Labels["k"] != "v" || got.Options["type"] != "tmpfs" || !got.CreatedAt.Equal(v.CreatedAt) ||
		got.Mountpoint != v.Mountpoint || got.Anonymous {
		t.Errorf("reloaded %+v, was %+v", got, v)
	}
	if !s2.volumes["keep"].opts.NeedsMount() {
		t.Errorf("reloaded options not parsed")
	}
	if got, err := s2.Get(anon.Name); err != nil || !got.Anonymous {
		t.Errorf("anonymous volume reloaded: %+v %v", got, err)
	}
	if got, err := s2.Get("from-docker"); err != nil || got.Driver != "local" || got.Labels == nil {
		t.Errorf("adopted volume: %+v %v", got, err)
	} else if _, err := os.Stat(filepath.Join(root, "from-docker", "volume.json")); err != nil {
		t.Errorf("adopted volume has no record: %v", err)
	}
	for _, n := range []string{"broken", "nodata"} {
		if _, err := s2.Get(n); !errdefs.IsNotFound(err) {
			t.Errorf("%s loaded: %v", n, err)
		}
		if _, err := os.Stat(filepath.Join(root, n)); err != nil {
			t.Errorf("%s touched: %v", n, err)
		}
	}
}

func TestRemoveRefusesVolumesInUse(t *testing.T) {
	s, root := newService(t)
	rec := &eventRecorder{}
	s.SetEvents(rec)
	ctx := context.Background()
	create(t, s, CreateOptions{Name: "shared"})
	s.Reference("shared", "c2")
	s.Reference("shared", "c1")
	s.Reference("shared", "c1")
	if got := s.Usage("shared"); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Errorf("Usage: %v", got)
	}
	err := s.Remove(ctx, "shared")
	if !errdefs.IsConflict(err) || err.Error() != "remove shared: volume is in use - [c1, c2]: conflict" {
		t.Errorf("remove of a referenced volume: %v", err)
	}
	s.Dereference("shared", "c1")
	if err := s.Remove(ctx, "shared"); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "[c2]") {
		t.Errorf("remove with one reference left: %v", err)
	}
	// A container that mounted it (a reference lost) holds it too.
	s.Dereference("shared", "c2")
	if _, err := s.Mount(ctx, "shared", "c3"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, "shared"); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "[c3]") {
		t.Errorf("remove of a mounted volume: %v", err)
	}
	if err := s.Unmount(ctx, "shared", "c3"); err != nil {
		t.Fatal(err)
	}
	if len(s.Usage("shared")) != 0 {
		t.Errorf("Usage after dereferencing: %v", s.Usage("shared"))
	}
	if err := s.Remove(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("shared"); !errdefs.IsNotFound(err) {
		t.Errorf("Get after remove: %v", err)
	}
	if got := dirNames(t, root); len(got) != 0 {
		t.Errorf("left on disk: %v", got)
	}
	if err := s.Remove(ctx, "shared"); !errdefs.IsNotFound(err) || err.Error() != "remove shared: no such volume: not found" {
		t.Errorf("second remove: %v", err)
	}
	if got := rec.actions(); !slices.Equal(got, []string{"create shared driver=local", "destroy shared driver=local"}) {
		t.Errorf("events: %q", got)
	}
	// A reference to a volume that does not exist (yet) holds its name.
	s.Reference("later", "c9")
	create(t, s, CreateOptions{Name: "later"})
	if err := s.Remove(ctx, "later"); !errdefs.IsConflict(err) {
		t.Errorf("remove of a volume referenced before it was loaded: %v", err)
	}
}

// A volume directory replaced by a symlink to elsewhere must not make
// Remove delete the target.
func TestRemoveStaysInsideRoot(t *testing.T) {
	s, root := newService(t)
	ctx := context.Background()
	create(t, s, CreateOptions{Name: "victim"})
	outside := t.TempDir()
	precious := filepath.Join(outside, "precious")
	os.WriteFile(precious, []byte("keep"), 0o644)
	os.MkdirAll(filepath.Join(outside, "_data"), 0o755)
	if err := os.RemoveAll(filepath.Join(root, "victim")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "victim")); err != nil {
		t.Fatal(err)
	}
	err := s.Remove(ctx, "victim")
	if err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("remove through a symlink: %v", err)
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "keep" {
		t.Errorf("the symlink's target was damaged: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "_data")); err != nil {
		t.Errorf("the symlink's target was damaged: %v", err)
	}
	// Prune does not get there either.
	if _, err := s.Prune(ctx, PruneOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "keep" {
		t.Errorf("prune damaged the symlink's target: %q %v", b, err)
	}

	// Links a container planted inside its volume are removed, not followed.
	create(t, s, CreateOptions{Name: "planted"})
	data := filepath.Join(root, "planted", "_data")
	os.Symlink(outside, filepath.Join(data, "root-link"))
	os.Symlink(precious, filepath.Join(data, "file-link"))
	if err := s.Remove(ctx, "planted"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(precious); err != nil || string(b) != "keep" {
		t.Errorf("a link inside the volume was followed: %q %v", b, err)
	}
}

func TestPrune(t *testing.T) {
	s, root := newService(t)
	rec := &eventRecorder{}
	s.SetEvents(rec)
	ctx := context.Background()
	anon := create(t, s, CreateOptions{Labels: map[string]string{"tier": "db"}})
	anonUsed := create(t, s, CreateOptions{})
	s.Reference(anonUsed.Name, "c1")
	create(t, s, CreateOptions{Name: "named", Labels: map[string]string{"tier": "web", "keep": "yes"}})
	create(t, s, CreateOptions{Name: "named2", Labels: map[string]string{"tier": "db"}})
	create(t, s, CreateOptions{Name: "withopts", Options: map[string]string{"type": "tmpfs", "device": "tmpfs"}})
	used := create(t, s, CreateOptions{Name: "used"})
	s.Reference("used", "c2")
	os.WriteFile(filepath.Join(anon.Mountpoint, "blob"), make([]byte, 3000), 0o644)
	os.WriteFile(filepath.Join(root, "named2", "_data", "blob"), make([]byte, 500), 0o644)

	// Only anonymous volumes by default (Docker 23+).
	rep, err := s.Prune(ctx, PruneOptions{})
	if err != nil || !slices.Equal(rep.Deleted, []string{anon.Name}) || rep.SpaceReclaimed != 3000 {
		t.Errorf("default prune: %+v %v", rep, err)
	}
	// all=true with labels: label= must all match, label! keeps matches.
	rep, err = s.Prune(ctx, PruneOptions{All: true, Labels: []string{"tier"}, NotLabels: []string{"keep=yes"}})
	if err != nil || !slices.Equal(rep.Deleted, []string{"named2"}) || rep.SpaceReclaimed != 500 {
		t.Errorf("prune all, label=tier, label!=keep=yes: %+v %v", rep, err)
	}
	rep, err = s.Prune(ctx, PruneOptions{All: true, Labels: []string{"tier=db"}})
	if err != nil || len(rep.Deleted) != 0 || rep.Deleted == nil {
		t.Errorf("prune with nothing to do: %+v %v", rep, err)
	}
	rep, err = s.Prune(ctx, PruneOptions{All: true})
	if err != nil || !slices.Equal(rep.Deleted, []string{"named"}) {
		t.Errorf("prune all: %+v %v", rep, err)
	}
	var left []string
	for _, v := range s.List() {
		left = append(left, v.Name)
	}
	// Referenced volumes and volumes with options stay, as in Docker.
	if want := []string{anonUsed.Name, "used", "withopts"}; !slices.Equal(left, want) {
		t.Errorf("left: %v, want %v", left, want)
	}
	if got := dirNames(t, root); len(got) != 3 {
		t.Errorf("on disk: %v", got)
	}
	s.Dereference("used", "c2")
	if rep, _ := s.Prune(ctx, PruneOptions{All: true}); !slices.Equal(rep.Deleted, []string{used.Name}) {
		t.Errorf("prune after dereference: %+v", rep)
	}
	acts := rec.actions()
	if !slices.Contains(acts, "prune reclaimed=3000") || !slices.Contains(acts, "destroy "+anon.Name+" driver=local") {
		t.Errorf("events: %q", acts)
	}
}

func TestPruneOneAtATime(t *testing.T) {
	s, _ := newService(t)
	s.pruning.Store(true)
	if _, err := s.Prune(context.Background(), PruneOptions{}); !errdefs.IsConflict(err) {
		t.Errorf("concurrent prune: %v", err)
	}
}

func TestMountPlainVolume(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	v := create(t, s, CreateOptions{Name: "plain"})
	p, err := s.Mount(ctx, "plain", "c1")
	if err != nil || p != v.Mountpoint {
		t.Errorf("Mount: %q %v", p, err)
	}
	if err := s.Unmount(ctx, "plain", "c1"); err != nil {
		t.Errorf("Unmount: %v", err)
	}
	if _, err := s.Mount(ctx, "nope", "c1"); !errdefs.IsNotFound(err) {
		t.Errorf("Mount of a missing volume: %v", err)
	}
	if err := s.Unmount(ctx, "nope", "c1"); !errdefs.IsNotFound(err) {
		t.Errorf("Unmount of a missing volume: %v", err)
	}
	if n, err := s.Size(ctx, "plain"); err != nil || n != 0 {
		t.Errorf("Size: %d %v", n, err)
	}
}

func isMounted(t *testing.T, p string) bool {
	t.Helper()
	m, err := local.Mounted(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A tmpfs volume is mounted by its first user and unmounted when the last
// one goes; a daemon restart finds it mounted.
func TestTmpfsMountRefcount(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting needs root")
	}
	s, root := newService(t)
	ctx := context.Background()
	v := create(t, s, CreateOptions{Name: "scratch", Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}})
	t.Cleanup(func() { _ = unix.Unmount(v.Mountpoint, unix.MNT_DETACH) })
	if isMounted(t, v.Mountpoint) {
		t.Fatalf("mounted at create")
	}
	for _, c := range []string{"c1", "c2", "c2"} {
		p, err := s.Mount(ctx, "scratch", c)
		if err != nil || p != v.Mountpoint {
			t.Fatalf("Mount for %s: %q %v", c, p, err)
		}
	}
	if !isMounted(t, v.Mountpoint) {
		t.Fatalf("not mounted after Mount")
	}
	os.WriteFile(filepath.Join(v.Mountpoint, "f"), []byte("x"), 0o644)
	if n, err := s.Size(ctx, "scratch"); err != nil || n != -1 {
		t.Errorf("Size of a tmpfs volume: %d %v", n, err)
	}
	if err := s.Unmount(ctx, "scratch", "c1"); err != nil {
		t.Fatal(err)
	}
	if !isMounted(t, v.Mountpoint) {
		t.Fatalf("unmounted while c2 still uses it")
	}
	if err := s.Remove(ctx, "scratch"); !errdefs.IsConflict(err) {
		t.Errorf("remove while mounted: %v", err)
	}
	if err := s.Unmount(ctx, "scratch", "c2"); err != nil {
		t.Fatal(err)
	}
	if isMounted(t, v.Mountpoint) {
		t.Fatalf("still mounted after the last Unmount")
	}
	if _, err := os.Stat(filepath.Join(v.Mountpoint, "f")); !os.IsNotExist(err) {
		t.Errorf("tmpfs content visible after unmount: %v", err)
	}

	// Restart with the volume mounted: the running container mounts again
	// (no second mount), the others' leftovers are unmounted.
	if _, err := s.Mount(ctx, "scratch", "c1"); err != nil {
		t.Fatal(err)
	}
	create(t, s, CreateOptions{Name: "stale", Options: map[string]string{"type": "tmpfs", "device": "tmpfs"}})
	stale := s.root.DataPath("stale")
	t.Cleanup(func() { _ = unix.Unmount(stale, unix.MNT_DETACH) })
	if _, err := s.Mount(ctx, "stale", "gone"); err != nil {
		t.Fatal(err)
	}
	s2, err := New(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if !s2.volumes["scratch"].mounted || !s2.volumes["stale"].mounted {
		t.Fatalf("mounted state not found at load")
	}
	if _, err := s2.Mount(ctx, "scratch", "c1"); err != nil {
		t.Fatal(err)
	}
	s2.UnmountUnused(ctx)
	if !isMounted(t, v.Mountpoint) || isMounted(t, stale) {
		t.Errorf("after UnmountUnused: scratch mounted %v (want true), stale mounted %v (want false)", isMounted(t, v.Mountpoint), isMounted(t, stale))
	}
	mounts, _ := local.MountsUnder(v.Mountpoint)
	if len(mounts) != 1 {
		t.Errorf("mounted %d times, want once", len(mounts))
	}
	// Remove unmounts a volume mounted but no longer used.
	s2.volumes["scratch"].users = map[string]bool{}
	if err := s2.Remove(ctx, "scratch"); err != nil {
		t.Fatal(err)
	}
	if isMounted(t, v.Mountpoint) {
		t.Errorf("still mounted after remove")
	}
	if _, err := os.Stat(filepath.Join(root, "scratch")); !os.IsNotExist(err) {
		t.Errorf("volume directory left: %v", err)
	}
}

// A bind volume's host directory survives the volume's removal.
func TestBindVolumeRemoveKeepsHostDirectory(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting needs root")
	}
	s, _ := newService(t)
	ctx := context.Background()
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "hostfile"), []byte("host"), 0o644)
	v := create(t, s, CreateOptions{Name: "hostdir", Options: map[string]string{"type": "none", "device": host, "o": "bind"}})
	t.Cleanup(func() { _ = unix.Unmount(v.Mountpoint, unix.MNT_DETACH) })
	p, err := s.Mount(ctx, "hostdir", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(p, "hostfile")); err != nil || string(b) != "host" {
		t.Fatalf("bind volume content: %q %v", b, err)
	}
	// The container is gone without unmounting (a crash): remove still
	// unmounts first.
	s.volumes["hostdir"].users = map[string]bool{}
	if err := s.Remove(ctx, "hostdir"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(host, "hostfile")); err != nil || string(b) != "host" {
		t.Errorf("host directory damaged by remove: %q %v", b, err)
	}
}
