package image

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/diff/apply"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/core/unpack"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	dref "github.com/distribution/reference"
	eventtypes "github.com/moby/moby/api/types/events"
	"github.com/moby/sys/userns"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/semaphore"

	imagestore "github.com/pouchcontainer/pouch/image"
	"github.com/pouchcontainer/pouch/pkg/reference"
	"github.com/pouchcontainer/pouch/pkg/registry"
)

// parallelLayers bounds the layers downloaded (and uploaded) at once.
const parallelLayers = 3

// PullOptions tunes Pull.
type PullOptions struct {
	// Ref is the image: NAME[:TAG|@DIGEST] as the client gave it.
	Ref string
	// Tag, when set, replaces the tag or digest of Ref; a value with a
	// ":" ("sha256:...") is a digest.
	Tag string
	// Platform selects the image of a multi-platform index; nil is the host's.
	Platform *ocispec.Platform
	// Auth authenticates to the image's registry.
	Auth registry.Credentials
}

// Pull fetches an image from its registry, unpacks it as its layers arrive
// and names it. The reference is resolved before anything is written to
// out, so an unknown image, refused credentials or an unreachable registry
// are plain errors; later failures come after progress messages. Layers
// already in the store are not fetched again. Everything is written under
// a lease and the name is recorded last, so a failed or cancelled pull
// lists no image and leaves only garbage for the collector.
func (s *Service) Pull(ctx context.Context, opts PullOptions, out ProgressOutput) error {
	named, err := s.registries.Normalize(pullRef(opts.Ref, opts.Tag))
	if err != nil {
		return err
	}
	matcher := s.platform
	if opts.Platform != nil {
		matcher = platforms.Only(*opts.Platform)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o := &output{out: out, cancel: cancel}
	err = s.store.WithLease(ctx, func(ctx context.Context) error {
		return s.pull(ctx, named, matcher, opts, o)
	})
	if err != nil {
		// What the lease held is garbage now.
		s.gc.Schedule()
		if werr := o.failed(); werr != nil && errors.Is(err, context.Canceled) {
			return fmt.Errorf("pull of %s cancelled: client went away: %w", dref.FamiliarString(named), err)
		}
	}
	return err
}

func (s *Service) pull(ctx context.Context, named reference.Named, matcher platforms.MatchComparer, opts PullOptions, o *output) error {
	name := named.String()
	resolver := s.registries.Resolver(opts.Auth, nil)
	_, desc, err := resolver.Resolve(ctx, name)
	if err != nil {
		return pullError(err, named, opts.Auth)
	}
	fetcher, err := resolver.Fetcher(ctx, name)
	if err != nil {
		return pullError(err, named, opts.Auth)
	}
	if images.IsIndexType(desc.MediaType) {
		found, err := s.indexHasPlatform(ctx, fetcher, desc, matcher)
		if err != nil {
			return pullError(err, named, opts.Auth)
		}
		if !found {
			p := platforms.DefaultSpec()
			if opts.Platform != nil {
				p = *opts.Platform
			}
			return fmt.Errorf("no matching manifest for %s in the manifest list entries: %w", platforms.Format(p), errdefs.ErrNotFound)
		}
	}

	// From here on the client sees progress.
	o.write(Progress{ID: tagOrDigest(named), Status: "Pulling from " + dref.Path(named)})
	manifest, err := s.fetchAndUnpack(ctx, name, desc, fetcher, matcher, o)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("failed to pull %s: %w", dref.FamiliarString(named), registry.Classify(err))
	}
	// The name holds what was resolved (an index keeps every platform
	// within reach of the name's digest), except for an image pulled for
	// another platform than the host's: the name then holds that
	// platform's manifest, so that it shows that platform's image.
	target := desc
	if opts.Platform != nil && !s.platform.Match(*opts.Platform) {
		target = manifest
	}
	upToDate, err := s.recordPull(ctx, name, target)
	if err != nil {
		return err
	}
	s.publish(eventtypes.ActionPull, dref.FamiliarString(named), dref.FamiliarName(named), s.labelsOf(ctx, target))
	o.write(Progress{Status: "Digest: " + desc.Digest.String()})
	if upToDate {
		o.write(Progress{Status: "Status: Image is up to date for " + dref.FamiliarString(named)})
	} else {
		o.write(Progress{Status: "Status: Downloaded newer image for " + dref.FamiliarString(named)})
	}
	return o.failed()
}

