// Package layering guards the folder contract of docs/architecture.md: a
// layer imports only layers below it.
package layering

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/pouchcontainer/pouch/"

// forbidden maps a folder to the folders it must never import.
var forbidden = map[string][]string{
	"cli/":      {"daemon/", "services/", "runtime/", "image/"},
	"client/":   {"cli/", "daemon/", "services/", "runtime/", "image/"},
	"services/": {"cli/", "client/", "daemon/"},
	"runtime/":  {"cli/", "client/", "daemon/", "services/"},
	"image/":    {"cli/", "client/", "daemon/", "services/", "runtime/"},
	"network/":  {"cli/", "client/", "daemon/", "services/", "runtime/", "image/"},
	"volume/":   {"cli/", "client/", "daemon/", "services/", "runtime/", "image/", "network/"},
	"pkg/":      {"cli/", "client/", "daemon/", "services/", "runtime/", "image/", "integration/"},
	"daemon/":   {"cli/", "client/", "integration/"},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestLayersImportOnlyDownwards(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	seen := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		from := strings.TrimPrefix(p.ImportPath, module)
		for folder, banned := range forbidden {
			if !strings.HasPrefix(from, folder) {
				continue
			}
			for _, imp := range p.Imports {
				to := strings.TrimPrefix(imp, module)
				if to == imp {
					continue // not ours
				}
				for _, b := range banned {
					if strings.HasPrefix(to, b) {
						t.Errorf("%s imports %s: %s must not depend on %s", from, to, folder, b)
					}
				}
			}
		}
		// No package of the engine may import the net/http server side
		// below the daemon: services know nothing of HTTP.
		if strings.HasPrefix(from, "services/") {
			for _, imp := range p.Imports {
				if imp == "net/http" {
					t.Errorf("%s imports net/http: services know nothing of HTTP", from)
				}
			}
		}
	}
	if seen < 20 {
		t.Fatalf("only %d packages listed", seen)
	}
}
