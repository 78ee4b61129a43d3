package container

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// createWith runs `create` with args against a fake that records the
// request, and returns it (nil if no request was sent) and the error.
func createWith(t *testing.T, args ...string) (*client.ContainerCreateOptions, error) {
	t.Helper()
	var got *client.ContainerCreateOptions
	fake := &fakeClient{createFunc: func(o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
		got = &o
		return client.ContainerCreateResult{ID: "abc123"}, nil
	}}
	deps, _, _ := testDeps(fake, "")
	err := execute(t, newCreateCommand(deps), args...)
	return got, err
}

func TestCreateTranslatesFlags(t *testing.T) {
	i64 := func(n int64) *int64 { return &n }
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, o *client.ContainerCreateOptions)
	}{
		{
			name: "image, command and name",
			args: []string{"--name", "web", "busybox", "sh", "-c", "echo hi"},
			check: func(t *testing.T, o *client.ContainerCreateOptions) {
				if o.Name != "web" || o.Config.Image != "busybox" {
					t.Errorf("name/image: %q %q", o.Name, o.Config.Image)
				}
				assertEqual(t, "Cmd", o.Config.Cmd, []string{"sh", "-c", "echo hi"})
				if o.Config.Entrypoint != nil {
					t.Errorf("Entrypoint must stay unset, got %q", o.Config.Entrypoint)
				}
				assertEqual(t, "NetworkMode", o.HostConfig.NetworkMode, container.NetworkMode("default"))
			},
		},
		{
			name: "flags after the image belong to the command",
			args: []string{"busybox", "ls", "-l", "--name", "x"},
			check: func(t *testing.T, o *client.ContainerCreateOptions) {
				assertEqual(t, "Cmd", o.Config.Cmd, []string{"ls", "-l", "--name", "x"})
				assertEqual(t, "Name", o.Name, "")
			},
		},
		{
			name: "empty entrypoint resets the image's",
			args: []string{"--entrypoint", "", "busybox"},
			check: func(t *testing.T, o *client.ContainerCreateOptions) {
				assertEqual(t, "Entrypoint", o.Config.Entrypoint, []string{""})
				if o.Config.Cmd != nil {
					t.Errorf("Cmd: want none (the image's), got %q", o.Config.Cmd)
				}
			},
		},
		{
			name: "process settings",
			args: []string{"-w", "/srv", "-u", "1000:1000", "-h", "box", "-l", "a=b", "-l", "flag", "-i", "-t", "busybox"},
			check: func(t *testing.T, o *client.ContainerCreateOptions) {
				c := o.Config
				assertEqual(t, "WorkingDir", c.WorkingDir, "/srv")
				assertEqual(t, "User", c.User, "1000:1000")
				assertEqual(t, "Hostname", c.Hostname, "box")
				assertEqual(t, "Labels", c.Labels, map[string]string{"a": "b", "flag": ""})
				if !c.Tty || !c.OpenStdin || !c.AttachStdin || !c.StdinOnce || !c.AttachStdout || !c.AttachStderr {
					t.Errorf("stdio: %+v", c)
				}
			},
		},
		{
			name: "memory units and cpus",
			args: []string{"-m", "512m", "--memory-swap", "1g", "--cpus", "1.5", "--cpu-shares", "512", "--cpuset-cpus", "0-1", "--shm-size", "64m", "busybox"},
			check: func(t *testing.T, o *client.ContainerCreateOptions) {
				r := o.HostConfig.Resources
				assertEqual(t, "Memory", r.Memory, int64(512<<20))
				assertEqual(t, "MemorySwap", r.MemorySwap, int64(1<<30))
				assertEqual(t, "NanoCPUs", r.NanoCPUs, int64(1_500_000_000))
				assertEqual(t, "CPUShares", r.CPUShares, int64(512))
				assertEqual(t, "CpusetCpus", r.CpusetCpus, "0-1")
				assertEqual(t, "ShmSize", o.HostConfig.ShmSize, int64(64<<20))
				if r.PidsLimit != nil {
					t.Errorf("PidsLimit must stay unset, got %d", *r.PidsLimit)
				}
			},
		},
		{
			name: "unlimited swap and pids limit",
			args: []string{"-m", "1g", "--memory-swap=-1", "--pids-limit", "100", "busybox"},
			check: func(t *testing.T, o *client.ContainerCreateOptions) {
				assertEqual(t, "MemorySwap", o.HostConfig.MemorySwap, int64(-1))
				assertEqual(t, "PidsLimit", o.HostConfig.PidsLimit, i64(100))
			},
		},
		{
			name: "ulimits, later value for the same resource wins",
			args: []string{"--ulimit", "nofile=1024:2048", "--ulimit", "nproc=512", "--ulimit", "nofile=4096", "busybox"},
			check: func(t *testing.T, o *client.ContainerCreateOptions) {
				assertEqual(t, "Ulimits", o.HostConfig.Ulimits, []*container.Ulimit{
					{Name: "nofile", Soft: 4096, Hard: 4096},
					{Name: "nproc", Soft: 512, Hard: 512},
				})
			},
		},
		{
			name: "restart policy with retries",
			args: []string{"--restart", "on-failure:3", "busybox"},
			check: func(t *testing.T, o *client.ContainerCreateOptions) {
				assertEqual(t, "RestartPolicy", o.HostConfig.RestartPolicy,
					container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 3})
			},
		},
		{
			name: "security and isolation",
			args: []string{"--privileged", "--read-only", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL",
				"--security-opt", "no-new-privileges", "--security-opt", "apparmor=unconfined",
				"--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "--tmpfs", "/run:size=64m", "--tmpfs", "/tmp", "busybox"},
			check: func(t *testing.T, o *client.ContainerCreateOptions) {
				h := o.HostConfig
				if !h.Privileged || !h.ReadonlyRootfs {
					t.Errorf("privileged/read-only: %v %v", h.Privileged, h.ReadonlyRootfs)
				}
				assertEqual(t, "CapAdd", h.CapAdd, []string{"NET_ADMIN"})
				assertEqual(t, "CapDrop", h.CapDrop, []string{"ALL"})
				assertEqual(t, "SecurityOpt", h.SecurityOpt, []string{"no-new-privileges", "apparmor=unconfined"})
				assertEqual(t, "NetworkMode", h.NetworkMode, container.NetworkMode("host"))
				assertEqual(t, "Sysctls", h.Sysctls, map[string]string{"net.ipv4.ip_forward": "1"})
				assertEqual(t, "Tmpfs", h.Tmpfs, map[string]string{"/run": "size=64m", "/tmp": ""})
			},
		},
		{
			name: "systempaths=unconfined clears the masked paths",
			args: []string{"--security-opt", "systempaths=unconfined", "busybox"},
			check: func(t *testing.T, o *client.ContainerCreateOptions) {
				h := o.HostConfig
				if h.MaskedPaths == nil || len(h.MaskedPaths) != 0 || h.ReadonlyPaths == nil || len(h.ReadonlyPaths) != 0 {
					t.Errorf("want empty, non-nil path lists: %q %q", h.MaskedPaths, h.ReadonlyPaths)
				}
				if len(h.SecurityOpt) != 0 {
					t.Errorf("SecurityOpt: %q", h.SecurityOpt)
				}
			},
		},
		{
			name: "--rm sets AutoRemove",
			args: []string{"--rm", "busybox"},
			check: func(t *testing.T, o *client.ContainerCreateOptions) {
				if !o.HostConfig.AutoRemove {
					t.Error("AutoRemove not set")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := createWith(t, tt.args...)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got == nil {
				t.Fatal("no create request sent")
			}
			tt.check(t, got)
		})
	}
}

