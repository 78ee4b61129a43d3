package image

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/internal/testimage"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// Both archive formats load and name the image from its tag; the image
// runs, and the whiteout of its second layer holds.
func TestLoadNamesImagesFromTags(t *testing.T) {
	for _, format := range []testimage.Format{testimage.FormatDocker, testimage.FormatOCI} {
		t.Run(string(format), func(t *testing.T) {
			short := testenv.Unique("load-" + string(format))
			qualified := "127.0.0.1:5000/pouch-test/" + short + ":v1"
			img := newImage(t, short+":v1")
			img2 := newImage(t, qualified)
			id, id2 := imageID(t, img), imageID(t, img2)
			removeOnCleanup(t, id, id2)

			lines := load(t, archiveOf(t, format, img, img2))
			want := []string{"Loaded image: " + short + ":v1", "Loaded image: " + qualified}
			if !sameStrings(lines, want) {
				t.Fatalf("load printed %q, want %q", lines, want)
			}
			list := listImages(t, nil)
			for i, c := range []struct{ id, tag string }{{id, short + ":v1"}, {id2, qualified}} {
				got := findImage(list, c.id)
				if got == nil {
					t.Fatalf("image %d (%s) not listed after load", i, c.id)
				}
				if !sameStrings(got.RepoTags, []string{c.tag}) {
					t.Errorf("image %s RepoTags = %q, want [%s]", c.id, got.RepoTags, c.tag)
				}
				if got.Size <= 0 {
					t.Errorf("image %s Size = %d", c.id, got.Size)
				}
			}
			if got := inspect(t, short+":v1").ID; got != id {
				t.Errorf("inspect by tag gave %s, want %s", got, id)
			}
			code, out := runContainer(t, short+":v1", "cat", "/etc/layer2")
			if code != 0 || strings.TrimSpace(out) != "layer2" {
				t.Errorf("cat /etc/layer2: exit %d, output %q", code, out)
			}
		})
	}
}

// One archive with several images, one of them under two tags.
func TestLoadMultiImageArchive(t *testing.T) {
	for _, format := range []testimage.Format{testimage.FormatDocker, testimage.FormatOCI} {
		t.Run(string(format), func(t *testing.T) {
			repo := testenv.Unique("multi-" + string(format))
			a := newImage(t, repo+"/a:v1")
			a2 := *a
			a2.Name = repo + "/a:v2"
			b := newImage(t, repo+"/b:latest")
			idA, idB := imageID(t, a), imageID(t, b)
			removeOnCleanup(t, idA, idB)

			lines := load(t, archiveOf(t, format, a, &a2, b))
			want := []string{"Loaded image: " + repo + "/a:v1", "Loaded image: " + repo + "/a:v2", "Loaded image: " + repo + "/b:latest"}
			if !sameStrings(lines, want) {
				t.Fatalf("load printed %q, want %q", lines, want)
			}
			list := listImages(t, nil)
			if got := findImage(list, idA); got == nil || !sameStrings(got.RepoTags, []string{repo + "/a:v1", repo + "/a:v2"}) {
				t.Errorf("image a listed as %+v", got)
			}
			if got := findImage(list, idB); got == nil || !sameStrings(got.RepoTags, []string{repo + "/b:latest"}) {
				t.Errorf("image b listed as %+v", got)
			}
		})
	}
}

// An OCI layout whose manifest carries only a tag in
// org.opencontainers.image.ref.name names no repository: the image loads
// untagged (dangling), as `docker load` does.
func TestLoadOCITagOnlyIsDangling(t *testing.T) {
	img := newImage(t, testenv.Unique("tagonly")+":v7")
	id := imageID(t, img)
	removeOnCleanup(t, id)
	data := rewriteTar(t, archiveOf(t, testimage.FormatOCI, img), func(name string, body []byte) ([]byte, bool) {
		if name != "index.json" {
			return body, true
		}
		var idx map[string]any
		if err := json.Unmarshal(body, &idx); err != nil {
			t.Fatal(err)
		}
		for _, m := range idx["manifests"].([]any) {
			ann := m.(map[string]any)["annotations"].(map[string]any)
			delete(ann, testimage.AnnotationImageName)
			if ann[testimage.AnnotationRefName] != "v7" {
				t.Fatalf("index.json ref.name = %v", ann[testimage.AnnotationRefName])
			}
		}
		out, _ := json.Marshal(idx)
		return out, true
	})
	lines := load(t, data)
	if len(lines) != 1 || !loadedIDRe.MatchString(lines[0]) || lines[0] != "Loaded image ID: "+id {
		t.Fatalf("load printed %q, want [Loaded image ID: %s]", lines, id)
	}
	got := findImage(listImages(t, map[string][]string{"dangling": {"true"}}), id)
	if got == nil {
		t.Fatalf("image %s not listed as dangling", id)
	}
	if len(got.RepoTags) != 0 {
		t.Errorf("dangling image has RepoTags %q", got.RepoTags)
	}
	if findImage(listImages(t, map[string][]string{"dangling": {"false"}}), id) != nil {
		t.Errorf("untagged image listed with dangling=false")
	}
	// It is usable by ID.
	code, out := runContainer(t, id, "cat", "/etc/layer2")
	if code != 0 || strings.TrimSpace(out) != "layer2" {
		t.Errorf("run by ID: exit %d, output %q", code, out)
	}
}

