package spec

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	maxID       = 1<<31 - 1 // largest uid or gid runc accepts
	maxFileSize = 16 << 20  // refuse absurdly large passwd/group files
)

// ResolveUser resolves Docker's --user value (name, uid, name:group, uid:gid, or "" for
// root) against the rootfs's /etc/passwd and /etc/group, following runc's rules: numeric ids
// need no entry, an unnamed group defaults to the user's primary group, and supplementary
// groups are the primary group, then /etc/group memberships unless a group is given, then
// groupAdd (names or ids). Files are opened inside rootfs: symlinks
// resolve as if rootfs were "/", never to the host's files. An unknown name is an
// ErrInvalidArgument.
func ResolveUser(rootfs, user string, groupAdd []string) (specs.User, error) {
	userArg, groupArg, _ := strings.Cut(user, ":")

	passwd, err := readFileInRoot(rootfs, "/etc/passwd")
	if err != nil {
		return specs.User{}, err
	}
	var u specs.User // root, gid 0 unless passwd says otherwise
	name := ""
	if e, ok := findUser(parsePasswd(passwd), userArg); ok {
		name, u.UID, u.GID = e.name, e.uid, e.gid
	} else if userArg != "" {
		id, isID := parseID(userArg)
		if !isID {
			return specs.User{}, invalid("unable to find user %s: no matching entries in passwd file", userArg)
		}
		u.UID = id
	}

	group, err := readFileInRoot(rootfs, "/etc/group")
	if err != nil {
		return specs.User{}, err
	}
	groups := parseGroup(group)
	if groupArg != "" {
		gid, err := lookupGroup(groups, groupArg)
		if err != nil {
			return specs.User{}, err
		}
		u.GID = gid
	}
	// The primary group leads the supplementary groups, as in Docker and containerd
	// (CVE-2023-25173): a process must not keep groups it was not meant to have.
	u.AdditionalGids = []uint32{u.GID}
	if groupArg == "" && name != "" {
		for _, g := range groups {
			if slices.Contains(g.members, name) {
				u.AdditionalGids = append(u.AdditionalGids, g.gid)
			}
		}
	}
	for _, g := range groupAdd {
		gid, err := lookupGroup(groups, g)
		if err != nil {
			return specs.User{}, err
		}
		u.AdditionalGids = append(u.AdditionalGids, gid)
	}
	u.AdditionalGids = dedupe(u.AdditionalGids)
	return u, nil
}

type passwdEntry struct {
	name     string
	uid, gid uint32
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// findUser returns the first entry matching arg: a uid when arg is numeric, a name otherwise,
// uid 0 when arg is empty.
func findUser(users []passwdEntry, arg string) (passwdEntry, bool) {
	id, isID := parseID(arg)
	if arg == "" {
		id, isID = 0, true
	}
	for _, e := range users {
		if (isID && e.uid == id) || (!isID && e.name == arg) {
			return e, true
		}
	}
	return passwdEntry{}, false
}

// lookupGroup resolves a group name or gid; a gid needs no entry.
func lookupGroup(groups []groupEntry, arg string) (uint32, error) {
	id, isID := parseID(arg)
	for _, g := range groups {
		if g.name == arg || (isID && g.gid == id) {
			return g.gid, nil
		}
	}
	if !isID {
		return 0, invalid("unable to find group %s: no matching entries in group file", arg)
	}
	return id, nil
}

func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > maxID {
		return 0, false
	}
	return uint32(n), true
}

// parsePasswd parses name:password:uid:gid:gecos:home:shell lines, skipping malformed ones.
func parsePasswd(b []byte) []passwdEntry {
	var out []passwdEntry
	forEachLine(b, func(f []string) {
		if len(f) < 4 {
			return
		}
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if ok1 && ok2 {
			out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid})
		}
	})
	return out
}

// parseGroup parses name:password:gid:member,member lines, skipping malformed ones.
func parseGroup(b []byte) []groupEntry {
	var out []groupEntry
	forEachLine(b, func(f []string) {
		if len(f) < 3 {
			return
		}
		gid, ok := parseID(f[2])
		if !ok {
			return
		}
		g := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	})
	return out
}

func forEachLine(b []byte, fn func(fields []string)) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxFileSize)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn(strings.Split(line, ":"))
	}
}

// readFileInRoot reads path inside root, resolving symlinks as if root were "/" so nothing
// outside root is ever opened. A missing file reads as empty; anything but a regular file
// (a FIFO would block, a device could do anything) is refused.
func readFileInRoot(root, path string) ([]byte, error) {
	h, err := pathrs.OpenInRoot(root, path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s in container rootfs: %w", path, err)
	}
	defer h.Close()
	fi, err := h.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s in container rootfs: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, invalid("%s in container rootfs is not a regular file", path)
	}
	f, err := pathrs.Reopen(h, unix.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("opening %s in container rootfs: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s in container rootfs: %w", path, err)
	}
	if len(b) > maxFileSize {
		return nil, invalid("%s in container rootfs is larger than %d bytes", path, maxFileSize)
	}
	return b, nil
}
