package image

import (
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
)

const (
	busyboxID = "sha256:6fd955f66c231c1a946653170d096a28ac2b2052a02080c0b84ec082a07f7d12"
	danglerID = "sha256:0123456789ab0123456789ab0123456789ab0123456789ab0123456789ab0123"
	digest    = "sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7"
)

func imagesFixture(now time.Time) []image.Summary {
	return []image.Summary{
		{
			ID:          busyboxID,
			RepoTags:    []string{"busybox:latest", "busybox:1.36", "localhost:5000/tools/busybox:v1"},
			RepoDigests: []string{"busybox@" + digest},
			Created:     now.Add(-3 * 7 * 24 * time.Hour).Unix(),
			Size:        4_261_550,
			Containers:  -1,
			SharedSize:  -1,
		},
		{
			ID:         danglerID,
			Created:    now.Add(-50 * time.Minute).Unix(),
			Size:       1_234_567_890,
			Containers: 2,
		},
	}
}

func runImagesWith(t *testing.T, args ...string) (string, client.ImageListOptions) {
	t.Helper()
	var got client.ImageListOptions
	fake := &fakeClient{listFunc: func(o client.ImageListOptions) (client.ImageListResult, error) {
		got = o
		return client.ImageListResult{Items: imagesFixture(time.Now())}, nil
	}}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newImagesCommand(deps), args...); err != nil {
		t.Fatal(err)
	}
	return out.String(), got
}

func TestImagesDefaultTable(t *testing.T) {
	out, opts := runImagesWith(t)
	want := strings.Join([]string{
		"REPOSITORY                     TAG       IMAGE ID       CREATED          SIZE",
		"busybox                        latest    6fd955f66c23   3 weeks ago      4.26MB",
		"busybox                        1.36      6fd955f66c23   3 weeks ago      4.26MB",
		"localhost:5000/tools/busybox   v1        6fd955f66c23   3 weeks ago      4.26MB",
		"<none>                         <none>    0123456789ab   50 minutes ago   1.23GB",
		"",
	}, "\n")
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	if opts.All || len(opts.Filters) != 0 {
		t.Errorf("options: %+v", opts)
	}
}

func TestImagesDigests(t *testing.T) {
	out, _ := runImagesWith(t, "--digests", "--format", "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}")
	want := strings.Join([]string{
		"REPOSITORY                     TAG       DIGEST",
		"busybox                        latest    " + digest,
		"busybox                        1.36      " + digest,
		"localhost:5000/tools/busybox   v1        <none>",
		"<none>                         <none>    <none>",
		"",
	}, "\n")
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}

	out, _ = runImagesWith(t, "--digests")
	if !strings.HasPrefix(out, "REPOSITORY                     TAG       DIGEST") || !strings.Contains(out, "IMAGE ID") {
		t.Errorf("default table with --digests lacks the DIGEST column:\n%s", out)
	}
}

func TestImagesQuietAndNoTrunc(t *testing.T) {
	out, _ := runImagesWith(t, "-q")
	assertEqual(t, "quiet", out, "6fd955f66c23\n6fd955f66c23\n6fd955f66c23\n0123456789ab\n")

	out, _ = runImagesWith(t, "--no-trunc", "--format", "{{.ID}}")
	if !strings.HasPrefix(out, busyboxID+"\n") {
		t.Errorf("no-trunc: %q", out)
	}
}

func TestImagesJSONAndTemplates(t *testing.T) {
	out, _ := runImagesWith(t, "--format", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("want one line per row: %q", out)
	}
	for _, want := range []string{`"Repository":"busybox"`, `"Tag":"latest"`, `"ID":"6fd955f66c23"`,
		`"Size":"4.26MB"`, `"CreatedSince":"3 weeks ago"`, `"Containers":"N/A"`, `"SharedSize":"N/A"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("%s\nlacks %s", lines[0], want)
		}
	}
	out, _ = runImagesWith(t, "--format", "{{.Repository}}:{{.Tag}} {{.Containers}}")
	assertEqual(t, "template", out, "busybox:latest N/A\nbusybox:1.36 N/A\nlocalhost:5000/tools/busybox:v1 N/A\n<none>:<none> 2\n")
}

func TestImagesFilters(t *testing.T) {
	_, opts := runImagesWith(t, "-a", "-f", "dangling=true", "busybox:1.36")
	if !opts.All {
		t.Error("-a not passed")
	}
	assertEqual(t, "filters", opts.Filters, client.Filters{}.Add("dangling", "true").Add("reference", "busybox:1.36"))

	_, opts = runImagesWith(t, "--filter", "reference=busy*", "--filter", "dangling=false")
	assertEqual(t, "filters", opts.Filters, client.Filters{}.Add("reference", "busy*").Add("dangling", "false"))
}
