package image

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pouchcontainer/pouch/cli/config"
)

// pullStream is what the daemon streams for a pull of busybox.
var pullStream = []string{
	`{"status":"Pulling from library/busybox","id":"latest"}`,
	`{"status":"Pulling fs layer","progressDetail":{},"id":"9ad63333ebc9"}`,
	`{"status":"Downloading","progressDetail":{"current":1024,"total":2048},"id":"9ad63333ebc9"}`,
	`{"status":"Download complete","progressDetail":{},"id":"9ad63333ebc9"}`,
	`{"status":"Extracting","progressDetail":{"current":2048,"total":2048},"id":"9ad63333ebc9"}`,
	`{"status":"Pull complete","progressDetail":{},"id":"9ad63333ebc9"}`,
	`{"status":"Digest: ` + digest + `"}`,
	`{"status":"Status: Downloaded newer image for busybox:latest"}`,
}

// pullRecorder is a fake pull that records its request and answers with
// lines.
type pullRecorder struct {
	ref    string
	opts   client.ImagePullOptions
	stream *messageStream
}

func (p *pullRecorder) client(lines ...string) *fakeClient {
	return &fakeClient{pullFunc: func(ref string, o client.ImagePullOptions) (client.ImagePullResponse, error) {
		p.ref, p.opts = ref, o
		p.stream = newMessageStream(lines...)
		return p.stream, nil
	}}
}

// decodedAuth decodes the X-Registry-Auth value a call sent.
func decodedAuth(t *testing.T, encoded string) registry.AuthConfig {
	t.Helper()
	auth, err := authconfig.Decode(encoded)
	if err != nil {
		t.Fatalf("X-Registry-Auth %q: %v", encoded, err)
	}
	return *auth
}

func TestPullPrintsPlainProgressAndReference(t *testing.T) {
	var p pullRecorder
	deps, out, _ := testDeps(p.client(pullStream...), "")
	if err := execute(t, newPullCommand(deps), "busybox"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", out.String(), "Using default tag: latest\n"+
		"latest: Pulling from library/busybox\n"+
		"9ad63333ebc9: Pulling fs layer\n"+
		"9ad63333ebc9: Download complete\n"+
		"9ad63333ebc9: Pull complete\n"+
		"Digest: "+digest+"\n"+
		"Status: Downloaded newer image for busybox:latest\n"+
		"docker.io/library/busybox:latest\n")
	assertEqual(t, "ref", p.ref, "docker.io/library/busybox:latest")
	assertEqual(t, "auth", decodedAuth(t, p.opts.RegistryAuth), registry.AuthConfig{ServerAddress: config.IndexServer})
	assertEqual(t, "platforms", p.opts.Platforms, []ocispec.Platform(nil))
	assertEqual(t, "stream closed", p.stream.closed, true)
}

func TestPullQuietPrintsOnlyTheReference(t *testing.T) {
	var p pullRecorder
	deps, out, _ := testDeps(p.client(pullStream...), "")
	if err := execute(t, newPullCommand(deps), "-q", "--platform", "linux/arm64", "registry.example.com/team/app@"+digest); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", out.String(), "registry.example.com/team/app@"+digest+"\n")
	assertEqual(t, "ref", p.ref, "registry.example.com/team/app@"+digest)
	assertEqual(t, "platforms", p.opts.Platforms, []ocispec.Platform{{OS: "linux", Architecture: "arm64"}})
}

func TestPullStreamErrorFails(t *testing.T) {
	var p pullRecorder
	deps, out, _ := testDeps(p.client(
		`{"status":"Pulling from library/busybox","id":"latest"}`,
		`{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}`,
	), "")
	err := execute(t, newPullCommand(deps), "busybox:latest")
	if err == nil || err.Error() != "unexpected EOF" {
		t.Fatalf("error: %v", err)
	}
	assertEqual(t, "stdout", out.String(), "latest: Pulling from library/busybox\n")

	deps, out, _ = testDeps(p.client(`{"error":"unexpected EOF"}`), "")
	err = execute(t, newPullCommand(deps), "-q", "busybox")
	if err == nil || err.Error() != "unexpected EOF" || out.String() != "" {
		t.Fatalf("quiet: error %v, stdout %q", err, out.String())
	}
}

