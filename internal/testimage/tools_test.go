package testimage

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// These tests check that other implementations accept the archives. They
// skip when skopeo or umoci is missing (apt-get install skopeo umoci).

func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return path
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return out
}

func writeArchive(t *testing.T, format Format, img *Image) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), string(format)+".tar")
	if err := WriteFile(path, format, img); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSkopeoInspect(t *testing.T) {
	skopeo := lookTool(t, "skopeo")
	img := busybox(t, WithLabels(map[string]string{"test": "skopeo"}))
	o, err := img.OCI()
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{
		"docker-archive:" + writeArchive(t, FormatDocker, img),
		"docker-archive:" + writeArchive(t, FormatDocker, img) + ":busybox:latest",
		"oci-archive:" + writeArchive(t, FormatOCI, img) + ":latest",
	} {
		var got struct {
			Digest string
			Labels map[string]string
			Layers []string
		}
		if err := json.Unmarshal(run(t, skopeo, "inspect", ref), &got); err != nil {
			t.Fatal(err)
		}
		if got.Labels["test"] != "skopeo" || len(got.Layers) != 2 {
			t.Errorf("%s: %+v", ref, got)
		}
		config := run(t, skopeo, "inspect", "--raw", "--config", ref)
		if err := json.Unmarshal(config, new(any)); err != nil {
			t.Errorf("%s: config: %v", ref, err)
		}
		if ref[:4] == "oci-" && got.Digest != o.Descriptor.Digest.String() {
			t.Errorf("%s: manifest digest %s, want %s", ref, got.Digest, o.Descriptor.Digest)
		}
	}
}

// TestUmociUnpack applies the layers with another implementation and checks
// that the whiteout in layer 2 removed the file layer 1 created.
func TestUmociUnpack(t *testing.T) {
	umoci := lookTool(t, "umoci")
	if os.Geteuid() != 0 {
		t.Skip("umoci unpack needs root here")
	}
	img := busybox(t)
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout")
	if err := os.Mkdir(layout, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "tar", "-xf", writeArchive(t, FormatOCI, img), "-C", layout)
	bundle := filepath.Join(dir, "bundle")
	run(t, umoci, "unpack", "--image", layout+":latest", bundle)

	rootfs := filepath.Join(bundle, "rootfs")
	if b, err := os.ReadFile(filepath.Join(rootfs, "etc/layer2")); err != nil || string(b) != "layer2\n" {
		t.Errorf("etc/layer2: %q, %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, RemovedByLayer2)); !os.IsNotExist(err) {
		t.Errorf("%s survived the whiteout: %v", RemovedByLayer2, err)
	}
	if target, err := os.Readlink(filepath.Join(rootfs, "bin/sh")); err != nil || target != "busybox" {
		t.Errorf("bin/sh → %q, %v", target, err)
	}
	if fi, err := os.Stat(filepath.Join(rootfs, "tmp")); err != nil || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("tmp: %v, %v", fi.Mode(), err)
	}
	// The unpacked root runs: chroot into it when possible.
	if out, err := exec.Command("chroot", rootfs, "/bin/sh", "-c", "id pouch && cat /etc/layer2").CombinedOutput(); err != nil {
		t.Logf("chroot not possible here: %v %s", err, out)
	} else if want := "uid=1000(pouch) gid=1000(pouch) groups=1000(pouch)\nlayer2\n"; string(out) != want {
		t.Errorf("chroot output %q, want %q", out, want)
	}
}
