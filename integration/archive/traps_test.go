package archive

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// imagePasswd starts the busybox image's /etc/passwd (the host's is other).
const imagePasswd = "root:x:0:0:root:/root:/bin/sh\n"

// TestCpTraps: a container plants symlinks to its root, to /etc/shadow, to
// a host directory and file by their host paths, and ".." chains; copies
// through them read and write only the container.
func TestCpTraps(t *testing.T) {
	t.Parallel()
	host, untouched := hostDir(t)
	rel := strings.Repeat("../", 30) + strings.TrimPrefix(host, "/")
	script := strings.Join([]string{
		"ln -s / /trap",
		"ln -s /etc/shadow /shadow",
		"ln -s " + host + " /escape",
		"ln -s " + host + "/secret /victim",
		"ln -s " + rel + " /rel",
		"mkdir /dir && ln -s ../../../../.. /dir/up",
		"touch /ready", "sleep 1000",
	}, "; ")
	for _, stopped := range []bool{false, true} {
		ctr := runD(t, nil, script)
		if stopped {
			d.PouchOK(t, "stop", "-t", "0", ctr)
		}
		dst := t.TempDir()
		// Through ln -s / /trap: the container's own passwd.
		d.PouchOK(t, "cp", ctr+":/trap/etc/passwd", filepath.Join(dst, "passwd"))
		if got := readFile(t, filepath.Join(dst, "passwd")); !strings.HasPrefix(got, imagePasswd) || strings.Contains(got, hostSecret) {
			t.Errorf("/trap/etc/passwd is not the container's: %q", got)
		}
		d.PouchOK(t, "cp", ctr+":/dir/up/etc/passwd", filepath.Join(dst, "passwd2"))
		if got := readFile(t, filepath.Join(dst, "passwd2")); !strings.HasPrefix(got, imagePasswd) {
			t.Errorf("/dir/up/etc/passwd is not the container's: %q", got)
		}
		// Followed, the links lead to paths the container does not have.
		for _, p := range []string{"/shadow", "/victim", "/escape/secret", "/rel/secret", "/escape/"} {
			args := []string{"cp", ctr + ":" + p, filepath.Join(dst, "x")}
			if !strings.HasSuffix(p, "/") && !strings.Contains(strings.TrimPrefix(p, "/"), "/") {
				args = []string{"cp", "-L", ctr + ":" + p, filepath.Join(dst, "x")}
			}
			res := d.Pouch(t, nil, args...)
			if res.ExitCode == 0 || !strings.Contains(res.Stderr, "Could not find the file") {
				t.Errorf("cp %v: exit %d %q, want not found", args, res.ExitCode, res.Stderr)
			}
		}
		if _, err := os.Stat(filepath.Join(dst, "x")); err == nil {
			t.Errorf("a host file was copied out")
		}
		// Unfollowed, a link is copied as the link it is.
		d.PouchOK(t, "cp", ctr+":/victim", filepath.Join(dst, "victim"))
		if target, _ := os.Readlink(filepath.Join(dst, "victim")); target != host+"/secret" {
			t.Errorf("the link itself: %q", target)
		}
		// Writing through the links lands in the container or nowhere.
		src := filepath.Join(dst, "planted")
		writeFile(t, src, "planted", 0o644)
		for _, p := range []string{"/escape", "/escape/", "/victim", "/rel/", "/escape/new"} {
			_ = d.Pouch(t, nil, "cp", src, ctr+":"+p)
		}
		d.PouchOK(t, "cp", src, ctr+":/trap/tmp/")
		if got, _ := readIn(t, ctr, "/tmp/planted"); got != "planted" {
			t.Errorf("through /trap: %q", got)
		}
		// Archives that climb out are refused; ones going through the
		// planted links stay in the container.
		for _, tc := range []struct {
			dest  string
			files []tarFile
			want  int
		}{
			{"/", []tarFile{{name: "../../../../planted", data: "x"}}, http.StatusBadRequest},
			{"/dir", []tarFile{{name: "a/../../../planted", data: "x"}}, http.StatusBadRequest},
			{"/dir", []tarFile{{name: "up2", typ: '2', linkname: "../../../../"}}, http.StatusBadRequest},
			{"/dir", []tarFile{{name: "hl", typ: '1', linkname: "../../../../" + host + "/secret"}}, http.StatusBadRequest},
			{"/", []tarFile{{name: "escape/planted", data: "x"}}, http.StatusBadRequest},
			{"/escape", []tarFile{{name: "planted", data: "x"}}, http.StatusNotFound},
			{"/", []tarFile{{name: "victim", data: "replaced the link"}}, http.StatusOK},
			{"/", []tarFile{{name: "trap/etc/planted", data: "x"}}, http.StatusOK},
			{"/dir/up", []tarFile{{name: "planted2", data: "x"}}, http.StatusOK},
			{"/", []tarFile{{name: "l", typ: '2', linkname: host}, {name: "l/planted", data: "x"}}, http.StatusBadRequest},
		} {
			if r := putArchive(t, ctr, tc.dest, makeTar(t, tc.files...), "noOverwriteDirNonDir=true"); r.Status != tc.want {
				t.Errorf("PUT %s %+v: %d %s, want %d", tc.dest, tc.files, r.Status, r.Body, tc.want)
			}
		}
		for p, want := range map[string]string{"/victim": "replaced the link", "/etc/planted": "x", "/planted2": "x"} {
			if got, _ := readIn(t, ctr, p); got != want {
				t.Errorf("%s in the container: %q, want %q", p, got, want)
			}
		}
		if _, err := os.Stat("/planted"); err == nil {
			t.Errorf("a file was planted at the host's /planted")
		}
		untouched()
	}
}

