package reference

import (
	"testing"

	"github.com/containerd/errdefs"
)

func TestParseNamed(t *testing.T) {
	cases := []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"library/busybox", "docker.io/library/busybox:latest"},
		{"127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app:latest"},
		{"localhost/app:v1", "localhost/app:v1"},
		{"busybox@sha256:" + hex64, "docker.io/library/busybox@sha256:" + hex64},
	}
	for _, c := range cases {
		n, err := ParseNamed(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if n.String() != c.want {
			t.Errorf("%s: got %s want %s", c.in, n, c.want)
		}
	}
	for _, bad := range []string{"", "UPPER", "a b", "busybox:", hex64, "sha256:" + hex64} {
		if _, err := ParseNamed(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: want invalid argument, got %v", bad, err)
		}
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestFamiliarAndSplit(t *testing.T) {
	if got := Familiar("docker.io/library/busybox:latest"); got != "busybox:latest" {
		t.Errorf("got %s", got)
	}
	if got := Familiar("127.0.0.1:5000/a/b:c"); got != "127.0.0.1:5000/a/b:c" {
		t.Errorf("got %s", got)
	}
	repo, tag := Split("docker.io/library/busybox:1.0")
	if repo != "busybox" || tag != "1.0" {
		t.Errorf("got %s %s", repo, tag)
	}
	if _, err := ParseTagged("busybox@sha256:" + hex64); !errdefs.IsInvalidArgument(err) {
		t.Errorf("digest tag accepted: %v", err)
	}
}

func TestIDPrefix(t *testing.T) {
	for in, want := range map[string]bool{"abc": true, "sha256:abc": true, hex64: true, "busybox": false, "": false, "ABC": false, hex64 + "0": false} {
		if _, ok := IDPrefix(in); ok != want {
			t.Errorf("%q: got %v want %v", in, ok, want)
		}
	}
}
