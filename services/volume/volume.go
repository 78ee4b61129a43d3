// Package volume is Pouch's volume service: named and anonymous volumes of
// Docker's "local" driver, kept under <home>/volumes (see volume/local for
// the layout and the mount mechanics), and which containers use them. It
// knows nothing of HTTP.
//
// # What is persisted, and by whom
//
// Each volume's record (driver, labels, options, creation time, whether it
// is anonymous) is written atomically with the volume's directory, and read
// back by New. Which containers use a volume is not persisted here: the
// container service persists its containers' mount points and, at every
// start of the daemon, must
//
//  1. call Reference(volume, container) for every volume mount point of
//     every container it knows, running or not (a stopped container keeps
//     its volumes from being removed, as in Docker);
//  2. call Mount(ctx, volume, container) again for every volume of every
//     container still running (the service counts the containers using a
//     mounted filesystem and must know them before one of them exits);
//  3. then call UnmountUnused, which unmounts the tmpfs and device volumes
//     still mounted from before that no running container uses.
//
// At runtime the container service calls Ensure (or Create) and Reference
// when it creates a container, Mount when it starts and Unmount when the
// run ends, Dereference when the container is removed (and Remove for its
// anonymous volumes with `rm -v`).
package volume

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/pouchcontainer/pouch/volume/local"
)

// Volume is one volume. Values returned by the service are not to be
// modified.
type Volume struct {
	Name       string
	Driver     string // always "local"
	Labels     map[string]string
	Options    map[string]string // the driver options as given (type, device, o)
	CreatedAt  time.Time
	Anonymous  bool   // created without a name (or for an image's VOLUME)
	Mountpoint string // <Root>/<name>/_data
}

// CreateOptions is a volume create request.
type CreateOptions struct {
	// Name of the volume; empty creates an anonymous volume with a random
	// name.
	Name string
	// Driver is "" or "local".
	Driver string
	// Labels of a new volume.
	Labels map[string]string
	// Options of Docker's local driver: type, device and o (mount(8)'s
	// -t, device and -o), and size (only 0: no quotas).
	Options map[string]string
	// Anonymous marks a named volume as anonymous (Docker's label
	// com.docker.volume.anonymous), as an unnamed one always is.
	Anonymous bool
	// Reference, if set, is a container ID referencing the volume from
	// the moment it is returned, so no removal can come in between.
	Reference string
}

// PruneOptions selects the volumes Prune removes, among those no container
// references and that have no driver options (a tmpfs or a bind of a host
// directory holds nothing to reclaim), as Docker does.
type PruneOptions struct {
	// All prunes named volumes too; otherwise only anonymous ones (those
	// with the label com.docker.volume.anonymous), as Docker 23 and later.
	All bool
	// Labels ("key" or "key=value") must all be on a volume to prune it.
	Labels []string
	// NotLabels ("key" or "key=value") keep a volume that has them all.
	NotLabels []string
}

// PruneReport is what Prune removed.
type PruneReport struct {
	Deleted        []string
	SpaceReclaimed uint64
}

// record is what a volume's volume.json holds.
type record struct {
	Name      string
	Driver    string
	Labels    map[string]string `json:",omitempty"`
	Options   map[string]string `json:",omitempty"`
	CreatedAt time.Time
	Anonymous bool `json:",omitempty"`
}

func encodeRecord(v *Volume) ([]byte, error) {
	return json.MarshalIndent(record{
		Name: v.Name, Driver: v.Driver, Labels: v.Labels, Options: v.Options,
		CreatedAt: v.CreatedAt, Anonymous: v.Anonymous,
	}, "", "  ")
}

func decodeRecord(name string, b []byte) (*Volume, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if r.Name != name {
		return nil, fmt.Errorf("the record names volume %q", r.Name)
	}
	if r.Driver != local.DriverName {
		return nil, fmt.Errorf("unknown driver %q", r.Driver)
	}
	return &Volume{
		Name: r.Name, Driver: r.Driver, Labels: orEmpty(r.Labels), Options: orNil(r.Options),
		CreatedAt: r.CreatedAt, Anonymous: r.Anonymous,
	}, nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// matchLabels reports whether labels satisfy every filter ("key" or
// "key=value"); no filter matches everything.
func matchLabels(labels map[string]string, filters []string) bool {
	for _, f := range filters {
		k, want, hasValue := strings.Cut(f, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != want) {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// errNoSuchVolume is Docker's not-found error for an operation on a volume.
func errNoSuchVolume(op, name string) error {
	return fmt.Errorf("%s %s: no such volume: %w", op, name, errdefs.ErrNotFound)
}