// TestCpSwapRace: a running container keeps swapping a directory with a
// symlink to a host directory while copies go in and out through it.
func TestCpSwapRace(t *testing.T) {
	t.Parallel()
	host, untouched := hostDir(t)
	script := strings.Join([]string{
		"mkdir /swap /real",
		"echo container > /swap/secret",
		"ln -s " + host + " /evil",
		"ln -s / /root-link",
		"touch /ready",
		// Rename in a loop: /swap is the directory, a symlink to the
		// host directory, or a symlink to /.
		"while true; do mv /swap /real/d; mv /evil /swap; mv /swap /evil; mv /root-link /swap; mv /swap /root-link; mv /real/d /swap; done",
	}, "; ")
	ctr := runD(t, nil, script)
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				var status int
				switch i % 4 {
				case 0:
					r, _ := getArchive(t, ctr, "/swap/secret")
					status = r.Status
					if strings.Contains(string(r.Body), hostSecret) {
						t.Errorf("read the host's secret through the swapped directory")
					}
				case 1:
					r, _ := getArchive(t, ctr, "/swap/")
					status = r.Status
					if strings.Contains(string(r.Body), hostSecret) {
						t.Errorf("archived the host's secret through the swapped directory")
					}
				case 2:
					status = putArchive(t, ctr, "/swap", makeTar(t, tarFile{name: "planted", data: "x"}, tarFile{name: "secret", data: "overwritten"}), "").Status
				case 3:
					status = putArchive(t, ctr, "/", makeTar(t, tarFile{name: "swap/planted2", data: "x"}), "").Status
				}
				mu.Lock()
				counts[status]++
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	t.Logf("answers: %v", counts)
	if counts[http.StatusInternalServerError] > 0 {
		t.Logf("(500s are races the container won: a failed copy, not an escape)")
	}
	untouched()
}

// TestConcurrentCopiesStopped runs copies into and out of one stopped
// container at once: they take turns on its root filesystem.
func TestConcurrentCopiesStopped(t *testing.T) {
	t.Parallel()
	ctr := create(t, nil, "true")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := "f" + string(rune('a'+i))
			for j := 0; j < 5; j++ {
				if r := putArchive(t, ctr, "/tmp", makeTar(t, tarFile{name: name, data: name}), ""); r.Status != http.StatusOK {
					t.Errorf("PUT %s: %d %s", name, r.Status, r.Body)
					return
				}
				if got, status := readIn(t, ctr, "/tmp/"+name); got != name {
					t.Errorf("GET %s: %d %q", name, status, got)
					return
				}
				if r := d.Do(t, "HEAD", "/containers/"+ctr+"/archive?path=/tmp/"+name, nil); r.Status != http.StatusOK {
					t.Errorf("HEAD %s: %d", name, r.Status)
				}
			}
		}(i)
	}
	wg.Wait()
	r, _ := getArchive(t, ctr, "/tmp")
	if got := tarNames(readTar(t, r.Body)); len(got) != 9 {
		t.Errorf("/tmp holds %v", got)
	}
	// Nothing stays mounted.
	b, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(b), ".fs-") {
		t.Errorf("a temporary root filesystem mount is left")
	}
}