// indexHasPlatform fetches an index and tells whether it has an image for
// the platform, so that a missing platform is a clean error before progress.
func (s *Service) indexHasPlatform(ctx context.Context, fetcher remotes.Fetcher, desc ocispec.Descriptor, matcher platforms.MatchComparer) (bool, error) {
	cs := s.store.Content
	if err := remotes.Fetch(ctx, cs, fetcher, desc); err != nil && !errdefs.IsAlreadyExists(err) {
		return false, err
	}
	var idx ocispec.Index
	if err := readJSON(ctx, cs, desc, &idx); err != nil {
		return false, fmt.Errorf("invalid image index %s: %v: %w", desc.Digest, err, errdefs.ErrInvalidArgument)
	}
	for _, m := range idx.Manifests {
		if m.Platform == nil || matcher.Match(*m.Platform) {
			return true, nil
		}
	}
	return false, nil
}

// fetchAndUnpack walks the image from desc and returns the platform's
// manifest: it and the config are fetched, and containerd's unpacker fetches the layers
// (parallelLayers at a time) and extracts each as soon as it and the ones
// below it are there. Children labels are set on the way, so the content
// is referenced as soon as the image record exists.
func (s *Service) fetchAndUnpack(ctx context.Context, name string, desc ocispec.Descriptor, fetcher remotes.Fetcher, matcher platforms.MatchComparer, o *output) (ocispec.Descriptor, error) {
	cs := s.store.Content
	progress := newPullProgress(o, cs, parallelLayers)
	fetch := remotes.FetchHandler(cs, fetcher)
	layers := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if !images.IsLayerType(desc.MediaType) {
			if _, err := fetch(ctx, desc); err != nil {
				return nil, fetchError(ctx, cs, desc, err)
			}
			return nil, nil
		}
		if _, err := cs.Info(ctx, desc.Digest); err == nil {
			return nil, nil // never fetched twice
		}
		progress.fetchStarted(desc, remotes.MakeRefKey(ctx, desc))
		if _, err := fetch(ctx, desc); err != nil {
			return nil, fetchError(ctx, cs, desc, err)
		}
		progress.fetchDone(desc)
		return nil, nil
	})
	var manifest atomic.Pointer[ocispec.Descriptor]
	observe := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		if images.IsManifestType(desc.MediaType) {
			var m ocispec.Manifest
			if err := readJSON(ctx, cs, desc, &m); err != nil {
				return nil, fmt.Errorf("invalid manifest %s: %v: %w", desc.Digest, err, errdefs.ErrInvalidArgument)
			}
			manifest.Store(&ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size})
			progress.announce(ctx, m.Layers)
		}
		return nil, nil
	})
	children := images.LimitManifests(images.FilterPlatforms(images.SetChildrenLabels(cs, images.ChildrenHandler(cs)), matcher), matcher, 1)
	source, err := docker.AppendDistributionSourceLabel(cs, name)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	handler := images.Handlers(layers, observe, children, source)

	platform := unpack.Platform{
		Platform:       platforms.All, // what was fetched is this pull's platform
		SnapshotterKey: imagestore.SnapshotterName,
		Snapshotter:    s.store.Snapshotter,
		Applier:        trackingApplier{Applier: apply.NewFileSystemApplier(countingProvider{Provider: cs, p: progress}), p: progress},
	}
	opts := []unpack.UnpackerOpt{unpack.WithLimiter(semaphore.NewWeighted(parallelLayers))}
	if !userns.RunningInUserNS() {
		// Layers extract side by side, each on its own, and are rebased
		// onto their parent at commit (overlay whiteouts need mknod,
		// which a user namespace refuses).
		platform.SnapshotterCapabilities = []string{snapshots.RebaseCap}
		opts = append(opts, unpack.WithUnpackLimiter(semaphore.NewWeighted(parallelLayers)))
	}
	unpacker, err := unpack.NewUnpacker(ctx, cs, append(opts,
		unpack.WithUnpackPlatform(platform),
		// Fetch layers whose snapshot exists but whose blob does not (an
		// image loaded from an archive has other blobs), so that what was
		// pulled can be pushed and saved; present blobs are never fetched.
		unpack.WithFetchAllContent(),
	)...)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	stop := runTicker(ctx, progress.tick)
	err = images.Dispatch(ctx, unpacker.Unpack(handler), nil, desc)
	_, uerr := unpacker.Wait()
	stop()
	if err == nil {
		err = firstError(uerr)
	}
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	m := manifest.Load()
	if m == nil {
		return ocispec.Descriptor{}, fmt.Errorf("no image manifest in %s: %w", desc.Digest, errdefs.ErrNotFound)
	}
	progress.finish()
	return *m, nil
}