// Loading an image under a name another image holds moves the name; the
// old image stays, dangling, as `docker load` does.
func TestLoadMovesExistingName(t *testing.T) {
	name := testenv.Unique("rename") + ":v1"
	oldID := loadImage(t, newImage(t, name))
	img := newImage(t, name)
	newID := imageID(t, img)
	removeOnCleanup(t, newID)
	lines := load(t, archiveOf(t, testimage.FormatDocker, img))
	want := []string{
		"The image " + name + " already exists, renaming the old one with ID " + oldID + " to empty string",
		"Loaded image: " + name,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("load printed %q, want %q", lines, want)
	}
	if got := inspect(t, name).ID; got != newID {
		t.Errorf("%s is %s, want the new %s", name, got, newID)
	}
	if got := findImage(listImages(t, map[string][]string{"dangling": {"true"}}), oldID); got == nil {
		t.Errorf("old image not kept as dangling")
	}
	// Loading the same archive again changes nothing and says so plainly.
	if lines := load(t, archiveOf(t, testimage.FormatDocker, img)); len(lines) != 1 || lines[0] != "Loaded image: "+name {
		t.Errorf("second load printed %q", lines)
	}
}

// save → rmi → load gives back the same image with the same names, and it
// runs with its layers applied in order (the whiteout holds).
func TestSaveLoadRoundTrip(t *testing.T) {
	repo := testenv.Unique("roundtrip")
	img := newImage(t, repo+":v1")
	id := loadImage(t, img)
	if resp := d.Do(t, "POST", "/images/"+repo+":v1/tag?repo="+repo+"&tag=v2", nil); resp.Status != 201 {
		t.Fatalf("tag: %d %s", resp.Status, resp.Body)
	}
	tags := []string{repo + ":v1", repo + ":v2"}

	resp := d.Do(t, "GET", "/images/get?names="+repo+":v1&names="+repo+":v2", nil)
	if resp.Status != 200 {
		t.Fatalf("save: %d %s", resp.Status, resp.Body)
	}
	saved := resp.Body
	files := tarFiles(t, saved)
	var manifest []testimage.DockerManifest
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatalf("saved archive manifest.json: %v (%q)", err, files["manifest.json"])
	}
	var savedTags []string
	for _, m := range manifest {
		savedTags = append(savedTags, m.RepoTags...)
	}
	if !sameStrings(savedTags, tags) {
		t.Errorf("manifest.json RepoTags = %q, want %q", savedTags, tags)
	}
	if _, ok := files["index.json"]; !ok {
		t.Errorf("saved archive has no index.json")
	}

	if resp := d.Do(t, "DELETE", "/images/"+id+"?force=1", nil); resp.Status != 200 {
		t.Fatalf("rmi: %d %s", resp.Status, resp.Body)
	}
	if resp := d.Do(t, "GET", "/images/"+id+"/json", nil); resp.Status != 404 {
		t.Fatalf("image still there after rmi -f: %d", resp.Status)
	}

	lines := load(t, saved)
	want := []string{"Loaded image: " + tags[0], "Loaded image: " + tags[1]}
	if !sameStrings(lines, want) {
		t.Errorf("re-load printed %q, want %q", lines, want)
	}
	got := findImage(listImages(t, nil), id)
	if got == nil {
		t.Fatalf("image %s not back after re-load", id)
	}
	if !sameStrings(got.RepoTags, tags) {
		t.Errorf("re-loaded RepoTags = %q, want %q", got.RepoTags, tags)
	}
	if ins := inspect(t, repo+":v2"); len(ins.RootFS.Layers) != 3 {
		t.Errorf("re-loaded image has %d layers, want 3", len(ins.RootFS.Layers))
	}

	code, out := runContainer(t, repo+":v1", "cat", "/etc/layer2")
	if code != 0 || out != "layer2\n" {
		t.Errorf("cat /etc/layer2: exit %d, output %q", code, out)
	}
	code, out = runContainer(t, repo+":v1", "sh", "-c", "if [ -e "+testimage.RemovedByLayer2+" ]; then echo present; else echo absent; fi")
	if code != 0 || out != "absent\n" {
		t.Errorf("whiteout check: exit %d, output %q (want absent)", code, out)
	}
}

