// Package local holds the mechanics of Docker's "local" volume driver:
// volume names, the driver's options (type, device, o, size), mounting a
// volume's filesystem (tmpfs, a device, a bind of a host directory) on its
// data directory, and the directory layout under the volumes root:
//
//	<root>/<name>/_data         the data containers see
//	<root>/<name>/volume.json   the record (its content is the caller's)
//
// A volume directory appears and disappears atomically: it is built as
// <root>/.creating-* and renamed into place, and removed by renaming it to
// <root>/.removing-* before deleting it. Names never start with a dot, so
// these never collide with a volume; Open deletes what a crash left.
//
// Nothing here knows of references, events or HTTP: that is the volume
// service's (services/volume).
package local

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	units "github.com/docker/go-units"
)

const (
	// DriverName is the only driver Pouch has, as Docker names it.
	DriverName = "local"
	// DataDir is the directory of a volume that containers mount.
	DataDir = "_data"
	// RecordFile is the file holding a volume's record.
	RecordFile = "volume.json"
	// AnonymousLabel marks a volume created without a name (Docker's).
	AnonymousLabel = "com.docker.volume.anonymous"
)

// nameChars is Docker's rule for names of local volumes: they become a
// directory name, so nothing may let them escape the volumes root.
const nameChars = `[a-zA-Z0-9][a-zA-Z0-9_.-]`

var validName = regexp.MustCompile(`^` + nameChars + `+$`)

// ValidateName checks a volume name with Docker's rule and messages.
func ValidateName(name string) error {
	if len(name) == 1 {
		return fmt.Errorf("volume name is too short, names should be at least two alphanumeric characters: %w", errdefs.ErrInvalidArgument)
	}
	if !validName.MatchString(name) {
		return fmt.Errorf("%q includes invalid characters for a local volume name, only %q are allowed. If you intended to pass a host directory, use absolute path: %w",
			name, nameChars, errdefs.ErrInvalidArgument)
	}
	return nil
}

// NewName returns a random 64-hex name, as Docker gives anonymous volumes.
func NewName() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Options are the local driver's options, as given with `-o`:
// type=tmpfs,device=tmpfs,o=size=64m or type=none,device=/srv/x,o=bind.
type Options struct {
	Type   string // filesystem type, the -t of mount(8)
	Device string // what to mount
	O      string // mount options, comma-separated, as mount(8)'s -o
}

// NeedsMount reports whether the volume is a filesystem mounted on its data
// directory rather than the directory itself.
func (o Options) NeedsMount() bool { return o.Type != "" || o.Device != "" }

// validOptions are the keys Docker's local driver accepts on Linux;
// requiredWith lists, for a key, the keys that must come with it.
var (
	validOptions = []string{"type", "device", "o", "size"}
	requiredWith = map[string][]string{
		"device": {"type"},
		"type":   {"device"},
		"o":      {"device", "type"},
	}
)

// ParseOptions validates a volume's driver options as Docker's local driver
// does: only type, device, o and size; type and device together; o only with
// both. A size needs filesystem quotas, which Pouch does not manage, so only
// size=0 is accepted.
func ParseOptions(opts map[string]string) (Options, error) {
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if !slices.Contains(validOptions, k) {
			return Options{}, fmt.Errorf("invalid option: %q: %w", k, errdefs.ErrInvalidArgument)
		}
	}
	if v, ok := opts["size"]; ok {
		size, err := units.RAMInBytes(v)
		if err != nil {
			return Options{}, fmt.Errorf("invalid size %q: %v: %w", v, err, errdefs.ErrInvalidArgument)
		}
		if size > 0 {
			return Options{}, fmt.Errorf("quota size requested but no quota support: %w", errdefs.ErrInvalidArgument)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(requiredWith)) {
		if _, ok := opts[k]; !ok {
			continue
		}
		for _, req := range requiredWith[k] {
			if _, ok := opts[req]; !ok {
				return Options{}, fmt.Errorf("missing required option: %q: %w", req, errdefs.ErrInvalidArgument)
			}
		}
	}
	o := Options{Type: opts["type"], Device: opts["device"], O: opts["o"]}
	if o.NeedsMount() {
		if o.Type == "" || o.Device == "" {
			return Options{}, fmt.Errorf("options type and device must not be empty: %w", errdefs.ErrInvalidArgument)
		}
	}
	return o, nil
}

// String shows the options for logs and errors, without a password a
// network filesystem's o= may carry.
func (o Options) String() string {
	var opts []string
	for _, opt := range strings.Split(o.O, ",") {
		if strings.HasPrefix(opt, "password=") {
			opt = "password=********"
		}
		opts = append(opts, opt)
	}
	return fmt.Sprintf("type=%s device=%s o=%s", o.Type, o.Device, strings.Join(opts, ","))
}
