package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/pkg/labels"
	"github.com/containerd/containerd/v2/pkg/rootfs"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	eventtypes "github.com/moby/moby/api/types/events"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	imagestore "github.com/pouchcontainer/pouch/image"
	"github.com/pouchcontainer/pouch/pkg/reference"
)

// Load imports a docker-archive or OCI-layout tar stream, unpacks the
// images for this host and names them from the archive's tags. It returns
// one line per image, as `docker load` prints them. A broken archive is an
// invalid-argument error and leaves nothing behind: everything it wrote is
// held only by a lease that is dropped on return.
func (s *Service) Load(ctx context.Context, r io.Reader) ([]string, error) {
	// Once the lease is gone, what the import wrote and no image holds (the
	// archive's index, or everything after a failure) is garbage.
	defer s.gc.Schedule()
	var lines []string
	type loadedImage struct {
		id     string
		name   string
		target ocispec.Descriptor
	}
	var loaded []loadedImage // for the load events, once all are named
	err := s.store.WithLease(ctx, func(ctx context.Context) error {
		idxDesc, err := archive.ImportIndex(ctx, s.store.Content, r)
		if err != nil {
			return classifyImportErr(err)
		}
		var idx ocispec.Index
		if err := readJSON(ctx, s.store.Content, idxDesc, &idx); err != nil {
			return classifyImportErr(err)
		}
		if len(idx.Manifests) == 0 {
			return fmt.Errorf("archive contains no image: %w", errdefs.ErrInvalidArgument)
		}
		type named struct {
			name   string
			target ocispec.Descriptor
		}
		var todo []named
		for _, m := range idx.Manifests {
			target := m
			target.Annotations = nil
			if err := s.prepare(ctx, target); err != nil {
				return err
			}
			todo = append(todo, named{name: archiveName(m), target: target})
		}
		// Names are recorded only after every image unpacked, so a failure
		// part-way leaves no image listed.
		s.writing.Lock()
		defer s.writing.Unlock()
		for _, n := range todo {
			if n.name == "" {
				if err := s.keepIfUnnamed(ctx, n.target); err != nil {
					return err
				}
				id, err := s.idOf(ctx, n.target)
				if err != nil {
					return err
				}
				lines = append(lines, "Loaded image ID: "+id.String())
				loaded = append(loaded, loadedImage{id.String(), id.String(), n.target})
				continue
			}
			id, err := s.idOf(ctx, n.target)
			if err != nil {
				return err
			}
			if old, err := s.Get(ctx, n.name); err == nil && old.ID != id {
				lines = append(lines, fmt.Sprintf("The image %s already exists, renaming the old one with ID %s to empty string", reference.Familiar(n.name), old.ID))
			}
			if err := s.setName(ctx, n.name, n.target); err != nil {
				return err
			}
			lines = append(lines, "Loaded image: "+reference.Familiar(n.name))
			loaded = append(loaded, loadedImage{id.String(), reference.Familiar(n.name), n.target})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, l := range loaded {
		s.publish(eventtypes.ActionLoad, l.id, l.name, s.labelsOf(ctx, l.target))
	}
	return lines, nil
}

// archiveName finds the image name an archive gives a manifest: the
// containerd annotation (docker-archive RepoTags are turned into it by the
// importer; containerd, nerdctl and Pouch write it in OCI layouts), else an
// OCI ref.name that is a whole reference (Podman, skopeo). A bare tag
// (`latest`) names no repository, so the image loads untagged, as in Docker.
func archiveName(m ocispec.Descriptor) string {
	for _, key := range []string{images.AnnotationImageName, ocispec.AnnotationRefName} {
		v := m.Annotations[key]
		if v == "" {
			continue
		}
		if n, err := reference.ParseNamed(v); err == nil {
			if key == ocispec.AnnotationRefName && !looksQualified(v) {
				continue
			}
			return n.String()
		}
	}
	return ""
}

func looksQualified(ref string) bool {
	for _, c := range ref {
		if c == '/' || c == ':' || c == '@' {
			return true
		}
	}
	return false
}

// prepare labels the target's children for GC and unpacks its layers for
// this host into the snapshotter.
func (s *Service) prepare(ctx context.Context, target ocispec.Descriptor) error {
	cs := s.store.Content
	present := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		children, err := images.ChildrenHandler(cs)(ctx, desc)
		if err != nil {
			return nil, err
		}
		// An archive of one platform may point at manifests of others it
		// does not carry: label and walk only what is here.
		out := children[:0]
		for _, c := range children {
			if _, err := cs.Info(ctx, c.Digest); err == nil {
				out = append(out, c)
			}
		}
		return out, nil
	})
	if err := images.Walk(ctx, images.SetChildrenLabels(cs, present), target); err != nil {
		return classifyImportErr(err)
	}
	return s.unpack(ctx, target)
}

func (s *Service) unpack(ctx context.Context, target ocispec.Descriptor) error {
	cs := s.store.Content
	manifest, err := images.Manifest(ctx, cs, target, platforms.Default())
	if err != nil {
		return fmt.Errorf("no image for this platform (%s) in %s: %v: %w", platforms.DefaultString(), target.Digest, err, errdefs.ErrInvalidArgument)
	}
	diffIDs, err := images.RootFS(ctx, cs, manifest.Config)
	if err != nil {
		return classifyImportErr(err)
	}
	if len(diffIDs) != len(manifest.Layers) {
		return fmt.Errorf("image %s has %d layers but %d diff IDs: %w", target.Digest, len(manifest.Layers), len(diffIDs), errdefs.ErrInvalidArgument)
	}
	layers := make([]rootfs.Layer, len(diffIDs))
	for i := range diffIDs {
		layers[i] = rootfs.Layer{
			Blob: manifest.Layers[i],
			Diff: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: diffIDs[i]},
		}
	}
	chainID, err := rootfs.ApplyLayers(ctx, layers, s.store.Snapshotter, s.store.Applier)
	if err != nil {
		return classifyImportErr(fmt.Errorf("unpack %s: %w", target.Digest, err))
	}
	for _, l := range layers {
		if l.Blob.Digest == l.Diff.Digest {
			continue
		}
		info := content.Info{Digest: l.Blob.Digest, Labels: map[string]string{labels.LabelUncompressed: l.Diff.Digest.String()}}
		if _, err := cs.Update(ctx, info, "labels."+labels.LabelUncompressed); err != nil {
			return err
		}
	}
	key := "containerd.io/gc.ref.snapshot." + imagestore.SnapshotterName
	info := content.Info{Digest: manifest.Config.Digest, Labels: map[string]string{key: chainID.String()}}
	_, err = cs.Update(ctx, info, "labels."+key)
	return err
}