// Saving by ID writes no tags, as docker save does.
func TestSaveByIDHasNoTags(t *testing.T) {
	img := newImage(t, testenv.Unique("saveid")+":v1")
	id := loadImage(t, img)
	resp := d.Do(t, "GET", "/images/"+id+"/get", nil)
	if resp.Status != 200 {
		t.Fatalf("save: %d %s", resp.Status, resp.Body)
	}
	var manifest []testimage.DockerManifest
	if err := json.Unmarshal(tarFiles(t, resp.Body)["manifest.json"], &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 1 || len(manifest[0].RepoTags) != 0 {
		t.Errorf("manifest.json = %+v, want one entry without RepoTags", manifest)
	}
	if resp := d.Do(t, "GET", "/images/get?names=no-such-image-"+testenv.Unique("x"), nil); resp.Status != 404 {
		t.Errorf("save of an unknown image: %d %s, want 404", resp.Status, resp.Body)
	}
}

// The archive pouch saves is read by the containers/image docker-archive
// reader, which `podman load` and skopeo use.
func TestSavedArchiveReadBySkopeo(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo not installed")
	}
	name := testenv.Unique("skopeo") + ":v1"
	img := newImage(t, name)
	id := loadImage(t, img)
	resp := d.Do(t, "GET", "/images/"+name+"/get", nil)
	if resp.Status != 200 {
		t.Fatalf("save: %d %s", resp.Status, resp.Body)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "saved.tar")
	if err := os.WriteFile(file, resp.Body, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, skopeo, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("skopeo %v: %v: %s", args, err, stderr.String())
		}
		return out
	}
	var info struct {
		RepoTags []string
		Layers   []string
		Os       string
	}
	if err := json.Unmarshal(run("inspect", "docker-archive:"+file), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Layers) != 3 || info.Os != "linux" {
		t.Errorf("skopeo inspect: %+v", info)
	}
	var cfg struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(run("inspect", "--config", "docker-archive:"+file), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.RootFS.DiffIDs) != 3 {
		t.Errorf("skopeo config diff_ids: %q", cfg.RootFS.DiffIDs)
	}
	oci := filepath.Join(dir, "oci")
	run("copy", "docker-archive:"+file, "oci:"+oci+":copied")
	// The OCI layout skopeo wrote loads back into pouch as the same image
	// (its ref.name is only a tag: it loads untagged).
	var layout bytes.Buffer
	cmd := exec.Command("tar", "-C", oci, "-cf", "-", ".")
	cmd.Stdout = &layout
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	lines := load(t, layout.Bytes())
	if len(lines) != 1 || lines[0] != "Loaded image ID: "+id {
		t.Errorf("loading skopeo's OCI copy printed %q, want [Loaded image ID: %s]", lines, id)
	}
	// The copy has another manifest but the same config: still one image,
	// still named, and removing it by ID removes it whole.
	if got := findImage(listImages(t, nil), id); got == nil || !sameStrings(got.RepoTags, []string{name}) {
		t.Errorf("after loading the OCI copy: %+v", got)
	}
	if got := listImages(t, map[string][]string{"dangling": {"true"}}); findImage(got, id) != nil {
		t.Errorf("named image also listed as dangling")
	}
	resp = d.Do(t, "DELETE", "/images/"+id, nil)
	if resp.Status != 200 {
		t.Fatalf("rmi: %d %s", resp.Status, resp.Body)
	}
	if resp := d.Do(t, "GET", "/images/"+id+"/json", nil); resp.Status != 404 {
		t.Errorf("image still there after rmi by ID: %d %s", resp.Status, resp.Body)
	}
}

