// Package image is Pouch's image service: naming, lookup, load, save,
// tag, history, removal and pruning of images kept in the containerd store.
package image

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/containerd/platforms"
	dref "github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	eventtypes "github.com/moby/moby/api/types/events"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	imagestore "github.com/pouchcontainer/pouch/image"
	"github.com/pouchcontainer/pouch/pkg/reference"
	"github.com/pouchcontainer/pouch/pkg/registry"
	"github.com/pouchcontainer/pouch/services/events"
)

// danglingPrefix names records that keep an untagged image alive, the way
// Docker keeps images whose tag moved to another image.
const danglingPrefix = "pouch-dangling@"

// Usage tells which containers use an image. The container service
// implements it; the composition root wires it in.
type Usage interface {
	// ImageUsers returns how many containers use the image, and how many
	// of those are running.
	ImageUsers(id digest.Digest) (all, running int)
}

// Registries is what the service needs of the registry configuration:
// how names are normalised (the default registry) and a resolver.
type Registries interface {
	// Normalize turns a reference into the name it pulls, pushes and tags.
	Normalize(ref string) (reference.Named, error)
	// Candidates lists the names a reference may have locally, in order.
	Candidates(ref string) []string
	// Resolver returns a registry client authenticating with creds.
	Resolver(creds registry.Credentials, tracker docker.StatusTracker) remotes.Resolver
}

// Image is one image as the API sees it: a config digest (its ID), the
// names that point at it and the platform manifest resolved for this host.
type Image struct {
	ID       digest.Digest
	Names    []string // normalised names (with a tag), sorted
	Digests  []string // name@digest of the target, for images that have one
	Target   ocispec.Descriptor
	Manifest ocispec.Manifest
	Config   dockerspec.DockerOCIImage
	Created  time.Time // when the record was made (pulled, loaded)
	Size     int64

	records    []string // every record resolving to the image, dangling ones included
	digestRefs []string // records named name@digest (pulled by digest)
}

// ChainID is the snapshot the image's root filesystem is unpacked to.
func (i *Image) ChainID() digest.Digest {
	return identity.ChainID(i.Config.RootFS.DiffIDs)
}

// Dangling reports whether no name (tag or digest reference) points at the image.
func (i *Image) Dangling() bool { return len(i.Names) == 0 && len(i.digestRefs) == 0 }

// named lists the records that name the image: tags and digest references.
func (i *Image) named() []string {
	return append(append([]string{}, i.Names...), i.digestRefs...)
}

// Service manages images.
type Service struct {
	store      *imagestore.Store
	platform   platforms.MatchComparer
	gc         *Collector
	registries Registries

	// writing serialises the changes of image records (load's naming,
	// tag, remove, prune): each reads the records, then writes.
	writing sync.Mutex

	mu    sync.Mutex
	usage Usage
	cache map[digest.Digest]*resolved // target digest -> resolved manifest and config
	view  *view                       // the last List, until a record changes
	gen   uint64                      // bumped by every record change

	events events.Publisher // guarded by mu; nil publishes nothing (see SetEvents)
}

// view is one consistent listing of the image records, with the indexes
// lookups use: `ps` resolves every container's image name through it.
type view struct {
	list   []*Image
	byName map[string]*Image // normalised name or name@digest -> image

	mu     sync.Mutex
	lookup map[string]lookup // memo of Get on this view, by the ref given
}

type lookup struct {
	img *Image
	err error
}

// maxLookups bounds the memo of a view (refs come from API callers).
const maxLookups = 4096

// invalidate drops the cached view after a record changed. A List that
// read the records before the change will not store its (stale) view.
func (s *Service) invalidate() {
	s.mu.Lock()
	s.view = nil
	s.gen++
	s.mu.Unlock()
}

type resolved struct {
	manifest ocispec.Manifest
	config   dockerspec.DockerOCIImage
	configD  ocispec.Descriptor
	size     int64
}

// New returns the image service over an opened store.
// Registries default to Docker's: no TLS files, no mirrors, Docker Hub for
// unqualified names (see SetRegistries).
func New(store *imagestore.Store, gc *Collector) *Service {
	defaults, _ := registry.New(registry.Config{})
	return &Service{
		store:      store,
		platform:   platforms.Default(),
		gc:         gc,
		registries: defaults,
		cache:      map[digest.Digest]*resolved{},
	}
}