// Save writes the named images as one archive that `docker load` (via its
// manifest.json) and OCI tools (via index.json) both read.
func (s *Service) Save(ctx context.Context, refs []string, w io.Writer) error {
	if len(refs) == 0 {
		return fmt.Errorf("no image to save: %w", errdefs.ErrInvalidArgument)
	}
	var opts []archive.ExportOpt
	var saved []*Image
	for _, ref := range refs {
		img, err := s.Get(ctx, ref)
		if err != nil {
			return err
		}
		saved = append(saved, img)
		var names []string
		for _, c := range s.registries.Candidates(ref) {
			for _, have := range img.Names {
				if have == c && names == nil {
					names = []string{have}
				}
			}
		}
		// Saved by ID: no tags, as docker save does.
		opts = append(opts, archive.WithManifest(img.Target, names...))
	}
	opts = append(opts, archive.WithPlatform(platforms.Default()), archive.WithSkipMissing(s.store.Content))
	if err := archive.Export(ctx, s.store.Content, w, opts...); err != nil {
		return err
	}
	for _, img := range saved {
		s.publish(eventtypes.ActionSave, img.ID.String(), img.ID.String(), img.Config.Config.Labels)
	}
	return nil
}

func readJSON(ctx context.Context, cs content.Provider, desc ocispec.Descriptor, v any) error {
	b, err := content.ReadBlob(ctx, cs, desc)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// classifyImportErr keeps real faults (a full disk, a cancelled request)
// as they are and calls everything else a bad archive.
func classifyImportErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errdefs.IsInvalidArgument(err):
		return err
	}
	return fmt.Errorf("invalid image archive: %v: %w", err, errdefs.ErrInvalidArgument)
}
