package testimage

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultBusybox is where Debian's busybox-static installs its binary.
const DefaultBusybox = "/bin/busybox"

// DefaultPath is the PATH every generated image sets.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ErrNoBusybox is wrapped by the errors Busybox and Big return when no
// usable static busybox exists, so tests can skip:
//
//	if errors.Is(err, testimage.ErrNoBusybox) { t.Skip(err) }
var ErrNoBusybox = errors.New("no usable static busybox (install Debian's busybox-static: apt-get install busybox-static)")

// RemovedByLayer2 is the file Busybox's first layer creates and its second
// layer deletes with a whiteout: it must not exist in a container.
const RemovedByLayer2 = "/etc/removed-by-layer2"

// Users of the Busybox image, as in its /etc/passwd and /etc/group.
const (
	passwd = "root:x:0:0:root:/root:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" +
		"pouch:x:1000:1000:pouch:/home/pouch:/bin/sh\n"
	group = "root:x:0:\n" +
		"nobody:x:65534:\n" +
		"pouch:x:1000:\n"
)

// New builds an image from the layers and configuration the options give,
// with no base; its default name is "testimage:latest".
func New(opts ...Option) (*Image, error) {
	o := &options{name: "testimage:latest"}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	img := &Image{Name: o.name, Config: baseConfig()}
	if err := img.apply(o); err != nil {
		return nil, err
	}
	return img, nil
}

// Busybox builds "busybox:latest" from the host's static busybox:
//
//	layer 1: /bin/busybox, /bin/<applet> → busybox for every applet (sh
//	         included), /etc/passwd (root, nobody, pouch 1000:1000),
//	         /etc/group, the usual root directories (/tmp is 1777) and
//	         RemovedByLayer2;
//	layer 2: /etc/layer2 ("layer2\n") and a whiteout deleting RemovedByLayer2.
//
// Option layers go on top. Config: Env PATH=..., Cmd ["sh"].
func Busybox(opts ...Option) (*Image, error) {
	o := &options{name: "busybox:latest", busybox: DefaultBusybox}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	bin, applets, err := readBusybox(o.busybox)
	if err != nil {
		return nil, err
	}
	root, err := LayerTar(busyboxRoot(bin, applets)...)
	if err != nil {
		return nil, err
	}
	layer2, err := LayerTar(
		RegularFile("/etc/layer2", 0o644, []byte("layer2\n")),
		Whiteout(RemovedByLayer2),
	)
	if err != nil {
		return nil, err
	}
	img := &Image{Name: o.name, Config: baseConfig()}
	img.Config.Config.Cmd = []string{"sh"}
	img.addLayer(root, fmt.Sprintf("testimage: busybox root: /bin/busybox, %d applet links, /etc/passwd, /etc/group", len(applets)))
	img.addLayer(layer2, "testimage: add /etc/layer2, whiteout "+RemovedByLayer2)
	if err := img.apply(o); err != nil {
		return nil, err
	}
	return img, nil
}

// Big builds "busybox-big:latest": the Busybox image plus layers random
// layers of sizePerLayer bytes each (seed 1; WithRandomLayers in opts adds
// more), for pull and unpack benchmarks.
func Big(layers int, sizePerLayer int64, opts ...Option) (*Image, error) {
	base := []Option{WithName("busybox-big:latest"), WithRandomLayers(layers, sizePerLayer, 1)}
	return Busybox(append(base, opts...)...)
}

func baseConfig() ocispec.Image {
	created := Epoch
	return ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   ocispec.ImageConfig{Env: []string{DefaultPath}},
		RootFS:   ocispec.RootFS{Type: "layers"},
	}
}

// apply builds the option layers and applies the config edits.
func (img *Image) apply(o *options) error {
	for _, l := range o.layers {
		b, err := l.build()
		if err != nil {
			return err
		}
		img.addLayer(b, l.createdBy)
	}
	for _, edit := range o.config {
		edit(&img.Config.Config)
	}
	img.Config.RootFS.DiffIDs = img.DiffIDs()
	return nil
}

func (img *Image) addLayer(tar []byte, createdBy string) {
	created := Epoch
	img.Layers = append(img.Layers, tar)
	img.Config.History = append(img.Config.History, ocispec.History{Created: &created, CreatedBy: createdBy})
}

func busyboxRoot(bin []byte, applets []string) []File {
	files := []File{
		RegularFile("/bin/busybox", 0o755, bin),
		Symlink("/bin/sh", "busybox"),
		Dir("/etc", 0o755),
		Dir("/tmp", 0o777|fs.ModeSticky),
		Dir("/root", 0o700),
		Dir("/home", 0o755),
		{Path: "/home/pouch", Mode: fs.ModeDir | 0o755, UID: 1000, GID: 1000},
		Dir("/proc", 0o555),
		Dir("/sys", 0o555),
		Dir("/dev", 0o755),
		Dir("/var", 0o755),
		Dir("/usr/bin", 0o755),
		RegularFile("/etc/passwd", 0o644, []byte(passwd)),
		RegularFile("/etc/group", 0o644, []byte(group)),
		RegularFile(RemovedByLayer2, 0o644, []byte("layer 2 deletes this file\n")),
	}
	for _, a := range applets {
		if a != "busybox" && a != "sh" {
			files = append(files, Symlink("/bin/"+a, "busybox"))
		}
	}
	return files
}

// readBusybox reads the binary at path, checks that it is a static ELF
// executable for this machine and lists its applets.
func readBusybox(path string) (bin []byte, applets []string, err error) {
	bin, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("testimage: %s does not exist: %w", path, ErrNoBusybox)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("testimage: %w: %w", err, ErrNoBusybox)
	}
	if err := checkStatic(path, bin); err != nil {
		return nil, nil, err
	}
	out, err := exec.Command(path, "--list").Output()
	if err != nil {
		return nil, nil, fmt.Errorf("testimage: %s --list: %v: %w", path, err, ErrNoBusybox)
	}
	for _, a := range strings.Fields(string(out)) {
		if a == "." || a == ".." || strings.Contains(a, "/") {
			return nil, nil, fmt.Errorf("testimage: %s --list: unexpected applet name %q", path, a)
		}
		applets = append(applets, a)
	}
	if !slices.Contains(applets, "sh") {
		return nil, nil, fmt.Errorf("testimage: %s has no sh applet: %w", path, ErrNoBusybox)
	}
	slices.Sort(applets)
	return bin, slices.Compact(applets), nil
}

// checkStatic refuses binaries that need a dynamic loader or shared
// libraries, or that are built for another architecture: they would not
// run in an otherwise empty container.
func checkStatic(path string, bin []byte) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("testimage: %s is not an ELF executable (%v): %w", path, err, ErrNoBusybox)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("testimage: %s is dynamically linked (it needs an ELF interpreter): %w", path, ErrNoBusybox)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("testimage: %s is dynamically linked (it needs %s): %w", path, strings.Join(libs, ", "), ErrNoBusybox)
	}
	if want, ok := elfMachines[runtime.GOARCH]; ok && f.Machine != want {
		return fmt.Errorf("testimage: %s is built for %v, not %s: %w", path, f.Machine, runtime.GOARCH, ErrNoBusybox)
	}
	return nil
}

var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"386":     elf.EM_386,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}
