// Package testimage builds container images in memory, offline, for tests,
// benchmarks and first-run demos: no registry and no network are needed.
//
// Busybox builds a small runnable image from the host's static busybox
// (Debian's busybox-static); Big adds seeded random layers on top of it for
// pull and unpack benchmarks; New builds an image from explicit layers only.
// WriteDockerArchive and WriteOCILayout write images the way `docker save`
// and an OCI image-layout tarball (`skopeo copy ... oci-archive:`) do.
//
// Output is deterministic: fixed timestamps, sorted tar entries, no random
// state. The config digest (image ID) and diff IDs depend only on the
// inputs; the manifest digest also depends on the Go version's gzip output.
package testimage

import (
	"bytes"
	"compress/gzip"
	_ "crypto/sha256" // go-digest's sha256 needs it registered
	"encoding/json"
	"fmt"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Epoch is the fixed time used for every timestamp in generated images:
// tar entry mtimes, the config's "created" and its history entries.
var Epoch = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// Image is a container image held in memory.
type Image struct {
	// Name is the image reference, e.g. "busybox:latest" or
	// "127.0.0.1:5000/test/busybox:v1". A missing tag means "latest".
	Name string
	// Layers are uncompressed layer tars, bottom layer first.
	Layers [][]byte
	// Config is the image configuration. Its RootFS is recomputed from
	// Layers whenever the image is serialised, so it never goes stale.
	Config ocispec.Image
}

// ConfigJSON returns the serialised image configuration, with RootFS.DiffIDs
// computed from Layers.
func (img *Image) ConfigJSON() ([]byte, error) {
	cfg := img.Config
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: img.DiffIDs()}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("testimage: marshal config of %s: %w", img.Name, err)
	}
	return b, nil
}

// ID returns the image ID: the digest of the configuration, as shown by
// `docker images --no-trunc` and used as the config file name in archives.
func (img *Image) ID() (digest.Digest, error) {
	b, err := img.ConfigJSON()
	if err != nil {
		return "", err
	}
	return digest.FromBytes(b), nil
}

// DiffIDs returns the digests of the uncompressed layers, bottom first.
func (img *Image) DiffIDs() []digest.Digest {
	ids := make([]digest.Digest, len(img.Layers))
	for i, l := range img.Layers {
		ids[i] = digest.FromBytes(l)
	}
	return ids
}

// Ref returns the fully qualified reference, e.g.
// "docker.io/library/busybox:latest" for Name "busybox".
func (img *Image) Ref() (string, error) {
	repo, tag, err := splitName(img.Name)
	if err != nil {
		return "", err
	}
	return qualify(repo) + ":" + tag, nil
}

// Tag returns the tag part of Name ("latest" when Name has none).
func (img *Image) Tag() (string, error) {
	_, tag, err := splitName(img.Name)
	return tag, err
}

// OCI is an image in distributable form: the manifest as written to an OCI
// layout or pushed to a registry, with every blob it references.
type OCI struct {
	// Descriptor describes the manifest (media type, digest, size, platform).
	Descriptor ocispec.Descriptor
	Manifest   ocispec.Manifest
	// Config is the digest of the config blob, the image ID.
	Config digest.Digest
	// Blobs holds the manifest, the config and the gzip-compressed layers.
	Blobs map[digest.Digest][]byte
}

// OCI returns the image with gzip-compressed layers and an OCI manifest.
// Descriptor.Digest is the manifest digest WriteOCILayout records.
func (img *Image) OCI() (*OCI, error) {
	cfg, err := img.ConfigJSON()
	if err != nil {
		return nil, err
	}
	o := &OCI{Config: digest.FromBytes(cfg), Blobs: map[digest.Digest][]byte{}}
	o.Blobs[o.Config] = cfg
	o.Manifest = ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageConfig,
			Digest:    o.Config,
			Size:      int64(len(cfg)),
		},
		Layers: []ocispec.Descriptor{},
	}
	for i, layer := range img.Layers {
		gz, err := gzipBytes(layer)
		if err != nil {
			return nil, fmt.Errorf("testimage: compress layer %d of %s: %w", i, img.Name, err)
		}
		d := digest.FromBytes(gz)
		o.Blobs[d] = gz
		o.Manifest.Layers = append(o.Manifest.Layers, ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageLayerGzip,
			Digest:    d,
			Size:      int64(len(gz)),
		})
	}
	mf, err := json.Marshal(o.Manifest)
	if err != nil {
		return nil, fmt.Errorf("testimage: marshal manifest of %s: %w", img.Name, err)
	}
	platform := img.Config.Platform
	o.Descriptor = ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest,
		Digest:    digest.FromBytes(mf),
		Size:      int64(len(mf)),
		Platform:  &platform,
	}
	o.Blobs[o.Descriptor.Digest] = mf
	return o, nil
}

// gzipBytes compresses b with a header carrying no name and no time, so the
// output depends only on b (and the Go version's compress/flate).
func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// splitName splits "repo[:tag]" into repo and tag, defaulting to "latest".
// References by digest are not supported: generated images are named.
func splitName(name string) (repo, tag string, err error) {
	if name == "" {
		return "", "", fmt.Errorf("testimage: empty image name")
	}
	if strings.Contains(name, "@") {
		return "", "", fmt.Errorf("testimage: image name %q: digest references are not supported", name)
	}
	repo, tag = name, "latest"
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo, tag = name[:i], name[i+1:]
	}
	if repo == "" || tag == "" {
		return "", "", fmt.Errorf("testimage: invalid image name %q", name)
	}
	return repo, tag, nil
}

// qualify adds Docker Hub's domain and "library/" the way the docker CLI
// does: "busybox" → "docker.io/library/busybox".
func qualify(repo string) string {
	first, rest, found := strings.Cut(repo, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return repo
	}
	if !found {
		return "docker.io/library/" + repo
	}
	return "docker.io/" + first + "/" + rest
}

// familiar is the inverse of qualify, giving the name `docker save` uses in
// RepoTags: "docker.io/library/busybox" → "busybox".
func familiar(repo string) string {
	if r, ok := strings.CutPrefix(repo, "docker.io/"); ok {
		repo = r
		if r, ok := strings.CutPrefix(repo, "library/"); ok && !strings.Contains(r, "/") {
			repo = r
		}
	}
	return repo
}
