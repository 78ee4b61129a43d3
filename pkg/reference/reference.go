// Package reference normalises image references the way Docker does:
// "busybox" is "docker.io/library/busybox:latest".
package reference

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	dref "github.com/distribution/reference"
)

// Named is a normalised reference.
type Named = dref.Named

// ParseNamed normalises ref and adds the "latest" tag when it carries
// neither tag nor digest. Image IDs are not names and are refused.
func ParseNamed(ref string) (Named, error) {
	if isFullID(ref) {
		return nil, fmt.Errorf("%q is an image ID, not a name: %w", ref, errdefs.ErrInvalidArgument)
	}
	n, err := dref.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format %q: %v: %w", ref, err, errdefs.ErrInvalidArgument)
	}
	return dref.TagNameOnly(n), nil
}

// ParseTagged normalises a name to tag an image with; digests are refused.
func ParseTagged(ref string) (string, error) {
	n, err := ParseNamed(ref)
	if err != nil {
		return "", err
	}
	if _, ok := n.(dref.Digested); ok {
		return "", fmt.Errorf("refusing to create a tag with a digest reference %q: %w", ref, errdefs.ErrInvalidArgument)
	}
	return n.String(), nil
}

// Familiar shortens a normalised name for display: docker.io/library/busybox:latest
// becomes busybox:latest. Strings that are not references come back unchanged.
func Familiar(name string) string {
	n, err := dref.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	return dref.FamiliarString(n)
}

// FamiliarNames maps Familiar over names.
func FamiliarNames(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, Familiar(n))
	}
	return out
}

// TrimTag returns the repository of a named reference, without tag or digest.
func TrimTag(n Named) string {
	return dref.TrimNamed(n).String()
}

// Split returns the familiar repository and tag of a normalised name
// ("<none>" where missing), as `docker images` shows them.
func Split(name string) (repo, tag string) {
	n, err := dref.ParseNormalizedNamed(name)
	if err != nil {
		return "<none>", "<none>"
	}
	repo = dref.FamiliarName(n)
	tag = "<none>"
	if t, ok := n.(dref.Tagged); ok {
		tag = t.Tag()
	}
	return repo, tag
}

// IDPrefix reports whether ref can be (a prefix of) an image ID, and
// returns its hex part.
func IDPrefix(ref string) (string, bool) {
	hex := strings.TrimPrefix(ref, "sha256:")
	if hex == "" || len(hex) > 64 {
		return "", false
	}
	for _, c := range hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return hex, true
}

func isFullID(ref string) bool {
	hex, ok := IDPrefix(ref)
	return ok && len(hex) == 64
}
