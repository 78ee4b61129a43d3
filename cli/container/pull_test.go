package container

import (
	"fmt"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// imageDaemon fakes a daemon that has the images in present and pulls
// any other on request, recording the calls in order.
type imageDaemon struct {
	present map[string]bool
	pullErr string // an error message to stream instead of pulling
	calls   []string
	creates []client.ContainerCreateOptions
	pulls   []client.ImagePullOptions
}

func (d *imageDaemon) client() *fakeClient {
	return &fakeClient{
		createFunc: func(o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
			d.calls = append(d.calls, "create "+o.Config.Image)
			d.creates = append(d.creates, o)
			if !d.present[o.Config.Image] {
				return client.ContainerCreateResult{}, fmt.Errorf("Error response from daemon: No such image: %s: %w", o.Config.Image, cerrdefs.ErrNotFound)
			}
			return client.ContainerCreateResult{ID: "c0ffee"}, nil
		},
		pullFunc: func(ref string, o client.ImagePullOptions) (client.ImagePullResponse, error) {
			d.calls = append(d.calls, "pull "+ref)
			d.pulls = append(d.pulls, o)
			if d.pullErr != "" {
				return newMessageStream(`{"status":"Pulling from library/busybox","id":"latest"}`,
					`{"errorDetail":{"message":"`+d.pullErr+`"},"error":"`+d.pullErr+`"}`), nil
			}
			d.present["busybox"] = true
			return newMessageStream(
				`{"status":"Pulling from library/busybox","id":"latest"}`,
				`{"status":"Pulling fs layer","progressDetail":{},"id":"9ad63333ebc9"}`,
				`{"status":"Downloading","progressDetail":{"current":10,"total":20},"id":"9ad63333ebc9"}`,
				`{"status":"Pull complete","progressDetail":{},"id":"9ad63333ebc9"}`,
				`{"status":"Status: Downloaded newer image for busybox:latest"}`,
			), nil
		},
		startFunc: func(id string, _ client.ContainerStartOptions) (client.ContainerStartResult, error) {
			d.calls = append(d.calls, "start "+id)
			return client.ContainerStartResult{}, nil
		},
	}
}

const pulledProgress = "latest: Pulling from library/busybox\n" +
	"9ad63333ebc9: Pulling fs layer\n" +
	"9ad63333ebc9: Pull complete\n" +
	"Status: Downloaded newer image for busybox:latest\n"

func TestRunPullsMissingImage(t *testing.T) {
	d := &imageDaemon{present: map[string]bool{}}
	deps, out, errOut := testDeps(d.client(), "")
	if err := execute(t, newRunCommand(deps), "-d", "busybox", "true"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "calls", d.calls, []string{"create busybox", "pull docker.io/library/busybox:latest", "create busybox", "start c0ffee"})
	assertEqual(t, "stdout", out.String(), "c0ffee\n")
	assertEqual(t, "stderr", errOut.String(), "Unable to find image 'busybox:latest' locally\n"+pulledProgress)
}

func TestCreatePullPolicies(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		present bool
		calls   []string
		stderr  string
		err     string
	}{
		{
			name:   "missing is the default",
			args:   []string{"busybox"},
			calls:  []string{"create busybox", "pull docker.io/library/busybox:latest", "create busybox"},
			stderr: "Unable to find image 'busybox:latest' locally\n" + pulledProgress,
		},
		{
			name:    "missing does not pull a present image",
			args:    []string{"--pull", "missing", "busybox"},
			present: true,
			calls:   []string{"create busybox"},
		},
		{
			name:   "quiet",
			args:   []string{"-q", "busybox"},
			calls:  []string{"create busybox", "pull docker.io/library/busybox:latest", "create busybox"},
			stderr: "",
		},
		{
			name:    "always pulls first",
			args:    []string{"--pull", "always", "busybox"},
			present: true,
			calls:   []string{"pull docker.io/library/busybox:latest", "create busybox"},
			stderr:  pulledProgress,
		},
		{
			name:  "never fails with the daemon's 404",
			args:  []string{"--pull", "never", "busybox"},
			calls: []string{"create busybox"},
			err:   "pouch: Error response from daemon: No such image: busybox: not found.",
		},
		{
			name:  "an image ID is not pulled",
			args:  []string{strings.Repeat("ab", 32)},
			calls: []string{"create " + strings.Repeat("ab", 32)},
			err:   "pouch: Error response from daemon: No such image: " + strings.Repeat("ab", 32) + ": not found.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &imageDaemon{present: map[string]bool{"busybox": tc.present}}
			deps, out, errOut := testDeps(d.client(), "")
			err := execute(t, newCreateCommand(deps), tc.args...)
			assertEqual(t, "calls", d.calls, tc.calls)
			if tc.err != "" {
				assertEqual(t, "exit code", exitCode(err), 125)
				if err == nil || err.Error() != tc.err {
					t.Errorf("error: %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, "stdout", out.String(), "c0ffee\n")
			assertEqual(t, "stderr", errOut.String(), tc.stderr)
		})
	}
}

func TestCreatePlatformGoesToPullAndCreate(t *testing.T) {
	d := &imageDaemon{present: map[string]bool{}}
	deps, _, _ := testDeps(d.client(), "")
	if err := execute(t, newCreateCommand(deps), "--platform", "linux/arm64", "busybox"); err != nil {
		t.Fatal(err)
	}
	want := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	assertEqual(t, "pull platforms", d.pulls[0].Platforms, []ocispec.Platform{want})
	for _, c := range d.creates {
		assertEqual(t, "create platform", c.Platform, &want)
	}
}

func TestRunPullFailureExits125(t *testing.T) {
	d := &imageDaemon{present: map[string]bool{}, pullErr: "manifest for busybox:latest not found"}
	deps, out, errOut := testDeps(d.client(), "")
	err := execute(t, newRunCommand(deps), "busybox")
	assertEqual(t, "exit code", exitCode(err), 125)
	if err == nil || err.Error() != "pouch: manifest for busybox:latest not found." {
		t.Errorf("error: %v", err)
	}
	assertEqual(t, "calls", d.calls, []string{"create busybox", "pull docker.io/library/busybox:latest"})
	assertEqual(t, "stdout", out.String(), "")
	assertEqual(t, "stderr", errOut.String(), "Unable to find image 'busybox:latest' locally\nlatest: Pulling from library/busybox\n")
}

func TestInvalidPullPolicy(t *testing.T) {
	d := &imageDaemon{present: map[string]bool{}}
	deps, _, _ := testDeps(d.client(), "")
	err := execute(t, newRunCommand(deps), "--pull", "sometimes", "busybox")
	assertEqual(t, "exit code", exitCode(err), 125)
	want := "pouch: invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\".\nSee 'pouch run --help'."
	if err == nil || err.Error() != want {
		t.Errorf("error: %v", err)
	}
	assertEqual(t, "calls", len(d.calls), 0)
}
