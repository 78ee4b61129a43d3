package image

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/containerd/platforms"
	dref "github.com/distribution/reference"
	eventtypes "github.com/moby/moby/api/types/events"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/semaphore"

	"github.com/pouchcontainer/pouch/pkg/reference"
	"github.com/pouchcontainer/pouch/pkg/registry"
)

// PushOptions tunes Push.
type PushOptions struct {
	// Name is the image to push: a repository, or NAME:TAG.
	Name string
	// Tag, when set, replaces the tag of Name. With neither, every tag of
	// the repository is pushed, as Docker does.
	Tag string
	// Auth authenticates to the image's registry.
	Auth registry.Credentials
}

// Push uploads local images to their registry. Which images is settled
// before anything is written to out (an unknown one is a not-found error);
// then each tag is pushed with progress: blobs the registry has are not
// uploaded again, and a blob pulled from another repository of the same
// registry is mounted from there.
func (s *Service) Push(ctx context.Context, opts PushOptions, out ProgressOutput) error {
	names, err := s.pushNames(ctx, opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o := &output{out: out, cancel: cancel}
	repo, err := s.registries.Normalize(names[0])
	if err != nil {
		return err
	}
	o.write(Progress{Status: "The push refers to repository [" + reference.TrimTag(repo) + "]"})
	for _, name := range names {
		if err := s.pushOne(ctx, name, opts.Auth, o); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
	return o.failed()
}

// pushNames finds the local names to push, fully qualified.
func (s *Service) pushNames(ctx context.Context, opts PushOptions) ([]string, error) {
	if opts.Tag != "" {
		if strings.Contains(opts.Tag, ":") {
			return nil, fmt.Errorf("cannot push a digest reference (%s): push a tag: %w", opts.Tag, errdefs.ErrInvalidArgument)
		}
		// The tag replaces any in the name; the name stays as the client
		// wrote it, so the default registry applies to an unqualified one.
		name, err := s.localName(ctx, repository(opts.Name)+":"+opts.Tag)
		if err != nil {
			return nil, err
		}
		return []string{name}, nil
	}
	n, err := reference.ParseNamed(opts.Name)
	if err != nil {
		return nil, err
	}
	if _, ok := n.(dref.Digested); ok {
		return nil, fmt.Errorf("cannot push a digest reference (%s): push a tag: %w", opts.Name, errdefs.ErrInvalidArgument)
	}
	if hasTag(opts.Name) {
		name, err := s.localName(ctx, opts.Name)
		if err != nil {
			return nil, err
		}
		return []string{name}, nil
	}
	// Every tag of the repository: the default registry's first.
	recs, err := s.store.Images.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range s.registries.Candidates(opts.Name) {
		cn, err := reference.ParseNamed(c)
		if err != nil {
			continue
		}
		repo := reference.TrimTag(cn)
		var out []string
		for _, r := range recs {
			rn, err := reference.ParseNamed(r.Name)
			if err != nil || strings.HasPrefix(r.Name, danglingPrefix) {
				continue
			}
			if _, ok := rn.(dref.Tagged); ok && reference.TrimTag(rn) == repo {
				out = append(out, r.Name)
			}
		}
		if len(out) > 0 {
			sort.Strings(out)
			return out, nil
		}
	}
	return nil, fmt.Errorf("An image does not exist locally with the tag: %s: %w", dref.FamiliarName(n), errdefs.ErrNotFound)
}

// hasTag reports whether a reference as written carries a tag.
func hasTag(ref string) bool {
	r, _, _ := strings.Cut(ref, "@")
	return strings.LastIndex(r, ":") > strings.LastIndex(r, "/")
}

// repository drops the tag and digest of a reference as written.
func repository(ref string) string {
	r, _, _ := strings.Cut(ref, "@")
	if hasTag(r) {
		r = r[:strings.LastIndex(r, ":")]
	}
	return r
}

// localName returns the record name ref has locally.
func (s *Service) localName(ctx context.Context, ref string) (string, error) {
	n, err := reference.ParseNamed(ref)
	if err != nil {
		return "", err
	}
	v, err := s.current(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range s.registries.Candidates(ref) {
		if img, ok := v.byName[c]; ok {
			for _, have := range img.Names {
				if have == c {
					return c, nil
				}
			}
		}
	}
	return "", fmt.Errorf("An image does not exist locally with the tag: %s: %w", dref.FamiliarName(n), errdefs.ErrNotFound)
}

// pushOne pushes the image a local name has. It goes to the registry the
// name normalises to: a Docker Hub name goes to the default registry, if
// one is set.
func (s *Service) pushOne(ctx context.Context, name string, creds registry.Credentials, o *output) error {
	named, err := s.registries.Normalize(name)
	if err != nil {
		return err
	}
	tag := "latest"
	if t, ok := named.(dref.Tagged); ok {
		tag = t.Tag()
	}
	img, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	target, manifests, err := s.pushTarget(ctx, img)
	if err != nil {
		return err
	}
	tracker := docker.NewInMemoryTracker()
	pusher, err := s.registries.Resolver(creds, tracker).Pusher(ctx, named.String())
	if err != nil {
		return pushError(err, named, creds)
	}
	progress := newPushProgress(o, tracker)
	for _, m := range manifests {
		progress.prepare(m.Layers)
	}
	// Blobs pushed are labelled with the repository they are in now, so
	// that a push to another repository of the registry mounts them.
	source, err := docker.AppendDistributionSourceLabel(s.store.Content, named.String())
	if err != nil {
		return err
	}
	wrapper := func(h images.Handler) images.Handler {
		return images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			if images.IsManifestType(desc.MediaType) || images.IsIndexType(desc.MediaType) {
				return h.Handle(ctx, desc)
			}
			layer := images.IsLayerType(desc.MediaType)
			if layer {
				progress.started(desc, remotes.MakeRefKey(ctx, desc))
			}
			children, err := h.Handle(ctx, desc)
			if err != nil {
				return nil, err
			}
			if _, err := source(ctx, desc); err != nil {
				log.G(ctx).WithError(err).WithField("digest", desc.Digest).Debug("cannot record where a blob was pushed")
			}
			if layer {
				progress.done(desc)
			}
			return children, nil
		})
	}
	stop := runTicker(ctx, progress.tick)
	err = remotes.PushContent(ctx, pusher, target, s.store.Content, semaphore.NewWeighted(parallelLayers), platforms.All, wrapper)
	stop()
	if err != nil {
		return pushError(err, named, creds)
	}
	s.publish(eventtypes.ActionPush, dref.FamiliarString(named), dref.FamiliarName(named), img.Config.Config.Labels)
	o.write(Progress{Status: fmt.Sprintf("%s: digest: %s size: %d", tag, target.Digest, target.Size)})
	o.write(Progress{Aux: &PushResult{Tag: tag, Digest: target.Digest.String(), Size: int(target.Size)}})
	return nil
}

// pushTarget picks what to push: the image's target, or, for an index of
// which only some platforms are here, the manifest of the platform that
// is (as Docker does). It returns the manifests whose layers go up.
func (s *Service) pushTarget(ctx context.Context, img *Image) (ocispec.Descriptor, []ocispec.Manifest, error) {
	cs := s.store.Content
	target := img.Target
	if !images.IsIndexType(target.MediaType) {
		return target, []ocispec.Manifest{img.Manifest}, nil
	}
	var idx ocispec.Index
	if err := readJSON(ctx, cs, target, &idx); err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	var manifests []ocispec.Manifest
	complete := true
	var local *ocispec.Descriptor
	for _, d := range idx.Manifests {
		if !images.IsManifestType(d.MediaType) {
			complete = false
			continue
		}
		var m ocispec.Manifest
		if err := readJSON(ctx, cs, d, &m); err != nil {
			complete = false
			continue
		}
		missing := false
		for _, c := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
			if _, err := cs.Info(ctx, c.Digest); err != nil {
				missing = true
			}
		}
		if missing {
			complete = false
			continue
		}
		manifests = append(manifests, m)
		if m.Config.Digest == img.ID && local == nil {
			d := d
			d.Platform = nil
			local = &d
		}
	}
	if complete {
		return target, manifests, nil
	}
	if local == nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("image %s: no complete platform image to push: %w", img.ID, errdefs.ErrNotFound)
	}
	return *local, []ocispec.Manifest{img.Manifest}, nil
}

// pushError makes a push failure readable and classifies it.
func pushError(err error, named reference.Named, creds registry.Credentials) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	c := registry.Classify(err)
	switch {
	case errdefs.IsUnauthorized(c) && creds.Empty():
		return fmt.Errorf("unauthorized: authentication required to push %s: %w", dref.FamiliarName(named), errdefs.ErrUnauthenticated)
	case errdefs.IsUnauthorized(c):
		return fmt.Errorf("unauthorized: incorrect username or password for %s: %w", dref.FamiliarName(named), errdefs.ErrUnauthenticated)
	case errdefs.IsPermissionDenied(c):
		return fmt.Errorf("denied: requested access to the resource is denied: %w", errdefs.ErrPermissionDenied)
	}
	return fmt.Errorf("failed to push %s: %w", dref.FamiliarString(named), c)
}
