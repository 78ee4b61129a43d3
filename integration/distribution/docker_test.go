package distribution

import (
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/registry"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestDockerCLI drives the real docker CLI through pouchd: pull and push
// with an insecure registry, then login, push and pull with a TLS
// registry behind basic auth.
func TestDockerCLI(t *testing.T) {
	testenv.NeedDocker(t)
	certs := t.TempDir()
	plain := registry.Start(t)
	p := registry.NewFaultProxy(t, plain)
	secure := registry.Start(t, registry.WithTLS(certs), registry.WithBasicAuth("carol", "pw-"+testenv.Unique("docker")))
	e := startDaemon(t, "--insecure-registries", p.Host, "--certs-dir", certs)
	img := image(t)
	o := plain.Push(t, img, "dk/app", "v1")
	ref := p.Ref("dk/app", "v1")
	e.rmiOnCleanup(t, ref)

	t.Run("pull", func(t *testing.T) {
		r := e.d.Docker(t, nil, "pull", ref)
		if r.ExitCode != 0 {
			t.Fatalf("docker pull: %+v", r)
		}
		for _, want := range []string{"Pull complete", "Digest: " + o.Descriptor.Digest.String(), "Status: Downloaded newer image for " + ref} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("docker pull output lacks %q:\n%s", want, r.Stdout)
			}
		}
		r = e.d.Docker(t, nil, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
		if !strings.Contains(r.Stdout, ref) {
			t.Errorf("docker images lacks %s:\n%s", ref, r.Stdout)
		}
		r = e.d.Docker(t, nil, "run", "--rm", ref, "cat", "/etc/layer2")
		if r.ExitCode != 0 || r.Stdout != "layer2\n" {
			t.Errorf("docker run of the pulled image: %+v", r)
		}
		p.Reset()
		r = e.d.Docker(t, nil, "pull", ref)
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "Image is up to date") {
			t.Errorf("docker re-pull: %+v", r)
		}
		if n := p.Count(registry.KindIs(registry.KindBlob)); n != 0 {
			t.Errorf("docker re-pull made %d blob requests", n)
		}
	})

	t.Run("pull missing", func(t *testing.T) {
		r := e.d.Docker(t, nil, "pull", p.Ref("dk/app", "nope"))
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "dk/app:nope") {
			t.Errorf("docker pull of a missing tag: %+v", r)
		}
	})

	t.Run("push insecure", func(t *testing.T) {
		pushed := p.Ref("dk/pushed", "v1")
		if r := e.d.Docker(t, nil, "tag", "busybox:latest", pushed); r.ExitCode != 0 {
			t.Fatalf("docker tag: %+v", r)
		}
		e.rmiOnCleanup(t, pushed)
		r := e.d.Docker(t, nil, "push", pushed)
		if r.ExitCode != 0 {
			t.Fatalf("docker push: %+v", r)
		}
		_, _, d := plain.Manifest(t, "dk/pushed", "v1")
		if !strings.Contains(r.Stdout, "v1: digest: "+d.String()) {
			t.Errorf("docker push output lacks the digest %s:\n%s", d, r.Stdout)
		}
	})

	t.Run("login push pull over TLS", func(t *testing.T) {
		r := e.d.Docker(t, strings.NewReader("wrong\n"), "login", "-u", secure.User, "--password-stdin", secure.Host)
		if r.ExitCode == 0 {
			t.Errorf("docker login with a wrong password succeeded: %+v", r)
		}
		r = e.d.Docker(t, strings.NewReader(secure.Password+"\n"), "login", "-u", secure.User, "--password-stdin", secure.Host)
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "Login Succeeded") {
			t.Fatalf("docker login: %+v", r)
		}
		pushed := secure.Ref("dk/secure", "v1")
		if r := e.d.Docker(t, nil, "tag", ref, pushed); r.ExitCode != 0 {
			t.Fatalf("docker tag: %+v", r)
		}
		e.rmiOnCleanup(t, pushed)
		if r := e.d.Docker(t, nil, "push", pushed); r.ExitCode != 0 {
			t.Fatalf("docker push to the TLS registry: %+v", r)
		}
		if !secure.HasBlob(t, "dk/secure", o.Config) {
			t.Errorf("the pushed config %s is not in the registry", o.Config)
		}
		if r := e.d.Docker(t, nil, "rmi", pushed); r.ExitCode != 0 {
			t.Fatalf("docker rmi: %+v", r)
		}
		if r := e.d.Docker(t, nil, "pull", pushed); r.ExitCode != 0 {
			t.Fatalf("docker pull from the TLS registry: %+v", r)
		}
		if r := e.d.Docker(t, nil, "logout", secure.Host); r.ExitCode != 0 {
			t.Errorf("docker logout: %+v", r)
		}
		e.d.Docker(t, nil, "rmi", pushed)
		// Told "unauthorized", the docker CLI asks for credentials (and
		// waits forever on an empty stdin: give it empty lines).
		r = e.d.Docker(t, strings.NewReader("\n\n"), "pull", pushed)
		if r.ExitCode == 0 {
			t.Errorf("docker pull after logout succeeded: %+v", r)
		}
		if !strings.Contains(r.Stdout, "Login prior to pull") {
			t.Errorf("docker pull after logout: the daemon's error was not an unauthorized one: %+v", r)
		}
	})
}
