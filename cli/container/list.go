package container

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/stringid"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

const defaultPsFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

type psOptions struct {
	all     bool
	quiet   bool
	size    bool
	last    int
	latest  bool
	noTrunc bool
	format  string
	filter  command.FilterOpt
}

func newPsCommand(deps *Deps) *cobra.Command {
	opts := psOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:     "ps [OPTIONS]",
		Aliases: []string{"ls", "list"},
		Short:   "List containers",
		Args:    command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPs(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all", "a", false, "Show all containers (default shows just running)")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display container IDs")
	flags.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes")
	flags.IntVarP(&opts.last, "last", "n", -1, "Show n last created containers (includes all states)")
	flags.BoolVarP(&opts.latest, "latest", "l", false, "Show the latest created container (includes all states)")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	flags.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	flags.VarP(&opts.filter, "filter", "f", "Filter output based on conditions provided")
	return cmd
}

func runPs(ctx context.Context, deps *Deps, opts *psOptions) error {
	format := psFormat(opts.format, opts.quiet, opts.size)
	listOpts := client.ContainerListOptions{
		All:     opts.all,
		Limit:   opts.last,
		Size:    opts.size || format.Contains(".Size"),
		Filters: opts.filter.Value(),
	}
	if opts.latest && opts.last == -1 {
		listOpts.Limit = 1
	}
	res, err := deps.Client.ContainerList(ctx, listOpts)
	if err != nil {
		return err
	}
	now := time.Now()
	rows := make([]*containerRow, len(res.Items))
	for i, c := range res.Items {
		rows[i] = &containerRow{c: c, trunc: !opts.noTrunc, now: now}
	}
	return formatter.Write(deps.Out, format, containerHeader, rows)
}

// psFormat picks the template for ps: docker's table by default, the bare
// ID when quiet.
func psFormat(source string, quiet, size bool) formatter.Format {
	switch {
	case quiet:
		return "{{.ID}}"
	case source == "" || source == formatter.TableFormatKey:
		if size {
			return defaultPsFormat + "\t{{.Size}}"
		}
		return defaultPsFormat
	}
	return formatter.Format(source)
}

var containerHeader = formatter.Header{
	"ID":           "CONTAINER ID",
	"Names":        "NAMES",
	"Image":        "IMAGE",
	"Command":      "COMMAND",
	"CreatedAt":    "CREATED AT",
	"RunningFor":   "CREATED",
	"Ports":        "PORTS",
	"State":        "STATE",
	"Status":       "STATUS",
	"Size":         "SIZE",
	"Labels":       "LABELS",
	"Mounts":       "MOUNTS",
	"LocalVolumes": "LOCAL VOLUMES",
	"Networks":     "NETWORKS",
}

// containerRow is what ps templates see: {{.ID}}, {{.Names}} and so on.
type containerRow struct {
	c     container.Summary
	trunc bool
	now   time.Time
}

// ID is the container ID, 12 characters unless --no-trunc.
func (r *containerRow) ID() string {
	if r.trunc {
		return stringid.TruncateID(r.c.ID)
	}
	return r.c.ID
}

// Names lists the names without their leading "/"; truncated output shows
// only the first name that is not a legacy link.
func (r *containerRow) Names() string {
	var names []string
	for _, n := range r.c.Names {
		n = strings.TrimPrefix(n, "/")
		if r.trunc {
			if !strings.Contains(n, "/") {
				return n
			}
			continue
		}
		names = append(names, n)
	}
	return strings.Join(names, ",")
}

// Image is the image the container was created from, in its familiar form
// ("busybox:latest") or as a short ID when it was given by ID.
func (r *containerRow) Image() string {
	img := r.c.Image
	if img == "" {
		return "<no image>"
	}
	if !r.trunc {
		return img
	}
	if short := stringid.TruncateID(r.c.ImageID); short == stringid.TruncateID(img) {
		return short
	}
	ref, err := reference.ParseNormalizedNamed(img)
	if err != nil {
		return img
	}
	if _, digested := ref.(reference.Digested); digested {
		tagged, hasTag := ref.(reference.Tagged)
		ref = reference.TrimNamed(ref)
		if hasTag {
			if withTag, err := reference.WithTag(ref, tagged.Tag()); err == nil {
				ref = withTag
			}
		}
	}
	return reference.FamiliarString(ref)
}

// Command is the quoted command line, cut to 20 characters unless
// --no-trunc.
func (r *containerRow) Command() string {
	cmd := r.c.Command
	if r.trunc {
		cmd = formatter.Ellipsis(cmd, 20)
	}
	return strconv.Quote(cmd)
}

// CreatedAt is the creation time.
func (r *containerRow) CreatedAt() string { return time.Unix(r.c.Created, 0).String() }

// RunningFor is the time since creation, e.g. "2 hours ago".
func (r *containerRow) RunningFor() string { return formatter.Since(r.c.Created, r.now) }

// Ports lists published and exposed ports, e.g. "0.0.0.0:80->8080/tcp".
func (r *containerRow) Ports() string { return displayPorts(r.c.Ports) }

