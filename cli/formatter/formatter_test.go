package formatter

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type row struct{ name, state string }

func (r row) Name() string  { return r.name }
func (r row) State() string { return r.state }

var header = Header{"Name": "NAME", "State": "STATE"}

func TestWriteFormats(t *testing.T) {
	rows := []row{{"web", "running"}, {"a-much-longer-name", "exited"}}
	tests := []struct {
		format Format
		want   string
	}{
		{"table {{.Name}}\t{{.State}}", "NAME                 STATE\nweb                  running\na-much-longer-name   exited\n"},
		{"table {{.Name}}\\t{{upper .State}}", "NAME                 STATE\nweb                  RUNNING\na-much-longer-name   EXITED\n"},
		{"table {{.State}}", "STATE\nrunning\nexited\n"},
		{"{{.Name}}={{.State}}", "web=running\na-much-longer-name=exited\n"},
		{"{{title .State}} {{truncate .Name 3}} [{{pad .Name 1 2}}]", "Running web [ web  ]\nExited a-m [ a-much-longer-name  ]\n"},
		{`{{join (split .Name "-") "+"}} {{lower "ABC"}} {{json .Name}}`, "web abc \"web\"\na+much+longer+name abc \"a-much-longer-name\"\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := Write(&out, tt.format, header, rows); err != nil {
			t.Errorf("%q: %v", tt.format, err)
			continue
		}
		if out.String() != tt.want {
			t.Errorf("%q:\n got: %q\nwant: %q", tt.format, out.String(), tt.want)
		}
	}
}

func TestWriteTableHeaderWithoutRows(t *testing.T) {
	var out bytes.Buffer
	if err := Write(&out, "table {{.Name}}\t{{.State}}", header, []row(nil)); err != nil {
		t.Fatal(err)
	}
	if out.String() != "NAME      STATE\n" {
		t.Errorf("got %q", out.String())
	}
}

func TestWriteJSON(t *testing.T) {
	var out bytes.Buffer
	rows := []map[string]string{{"A": "<b>&"}}
	if err := Write(&out, "json", nil, rows); err != nil {
		t.Fatal(err)
	}
	if out.String() != "{\"A\":\"<b>&\"}\n" {
		t.Errorf("got %q (HTML must not be escaped)", out.String())
	}
}

func TestWriteTemplateErrors(t *testing.T) {
	var out bytes.Buffer
	err := Write(&out, "{{.Name", header, []row{{}})
	if err == nil || !strings.HasPrefix(err.Error(), "template parsing error") {
		t.Errorf("parse: %v", err)
	}
	err = Write(&out, "{{.Missing}}", header, []row{{}})
	if err == nil || !strings.HasPrefix(err.Error(), "template parsing error") {
		t.Errorf("execute: %v", err)
	}
}

func TestEllipsis(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly-10", 10, "exactly-10"},
		{"this is too long", 10, "this is t…"},
		{"héllo wörld", 5, "héll…"},
		{"x", 0, ""},
	}
	for _, tt := range tests {
		if got := Ellipsis(tt.in, tt.max); got != tt.want {
			t.Errorf("Ellipsis(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestInspect(t *testing.T) {
	docs := map[string]json.RawMessage{"a": json.RawMessage(`{"Id":"a","N":1.5e3}`)}
	get := func(name string) (json.RawMessage, error) {
		if d, ok := docs[name]; ok {
			return d, nil
		}
		return nil, errString("No such object: " + name)
	}
	var out bytes.Buffer
	err := Inspect(&out, "", []string{"nope"}, get)
	if out.String() != "[]\n" || err == nil {
		t.Errorf("empty: %q %v", out.String(), err)
	}
	out.Reset()
	if err := Inspect(&out, "{{.Id}} {{.N}}", []string{"a"}, get); err != nil {
		t.Fatal(err)
	}
	if out.String() != "a 1.5e3\n" {
		t.Errorf("template: %q", out.String())
	}
}

type errString string

func (e errString) Error() string { return string(e) }
