package image

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/distribution/reference"
	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/stringid"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

const (
	defaultImagesFormat           = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince}}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
	defaultImagesFormatWithDigest = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince}}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
)

type imagesOptions struct {
	reference string
	all       bool
	quiet     bool
	digests   bool
	noTrunc   bool
	format    string
	filter    command.FilterOpt
}

func newImagesCommand(deps *Deps) *cobra.Command {
	opts := imagesOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:     "images [OPTIONS] [REPOSITORY[:TAG]]",
		Aliases: []string{"ls", "list"},
		Short:   "List images",
		Args:    command.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.reference = args[0]
			}
			return runImages(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all", "a", false, "Show all images (default hides intermediate images)")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show image IDs")
	flags.BoolVar(&opts.digests, "digests", false, "Show digests")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	flags.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	flags.VarP(&opts.filter, "filter", "f", "Filter output based on conditions provided")
	return cmd
}

func runImages(ctx context.Context, deps *Deps, opts *imagesOptions) error {
	filters := opts.filter.Value()
	if opts.reference != "" {
		filters.Add("reference", opts.reference)
	}
	res, err := deps.Client.ImageList(ctx, client.ImageListOptions{All: opts.all, Filters: filters})
	if err != nil {
		return err
	}
	format := imagesFormat(opts.format, opts.quiet, opts.digests)
	showDigests := opts.digests || format.Contains("{{.Digest}}")
	now := time.Now()
	var rows []*imageRow
	for _, img := range res.Items {
		rows = append(rows, imageRows(img, !opts.noTrunc, opts.digests, showDigests, now)...)
	}
	return formatter.Write(deps.Out, format, imageHeader, rows)
}

// imagesFormat picks the template: docker's classic table by default,
// with a DIGEST column for --digests, or the bare ID when quiet.
func imagesFormat(source string, quiet, digests bool) formatter.Format {
	switch {
	case quiet:
		return "{{.ID}}"
	case source == "" || source == formatter.TableFormatKey:
		if digests {
			return defaultImagesFormatWithDigest
		}
		return defaultImagesFormat
	}
	f := formatter.Format(source)
	if f.IsTable() && digests && !f.Contains("{{.Digest}}") {
		f += "\t{{.Digest}}"
	}
	return f
}

var imageHeader = formatter.Header{
	"ID":           "IMAGE ID",
	"Repository":   "REPOSITORY",
	"Tag":          "TAG",
	"Digest":       "DIGEST",
	"CreatedSince": "CREATED",
	"CreatedAt":    "CREATED AT",
	"Size":         "SIZE",
	"Containers":   "CONTAINERS",
	"SharedSize":   "SHARED SIZE",
	"UniqueSize":   "UNIQUE SIZE",
}

// imageRows expands an image into one row per repository and tag, as
// docker does: a dangling image is one <none>:<none> row; with digests
// shown, a tag is repeated for each digest of its repository, and
// digest-only references get rows of their own.
func imageRows(img image.Summary, trunc, digestRows, showDigests bool, now time.Time) []*imageRow {
	row := func(repo, tag, digest string) *imageRow {
		return &imageRow{img: img, trunc: trunc, now: now, repo: repo, tag: tag, digest: digest}
	}
	if isDangling(img) {
		return []*imageRow{row("<none>", "<none>", "<none>")}
	}

	tags := map[string][]string{}
	digests := map[string][]string{}
	var repos []string // in first-seen order
	for _, s := range img.RepoTags {
		ref, err := reference.ParseNormalizedNamed(s)
		if err != nil {
			continue
		}
		if tagged, ok := ref.(reference.NamedTagged); ok {
			name := reference.FamiliarName(ref)
			if _, seen := tags[name]; !seen {
				repos = append(repos, name)
			}
			tags[name] = append(tags[name], tagged.Tag())
		}
	}
	var digestOnly []string
	for _, s := range img.RepoDigests {
		ref, err := reference.ParseNormalizedNamed(s)
		if err != nil {
			continue
		}
		if c, ok := ref.(reference.Canonical); ok {
			name := reference.FamiliarName(ref)
			if _, tagged := tags[name]; !tagged && !slices.Contains(digestOnly, name) {
				digestOnly = append(digestOnly, name)
			}
			digests[name] = append(digests[name], c.Digest().String())
		}
	}

	var rows []*imageRow
	for _, repo := range repos {
		for _, tag := range tags[repo] {
			if !showDigests || len(digests[repo]) == 0 {
				rows = append(rows, row(repo, tag, "<none>"))
				continue
			}
			for _, d := range digests[repo] {
				rows = append(rows, row(repo, tag, d))
			}
		}
	}
	for _, repo := range digestOnly {
		if !digestRows {
			rows = append(rows, row(repo, "<none>", ""))
			continue
		}
		for _, d := range digests[repo] {
			rows = append(rows, row(repo, "<none>", d))
		}
	}
	return rows
}

