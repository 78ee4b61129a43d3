package testimage

import (
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Option customises an image built by New, Busybox or Big.
type Option func(*options) error

type options struct {
	name    string
	busybox string
	layers  []layerSpec
	config  []func(*ocispec.ImageConfig)
}

// layerSpec is a layer added by an option, built when the image is.
type layerSpec struct {
	createdBy string
	build     func() ([]byte, error)
}

// WithName sets the image name, e.g. "busybox:1.36" or
// "127.0.0.1:5000/test/busybox:latest".
func WithName(name string) Option {
	return func(o *options) error {
		if _, _, err := splitName(name); err != nil {
			return err
		}
		o.name = name
		return nil
	}
}

// WithBusybox sets the static busybox binary Busybox and Big copy into the
// image (default /bin/busybox).
func WithBusybox(path string) Option {
	return func(o *options) error {
		o.busybox = path
		return nil
	}
}

// WithLayer adds a layer holding files on top of the image. createdBy is
// the history text `docker history` shows for it.
func WithLayer(createdBy string, files ...File) Option {
	return func(o *options) error {
		o.layers = append(o.layers, layerSpec{createdBy, func() ([]byte, error) { return LayerTar(files...) }})
		return nil
	}
}

// WithLayerTar adds an uncompressed layer tar, used as is, on top of the image.
func WithLayerTar(createdBy string, tar []byte) Option {
	return func(o *options) error {
		o.layers = append(o.layers, layerSpec{createdBy, func() ([]byte, error) { return tar, nil }})
		return nil
	}
}

// WithRandomLayers adds n layers, each holding size bytes of seeded random
// file content under /data/layerNNN/, for benchmarks. About half of the
// files compress well, half not at all; the same seed gives the same layers.
func WithRandomLayers(n int, size int64, seed uint64) Option {
	return func(o *options) error {
		if n < 0 || size <= 0 {
			return fmt.Errorf("testimage: random layers: need n >= 0 and size > 0, got %d and %d", n, size)
		}
		for i := range n {
			o.layers = append(o.layers, layerSpec{
				createdBy: fmt.Sprintf("testimage: random layer %d (%d bytes, seed %d)", i, size, seed),
				build:     func() ([]byte, error) { return randomLayer(i, size, seed) },
			})
		}
		return nil
	}
}

// WithConfig edits the runtime configuration directly, for fields the
// other options do not cover (StopSignal, ArgsEscaped, ...).
func WithConfig(edit func(*ocispec.ImageConfig)) Option {
	return func(o *options) error {
		o.config = append(o.config, edit)
		return nil
	}
}

// WithEnv sets environment variables given as "KEY=value", replacing an
// existing value of the same key.
func WithEnv(env ...string) Option {
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return failed(fmt.Errorf("testimage: env %q is not KEY=value", kv))
		}
	}
	return WithConfig(func(c *ocispec.ImageConfig) {
		for _, kv := range env {
			key, _, _ := strings.Cut(kv, "=")
			i := indexEnv(c.Env, key)
			if i < 0 {
				c.Env = append(c.Env, kv)
			} else {
				c.Env[i] = kv
			}
		}
	})
}

func indexEnv(env []string, key string) int {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return i
		}
	}
	return -1
}

// WithCmd sets the default command (Cmd); no arguments clears it.
func WithCmd(args ...string) Option {
	return WithConfig(func(c *ocispec.ImageConfig) { c.Cmd = args })
}

// WithEntrypoint sets the entrypoint; no arguments clears it.
func WithEntrypoint(args ...string) Option {
	return WithConfig(func(c *ocispec.ImageConfig) { c.Entrypoint = args })
}

// WithWorkingDir sets the working directory.
func WithWorkingDir(dir string) Option {
	return WithConfig(func(c *ocispec.ImageConfig) { c.WorkingDir = dir })
}

// WithUser sets the user, e.g. "pouch", "1000:1000".
func WithUser(user string) Option {
	return WithConfig(func(c *ocispec.ImageConfig) { c.User = user })
}

// WithLabels adds labels.
func WithLabels(labels map[string]string) Option {
	return WithConfig(func(c *ocispec.ImageConfig) {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for k, v := range labels {
			c.Labels[k] = v
		}
	})
}

// WithExposedPorts adds exposed ports, e.g. "80/tcp", "53/udp".
func WithExposedPorts(ports ...string) Option {
	return WithConfig(func(c *ocispec.ImageConfig) {
		c.ExposedPorts = addKeys(c.ExposedPorts, ports)
	})
}

// WithVolumes adds volumes, e.g. "/data".
func WithVolumes(paths ...string) Option {
	return WithConfig(func(c *ocispec.ImageConfig) {
		c.Volumes = addKeys(c.Volumes, paths)
	})
}

func addKeys(set map[string]struct{}, keys []string) map[string]struct{} {
	if set == nil {
		set = map[string]struct{}{}
	}
	for _, k := range keys {
		set[k] = struct{}{}
	}
	return set
}

func failed(err error) Option {
	return func(*options) error { return err }
}
