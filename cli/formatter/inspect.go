package formatter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Inspect looks up each name with get and prints the raw JSON documents
// found: an indented JSON array, or each document through the format
// template. Lookup failures are joined into the returned error after the
// rest is printed.
func Inspect(out io.Writer, format string, names []string, get func(name string) (json.RawMessage, error)) error {
	ins := newInspector(out, format)
	var errs []error
	for _, name := range names {
		raw, err := get(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := ins.add(raw); err != nil {
			return err
		}
	}
	if err := ins.flush(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// inspector prints the raw JSON documents returned by inspect calls,
// either as one indented JSON array or through a user template.
type inspector struct {
	out      io.Writer
	format   string
	elements []json.RawMessage
}

// newInspector returns an inspector writing to out. An empty format prints
// an indented JSON array once flush is called.
func newInspector(out io.Writer, format string) *inspector {
	return &inspector{out: out, format: format}
}

// add renders one raw JSON document, or keeps it for flush when no
// template is set.
func (i *inspector) add(raw json.RawMessage) error {
	if i.format == "" {
		i.elements = append(i.elements, raw)
		return nil
	}
	tmpl, err := ParseTemplate(i.format)
	if err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	// Decode into generic values so templates see every field the daemon
	// sent, Pouch-only ones included; numbers keep their exact text.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, doc); err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	buf.WriteString("\n")
	_, err = buf.WriteTo(i.out)
	return err
}

// flush prints the collected documents as an indented JSON array.
func (i *inspector) flush() error {
	if i.format != "" {
		return nil
	}
	if len(i.elements) == 0 {
		_, err := io.WriteString(i.out, "[]\n")
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for n, raw := range i.elements {
		if n > 0 {
			buf.WriteString(",\n")
		}
		buf.WriteString("    ")
		if err := json.Indent(&buf, bytes.TrimSpace(raw), "    ", "    "); err != nil {
			return err
		}
	}
	buf.WriteString("\n]\n")
	_, err := buf.WriteTo(i.out)
	return err
}
