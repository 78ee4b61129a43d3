// Package docker drives the real docker CLI against pouchd: the Docker
// Engine API is the contract.
package docker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

var d *testenv.Daemon

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &d)) }

func TestDockerCLI(t *testing.T) {
	testenv.NeedDocker(t)
	t.Cleanup(func() { d.Docker(t, nil, "rm", "-f", "dk-web", "dk-once") })

	if r := d.Docker(t, nil, "version", "--format", "{{.Server.APIVersion}}"); r.ExitCode != 0 || strings.TrimSpace(r.Stdout) == "" {
		t.Fatalf("docker version: %+v", r)
	}

	// run in the foreground: output and exit code come through.
	r := d.Docker(t, nil, "run", "--name", "dk-once", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7")
	if r.ExitCode != 7 || r.Stdout != "out\n" || !strings.Contains(r.Stderr, "err") {
		t.Fatalf("docker run: %+v", r)
	}
	// --rm removes the container afterwards.
	r = d.Docker(t, nil, "run", "--rm", "busybox", "echo", "hello from pouch")
	if r.ExitCode != 0 || r.Stdout != "hello from pouch\n" {
		t.Fatalf("docker run --rm: %+v", r)
	}
	// -d, ps, logs.
	r = d.Docker(t, nil, "run", "-d", "--name", "dk-web", "busybox", "sh", "-c", "echo ready; sleep 300")
	if r.ExitCode != 0 || len(strings.TrimSpace(r.Stdout)) != 64 {
		t.Fatalf("docker run -d: %+v", r)
	}
	r = d.Docker(t, nil, "ps", "--format", "{{.Names}} {{.Image}} {{.Status}}")
	if !strings.Contains(r.Stdout, "dk-web busybox Up") {
		t.Fatalf("docker ps: %+v", r)
	}
	if strings.Contains(r.Stdout, "dk-once") {
		t.Fatalf("docker ps lists an exited container without -a: %q", r.Stdout)
	}
	r = d.Docker(t, nil, "ps", "-a", "-q", "--no-trunc", "--filter", "name=dk-once")
	if len(strings.TrimSpace(r.Stdout)) != 64 {
		t.Fatalf("docker ps -a filter: %+v", r)
	}
	if r = d.Docker(t, nil, "logs", "dk-web"); r.Stdout != "ready\n" {
		t.Fatalf("docker logs: %+v", r)
	}
	if r = d.Docker(t, nil, "inspect", "-f", "{{.State.Running}} {{.Name}}", "dk-web"); strings.TrimSpace(r.Stdout) != "true /dk-web" {
		t.Fatalf("docker inspect: %+v", r)
	}
	if r = d.Docker(t, nil, "rm", "dk-web"); r.ExitCode == 0 {
		t.Fatalf("docker rm of a running container succeeded: %+v", r)
	}
	if r = d.Docker(t, nil, "rm", "-f", "dk-web", "dk-once"); r.ExitCode != 0 {
		t.Fatalf("docker rm -f: %+v", r)
	}
	if r = d.Docker(t, nil, "ps", "-a", "-q"); strings.TrimSpace(r.Stdout) != "" {
		t.Fatalf("containers left: %q", r.Stdout)
	}
}

func TestDockerImagesAndLoad(t *testing.T) {
	testenv.NeedDocker(t)
	img, err := testimage.Busybox(testimage.WithName("dockerload:v1"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "img.tar")
	if err := testimage.WriteFile(file, testimage.FormatDocker, img); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Docker(t, nil, "rmi", "-f", "dockerload:v1") })
	r := d.Docker(t, nil, "load", "-i", file)
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "Loaded image: dockerload:v1") {
		t.Fatalf("docker load: %+v", r)
	}
	r = d.Docker(t, nil, "images", "--format", "{{.Repository}}:{{.Tag}}")
	if !strings.Contains(r.Stdout, "dockerload:v1") || !strings.Contains(r.Stdout, "busybox:latest") {
		t.Fatalf("docker images: %+v", r)
	}
	if r = d.Docker(t, nil, "run", "--rm", "dockerload:v1", "cat", "/etc/layer2"); r.Stdout != "layer2\n" {
		t.Fatalf("run loaded image: %+v", r)
	}
	if r = d.Docker(t, nil, "rmi", "dockerload:v1"); r.ExitCode != 0 {
		t.Fatalf("docker rmi: %+v", r)
	}
}
