package registry

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	dref "github.com/distribution/reference"

	"github.com/pouchcontainer/pouch/pkg/reference"
)

// Unqualified reports whether ref names no registry, by Docker's rule: the
// part before the first "/" is a registry only if it contains a "." or a
// ":" or is "localhost" (and is lower case). "busybox", "library/busybox"
// and "team/app:v1" are unqualified; "docker.io/library/busybox",
// "localhost/app" and "127.0.0.1:5000/app" are not.
func Unqualified(ref string) bool {
	first, _, ok := strings.Cut(ref, "/")
	if !ok {
		return true
	}
	return !strings.ContainsAny(first, ".:") && first != "localhost" && strings.ToLower(first) == first
}

// Normalize parses ref as Docker does (adding the "latest" tag when it has
// neither tag nor digest) and applies the default registry: with a default
// registry R, a name without a registry part belongs to R, with the path
// Docker would give it ("busybox" is R/library/busybox:latest, "team/app"
// is R/team/app:latest). Without one, or for a name that has a registry
// part, it is Docker's normalisation (docker.io/library/busybox:latest).
func (r *Registries) Normalize(ref string) (reference.Named, error) {
	n, err := reference.ParseNamed(ref)
	if err != nil {
		return nil, err
	}
	if r == nil || r.defaultRegistry == "" || !Unqualified(ref) {
		return n, nil
	}
	moved := r.defaultRegistry + "/" + strings.TrimPrefix(n.String(), DockerHub+"/")
	m, err := dref.ParseNamed(moved)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format %q with default registry %s: %v: %w", ref, r.defaultRegistry, err, errdefs.ErrInvalidArgument)
	}
	return m, nil
}

// Candidates lists the normalised names an image reference may have in
// the local store, most specific first: with a default registry, an
// unqualified name is first the default registry's and then Docker Hub's
// (images loaded from archives keep Docker's names).
func (r *Registries) Candidates(ref string) []string {
	n, err := reference.ParseNamed(ref)
	if err != nil {
		return nil
	}
	m, err := r.Normalize(ref)
	if err != nil || m.String() == n.String() {
		return []string{n.String()}
	}
	return []string{m.String(), n.String()}
}