func isDangling(img image.Summary) bool {
	if len(img.RepoTags) == 0 && len(img.RepoDigests) == 0 {
		return true
	}
	return len(img.RepoTags) == 1 && img.RepoTags[0] == "<none>:<none>" &&
		len(img.RepoDigests) == 1 && img.RepoDigests[0] == "<none>@<none>"
}

// imageRow is what images templates see: {{.Repository}}, {{.Tag}}, ...
type imageRow struct {
	img    image.Summary
	trunc  bool
	now    time.Time
	repo   string
	tag    string
	digest string
}

// ID is the image ID, 12 hex digits unless --no-trunc.
func (r *imageRow) ID() string {
	if r.trunc {
		return stringid.TruncateID(r.img.ID)
	}
	return r.img.ID
}

// Repository is the familiar repository name, e.g. "busybox".
func (r *imageRow) Repository() string { return r.repo }

// Tag is the tag of this row.
func (r *imageRow) Tag() string { return r.tag }

// Digest is the repository digest of this row.
func (r *imageRow) Digest() string { return r.digest }

// CreatedSince is the age of the image, e.g. "3 weeks ago".
func (r *imageRow) CreatedSince() string {
	if r.img.Created == 0 {
		return ""
	}
	return formatter.Since(r.img.Created, r.now)
}

// CreatedAt is the creation time.
func (r *imageRow) CreatedAt() string { return time.Unix(r.img.Created, 0).String() }

// Size is the image size, e.g. "4.26MB".
func (r *imageRow) Size() string { return formatter.Size(r.img.Size) }

// Containers is the number of containers using the image, N/A if unknown.
func (r *imageRow) Containers() string {
	if r.img.Containers == -1 {
		return "N/A"
	}
	return strconv.FormatInt(r.img.Containers, 10)
}

// SharedSize is the size shared with other images, N/A if unknown.
func (r *imageRow) SharedSize() string {
	if r.img.SharedSize == -1 {
		return "N/A"
	}
	return units.HumanSize(float64(r.img.SharedSize))
}

// UniqueSize is the size not shared with other images, N/A if unknown.
func (r *imageRow) UniqueSize() string {
	if r.img.Size == -1 || r.img.SharedSize == -1 {
		return "N/A"
	}
	return units.HumanSize(float64(r.img.Size - r.img.SharedSize))
}

// MarshalJSON renders the row for --format json, with docker's fields.
func (r *imageRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"Containers":   r.Containers(),
		"CreatedAt":    r.CreatedAt(),
		"CreatedSince": r.CreatedSince(),
		"Digest":       r.Digest(),
		"ID":           r.ID(),
		"Repository":   r.Repository(),
		"SharedSize":   r.SharedSize(),
		"Size":         r.Size(),
		"Tag":          r.Tag(),
		"UniqueSize":   r.UniqueSize(),
	})
}
