package image

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client/pkg/stringid"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

const defaultHistoryFormat = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

type historyOptions struct {
	image   string
	human   bool
	quiet   bool
	noTrunc bool
	format  string
}

func newHistoryCommand(deps *Deps) *cobra.Command {
	var opts historyOptions
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image = args[0]
			return runHistory(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.human, "human", "H", true, "Print sizes and dates in human readable format")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show image IDs")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	flags.StringVar(&opts.format, "format", "", "Format output using a custom template ('table', 'table TEMPLATE', 'json' or 'TEMPLATE')")
	return cmd
}

func runHistory(ctx context.Context, deps *Deps, opts *historyOptions) error {
	res, err := deps.Client.ImageHistory(ctx, opts.image)
	if err != nil {
		return err
	}
	var format formatter.Format
	switch {
	case opts.quiet:
		format = "{{.ID}}"
	case opts.format == "" || opts.format == formatter.TableFormatKey:
		format = defaultHistoryFormat
	default:
		format = formatter.Format(opts.format)
	}
	now := time.Now()
	rows := make([]*historyRow, len(res.Items))
	for i, h := range res.Items {
		rows[i] = &historyRow{h: h, trunc: !opts.noTrunc, human: opts.human, now: now}
	}
	return formatter.Write(deps.Out, format, historyHeader, rows)
}

var historyHeader = formatter.Header{
	"ID":           "IMAGE",
	"CreatedSince": "CREATED",
	"CreatedAt":    "CREATED AT",
	"CreatedBy":    "CREATED BY",
	"Size":         "SIZE",
	"Comment":      "COMMENT",
}

// historyRow is what history templates see.
type historyRow struct {
	h     image.HistoryResponseItem
	trunc bool
	human bool
	now   time.Time
}

// ID is the layer's image ID, or "<missing>" for layers built elsewhere.
func (r *historyRow) ID() string {
	if r.trunc && r.h.ID != "<missing>" {
		return stringid.TruncateID(r.h.ID)
	}
	return r.h.ID
}

// CreatedAt is the creation time, RFC 3339.
func (r *historyRow) CreatedAt() string { return time.Unix(r.h.Created, 0).Format(time.RFC3339) }

// CreatedSince is the age ("2 weeks ago"), or the time with -H=false.
func (r *historyRow) CreatedSince() string {
	if !r.human {
		return r.CreatedAt()
	}
	return formatter.Since(r.h.Created, r.now)
}

// CreatedBy is the instruction that made the layer.
func (r *historyRow) CreatedBy() string {
	by := strings.ReplaceAll(r.h.CreatedBy, "\t", " ")
	if r.trunc {
		by = formatter.Ellipsis(by, 45)
	}
	return by
}

// Size is the layer size.
func (r *historyRow) Size() string {
	if r.human {
		return formatter.Size(r.h.Size)
	}
	return strconv.FormatInt(r.h.Size, 10)
}

// Comment is the layer comment.
func (r *historyRow) Comment() string { return r.h.Comment }

// MarshalJSON renders the row for --format json.
func (r *historyRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"Comment":      r.Comment(),
		"CreatedAt":    r.CreatedAt(),
		"CreatedBy":    r.CreatedBy(),
		"CreatedSince": r.CreatedSince(),
		"ID":           r.ID(),
		"Size":         r.Size(),
	})
}
