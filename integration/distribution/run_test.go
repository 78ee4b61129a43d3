package distribution

import (
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/registry"
)

// TestRunPulls: `pouch run` pulls a missing image (--pull missing, the
// default), never pulls with --pull never, and asks the registry again
// with --pull always.
func TestRunPulls(t *testing.T) {
	e, reg, p := plainEnv(t)
	img := image(t)
	o := reg.Push(t, img, "run/app", "v1")
	ref := p.Ref("run/app", "v1")
	e.rmiOnCleanup(t, ref)

	r := e.d.Pouch(t, nil, "run", "--rm", "--pull", "never", ref, "true")
	if r.ExitCode == 0 {
		t.Errorf("run --pull never of a missing image succeeded: %+v", r)
	}
	if !strings.Contains(r.Stderr, "run/app:v1") {
		t.Errorf("run --pull never: error does not name the image: %q", r.Stderr)
	}
	if p.Count(registry.KindIs(registry.KindManifest)) != 0 {
		t.Errorf("run --pull never asked the registry")
	}

	r = e.run(t, ref, "cat", "/etc/layer2")
	if r.ExitCode != 0 || r.Stdout != "layer2\n" {
		t.Fatalf("run of a missing image (pull missing): %+v", r)
	}
	if !strings.Contains(r.Stderr, "Unable to find image") {
		t.Errorf("run did not say it pulls: %q", r.Stderr)
	}
	if got := e.inspect(t, ref); got == nil || got.ID != o.Config.String() {
		t.Fatalf("image after run: %+v", got)
	}

	p.Reset()
	r = e.run(t, ref, "true")
	if r.ExitCode != 0 || p.Count(registry.KindIs(registry.KindManifest)) != 0 {
		t.Errorf("run of a present image: exit %d, %d manifest requests", r.ExitCode, p.Count(registry.KindIs(registry.KindManifest)))
	}

	p.Reset()
	r = e.d.Pouch(t, nil, "run", "--rm", "--pull", "always", ref, "true")
	if r.ExitCode != 0 {
		t.Fatalf("run --pull always: %+v", r)
	}
	if p.Count(registry.KindIs(registry.KindManifest)) == 0 {
		t.Errorf("run --pull always did not ask the registry")
	}
	if n := p.Count(registry.KindIs(registry.KindBlob)); n != 0 {
		t.Errorf("run --pull always of an up-to-date image fetched %d blobs", n)
	}

	// create pulls too, and -q keeps stderr quiet.
	e.rmi(t, ref)
	r = e.d.Pouch(t, nil, "create", "-q", ref, "true")
	if r.ExitCode != 0 || len(strings.TrimSpace(r.Stdout)) != 64 {
		t.Fatalf("create -q of a missing image: %+v", r)
	}
	if strings.TrimSpace(r.Stderr) != "" {
		t.Errorf("create -q printed %q", r.Stderr)
	}
	if rm := e.d.Pouch(t, nil, "rm", "-f", strings.TrimSpace(r.Stdout)); rm.ExitCode != 0 {
		t.Errorf("rm: %+v", rm)
	}
	e.assertNoContainers(t)
}

// TestMirrorsAndDefaultRegistry: Docker Hub names go to the first mirror
// that answers; --default-registry takes names without a registry.
func TestMirrorsAndDefaultRegistry(t *testing.T) {
	mirrorReg := registry.Start(t)
	mirror := registry.NewFaultProxy(t, mirrorReg)
	dflt := registry.Start(t)
	dfltProxy := registry.NewFaultProxy(t, dflt)
	dead, err := registry.ClosedPort()
	if err != nil {
		t.Fatal(err)
	}
	img := image(t)
	mirrorReg.Push(t, img, "library/mirrored", "v1")
	dflt.Push(t, img, "library/dflt", "v1")

	t.Run("mirror fallback", func(t *testing.T) {
		e := startDaemon(t, "--registry-mirrors", "http://"+dead, "--registry-mirrors", "http://"+mirror.Host,
			"--insecure-registries", mirror.Host, "--insecure-registries", dead)
		e.rmiOnCleanup(t, "mirrored:v1")
		s := e.mustPull(t, "mirrored:v1", pullOpts{})
		if mirror.Count(registry.KindIs(registry.KindManifest)) == 0 {
			t.Errorf("the mirror was not asked: %+v", mirror.Records())
		}
		got := e.inspect(t, "docker.io/library/mirrored:v1")
		if got == nil || !strings.Contains(strings.Join(got.RepoTags, " "), "mirrored:v1") {
			t.Fatalf("image pulled through a mirror: %+v", got)
		}
		if !s.has("Status: Downloaded newer image for mirrored:v1") {
			t.Errorf("pull through a mirror, final status:\n%s", s.Body)
		}
		e.assertRuns(t, "mirrored:v1")
	})

	t.Run("default registry", func(t *testing.T) {
		e := startDaemon(t, "--default-registry", dfltProxy.Host, "--insecure-registries", dfltProxy.Host)
		e.rmiOnCleanup(t, "dflt:v1", dfltProxy.Ref("library/dflt", "v1"))
		e.mustPull(t, "dflt:v1", pullOpts{})
		if dfltProxy.Count(func(r registry.Record) bool { return r.Kind == registry.KindManifest && r.Repo == "library/dflt" }) == 0 {
			t.Errorf("the default registry was not asked for library/dflt: %+v", dfltProxy.Records())
		}
		if got := e.inspect(t, "dflt:v1"); got == nil || got.ID != configDigest(t, img) {
			t.Fatalf("image pulled from the default registry: %+v", got)
		}
		e.assertRuns(t, "dflt:v1")
	})
}
