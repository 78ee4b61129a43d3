package archive

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCpFromContainer copies out of a running and a stopped container as
// docker cp does: into a directory or to a new name, a directory with or
// without its "/." contents, symlinks kept or followed (-L), a tar stream
// to stdout.
func TestCpFromContainer(t *testing.T) {
	t.Parallel()
	script := "mkdir -p /data/sub && echo hello > /data/f && chmod 640 /data/f && echo deep > /data/sub/g && ln -s f /data/link && touch /ready && sleep 1000"
	running := runD(t, nil, script)
	stopped := create(t, nil, script)
	// The stopped one gets its files by running once.
	d.PouchOK(t, "start", stopped)
	waitPath(t, stopped, "/ready")
	d.PouchOK(t, "stop", "-t", "0", stopped)
	for _, ctr := range []string{running, stopped} {
		t.Run(ctr, func(t *testing.T) {
			dst := t.TempDir()
			mkdir := func(p string) string {
				p = filepath.Join(dst, p)
				if err := os.MkdirAll(p, 0o755); err != nil {
					t.Fatal(err)
				}
				return p
			}
			into := mkdir("into")
			d.PouchOK(t, "cp", ctr+":/data/f", into)
			if got := readFile(t, filepath.Join(into, "f")); got != "hello\n" {
				t.Errorf("file into a directory: %q", got)
			}
			if st, _ := os.Stat(filepath.Join(into, "f")); st == nil || st.Mode().Perm() != 0o640 {
				t.Errorf("mode not kept: %v", st)
			}
			d.PouchOK(t, "cp", ctr+":/data/f", filepath.Join(dst, "renamed"))
			if got := readFile(t, filepath.Join(dst, "renamed")); got != "hello\n" {
				t.Errorf("file to a new name: %q", got)
			}
			writeFile(t, filepath.Join(dst, "existing"), "old", 0o600)
			d.PouchOK(t, "cp", ctr+":/data/f", filepath.Join(dst, "existing"))
			if got := readFile(t, filepath.Join(dst, "existing")); got != "hello\n" {
				t.Errorf("file onto a file: %q", got)
			}
			d.PouchOK(t, "cp", ctr+":/data", into)
			if got := readFile(t, filepath.Join(into, "data/sub/g")); got != "deep\n" {
				t.Errorf("directory into a directory: %q", got)
			}
			d.PouchOK(t, "cp", ctr+":/data", filepath.Join(dst, "newdir"))
			if got := readFile(t, filepath.Join(dst, "newdir/f")); got != "hello\n" {
				t.Errorf("directory to a new name: %q", got)
			}
			contents := mkdir("contents")
			d.PouchOK(t, "cp", ctr+":/data/.", contents)
			if got := readFile(t, filepath.Join(contents, "sub/g")); got != "deep\n" {
				t.Errorf("directory contents (/.) into a directory: %q", got)
			}
			if _, err := os.Stat(filepath.Join(contents, "data")); err == nil {
				t.Errorf("/. copied the directory itself")
			}
			d.PouchOK(t, "cp", ctr+":/data/link", into)
			if target, err := os.Readlink(filepath.Join(into, "link")); err != nil || target != "f" {
				t.Errorf("symlink copied as a symlink: %q %v", target, err)
			}
			d.PouchOK(t, "cp", "-L", ctr+":/data/link", filepath.Join(dst, "followed"))
			if st, err := os.Lstat(filepath.Join(dst, "followed")); err != nil || !st.Mode().IsRegular() || readFile(t, filepath.Join(dst, "followed")) != "hello\n" {
				t.Errorf("-L copies the target: %v %v", st, err)
			}
			d.PouchOK(t, "cp", "-L", ctr+":/data/link", into)
			if st, err := os.Lstat(filepath.Join(into, "link")); err != nil || !st.Mode().IsRegular() {
				t.Errorf("-L into a directory keeps the link's name with the target's content: %v %v", st, err)
			}
			out := d.PouchOK(t, "cp", ctr+":/data", "-")
			entries := readTar(t, []byte(out))
			if strings.Join(tarNames(entries), " ") != "data/ data/f data/link data/sub/ data/sub/g" {
				t.Errorf("tar to stdout: %v", tarNames(entries))
			}
			pouchFails(t, "Could not find the file /nope in container "+ctr, "cp", ctr+":/nope", dst)
			pouchFails(t, "not a directory", "cp", ctr+":/data/f/", dst)
			pouchFails(t, "cannot copy directory", "cp", ctr+":/data", filepath.Join(dst, "existing"))
			pouchFails(t, "no such directory", "cp", ctr+":/data/f", filepath.Join(dst, "missing")+"/")
		})
	}
}

