package command

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// assertGolden compares got with testdata/name, or rewrites the file
// with -update.
func assertGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n got: %q\nwant: %q", path, got, want)
	}
}

func readStream(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pull-stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDisplayProgressPlain(t *testing.T) {
	var out bytes.Buffer
	if err := DisplayProgress(strings.NewReader(readStream(t)), ProgressOutput{W: &out}); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "pull-plain.golden", out.String())
}

func TestDisplayProgressTerminal(t *testing.T) {
	var out bytes.Buffer
	// The fd is not a terminal: the width falls back to 200 columns, so
	// bars are drawn.
	if err := DisplayProgress(strings.NewReader(readStream(t)), ProgressOutput{W: &out, Fd: ^uintptr(0), Terminal: true}); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, "pull-terminal.golden", out.String())

	// Each layer keeps its own line: replaying the cursor movements
	// leaves one line per layer with its last status.
	assertEqual(t, "screen", renderScreen(out.String()), []string{
		"latest: Pulling from library/busybox",
		"9ad63333ebc9: Pull complete ",
		"5ba4f30e5bea: Pull complete ",
		"Digest: sha256:2f9af5cf39068ec3a9e124feceaa11910c511e23a1670dcfdff0bc16793545fb",
		"Status: Downloaded newer image for busybox:latest",
	})
}

func TestDisplayProgressStopsAtError(t *testing.T) {
	for _, tc := range []struct{ name, stream string }{
		{"errorDetail", `{"errorDetail":{"code":404,"message":"manifest unknown"},"error":"manifest unknown"}`},
		{"legacy error only", `{"error":"manifest unknown"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			in := `{"status":"Pulling from library/busybox","id":"latest"}` + "\n" + tc.stream + "\n" + `{"status":"never shown"}`
			err := DisplayProgress(strings.NewReader(in), ProgressOutput{W: &out})
			if err == nil || err.Error() != "manifest unknown" {
				t.Fatalf("error: %v", err)
			}
			assertEqual(t, "output", out.String(), "latest: Pulling from library/busybox\n")
		})
	}
}

func TestDisplayProgressBadStream(t *testing.T) {
	var out bytes.Buffer
	err := DisplayProgress(strings.NewReader(`{"status":"ok"}`+"\n"+`{"status":`), ProgressOutput{W: &out})
	if err == nil {
		t.Fatal("a truncated stream must fail")
	}
	assertEqual(t, "output", out.String(), "ok\n")
}

// renderScreen replays the output on a tiny terminal that knows line
// feeds, carriage returns, "erase line" and cursor up/down, and returns
// its lines.
func renderScreen(s string) []string {
	var lines []string
	row := 0
	put := func(r rune) {
		for len(lines) <= row {
			lines = append(lines, "")
		}
		lines[row] += string(r)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n':
			row++
		case c == '\r':
			// Carriage returns end a rewritten line; the next write
			// begins with "erase line".
		case c == 0x1b:
			j := i + 2
			n := 0
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				n = n*10 + int(s[j]-'0')
				j++
			}
			switch s[j] {
			case 'A':
				row -= n
			case 'B':
				row += n
			case 'K':
				for len(lines) <= row {
					lines = append(lines, "")
				}
				lines[row] = ""
			}
			i = j
		default:
			put(rune(c))
		}
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func assertEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got: %#v\nwant: %#v", what, got, want)
	}
}
