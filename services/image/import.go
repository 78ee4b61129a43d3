package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ctypes "github.com/moby/moby/api/types/container"
	eventtypes "github.com/moby/moby/api/types/events"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImportOptions describes an image made from a filesystem tarball.
type ImportOptions struct {
	// Ref names the image (see RepoTag); empty leaves it untagged.
	Ref string
	// Message is the comment of the image's history entry.
	Message string
	// Changes are Dockerfile instructions applied to the image's
	// configuration (see ApplyChanges).
	Changes []string
	// Platform is the image's platform; nil is the host's.
	Platform *ocispec.Platform
}

// Import makes a one-layer image of a filesystem tarball (plain or
// compressed), as `docker import` does, and returns its ID. A stream that
// is not a tar archive is an invalid-argument error and leaves no image:
// nothing is named before the layer is stored and unpacked.
func (s *Service) Import(ctx context.Context, r io.Reader, opts ImportOptions) (digest.Digest, error) {
	cfg, err := ApplyChanges(&ctypes.Config{}, opts.Changes)
	if err != nil {
		return "", err
	}
	name, err := s.tagName(opts.Ref)
	if err != nil {
		return "", err
	}
	platform := platforms.DefaultSpec()
	if opts.Platform != nil {
		platform = platforms.Normalize(*opts.Platform)
	}
	var id digest.Digest
	err = s.store.WithLease(ctx, func(ctx context.Context) error {
		blob, diffID, err := s.writeLayer(ctx, func(w io.Writer) error { return copyLayer(w, r) })
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		img := dockerspec.DockerOCIImage{
			Image: ocispec.Image{
				Created:  &now,
				Platform: platform,
				RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}},
				History:  []ocispec.History{{Created: &now, Comment: opts.Message}},
			},
			Config: ImageConfig(cfg),
		}
		id, err = s.createImage(ctx, img, []ocispec.Descriptor{blob}, name)
		return err
	})
	if err != nil {
		s.gc.Schedule()
		return "", err
	}
	s.publish(eventtypes.ActionImport, id.String(), id.String(), cfg.Labels)
	return id, nil
}

// copyLayer copies a tar archive, decompressed, to w, checking that it is
// one: a broken archive is the client's error.
func copyLayer(w io.Writer, r io.Reader) error {
	ds, err := compression.DecompressStream(r)
	if err != nil {
		return invalidTarball(err)
	}
	defer ds.Close()
	counted := &countingWriter{w: w}
	tr := tar.NewReader(io.TeeReader(ds, counted))
	for {
		_, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return invalidTarball(err)
		}
	}
	if counted.n == 0 {
		return invalidTarball(errors.New("empty archive"))
	}
	// What follows the end-of-archive blocks belongs to the layer too.
	if _, err := io.Copy(counted, ds); err != nil {
		return invalidTarball(err)
	}
	return nil
}

func invalidTarball(err error) error {
	if errors.Is(err, context.Canceled) || errdefs.IsInvalidArgument(err) {
		return err
	}
	return fmt.Errorf("invalid tar archive: %v: %w", err, errdefs.ErrInvalidArgument)
}
