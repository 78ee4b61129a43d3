package testimage

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Format names an archive format.
type Format string

const (
	// FormatDocker is what `docker save` writes and `docker load` reads.
	FormatDocker Format = "docker"
	// FormatOCI is an OCI image layout in a tar (skopeo's oci-archive).
	FormatOCI Format = "oci"
)

// Annotation keys WriteOCILayout sets on each manifest in index.json.
const (
	// AnnotationImageName holds the full reference, read by containerd's import.
	AnnotationImageName = "io.containerd.image.name"
	// AnnotationRefName holds the tag, read by skopeo/umoci ("oci:dir:tag").
	AnnotationRefName = ocispec.AnnotationRefName
)

// DockerManifest is one entry of a docker-archive manifest.json.
type DockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// Write writes imgs to w in the given format.
func Write(w io.Writer, format Format, imgs ...*Image) error {
	switch format {
	case FormatDocker:
		return WriteDockerArchive(w, imgs...)
	case FormatOCI:
		return WriteOCILayout(w, imgs...)
	}
	return fmt.Errorf("testimage: unknown archive format %q (want %q or %q)", format, FormatDocker, FormatOCI)
}

// WriteFile writes imgs to the file at path in the given format. The file
// appears complete or not at all.
func WriteFile(path string, format Format, imgs ...*Image) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := Write(f, format, imgs...); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// WriteDockerArchive writes imgs as `docker save` does: "<id>.json" configs,
// uncompressed layers as "<diffid>/layer.tar", manifest.json (Config,
// RepoTags, Layers) and repositories. Images with the same ID share one
// manifest entry listing all their tags.
func WriteDockerArchive(w io.Writer, imgs ...*Image) error {
	tb := newTarball(w)
	var manifests []DockerManifest
	byConfig := map[string]int{} // config file → index in manifests
	repositories := map[string]map[string]string{}
	for _, img := range imgs {
		repo, tag, err := splitName(img.Name)
		if err != nil {
			return err
		}
		cfg, err := img.ConfigJSON()
		if err != nil {
			return err
		}
		m := DockerManifest{Config: digest.FromBytes(cfg).Encoded() + ".json", Layers: []string{}}
		if err := tb.file(m.Config, cfg); err != nil {
			return err
		}
		var top string
		for _, layer := range img.Layers {
			top = digest.FromBytes(layer).Encoded()
			m.Layers = append(m.Layers, top+"/layer.tar")
			if err := tb.dir(top); err != nil {
				return err
			}
			if err := tb.file(top+"/layer.tar", layer); err != nil {
				return err
			}
		}
		repoTag := familiar(repo) + ":" + tag
		if i, ok := byConfig[m.Config]; ok {
			if !slices.Contains(manifests[i].RepoTags, repoTag) {
				manifests[i].RepoTags = append(manifests[i].RepoTags, repoTag)
			}
		} else {
			m.RepoTags = []string{repoTag}
			byConfig[m.Config] = len(manifests)
			manifests = append(manifests, m)
		}
		if top != "" {
			if repositories[familiar(repo)] == nil {
				repositories[familiar(repo)] = map[string]string{}
			}
			repositories[familiar(repo)][tag] = top
		}
	}
	if err := tb.json("manifest.json", manifests); err != nil {
		return err
	}
	if err := tb.json("repositories", repositories); err != nil {
		return err
	}
	return tb.close()
}

// WriteOCILayout writes imgs as an OCI image layout in a tar: oci-layout,
// blobs/sha256/<hex> (gzip-compressed layers) and index.json, where each
// manifest carries the tag (AnnotationRefName) and the full reference
// (AnnotationImageName).
func WriteOCILayout(w io.Writer, imgs ...*Image) error {
	tb := newTarball(w)
	if err := tb.json(ocispec.ImageLayoutFile, ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}); err != nil {
		return err
	}
	if err := tb.dir("blobs"); err != nil {
		return err
	}
	if err := tb.dir("blobs/sha256"); err != nil {
		return err
	}
	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{},
	}
	for _, img := range imgs {
		ref, err := img.Ref()
		if err != nil {
			return err
		}
		tag, _ := img.Tag()
		o, err := img.OCI()
		if err != nil {
			return err
		}
		blobs := append([]ocispec.Descriptor{o.Manifest.Config}, o.Manifest.Layers...)
		for _, d := range append(blobs, o.Descriptor) {
			if err := tb.file("blobs/sha256/"+d.Digest.Encoded(), o.Blobs[d.Digest]); err != nil {
				return err
			}
		}
		desc := o.Descriptor
		desc.Annotations = map[string]string{AnnotationRefName: tag, AnnotationImageName: ref}
		index.Manifests = append(index.Manifests, desc)
	}
	if err := tb.json(ocispec.ImageIndexFile, index); err != nil {
		return err
	}
	return tb.close()
}

// tarball writes an archive's entries once each, with fixed metadata.
type tarball struct {
	tw      *tar.Writer
	written map[string]bool
}

func newTarball(w io.Writer) *tarball {
	return &tarball{tw: tar.NewWriter(w), written: map[string]bool{}}
}

func (t *tarball) dir(name string) error {
	return t.add(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: Epoch}, nil)
}

func (t *tarball) file(name string, data []byte) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: Epoch}
	return t.add(hdr, data)
}

func (t *tarball) json(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("testimage: marshal %s: %w", name, err)
	}
	return t.file(name, b)
}

func (t *tarball) add(hdr *tar.Header, data []byte) error {
	if t.written[hdr.Name] {
		return nil
	}
	t.written[hdr.Name] = true
	if err := t.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("testimage: write %s: %w", hdr.Name, err)
	}
	if _, err := t.tw.Write(data); err != nil {
		return fmt.Errorf("testimage: write %s: %w", hdr.Name, err)
	}
	return nil
}

func (t *tarball) close() error {
	if err := t.tw.Close(); err != nil {
		return fmt.Errorf("testimage: finish archive: %w", err)
	}
	return nil
}
