package formatter

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Well-known format names.
const (
	TableFormatKey = "table"
	JSONFormatKey  = "json"
)

// Format is a user-supplied --format value: "table [TEMPLATE]", "json" or a
// plain Go template.
type Format string

// ListFormat picks a list command's template: its default table when none
// (or "table") is given, only the key field when quiet; a custom template
// wins over quiet.
func ListFormat(source string, quiet bool, table, quietField Format) Format {
	if source == "" || source == TableFormatKey {
		if quiet {
			return quietField
		}
		return table
	}
	return Format(source)
}

// IsTable reports whether the output is an aligned table with a header.
func (f Format) IsTable() bool { return strings.HasPrefix(string(f), TableFormatKey) }

// Contains reports whether the format mentions sub (e.g. a field name).
func (f Format) Contains(sub string) bool { return strings.Contains(string(f), sub) }

// template returns the Go template text for one row.
func (f Format) template() string {
	text := string(f)
	switch {
	case f.IsTable():
		text = text[len(TableFormatKey):]
	case text == JSONFormatKey:
		text = "{{json .}}"
	}
	text = strings.Trim(text, " ")
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(text)
}

// Header maps the names of a row's fields to their column titles.
type Header map[string]string

// Write renders rows with format to out. For table formats the header row
// is rendered from header and the columns are aligned like docker's.
func Write[T any](out io.Writer, format Format, header Header, rows []T) error {
	tmpl, err := ParseTemplate(format.template())
	if err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	var body bytes.Buffer
	for _, row := range rows {
		if err := tmpl.Execute(&body, row); err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
		body.WriteString("\n")
	}
	if !format.IsTable() {
		_, err := body.WriteTo(out)
		return err
	}
	tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
	if err := tmpl.Funcs(headerFunctions).Execute(tw, header); err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	fmt.Fprintln(tw)
	if _, err := body.WriteTo(tw); err != nil {
		return err
	}
	return tw.Flush()
}