// firstError keeps the cause of a joined unpack error: the unpacker joins
// the first failure with one more per layer waiting on it ("aborted", or
// the same download error again).
func firstError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := j.Unwrap(); len(errs) > 0 {
			return firstError(errs[0])
		}
	}
	return err
}

// fetchError explains a failed download. Bytes that do not match the
// digest (or the size) are dropped at once, so that the next pull fetches
// them again instead of resuming bad data.
func fetchError(ctx context.Context, cs content.Store, desc ocispec.Descriptor, err error) error {
	what := "manifest"
	switch {
	case images.IsLayerType(desc.MediaType):
		what = "filesystem layer"
	case images.IsConfigType(desc.MediaType):
		what = "image configuration"
	}
	if errdefs.IsFailedPrecondition(err) {
		_ = cs.Abort(context.WithoutCancel(ctx), remotes.MakeRefKey(ctx, desc))
		return fmt.Errorf("%s verification failed for digest %s: the registry sent other data", what, desc.Digest)
	}
	if images.IsLayerType(desc.MediaType) {
		return fmt.Errorf("failed to download layer %s: %w", ShortID(desc.Digest), err)
	}
	return fmt.Errorf("failed to download %s %s: %w", what, desc.Digest, err)
}

// recordPull names the pulled image, reporting whether the name already
// pointed at it. The image the name pointed at before stays, dangling.
func (s *Service) recordPull(ctx context.Context, name string, target ocispec.Descriptor) (bool, error) {
	s.writing.Lock()
	defer s.writing.Unlock()
	if old, err := s.store.Images.Get(ctx, name); err == nil && old.Target.Digest == target.Digest {
		return true, nil
	}
	return false, s.setName(ctx, name, target)
}

// pullRef joins an image name and the tag (or digest) asked for apart, as
// the API's fromImage and tag parameters give them.
func pullRef(ref, tag string) string {
	if tag == "" {
		return ref
	}
	if strings.Contains(tag, ":") {
		return repository(ref) + "@" + tag
	}
	return repository(ref) + ":" + tag
}

// tagOrDigest is the ID of a pull's first message: the tag, or the digest.
func tagOrDigest(n reference.Named) string {
	if t, ok := n.(dref.Tagged); ok {
		return t.Tag()
	}
	if d, ok := n.(dref.Digested); ok {
		return d.Digest().String()
	}
	return "latest"
}

// pullError makes a resolution failure readable and classifies it:
// unknown image or tag, refused credentials, or an unreachable registry.
func pullError(err error, named reference.Named, creds registry.Credentials) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	familiar := dref.FamiliarString(named)
	c := registry.Classify(err)
	switch {
	case errdefs.IsUnauthorized(c) && creds.Empty():
		return fmt.Errorf("pull access denied for %s, repository does not exist or may require 'docker login': %w", dref.FamiliarName(named), errdefs.ErrUnauthenticated)
	case errdefs.IsUnauthorized(c):
		return fmt.Errorf("pull access denied for %s: unauthorized: incorrect username or password: %w", dref.FamiliarName(named), errdefs.ErrUnauthenticated)
	case errdefs.IsPermissionDenied(c):
		return fmt.Errorf("pull access denied for %s: denied: requested access to the resource is denied: %w", dref.FamiliarName(named), errdefs.ErrPermissionDenied)
	case errdefs.IsNotFound(c):
		return fmt.Errorf("manifest for %s not found: manifest unknown: %w", familiar, errdefs.ErrNotFound)
	}
	return fmt.Errorf("error pulling %s: %w", familiar, c)
}