func TestCreateRejectsBadValuesBeforeAnyAPICall(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-m", "lots", "busybox"}, `invalid value "lots" for --memory`},
		{[]string{"--memory-swap", "-2", "busybox"}, `invalid value "-2" for --memory-swap`},
		{[]string{"--shm-size", "1x", "busybox"}, `invalid value "1x" for --shm-size`},
		{[]string{"--cpus", "abc", "busybox"}, `invalid value "abc" for --cpus`},
		{[]string{"--cpus", "-1", "busybox"}, "must not be negative"},
		{[]string{"--cpus", "0.0000000001", "busybox"}, "too precise"},
		{[]string{"--cpu-shares", "-5", "busybox"}, "--cpu-shares"},
		{[]string{"--ulimit", "nofile", "busybox"}, `invalid value "nofile" for --ulimit`},
		{[]string{"--ulimit", "nofile=2048:1024", "busybox"}, "--ulimit"},
		{[]string{"--ulimit", "bogus=1", "busybox"}, "--ulimit"},
		{[]string{"--restart", "sometimes", "busybox"}, "unknown policy 'sometimes'"},
		{[]string{"--restart", "always:3", "busybox"}, "maximum retry count can only be used with 'on-failure'"},
		{[]string{"--restart", "on-failure:x", "busybox"}, "must be an integer"},
		{[]string{"--restart", "on-failure:-1", "busybox"}, "cannot be negative"},
		{[]string{"--restart", ":3", "busybox"}, "no policy name"},
		{[]string{"--rm", "--restart", "always", "busybox"}, "cannot specify both --restart and --rm"},
		{[]string{"--sysctl", "novalue", "busybox"}, "expected key=value"},
		{[]string{"--tmpfs", "relative/path", "busybox"}, "path must be absolute"},
		{[]string{"--security-opt", "seccomp", "busybox"}, "invalid --security-opt"},
		{[]string{"--security-opt", "seccomp=/does/not/exist.json", "busybox"}, "opening seccomp profile"},
		{[]string{"-e", "=value", "busybox"}, "invalid environment variable"},
		{[]string{"-l", "=value", "busybox"}, "empty name"},
		{[]string{"--env-file", "/does/not/exist", "busybox"}, "reading env file"},
		{[]string{"--pids-limit", "many", "busybox"}, "invalid argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := createWith(t, tt.args...)
			if got != nil {
				t.Errorf("a request was sent: %+v", got)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
			// pflag's own parse errors get their exit code from the root
			// command's flag error handler; ours carry it themselves.
			if !strings.Contains(err.Error(), "invalid argument") && exitCode(err) != 125 {
				t.Errorf("exit code: got %d, want 125", exitCode(err))
			}
		})
	}
}

