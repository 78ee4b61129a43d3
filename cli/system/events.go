package system

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

type eventsOptions struct {
	since  string
	until  string
	filter command.FilterOpt
	format string
}

// rfc3339NanoFixed is how docker prints event times: always nine digits.
const rfc3339NanoFixed = "2006-01-02T15:04:05.000000000Z07:00"

func newEventsCommand(deps *Deps) *cobra.Command {
	opts := eventsOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from the server",
		Long: `Get real time events from the server.

--since and --until take Unix timestamps, RFC 3339 dates or times, or
durations before now (10m, 1h30m). Without --until the command streams
until interrupted. Filters (-f key=value, repeatable): container, event,
image, label, network, type (container, image, network, volume, daemon),
volume, daemon, scope.`,
		Args: command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEvents(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.since, "since", "", "Show all events created since timestamp")
	flags.StringVar(&opts.until, "until", "", "Stream events until this timestamp")
	flags.VarP(&opts.filter, "filter", "f", "Filter output based on conditions provided")
	flags.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

func runEvents(ctx context.Context, deps *Deps, opts *eventsOptions) error {
	tmpl, err := eventsTemplate(opts.format)
	if err != nil {
		return command.StatusError{Err: fmt.Errorf("Error parsing format: %w", err), StatusCode: 64}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := deps.Client.Events(ctx, client.EventsListOptions{
		Since:   opts.since,
		Until:   opts.until,
		Filters: opts.filter.Value(),
	})
	for {
		select {
		case m := <-res.Messages:
			if err := writeEvent(deps.Out, m, tmpl); err != nil {
				return err
			}
		case err := <-res.Err:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// eventsTemplate parses --format ("json" is {{json .}}) and tries it on
// an empty event, so that a bad template fails before any event.
func eventsTemplate(format string) (*template.Template, error) {
	switch format {
	case "":
		return nil, nil
	case formatter.JSONFormatKey:
		format = "{{json .}}"
	}
	tmpl, err := formatter.ParseTemplate(format)
	if err != nil {
		return nil, err
	}
	if err := tmpl.Execute(io.Discard, &events.Message{}); err != nil {
		return nil, err
	}
	return tmpl, nil
}

// writeEvent prints one event as docker does:
// TIME TYPE ACTION ACTOR-ID (key=value, ...), attributes sorted by key.
func writeEvent(out io.Writer, m events.Message, tmpl *template.Template) error {
	if tmpl != nil {
		var b strings.Builder
		if err := tmpl.Execute(&b, m); err != nil {
			return err
		}
		b.WriteByte('\n')
		_, err := io.WriteString(out, b.String())
		return err
	}
	var b strings.Builder
	switch {
	case m.TimeNano != 0:
		b.WriteString(time.Unix(0, m.TimeNano).Format(rfc3339NanoFixed) + " ")
	case m.Time != 0:
		b.WriteString(time.Unix(m.Time, 0).Format(rfc3339NanoFixed) + " ")
	}
	fmt.Fprintf(&b, "%s %s %s", m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(m.Actor.Attributes))
		for k := range m.Actor.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		attrs := make([]string, 0, len(keys))
		for _, k := range keys {
			attrs = append(attrs, k+"="+m.Actor.Attributes[k])
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(attrs, ", "))
	}
	b.WriteByte('\n')
	_, err := io.WriteString(out, b.String())
	return err
}
