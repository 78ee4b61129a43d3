// Package formatter renders command output the way the docker CLI does:
// Go templates with Docker's helper functions, "table" formats aligned in
// columns with a header row, and "json" for one JSON object per line.
package formatter

import (
	"bytes"
	"encoding/json"
	"strings"
	"text/template"
)

// basicFunctions are available to every user template.
var basicFunctions = template.FuncMap{
	"json": func(v any) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		return strings.TrimSpace(buf.String())
	},
	"split":    strings.Split,
	"join":     strings.Join,
	"title":    title,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"pad":      pad,
	"truncate": truncate,
}

// headerFunctions replace the basic ones while rendering a table header,
// so that the column names come out unchanged.
var headerFunctions = template.FuncMap{
	"json":     func(v string) string { return v },
	"split":    func(v, _ string) string { return v },
	"join":     func(v, _ string) string { return v },
	"title":    func(v string) string { return v },
	"lower":    func(v string) string { return v },
	"upper":    func(v string) string { return v },
	"truncate": func(v string, _ int) string { return v },
}

// ParseTemplate parses a user-supplied Go template with Docker's helper
// functions.
func ParseTemplate(format string) (*template.Template, error) {
	return template.New("").Funcs(basicFunctions).Parse(format)
}

func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		up := prev == ' ' || prev == '\t' || prev == '\n'
		prev = r
		if up {
			return []rune(strings.ToUpper(string(r)))[0]
		}
		return r
	}, s)
}

// pad surrounds a non-empty string with the given numbers of spaces.
func pad(s string, prefix, suffix int) string {
	if s == "" {
		return s
	}
	return strings.Repeat(" ", prefix) + s + strings.Repeat(" ", suffix)
}

// truncate keeps the first n bytes of s.
func truncate(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}