func TestCreatePrintsIDAndWarnings(t *testing.T) {
	fake := &fakeClient{createFunc: func(client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
		return client.ContainerCreateResult{ID: "0123456789abcdef", Warnings: []string{"memory limit ignored"}}, nil
	}}
	deps, out, errOut := testDeps(fake, "")
	if err := execute(t, newCreateCommand(deps), "busybox"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", out.String(), "0123456789abcdef\n")
	assertEqual(t, "stderr", errOut.String(), "WARNING: memory limit ignored\n")
}

func TestCreateEngineErrorExits125(t *testing.T) {
	fake := &fakeClient{createFunc: func(client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
		return client.ContainerCreateResult{}, errorString("Error response from daemon: No such image: nope:latest")
	}}
	deps, _, _ := testDeps(fake, "")
	err := execute(t, newCreateCommand(deps), "nope")
	assertEqual(t, "exit code", exitCode(err), 125)
	assertEqual(t, "message", err.Error(), "pouch: Error response from daemon: No such image: nope:latest.")
}

func TestEnvFileAndEnvFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "app.env")
	content := "\xEF\xBB\xBF# comment\n\nFOO=bar\n  SPACED=  kept as is  \nEMPTY=\nFROM_HOST\nNOT_SET_ANYWHERE\nURL=http://x/?a=b\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FROM_HOST", "hostval")
	t.Setenv("PASSED", "p")

	got, err := createWith(t, "--env-file", file, "-e", "FOO=override", "-e", "PASSED", "-e", "UNSET_BARE", "busybox")
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "Env", got.Config.Env, []string{
		"FOO=bar",
		"SPACED=  kept as is  ",
		"EMPTY=",
		"FROM_HOST=hostval",
		"NOT_SET_ANYWHERE",
		"URL=http://x/?a=b",
		"FOO=override",
		"PASSED=p",
		"UNSET_BARE",
	})
}

func TestEnvFileRejectsWhitespaceInNames(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.env")
	if err := os.WriteFile(file, []byte("MY VAR=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := parseEnvFile(file)
	if err == nil || !strings.Contains(err.Error(), "contains whitespaces") {
		t.Fatalf("got %v", err)
	}
}

func TestSeccompProfileSentInline(t *testing.T) {
	file := filepath.Join(t.TempDir(), "profile.json")
	if err := os.WriteFile(file, []byte("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := createWith(t, "--security-opt", "seccomp="+file, "--security-opt", "seccomp=unconfined", "busybox")
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "SecurityOpt", got.HostConfig.SecurityOpt, []string{
		`seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`,
		"seccomp=unconfined",
	})
}

func TestParseRestartPolicy(t *testing.T) {
	tests := []struct {
		in   string
		want container.RestartPolicy
	}{
		{"", container.RestartPolicy{}},
		{"no", container.RestartPolicy{Name: container.RestartPolicyDisabled}},
		{"always", container.RestartPolicy{Name: container.RestartPolicyAlways}},
		{"unless-stopped", container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}},
		{"on-failure", container.RestartPolicy{Name: container.RestartPolicyOnFailure}},
		{"on-failure:5", container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: 5}},
	}
	for _, tt := range tests {
		got, err := parseRestartPolicy(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		assertEqual(t, tt.in, got, tt.want)
	}
}

func assertEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got: %#v\nwant: %#v", what, got, want)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