// SetRegistries wires in the daemon's registry configuration.
func (s *Service) SetRegistries(r Registries) {
	s.registries = r
}

// SetUsage wires in the container service.
func (s *Service) SetUsage(u Usage) {
	s.mu.Lock()
	s.usage = u
	s.mu.Unlock()
}

func (s *Service) users(id digest.Digest) (int, int) {
	s.mu.Lock()
	u := s.usage
	s.mu.Unlock()
	if u == nil {
		return 0, 0
	}
	return u.ImageUsers(id)
}

// resolve reads the platform manifest and config of a target, cached by
// target digest: content is immutable, so the cache never goes stale.
func (s *Service) resolve(ctx context.Context, target ocispec.Descriptor) (*resolved, error) {
	s.mu.Lock()
	r, ok := s.cache[target.Digest]
	s.mu.Unlock()
	if ok {
		return r, nil
	}
	cs := s.store.Content
	manifest, err := images.Manifest(ctx, cs, target, s.platform)
	if err != nil && images.IsIndexType(target.MediaType) {
		// Pulled for another platform: the index's image that is here.
		if m, perr := s.presentManifest(ctx, target); perr == nil {
			manifest, err = m, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", target.Digest, err)
	}
	blob, err := content.ReadBlob(ctx, cs, manifest.Config)
	if err != nil {
		return nil, fmt.Errorf("image config %s: %w", manifest.Config.Digest, err)
	}
	r = &resolved{manifest: manifest, configD: manifest.Config}
	if err := json.Unmarshal(blob, &r.config); err != nil {
		return nil, fmt.Errorf("image config %s: %w", manifest.Config.Digest, errdefs.ErrInvalidArgument)
	}
	for _, l := range manifest.Layers {
		r.size += l.Size
	}
	s.mu.Lock()
	s.cache[target.Digest] = r
	s.mu.Unlock()
	return r, nil
}

// presentManifest returns the first manifest of an index whose content is
// in the store: the platform an image was pulled for when it is not the
// host's.
func (s *Service) presentManifest(ctx context.Context, index ocispec.Descriptor) (ocispec.Manifest, error) {
	var idx ocispec.Index
	if err := readJSON(ctx, s.store.Content, index, &idx); err != nil {
		return ocispec.Manifest{}, err
	}
	for _, m := range idx.Manifests {
		if !images.IsManifestType(m.MediaType) {
			continue
		}
		if _, err := s.store.Content.Info(ctx, m.Digest); err != nil {
			continue
		}
		manifest, err := images.Manifest(ctx, s.store.Content, m, nil)
		if err != nil {
			continue
		}
		if _, err := s.store.Content.Info(ctx, manifest.Config.Digest); err == nil {
			return manifest, nil
		}
	}
	return ocispec.Manifest{}, fmt.Errorf("no image of index %s is in the store: %w", index.Digest, errdefs.ErrNotFound)
}

// List returns every image, one entry per ID, newest first. The images
// are shared: callers must not modify them.
func (s *Service) List(ctx context.Context) ([]*Image, error) {
	v, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	return v.list, nil
}

// current returns the cached view, building it when a record changed.
func (s *Service) current(ctx context.Context) (*view, error) {
	s.mu.Lock()
	cached, gen := s.view, s.gen
	s.mu.Unlock()
	if cached != nil {
		return cached, nil
	}
	recs, err := s.store.Images.List(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[digest.Digest]*Image{}
	for _, rec := range recs {
		r, err := s.resolve(ctx, rec.Target)
		if err != nil {
			log.G(ctx).WithError(err).WithField("image", rec.Name).Warn("skipping unreadable image")
			continue
		}
		id := r.configD.Digest
		img, ok := byID[id]
		if !ok {
			img = &Image{ID: id, Target: rec.Target, Manifest: r.manifest, Config: r.config, Created: rec.CreatedAt, Size: r.size}
			byID[id] = img
		}
		if rec.CreatedAt.Before(img.Created) {
			img.Created = rec.CreatedAt
		}
		img.records = append(img.records, rec.Name)
		if !strings.HasPrefix(rec.Name, danglingPrefix) {
			n, err := reference.ParseNamed(rec.Name)
			if _, byDigest := n.(dref.Digested); err == nil && byDigest {
				// Pulled by digest: a digest reference, not a tag.
				img.digestRefs = append(img.digestRefs, rec.Name)
			} else {
				img.Names = append(img.Names, rec.Name)
			}
			if err == nil && rec.Target.MediaType != "" {
				img.Digests = appendUnique(img.Digests, reference.TrimTag(n)+"@"+rec.Target.Digest.String())
			}
		}
	}
	v := &view{list: make([]*Image, 0, len(byID)), byName: map[string]*Image{}, lookup: map[string]lookup{}}
	live := map[digest.Digest]bool{}
	for _, rec := range recs {
		live[rec.Target.Digest] = true
	}
	for _, img := range byID {
		sort.Strings(img.Names)
		sort.Strings(img.Digests)
		v.list = append(v.list, img)
		for _, n := range img.Names {
			v.byName[n] = img
		}
		for _, d := range img.Digests {
			v.byName[d] = img
		}
	}
	sort.Slice(v.list, func(i, j int) bool {
		if !v.list[i].Created.Equal(v.list[j].Created) {
			return v.list[i].Created.After(v.list[j].Created)
		}
		return v.list[i].ID < v.list[j].ID
	})
	s.mu.Lock()
	if s.gen == gen {
		s.view = v
		// Forget resolved manifests of images no record points at.
		for d := range s.cache {
			if !live[d] {
				delete(s.cache, d)
			}
		}
	}
	s.mu.Unlock()
	return v, nil
}

// Get finds an image by name, name@digest, full ID or a unique ID prefix.
func (s *Service) Get(ctx context.Context, ref string) (*Image, error) {
	if ref == "" {
		return nil, fmt.Errorf("empty image reference: %w", errdefs.ErrInvalidArgument)
	}
	v, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	// Views never change, so neither does what a ref finds in one: `ps`
	// asks for the same few names once per container.
	v.mu.Lock()
	l, ok := v.lookup[ref]
	v.mu.Unlock()
	if ok {
		return l.img, l.err
	}
	img, err := v.find(ref, s.registries.Candidates(ref))
	v.mu.Lock()
	if len(v.lookup) < maxLookups {
		v.lookup[ref] = lookup{img, err}
	}
	v.mu.Unlock()
	return img, err
}

// find looks ref up in the view: by the names it may have (candidates,
// the default registry's first), then as an ID.
func (v *view) find(ref string, candidates []string) (*Image, error) {
	_, nameErr := reference.ParseNamed(ref)
	if nameErr == nil {
		for _, c := range candidates {
			if img, ok := v.byName[c]; ok {
				return img, nil
			}
		}
	}
	id, isID := reference.IDPrefix(ref)
	if nameErr != nil && !isID {
		// Neither a name nor an ID: a malformed reference.
		return nil, nameErr
	}
	if isID {
		var found *Image
		for _, img := range v.list {
			if strings.HasPrefix(img.ID.Encoded(), id) {
				if found != nil && found.ID != img.ID {
					return nil, fmt.Errorf("image ID prefix %q is ambiguous: %w", ref, errdefs.ErrInvalidArgument)
				}
				found = img
			}
		}
		if found != nil {
			return found, nil
		}
	}
	return nil, fmt.Errorf("No such image: %s: %w", ref, errdefs.ErrNotFound)
}

// Tag points target name at the image found by source.
func (s *Service) Tag(ctx context.Context, source, target string) error {
	if _, err := reference.ParseTagged(target); err != nil {
		return err
	}
	n, err := s.registries.Normalize(target)
	if err != nil {
		return err
	}
	named := n.String()
	s.writing.Lock()
	defer s.writing.Unlock()
	img, err := s.Get(ctx, source)
	if err != nil {
		return err
	}
	if err := s.setName(ctx, named, img.Target); err != nil {
		return err
	}
	s.publish(eventtypes.ActionTag, img.ID.String(), reference.Familiar(named), img.Config.Config.Labels)
	return nil
}

// setName creates or moves the record name to target. The image the name
// pointed at before keeps a dangling record if nothing else names it.
// Callers hold s.writing.
func (s *Service) setName(ctx context.Context, name string, target ocispec.Descriptor) error {
	defer s.invalidate()
	old, err := s.store.Images.Get(ctx, name)
	switch {
	case errdefs.IsNotFound(err):
		if _, err := s.store.Images.Create(ctx, images.Image{Name: name, Target: target}); err != nil {
			return err
		}
		return s.dropDangling(ctx, target)
	case err != nil:
		return err
	}
	if old.Target.Digest == target.Digest {
		return nil
	}
	if _, err := s.store.Images.Update(ctx, images.Image{Name: name, Target: target}, "target"); err != nil {
		return err
	}
	if err := s.dropDangling(ctx, target); err != nil {
		return err
	}
	return s.keepIfUnnamed(ctx, old.Target)
}

// idOf returns the image ID (config digest) a record target resolves to.
func (s *Service) idOf(ctx context.Context, target ocispec.Descriptor) (digest.Digest, error) {
	r, err := s.resolve(ctx, target)
	if err != nil {
		return "", err
	}
	return r.configD.Digest, nil
}

// keepIfUnnamed gives target a dangling record when no record resolves to
// its image: the same image may be reached through other manifests (an
// OCI copy of a docker-archive has another manifest, the same config).
// Callers hold s.writing.
func (s *Service) keepIfUnnamed(ctx context.Context, target ocispec.Descriptor) error {
	defer s.invalidate()
	id, err := s.idOf(ctx, target)
	if err != nil {
		return err
	}
	recs, err := s.store.Images.List(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Target.Digest == target.Digest {
			return nil
		}
		if other, err := s.idOf(ctx, r.Target); err == nil && other == id {
			return nil
		}
	}
	_, err = s.store.Images.Create(ctx, images.Image{Name: danglingPrefix + target.Digest.String(), Target: target})
	if errdefs.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// dropDangling removes the dangling records of the image target resolves
// to, now that a name holds it. Callers hold s.writing.
func (s *Service) dropDangling(ctx context.Context, target ocispec.Descriptor) error {
	id, err := s.idOf(ctx, target)
	if err != nil {
		return err
	}
	recs, err := s.store.Images.List(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if !strings.HasPrefix(r.Name, danglingPrefix) {
			continue
		}
		if other, err := s.idOf(ctx, r.Target); err != nil || other != id {
			continue
		}
		if err := s.store.Images.Delete(ctx, r.Name); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// History is one layer of an image's history, newest first.
type History struct {
	ID        string
	Created   time.Time
	CreatedBy string
	Comment   string
	Size      int64
	Tags      []string
}

// History returns the history of an image, newest first.
func (s *Service) History(ctx context.Context, ref string) ([]History, error) {
	img, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	var out []History
	layer := 0
	for _, h := range img.Config.History {
		e := History{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment}
		if h.Created != nil {
			e.Created = *h.Created
		}
		if !h.EmptyLayer && layer < len(img.Manifest.Layers) {
			e.Size = img.Manifest.Layers[layer].Size
			layer++
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		for _, l := range img.Manifest.Layers {
			out = append(out, History{ID: "<missing>", Size: l.Size})
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) > 0 {
		out[0].ID = img.ID.String()
		out[0].Tags = reference.FamiliarNames(img.Names)
	}
	return out, nil
}

// RemoveOptions tunes Remove.
type RemoveOptions struct {
	Force bool
}

// Removed says what Remove did: names untagged and IDs deleted.
type Removed struct {
	Untagged []string
	Deleted  []string
}

// Remove untags or deletes an image the way `docker rmi` does: a name
// removes that name only (the image goes when its last name goes); an ID
// removes the image with all its names. An image a container uses is
// refused unless forced; one a running container uses cannot be forced.
func (s *Service) Remove(ctx context.Context, ref string, opts RemoveOptions) (*Removed, error) {
	s.writing.Lock()
	defer s.writing.Unlock()
	return s.remove(ctx, ref, opts)
}

func (s *Service) remove(ctx context.Context, ref string, opts RemoveOptions) (*Removed, error) {
	defer s.invalidate()
	img, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	all, running := s.users(img.ID)
	byName := false
	var name string
	named := img.named()
	for _, c := range s.registries.Candidates(ref) {
		for _, have := range named {
			if have == c && !byName {
				byName, name = true, have
			}
		}
	}
	res := &Removed{}
	defer func() { s.publishRemoved(img, res) }()
	if byName && len(named) > 1 {
		// Other names keep the image: only untag.
		if err := s.store.Images.Delete(ctx, name); err != nil {
			return nil, err
		}
		res.Untagged = append(res.Untagged, reference.Familiar(name))
		return res, nil
	}
	if !byName && len(named) > 1 && !opts.Force {
		return nil, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories: %w", img.ID.Encoded()[:12], errdefs.ErrConflict)
	}
	if byName && running > 0 && opts.Force {
		// As Docker: forcing a name away from an image a running container
		// uses only untags it; the image stays, dangling.
		if err := s.store.Images.Delete(ctx, name); err != nil && !errdefs.IsNotFound(err) {
			return nil, err
		}
		res.Untagged = append(res.Untagged, reference.Familiar(name))
		return res, s.keepIfUnnamed(ctx, img.Target)
	}
	if running > 0 {
		return nil, fmt.Errorf("conflict: unable to delete %s (cannot be forced) - image is being used by running container: %w", img.ID.Encoded()[:12], errdefs.ErrConflict)
	}
	if all > 0 && !opts.Force {
		return nil, fmt.Errorf("conflict: unable to remove repository reference %q (must force) - container is using its referenced image %s: %w", ref, img.ID.Encoded()[:12], errdefs.ErrConflict)
	}
	for _, n := range named {
		if err := s.store.Images.Delete(ctx, n); err != nil && !errdefs.IsNotFound(err) {
			return res, err
		}
	}
	for _, n := range img.Names {
		res.Untagged = append(res.Untagged, reference.Familiar(n))
	}
	for _, d := range img.Digests {
		res.Untagged = append(res.Untagged, reference.Familiar(d))
	}
	if all > 0 {
		// Forced while stopped containers use it: the containers keep their
		// snapshots; the image stays as a dangling record until pruned.
		return res, s.keepIfUnnamed(ctx, img.Target)
	}
	for _, r := range img.records {
		if err := s.store.Images.Delete(ctx, r); err != nil && !errdefs.IsNotFound(err) {
			return res, err
		}
	}
	res.Deleted = append(res.Deleted, img.ID.String())
	s.gc.Schedule()
	return res, nil
}

// PruneOptions tunes Prune.
type PruneOptions struct {
	All bool // also images with names that no container uses
	// Match, when set, limits pruning to the images it accepts (the API's
	// label and until filters).
	Match func(*Image) bool
}

// Prune removes dangling images (and, with All, every unused image).
func (s *Service) Prune(ctx context.Context, opts PruneOptions) (*Removed, uint64, error) {
	s.writing.Lock()
	defer s.writing.Unlock()
	all, err := s.List(ctx)
	if err != nil {
		return nil, 0, err
	}
	res := &Removed{}
	var reclaimed uint64
	for _, img := range all {
		if !img.Dangling() && !opts.All {
			continue
		}
		if opts.Match != nil && !opts.Match(img) {
			continue
		}
		if n, _ := s.users(img.ID); n > 0 {
			continue
		}
		r, err := s.remove(ctx, img.ID.String(), RemoveOptions{Force: true})
		if err != nil {
			return res, reclaimed, err
		}
		res.Untagged = append(res.Untagged, r.Untagged...)
		res.Deleted = append(res.Deleted, r.Deleted...)
		reclaimed += uint64(img.Size)
	}
	s.publishPrune(reclaimed)
	return res, reclaimed, nil
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// DisplayName is what `ps` shows for a container's image: the reference it
// was created from while that still names the same image, else the ID.
func (s *Service) DisplayName(ctx context.Context, ref, id string) string {
	if img, err := s.Get(ctx, ref); err == nil && img.ID.String() == id {
		return ref
	}
	return id
}

// ResolveID finds the ID of the image ref names.
func (s *Service) ResolveID(ctx context.Context, ref string) (string, bool) {
	img, err := s.Get(ctx, ref)
	if err != nil {
		return "", false
	}
	return img.ID.String(), true
}

// Digest is an image ID.
type Digest = digest.Digest