// Broken archives are refused with 400 and a readable message, and leave
// nothing behind: no image, no blob, no snapshot.
func TestLoadBrokenArchives(t *testing.T) {
	random := make([]byte, 64<<10)
	_, _ = rand.Read(random)
	cases := []struct {
		name  string
		build func(t *testing.T, img *testimage.Image) []byte
	}{
		{"empty", func(t *testing.T, _ *testimage.Image) []byte { return nil }},
		{"random bytes", func(t *testing.T, _ *testimage.Image) []byte { return random }},
		{"truncated docker-archive", func(t *testing.T, img *testimage.Image) []byte {
			data := archiveOf(t, testimage.FormatDocker, img)
			return data[:len(data)*2/3]
		}},
		{"truncated oci-layout", func(t *testing.T, img *testimage.Image) []byte {
			data := archiveOf(t, testimage.FormatOCI, img)
			return data[:len(data)*2/3]
		}},
		{"missing config", func(t *testing.T, img *testimage.Image) []byte {
			cfg := strings.TrimPrefix(imageID(t, img), "sha256:") + ".json"
			return rewriteTar(t, archiveOf(t, testimage.FormatDocker, img), func(name string, body []byte) ([]byte, bool) {
				return body, name != cfg
			})
		}},
		{"layer does not match its diff_id", func(t *testing.T, img *testimage.Image) []byte {
			// Replace the top layer (the marker) with another valid layer.
			other, err := testimage.LayerTar(testimage.RegularFile("/marker", 0o644, []byte("not the marker")))
			if err != nil {
				t.Fatal(err)
			}
			top := strings.TrimPrefix(img.DiffIDs()[2].String(), "sha256:") + "/layer.tar"
			return rewriteTar(t, archiveOf(t, testimage.FormatDocker, img), func(name string, body []byte) ([]byte, bool) {
				if name == top {
					return other, true
				}
				return body, true
			})
		}},
		{"oci layout missing a layer blob", func(t *testing.T, img *testimage.Image) []byte {
			o, err := img.OCI()
			if err != nil {
				t.Fatal(err)
			}
			layer := "blobs/sha256/" + o.Manifest.Layers[2].Digest.Encoded()
			return rewriteTar(t, archiveOf(t, testimage.FormatOCI, img), func(name string, body []byte) ([]byte, bool) {
				return body, name != layer
			})
		}},
		{"config is not JSON", func(t *testing.T, img *testimage.Image) []byte {
			cfg := strings.TrimPrefix(imageID(t, img), "sha256:") + ".json"
			return rewriteTar(t, archiveOf(t, testimage.FormatDocker, img), func(name string, body []byte) ([]byte, bool) {
				if name == cfg {
					return []byte("{not json"), true
				}
				return body, true
			})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := testenv.Unique("broken") + ":v1"
			img := newImage(t, name)
			removeOnCleanup(t, imageID(t, img))
			data := c.build(t, img)
			before := listImages(t, nil)
			beforeBlobs := blobs(t)
			beforeSnaps := snapshots(t)

			resp := d.Do(t, "POST", "/images/load", data)
			if resp.Status != 400 {
				t.Fatalf("load: %d %s, want 400", resp.Status, resp.Body)
			}
			msg := resp.Message()
			t.Logf("message: %s", msg)
			if msg == "" || !strings.Contains(msg, "archive") && !strings.Contains(msg, "image") {
				t.Errorf("unhelpful message %q", msg)
			}
			if after := listImages(t, nil); !sameStrings(ids(after), ids(before)) {
				t.Errorf("image list changed: %q → %q", ids(before), ids(after))
			}
			if resp := d.Do(t, "GET", "/images/"+name+"/json", nil); resp.Status != 404 {
				t.Errorf("%s exists after a failed load: %d", name, resp.Status)
			}
			waitNoNewBlobs(t, beforeBlobs)
			waitNoNewSnapshots(t, beforeSnaps)
		})
	}
}

// snapshots returns the overlay snapshot directories the store holds.
func snapshots(t *testing.T) map[string]bool {
	t.Helper()
	return dirEntries(t, filepath.Join(d.Home, "image", "snapshots", "overlayfs", "snapshots"))
}

func waitNoNewSnapshots(t *testing.T, before map[string]bool) {
	t.Helper()
	waitNoNew(t, "snapshots", snapshots, before)
}

// Two loads of the same archive at once both succeed and leave one image.
func TestConcurrentLoadsOfOneArchive(t *testing.T) {
	for _, format := range []testimage.Format{testimage.FormatDocker, testimage.FormatOCI} {
		t.Run(string(format), func(t *testing.T) {
			name := testenv.Unique("concurrent") + ":v1"
			img := newImage(t, name)
			id := imageID(t, img)
			removeOnCleanup(t, id)
			data := archiveOf(t, format, img)
			const n = 3
			var wg sync.WaitGroup
			results := make([]struct {
				status int
				body   string
			}, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					resp := d.Do(t, "POST", "/images/load", data)
					results[i].status, results[i].body = resp.Status, string(resp.Body)
				}(i)
			}
			wg.Wait()
			for i, r := range results {
				if r.status != 200 || !strings.Contains(r.body, "Loaded image: "+name) {
					t.Errorf("load %d: %d %s", i, r.status, r.body)
				}
			}
			var found int
			for _, s := range listImages(t, nil) {
				for _, tag := range s.RepoTags {
					if tag == name {
						found++
						if s.ID != id {
							t.Errorf("%s names %s, want %s", name, s.ID, id)
						}
					}
				}
			}
			if found != 1 {
				t.Errorf("%s listed %d times, want once", name, found)
			}
			code, out := runContainer(t, name, "cat", "/etc/layer2")
			if code != 0 || out != "layer2\n" {
				t.Errorf("run: exit %d, output %q", code, out)
			}
		})
	}
}
