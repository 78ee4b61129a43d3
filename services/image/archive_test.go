package image

import (
	"testing"

	"github.com/containerd/containerd/v2/core/images"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestArchiveName(t *testing.T) {
	cases := []struct {
		name        string
		annotations map[string]string
		want        string
	}{
		{"none", nil, ""},
		{"containerd name (docker-archive RepoTags)", map[string]string{
			images.AnnotationImageName: "docker.io/library/busybox:latest", ocispec.AnnotationRefName: "latest",
		}, "docker.io/library/busybox:latest"},
		{"containerd name, familiar", map[string]string{images.AnnotationImageName: "busybox:1.36"}, "docker.io/library/busybox:1.36"},
		{"containerd name without tag", map[string]string{images.AnnotationImageName: "busybox"}, "docker.io/library/busybox:latest"},
		{"ref.name is only a tag", map[string]string{ocispec.AnnotationRefName: "latest"}, ""},
		{"ref.name is a digest-looking word", map[string]string{ocispec.AnnotationRefName: "v1.0"}, ""},
		{"ref.name is a whole reference (podman, skopeo)", map[string]string{ocispec.AnnotationRefName: "quay.io/app/web:v2"}, "quay.io/app/web:v2"},
		{"ref.name with registry port", map[string]string{ocispec.AnnotationRefName: "127.0.0.1:5000/x"}, "127.0.0.1:5000/x:latest"},
		{"ref.name repo/name without tag", map[string]string{ocispec.AnnotationRefName: "library/app"}, "docker.io/library/app:latest"},
		{"invalid containerd name falls back to ref.name", map[string]string{
			images.AnnotationImageName: "Not Valid", ocispec.AnnotationRefName: "example.com/a:b",
		}, "example.com/a:b"},
		{"invalid ref.name", map[string]string{ocispec.AnnotationRefName: "a//b:x"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := archiveName(ocispec.Descriptor{Annotations: c.annotations})
			if got != c.want {
				t.Errorf("archiveName(%v) = %q, want %q", c.annotations, got, c.want)
			}
		})
	}
}