// TestCpEtcFiles reads the files the daemon mounts into a container, as
// the container sees them.
func TestCpEtcFiles(t *testing.T) {
	t.Parallel()
	name := runD(t, []string{"--hostname", "myhost"}, "touch /ready; sleep 1000")
	dst := t.TempDir()
	d.PouchOK(t, "cp", name+":/etc/hostname", dst)
	if got := readFile(t, filepath.Join(dst, "hostname")); got != "myhost\n" {
		t.Errorf("/etc/hostname: %q", got)
	}
	d.PouchOK(t, "cp", name+":/etc/hosts", dst)
	if got := readFile(t, filepath.Join(dst, "hosts")); !strings.Contains(got, "myhost") {
		t.Errorf("/etc/hosts: %q", got)
	}
	out := d.PouchOK(t, "cp", name+":/etc", "-")
	entries := readTar(t, []byte(out))
	if entries["etc/hostname"].data != "myhost\n" || entries["etc/resolv.conf"].hdr == nil {
		t.Errorf("/etc as the container sees it: %v", tarNames(entries))
	}
	// The whole root, to a new name.
	d.PouchOK(t, "cp", name+":/", filepath.Join(dst, "rootcopy"))
	if st, err := os.Stat(filepath.Join(dst, "rootcopy/bin/busybox")); err != nil || st.Size() == 0 {
		t.Errorf("copy of /: %v", err)
	}
	if got := readFile(t, filepath.Join(dst, "rootcopy/etc/hostname")); got != "myhost\n" {
		t.Errorf("copy of /: /etc/hostname %q", got)
	}
	// The stopped container too.
	d.PouchOK(t, "stop", "-t", "0", name)
	d.PouchOK(t, "cp", name+":/etc/hostname", filepath.Join(dst, "stopped"))
	if got := readFile(t, filepath.Join(dst, "stopped")); got != "myhost\n" {
		t.Errorf("/etc/hostname of a stopped container: %q", got)
	}
}

