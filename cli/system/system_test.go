package system

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type fakeClient struct {
	// APIClient is nil: methods a test does not fake panic when called.
	APIClient
	versionFunc          func() (client.ServerVersionResult, error)
	infoFunc             func() (client.SystemInfoResult, error)
	containerInspectFunc func(string) (client.ContainerInspectResult, error)
	imageInspectFunc     func(string) error
	apiVersion           string
}

func (f *fakeClient) ServerVersion(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
	return f.versionFunc()
}

func (f *fakeClient) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	return f.infoFunc()
}

func (f *fakeClient) ContainerInspect(_ context.Context, name string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	return f.containerInspectFunc(name)
}

// ImageInspect can only report errors: the raw-response option it would
// fill is opaque outside the client package.
func (f *fakeClient) ImageInspect(_ context.Context, name string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	return client.ImageInspectResult{}, f.imageInspectFunc(name)
}

func (f *fakeClient) ClientVersion() string { return f.apiVersion }

func testDeps(c APIClient) (*Deps, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Deps{
		Streams: command.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut},
		Client:  c,
		Build:   BuildInfo{Version: "1.2.3", GitCommit: "abcdef0", BuildTime: "today"},
	}, &out, &errOut
}

func execute(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(new(bytes.Buffer))
	cmd.SetErr(new(bytes.Buffer))
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	return cmd.ExecuteContext(context.Background())
}

func TestVersion(t *testing.T) {
	fake := &fakeClient{apiVersion: "1.41", versionFunc: func() (client.ServerVersionResult, error) {
		return client.ServerVersionResult{
			Platform: client.PlatformInfo{Name: "Pouch Engine"}, Version: "0.9.0",
			APIVersion: "1.41", MinAPIVersion: "1.24", Os: "linux", Arch: "amd64",
			Components: []system.ComponentVersion{{Name: "runc", Version: "1.1.12", Details: map[string]string{"GitCommit": "51d5e94"}}},
		}, nil
	}}
	deps, out, _ := testDeps(fake)
	if err := execute(t, newVersionCommand(deps)); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`Client:
 Version:           1.2.3
 API version:       1.41 (downgraded from %s)
 Go version:        %s
 Git commit:        abcdef0
 Built:             today
 OS/Arch:           %s/%s

Server: Pouch Engine
 Engine:
  Version:          0.9.0
  API version:      1.41 (minimum version 1.24)
  Go version:       
  Git commit:       
  Built:            
  OS/Arch:          linux/amd64
  Experimental:     false
 runc:
  Version:          1.1.12
  GitCommit:        51d5e94
`, client.MaxAPIVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}

	deps, out, _ = testDeps(fake)
	if err := execute(t, newVersionCommand(deps), "--format", "{{.Client.Version}} {{.Server.Version}}"); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "1.2.3 0.9.0\n" {
		t.Errorf("format: %q", got)
	}
}

func TestVersionWithoutDaemonShowsClient(t *testing.T) {
	fake := &fakeClient{apiVersion: client.MaxAPIVersion, versionFunc: func() (client.ServerVersionResult, error) {
		return client.ServerVersionResult{}, fmt.Errorf("cannot connect")
	}}
	deps, out, _ := testDeps(fake)
	err := execute(t, newVersionCommand(deps))
	if err == nil {
		t.Fatal("expected the connection error")
	}
	if !strings.HasPrefix(out.String(), "Client:\n Version:           1.2.3\n") || strings.Contains(out.String(), "Server") {
		t.Errorf("output:\n%s", out)
	}
}

func TestInfo(t *testing.T) {
	fake := &fakeClient{infoFunc: func() (client.SystemInfoResult, error) {
		return client.SystemInfoResult{Info: system.Info{
			Containers: 3, ContainersRunning: 1, ContainersStopped: 2, Images: 4,
			ServerVersion: "0.9.0", Driver: "overlayfs", LoggingDriver: "json-file",
			CgroupDriver: "cgroupfs", CgroupVersion: "1", NCPU: 2, MemTotal: 4 << 30,
			DockerRootDir: "/var/lib/pouch", Warnings: []string{"WARNING: no swap limit support"},
		}}, nil
	}}
	deps, out, errOut := testDeps(fake)
	if err := execute(t, newInfoCommand(deps)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 4\n",
		" Storage Driver: overlayfs\n", " Total Memory: 4GiB\n", " Pouch Root Dir: /var/lib/pouch\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
	if errOut.String() != "WARNING: no swap limit support\n" {
		t.Errorf("warnings: %q", errOut)
	}

	deps, out, _ = testDeps(fake)
	if err := execute(t, newInfoCommand(deps), "-f", "{{.Images}} {{json .Driver}}"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "4 \"overlayfs\"\n" {
		t.Errorf("format: %q", out)
	}
}

func TestInspectFallsBackToImages(t *testing.T) {
	notFound := func(what, name string) error {
		return fmt.Errorf("Error response from daemon: No such %s: %s: %w", what, name, cerrdefs.ErrNotFound)
	}
	var imageLookups []string
	fake := &fakeClient{
		containerInspectFunc: func(name string) (client.ContainerInspectResult, error) {
			if name == "web" {
				return client.ContainerInspectResult{Raw: json.RawMessage(`{"Id":"c1","Name":"/web"}`)}, nil
			}
			return client.ContainerInspectResult{}, notFound("container", name)
		},
		imageInspectFunc: func(name string) error {
			imageLookups = append(imageLookups, name)
			return notFound("image", name)
		},
	}
	deps, out, _ := testDeps(fake)
	err := execute(t, newInspectCommand(deps), "-f", "{{.Name}}", "web", "ghost")
	if out.String() != "/web\n" {
		t.Errorf("stdout: %q", out)
	}
	if err == nil || err.Error() != "Error: No such object: ghost" {
		t.Errorf("error: %v", err)
	}
	if strings.Join(imageLookups, ",") != "ghost" {
		t.Errorf("image lookups: %v", imageLookups)
	}

	imageLookups = nil
	deps, _, _ = testDeps(fake)
	err = execute(t, newInspectCommand(deps), "--type", "container", "ghost")
	if err == nil || err.Error() != "Error: No such container: ghost" || imageLookups != nil {
		t.Errorf("--type container: %v, image lookups %v", err, imageLookups)
	}

	deps, _, _ = testDeps(fake)
	err = execute(t, newInspectCommand(deps), "--type", "volume", "x")
	if err == nil || err.Error() != `"volume" is not a valid value for --type` {
		t.Errorf("bad type: %v", err)
	}
}