func TestPullReportsAPIErrorsAndBadInput(t *testing.T) {
	fake := &fakeClient{pullFunc: func(string, client.ImagePullOptions) (client.ImagePullResponse, error) {
		return nil, errorString("Error response from daemon: pull access denied for nope, repository does not exist or may require authorization")
	}}
	deps, out, _ := testDeps(fake, "")
	err := execute(t, newPullCommand(deps), "nope")
	if err == nil || err.Error() != "Error response from daemon: pull access denied for nope, repository does not exist or may require authorization" {
		t.Errorf("error: %v", err)
	}
	assertEqual(t, "stdout", out.String(), "Using default tag: latest\n")

	for _, args := range [][]string{{"Bad:Name"}, {"--platform", "not/a/real/platform/at/all", "busybox"}} {
		deps, _, _ = testDeps(fake, "")
		if err := execute(t, newPullCommand(deps), args...); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}

// writeConfig stores credentials in a fresh config directory.
func writeConfig(t *testing.T, auths string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{`+auths+`}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func TestPullAndPushSendStoredCredentials(t *testing.T) {
	dir := writeConfig(t, `"https://localhost:5000":{"auth":"`+basicAuth("bob", "pw")+`"},`+
		`"https://index.docker.io/v1/":{"auth":"`+basicAuth("alice", "hub")+`"}`)

	var p pullRecorder
	deps, _, _ := testDeps(p.client(pullStream...), "")
	deps.ConfigDir = dir
	if err := execute(t, newPullCommand(deps), "localhost:5000/app:v1"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "registry auth", decodedAuth(t, p.opts.RegistryAuth), registry.AuthConfig{Username: "bob", Password: "pw", ServerAddress: "localhost:5000"})

	var pushed client.ImagePushOptions
	fake := &fakeClient{pushFunc: func(_ string, o client.ImagePushOptions) (client.ImagePushResponse, error) {
		pushed = o
		return newMessageStream(`{"status":"ok"}`), nil
	}}
	deps, _, _ = testDeps(fake, "")
	deps.ConfigDir = dir
	if err := execute(t, newPushCommand(deps), "index.docker.io/alice/app"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "hub auth", decodedAuth(t, pushed.RegistryAuth), registry.AuthConfig{Username: "alice", Password: "hub", ServerAddress: config.IndexServer})
}

func TestPullWarnsAboutBrokenConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	var p pullRecorder
	deps, _, errOut := testDeps(p.client(pullStream...), "")
	deps.ConfigDir = dir
	if err := execute(t, newPullCommand(deps), "-q", "busybox"); err != nil {
		t.Fatal(err)
	}
	if got := errOut.String(); !strings.HasPrefix(got, "WARNING: Error loading config file: ") {
		t.Errorf("stderr: %q", got)
	}
}

func TestPushOutput(t *testing.T) {
	stream := []string{
		`{"status":"The push refers to repository [localhost:5000/app]"}`,
		`{"status":"Preparing","progressDetail":{},"id":"9ad63333ebc9"}`,
		`{"status":"Pushing","progressDetail":{"current":512,"total":2048},"id":"9ad63333ebc9"}`,
		`{"status":"Pushed","progressDetail":{},"id":"9ad63333ebc9"}`,
		`{"status":"v1: digest: ` + digest + ` size: 527"}`,
		`{"progressDetail":{},"aux":{"Tag":"v1","Digest":"` + digest + `","Size":527}}`,
	}
	var ref string
	fake := &fakeClient{pushFunc: func(r string, _ client.ImagePushOptions) (client.ImagePushResponse, error) {
		ref = r
		return newMessageStream(stream...), nil
	}}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newPushCommand(deps), "localhost:5000/app:v1"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "ref", ref, "localhost:5000/app:v1")
	assertEqual(t, "stdout", out.String(), "The push refers to repository [localhost:5000/app]\n"+
		"9ad63333ebc9: Preparing\n"+
		"9ad63333ebc9: Pushed\n"+
		"v1: digest: "+digest+" size: 527\n")

	deps, out, _ = testDeps(fake, "")
	if err := execute(t, newPushCommand(deps), "-q", "localhost:5000/app"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "quiet", out.String(), "localhost:5000/app:latest\n")
	assertEqual(t, "default tag", ref, "localhost:5000/app:latest")

	deps, _, _ = testDeps(fake, "")
	if err := execute(t, newPushCommand(deps), "localhost:5000/app@"+digest); err == nil || err.Error() != "cannot push a digest reference" {
		t.Errorf("digest: %v", err)
	}

	fake.pushFunc = func(string, client.ImagePushOptions) (client.ImagePushResponse, error) {
		return newMessageStream(`{"status":"Preparing","progressDetail":{},"id":"9ad63333ebc9"}`,
			`{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"}`), nil
	}
	deps, _, _ = testDeps(fake, "")
	if err := execute(t, newPushCommand(deps), "localhost:5000/app:v1"); err == nil || err.Error() != "unauthorized: authentication required" {
		t.Errorf("stream error: %v", err)
	}
}