// State is the state name, e.g. "running".
func (r *containerRow) State() string { return string(r.c.State) }

// Status is the daemon's human-readable status, e.g. "Up 2 minutes".
func (r *containerRow) Status() string { return r.c.Status }

// Size is the writable layer size and, when known, the virtual size.
func (r *containerRow) Size() string {
	size := formatter.Size(r.c.SizeRw)
	if r.c.SizeRootFs > 0 {
		size += " (virtual " + formatter.Size(r.c.SizeRootFs) + ")"
	}
	return size
}

// Labels lists the labels as sorted key=value pairs.
func (r *containerRow) Labels() string {
	labels := make([]string, 0, len(r.c.Labels))
	for k, v := range r.c.Labels {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	return strings.Join(labels, ",")
}

// Label returns the value of one label.
func (r *containerRow) Label(name string) string { return r.c.Labels[name] }

// Mounts lists the volume names or source paths.
func (r *containerRow) Mounts() string {
	mounts := make([]string, 0, len(r.c.Mounts))
	for _, m := range r.c.Mounts {
		name := m.Name
		if name == "" {
			name = m.Source
		}
		if r.trunc {
			name = formatter.Ellipsis(name, 15)
		}
		mounts = append(mounts, name)
	}
	return strings.Join(mounts, ",")
}

// LocalVolumes counts the volumes of the "local" driver.
func (r *containerRow) LocalVolumes() string {
	n := 0
	for _, m := range r.c.Mounts {
		if m.Driver == "local" {
			n++
		}
	}
	return strconv.Itoa(n)
}

// Networks lists the networks the container is connected to.
func (r *containerRow) Networks() string {
	if r.c.NetworkSettings == nil {
		return ""
	}
	names := make([]string, 0, len(r.c.NetworkSettings.Networks))
	for name := range r.c.NetworkSettings.Networks {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// MarshalJSON renders the row for --format json, with the same fields as
// docker's.
func (r *containerRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"Command":      r.Command(),
		"CreatedAt":    r.CreatedAt(),
		"ID":           r.ID(),
		"Image":        r.Image(),
		"Labels":       r.Labels(),
		"LocalVolumes": r.LocalVolumes(),
		"Mounts":       r.Mounts(),
		"Names":        r.Names(),
		"Networks":     r.Networks(),
		"Ports":        r.Ports(),
		"RunningFor":   r.RunningFor(),
		"Size":         r.Size(),
		"State":        r.State(),
		"Status":       r.Status(),
	})
}

// displayPorts renders ports as docker ps does: runs of consecutive ports
// grouped ("8000-8002/tcp"), published ports as "IP:PORT->PORT/proto",
// and ports published on a different host port last, in docker's order.
func displayPorts(ports []container.PortSummary) string {
	sorted := slices.Clone(ports)
	slices.SortFunc(sorted, func(a, b container.PortSummary) int {
		switch {
		case a.PrivatePort != b.PrivatePort:
			return int(a.PrivatePort) - int(b.PrivatePort)
		case a.IP != b.IP:
			return a.IP.Compare(b.IP)
		case a.PublicPort != b.PublicPort:
			return int(a.PublicPort) - int(b.PublicPort)
		}
		return strings.Compare(a.Type, b.Type)
	})

	type portRange struct{ first, last uint16 }
	var (
		done     []string                  // ranges closed by a gap
		open     = map[string]*portRange{} // the growing range per "ip/proto"
		keys     []string                  // keys of open, in first-seen order
		remapped []string
	)
	for _, p := range sorted {
		key := "/" + p.Type
		if p.IP.IsValid() {
			if p.PublicPort != p.PrivatePort {
				host := net.JoinHostPort(p.IP.String(), strconv.Itoa(int(p.PublicPort)))
				remapped = append(remapped, fmt.Sprintf("%s->%d/%s", host, p.PrivatePort, p.Type))
				continue
			}
			key = p.IP.String() + key
		}
		r := open[key]
		switch {
		case r == nil:
			keys = append(keys, key)
		case p.PrivatePort == r.last+1:
			r.last = p.PrivatePort
			continue
		default:
			done = append(done, formatPortRange(key, r.first, r.last))
		}
		open[key] = &portRange{first: p.PrivatePort, last: p.PrivatePort}
	}
	for _, key := range keys {
		done = append(done, formatPortRange(key, open[key].first, open[key].last))
	}
	return strings.Join(append(done, remapped...), ", ")
}

// formatPortRange renders "80-81/tcp" or, with a host IP in key,
// "0.0.0.0:80-81->80-81/tcp".
func formatPortRange(key string, first, last uint16) string {
	ip, proto, _ := strings.Cut(key, "/")
	span := strconv.Itoa(int(first))
	if last != first {
		span += "-" + strconv.Itoa(int(last))
	}
	if ip != "" {
		span = net.JoinHostPort(ip, span) + "->" + span
	}
	return span + "/" + proto
}
