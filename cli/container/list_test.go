package container

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

func psFixture(now time.Time) []container.Summary {
	return []container.Summary{
		{
			ID:      "4a1f2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef",
			Names:   []string{"/web"},
			Image:   "docker.io/library/nginx:1.25",
			ImageID: "sha256:aaaabbbbccccddddeeeeffff00001111222233334444555566667777888899990",
			Command: "/docker-entrypoint.sh nginx -g 'daemon off;'",
			Created: now.Add(-90 * time.Second).Unix(),
			State:   container.StateRunning,
			Status:  "Up About a minute",
			Ports: []container.PortSummary{
				{IP: netip.MustParseAddr("0.0.0.0"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
				{PrivatePort: 443, Type: "tcp"},
			},
			Labels: map[string]string{"tier": "front", "app": "shop"},
		},
		{
			ID:      "9b8a7c6d5e4f30218293a4b5c6d7e8f90123456789abcdef0123456789abcdef",
			Names:   []string{"/worker"},
			Image:   "busybox",
			Command: "sleep 10",
			Created: now.Add(-2 * time.Hour).Unix(),
			State:   container.StateExited,
			Status:  "Exited (0) 2 hours ago",
		},
	}
}

func runPsWith(t *testing.T, args ...string) (string, client.ContainerListOptions) {
	t.Helper()
	var got client.ContainerListOptions
	fake := &fakeClient{listFunc: func(o client.ContainerListOptions) (client.ContainerListResult, error) {
		got = o
		return client.ContainerListResult{Items: psFixture(time.Now())}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newPsCommand(deps), args...); err != nil {
		t.Fatal(err)
	}
	return out.String(), got
}

func TestPsDefaultTable(t *testing.T) {
	out, opts := runPsWith(t)
	want := strings.Join([]string{
		"CONTAINER ID   IMAGE        COMMAND                  CREATED              STATUS                   PORTS                           NAMES",
		"4a1f2c3d4e5f   nginx:1.25   \"/docker-entrypoint.…\"   About a minute ago   Up About a minute        443/tcp, 0.0.0.0:8080->80/tcp   web",
		"9b8a7c6d5e4f   busybox      \"sleep 10\"               2 hours ago          Exited (0) 2 hours ago                                   worker",
		"",
	}, "\n")
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	if opts.All || opts.Limit != -1 || opts.Size {
		t.Errorf("list options: %+v", opts)
	}
}

func TestPsNoTruncAndQuiet(t *testing.T) {
	out, _ := runPsWith(t, "-q")
	assertEqual(t, "quiet", out, "4a1f2c3d4e5f\n9b8a7c6d5e4f\n")

	out, _ = runPsWith(t, "-q", "--no-trunc")
	assertEqual(t, "quiet, no-trunc", out, psFixture(time.Now())[0].ID+"\n"+psFixture(time.Now())[1].ID+"\n")

	out, _ = runPsWith(t, "--no-trunc", "--format", "{{.Command}}|{{.Image}}")
	assertEqual(t, "no-trunc", out, "\"/docker-entrypoint.sh nginx -g 'daemon off;'\"|docker.io/library/nginx:1.25\n\"sleep 10\"|busybox\n")
}

func TestPsFormats(t *testing.T) {
	tests := []struct {
		format string
		want   string
	}{
		{
			format: "{{.Names}} {{upper .State}} {{.Label \"app\"}}",
			want:   "web RUNNING shop\nworker EXITED \n",
		},
		{
			format: "table {{.ID}}\t{{.Names}}\t{{lower .Status}}",
			want: "CONTAINER ID   NAMES     STATUS\n" +
				"4a1f2c3d4e5f   web       up about a minute\n" +
				"9b8a7c6d5e4f   worker    exited (0) 2 hours ago\n",
		},
		{
			format: `{{.Names}}: {{join (split .Labels ",") ";"}} {{truncate .ID 4}} [{{pad .Ports 1 1}}]`,
			want:   "web: app=shop;tier=front 4a1f [ 443/tcp, 0.0.0.0:8080->80/tcp ]\nworker:  9b8a []\n",
		},
		{
			format: "{{json .Names}}",
			want:   "\"web\"\n\"worker\"\n",
		},
	}
	for _, tt := range tests {
		out, _ := runPsWith(t, "--format", tt.format)
		if out != tt.want {
			t.Errorf("format %q:\n got: %q\nwant: %q", tt.format, out, tt.want)
		}
	}
}

func TestPsJSON(t *testing.T) {
	out, _ := runPsWith(t, "--format", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per container, got %q", out)
	}
	for _, want := range []string{`"ID":"4a1f2c3d4e5f"`, `"Names":"web"`, `"Image":"nginx:1.25"`,
		`"RunningFor":"About a minute ago"`, `"State":"running"`, `"Labels":"app=shop,tier=front"`,
		`"Ports":"443/tcp, 0.0.0.0:8080-\u003e80/tcp"`, `"Command":"\"/docker-entrypoint.…\""`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("%s\nlacks %s", lines[0], want)
		}
	}
}

func TestPsOptionsToAPI(t *testing.T) {
	_, opts := runPsWith(t, "-a", "-n", "3", "-f", "status=exited", "--filter", "Name = web", "-f", "status=created")
	if !opts.All || opts.Limit != 3 {
		t.Errorf("all/limit: %+v", opts)
	}
	want := client.Filters{}.Add("status", "exited", "created").Add("name", "web")
	assertEqual(t, "filters", opts.Filters, want)

	_, opts = runPsWith(t, "-l")
	assertEqual(t, "latest limit", opts.Limit, 1)

	_, opts = runPsWith(t, "--format", "{{.Names}} {{.Size}}")
	if !opts.Size {
		t.Error("a template using .Size must ask for sizes")
	}
}

func TestPsBadFilter(t *testing.T) {
	deps, _, _ := testDeps(&fakeClient{}, "")
	err := execute(t, newPsCommand(deps), "-f", "nonsense")
	if err == nil || !strings.Contains(err.Error(), "bad format of filter (expected name=value)") {
		t.Fatalf("got %v", err)
	}
}

func TestDisplayPorts(t *testing.T) {
	any4 := netip.MustParseAddr("0.0.0.0")
	any6 := netip.MustParseAddr("::")
	lo := netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		ports []container.PortSummary
		want  string
	}{
		{nil, ""},
		{[]container.PortSummary{{PrivatePort: 80, Type: "tcp"}}, "80/tcp"},
		{[]container.PortSummary{
			{PrivatePort: 8002, Type: "tcp"}, {PrivatePort: 8000, Type: "tcp"}, {PrivatePort: 8001, Type: "tcp"},
		}, "8000-8002/tcp"},
		{[]container.PortSummary{
			{IP: any4, PrivatePort: 80, PublicPort: 80, Type: "tcp"},
			{IP: any6, PrivatePort: 80, PublicPort: 80, Type: "tcp"},
		}, "0.0.0.0:80->80/tcp, [::]:80->80/tcp"},
		{[]container.PortSummary{
			{PrivatePort: 53, Type: "tcp"}, {PrivatePort: 53, Type: "udp"}, {PrivatePort: 80, Type: "tcp"},
		}, "53/tcp, 80/tcp, 53/udp"},
		// Published on the same port: ranges collapse per address and
		// protocol; remapped ports come last, one by one.
		{[]container.PortSummary{
			{IP: any4, PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
			{IP: lo, PrivatePort: 9001, PublicPort: 9001, Type: "udp"},
			{IP: lo, PrivatePort: 9000, PublicPort: 9000, Type: "udp"},
		}, "127.0.0.1:9000-9001->9000-9001/udp, 0.0.0.0:8080->80/tcp"},
		{[]container.PortSummary{
			{IP: any4, PrivatePort: 8001, PublicPort: 9001, Type: "tcp"},
			{IP: any4, PrivatePort: 8000, PublicPort: 9000, Type: "tcp"},
			{IP: any6, PrivatePort: 8000, PublicPort: 9000, Type: "tcp"},
		}, "0.0.0.0:9000->8000/tcp, [::]:9000->8000/tcp, 0.0.0.0:9001->8001/tcp"},
		// A gap splits a range; exposed-only and published ports mix.
		{[]container.PortSummary{
			{PrivatePort: 80, Type: "tcp"}, {PrivatePort: 81, Type: "tcp"}, {PrivatePort: 83, Type: "tcp"},
			{IP: any4, PrivatePort: 443, PublicPort: 443, Type: "tcp"},
		}, "80-81/tcp, 83/tcp, 0.0.0.0:443->443/tcp"},
	}
	for _, tt := range tests {
		assertEqual(t, "ports", displayPorts(tt.ports), tt.want)
	}
}

func TestPsNetworksColumn(t *testing.T) {
	fake := &fakeClient{listFunc: func(client.ContainerListOptions) (client.ContainerListResult, error) {
		return client.ContainerListResult{Items: []container.Summary{
			{ID: "a", Names: []string{"/web"}, NetworkSettings: &container.NetworkSettingsSummary{
				Networks: map[string]*network.EndpointSettings{"front": {}, "back": {}},
			}},
			{ID: "b", Names: []string{"/solo"}},
		}}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newPsCommand(deps), "--format", "table {{.Names}}\t{{.Networks}}\t{{.Ports}}"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "table", out.String(), "NAMES     NETWORKS     PORTS\nweb       back,front   \nsolo                   \n")
}