// TestCpToContainer copies into a created (never started) and a running
// container: the container sees the files.
func TestCpToContainer(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "file"), "from host\n", 0o751)
	writeFile(t, filepath.Join(src, "dir/a"), "a\n", 0o644)
	writeFile(t, filepath.Join(src, "dir/sub/b"), "b\n", 0o600)
	if err := os.Symlink("a", filepath.Join(src, "dir/link")); err != nil {
		t.Fatal(err)
	}
	show := "cat /tmp/file /newname /tmp/dir/a /copied/sub/b /tmp/into/a /tmp/into/sub/b; readlink /copied/link; stat -c %a /tmp/file; cat /etc/passwd | head -1"
	check := func(t *testing.T, out string) {
		t.Helper()
		want := "from host\nfrom host\na\nb\na\nb\na\n751\nreplaced\n"
		if out != want {
			t.Errorf("the container sees:\n%q\nwant:\n%q", out, want)
		}
	}
	copyAll := func(t *testing.T, ctr string) {
		d.PouchOK(t, "cp", filepath.Join(src, "file"), ctr+":/tmp")
		d.PouchOK(t, "cp", filepath.Join(src, "file"), ctr+":/newname")
		d.PouchOK(t, "cp", filepath.Join(src, "dir"), ctr+":/tmp/")
		d.PouchOK(t, "cp", filepath.Join(src, "dir"), ctr+":/copied")
		d.PouchOK(t, "cp", filepath.Join(src, "dir")+"/.", ctr+":/tmp/into")
		writeFile(t, filepath.Join(src, "passwd"), "replaced\n", 0o644)
		d.PouchOK(t, "cp", filepath.Join(src, "passwd"), ctr+":/etc/passwd")
		// A file named as a directory there: refused (docker cp's
		// noOverwriteDirNonDir); a directory onto a file.
		writeFile(t, filepath.Join(src, "clash/sub"), "x", 0o644)
		pouchFails(t, "cannot overwrite directory", "cp", filepath.Join(src, "clash/sub"), ctr+":/tmp/dir/")
		pouchFails(t, "cannot copy directory", "cp", filepath.Join(src, "dir"), ctr+":/tmp/file")
	}
	t.Run("created", func(t *testing.T) {
		ctr := create(t, nil, "mkdir -p /tmp/into; "+show)
		// A created container has no /tmp/into yet: docker cp of "dir/."
		// needs the directory, so make it first through the API.
		if r := putArchive(t, ctr, "/tmp", makeTar(t, tarFile{name: "into/", typ: '5'}), ""); r.Status != http.StatusOK {
			t.Fatalf("mkdir: %d %s", r.Status, r.Body)
		}
		copyAll(t, ctr)
		check(t, startAttached(t, ctr))
	})
	t.Run("running", func(t *testing.T) {
		ctr := runD(t, nil, "mkdir -p /tmp/into; touch /ready; while [ ! -f /go ]; do sleep 0.1; done; "+show)
		copyAll(t, ctr)
		d.PouchOK(t, "cp", filepath.Join(src, "file"), ctr+":/go")
		d.PouchOK(t, "wait", ctr)
		check(t, d.PouchOK(t, "logs", ctr))
	})
	t.Run("stdin", func(t *testing.T) {
		ctr := create(t, nil, "cat /tmp/s1 /tmp/d/s2")
		tarball := makeTar(t, tarFile{name: "s1", data: "one\n"}, tarFile{name: "d/s2", data: "two\n"})
		res := d.Pouch(t, strings.NewReader(string(tarball)), "cp", "-", ctr+":/tmp")
		if res.ExitCode != 0 {
			t.Fatalf("cp - : %s%s", res.Stdout, res.Stderr)
		}
		if out := startAttached(t, ctr); out != "one\ntwo\n" {
			t.Errorf("tar from stdin: %q", out)
		}
		pouchFails(t, "must be a directory", "cp", "-", ctr+":/tmp/s1")
	})
}

// TestCpOwnership: without -a the archive's owners are kept; with -a the
// files belong to the container's user, looked up in its /etc/passwd.
func TestCpOwnership(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	f := filepath.Join(src, "owned")
	writeFile(t, f, "x", 0o644)
	if err := os.Chown(f, 4321, 8765); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, flag, want string
	}{
		{"", "", "4321:8765"},
		{"1234:5678", "-a", "1234:5678"},
		{"pouch", "-a", "1000:1000"},
		{"", "-a", "4321:8765"}, // no user: as Docker, the archive's owners
	} {
		opts := []string{}
		if tc.user != "" {
			opts = append(opts, "--user", tc.user)
		}
		ctr := create(t, opts, "stat -c %u:%g /owned")
		args := []string{"cp"}
		if tc.flag != "" {
			args = append(args, tc.flag)
		}
		d.PouchOK(t, append(args, f, ctr+":/")...)
		if out := strings.TrimSpace(startAttached(t, ctr)); out != tc.want {
			t.Errorf("user %q %s: owner %s, want %s", tc.user, tc.flag, out, tc.want)
		}
	}
	var st syscall.Stat_t
	_ = syscall.Stat(f, &st)
	if st.Uid != 4321 {
		t.Errorf("the source changed owner")
	}
}
