package registry

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	dref "github.com/distribution/reference"

	"github.com/pouchcontainer/pouch/pkg/reference"
)

// Normalize parses ref as Docker does (adding the "latest" tag when it has
// neither tag nor digest) and applies the default registry. Without one, a
// name without a registry part is Docker Hub's (docker.io/library/busybox).
// With a default registry R, Docker Hub's names belong to R instead, with
// the path Docker gives them: "busybox", "library/busybox" and
// "docker.io/library/busybox" are all R/library/busybox:latest, and
// "team/app" is R/team/app:latest. Docker Hub's names count because
// Docker's CLI sends "busybox" as "docker.io/library/busybox": the daemon
// cannot tell them apart. Names on any other registry are kept.
func (r *Registries) Normalize(ref string) (reference.Named, error) {
	n, err := reference.ParseNamed(ref)
	if err != nil {
		return nil, err
	}
	return r.toDefault(n)
}

// toDefault moves a Docker Hub name to the default registry.
func (r *Registries) toDefault(n reference.Named) (reference.Named, error) {
	if r == nil || r.defaultRegistry == "" || dref.Domain(n) != DockerHub {
		return n, nil
	}
	moved := r.defaultRegistry + "/" + strings.TrimPrefix(n.String(), DockerHub+"/")
	m, err := dref.ParseNamed(moved)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format %q with default registry %s: %v: %w", n, r.defaultRegistry, err, errdefs.ErrInvalidArgument)
	}
	return m, nil
}

// Candidates lists the normalised names an image reference may have in
// the local store, in order: with a default registry, a Docker Hub name is
// first the default registry's and then Docker Hub's (images loaded from
// archives or tagged before keep Docker's names).
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
