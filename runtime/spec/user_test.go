package spec

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
)

func TestResolveUser(t *testing.T) {
	root := writeRootfs(t, map[string]string{"etc/passwd": testPasswd, "etc/group": testGroup})
	for _, tc := range []struct {
		user     string
		groupAdd []string
		uid, gid uint32
		gids     []uint32
		wantErr  bool
	}{
		{user: "", uid: 0, gid: 0, gids: []uint32{0, 10}},
		{user: "root", uid: 0, gid: 0, gids: []uint32{0, 10}},
		{user: "app", uid: 1000, gid: 1000, gids: []uint32{1000, 10, 29}},
		{user: "1000", uid: 1000, gid: 1000, gids: []uint32{1000, 10, 29}},
		{user: "daemon", uid: 1, gid: 1, gids: []uint32{1}},
		{user: "app:staff", uid: 1000, gid: 50, gids: []uint32{50}},
		{user: "app:50", uid: 1000, gid: 50, gids: []uint32{50}},
		{user: "app:4242", uid: 1000, gid: 4242, gids: []uint32{4242}},
		{user: "1000:1000", uid: 1000, gid: 1000, gids: []uint32{1000}},
		{user: "4242", uid: 4242, gid: 0, gids: []uint32{0}},
		{user: "4242:4343", uid: 4242, gid: 4343, gids: []uint32{4343}},
		{user: "app", groupAdd: []string{"staff", "77", "wheel"}, uid: 1000, gid: 1000, gids: []uint32{1000, 10, 29, 50, 77}},
		{user: "nobody", wantErr: true},
		{user: "app:nogroup", wantErr: true},
		{user: "app", groupAdd: []string{"nogroup"}, wantErr: true},
		{user: "-1", wantErr: true},
		{user: "4294967296", wantErr: true},
	} {
		t.Run(tc.user, func(t *testing.T) {
			u, err := ResolveUser(root, tc.user, tc.groupAdd)
			if tc.wantErr {
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Fatalf("err = %v, want invalid argument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.UID != tc.uid || u.GID != tc.gid || !slices.Equal(u.AdditionalGids, tc.gids) {
				t.Errorf("user = %d:%d %v, want %d:%d %v", u.UID, u.GID, u.AdditionalGids, tc.uid, tc.gid, tc.gids)
			}
		})
	}
}

func TestResolveUserWithoutFiles(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		user     string
		uid, gid uint32
		wantErr  bool
	}{
		{user: "", uid: 0, gid: 0},
		{user: "1000", uid: 1000},
		{user: "1000:2000", uid: 1000, gid: 2000},
		{user: "app", wantErr: true},
		{user: "0:wheel", wantErr: true},
	} {
		u, err := ResolveUser(root, tc.user, nil)
		if (err != nil) != tc.wantErr || (err == nil && (u.UID != tc.uid || u.GID != tc.gid)) {
			t.Errorf("ResolveUser(%q) = %+v, %v", tc.user, u, err)
		}
	}
}

// TestResolveUserSymlinkEscape: a passwd symlinked to a file outside the root must be
// resolved inside the root, never read from the host.
func TestResolveUserSymlinkEscape(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(outside, []byte("evil:x:4242:4242::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{
		outside, // absolute: resolves to <root>/<outside>, which does not exist
		"../../../../../../../../../.." + outside, // climbing out stops at the root
	} {
		t.Run(target, func(t *testing.T) {
			root := writeRootfs(t, map[string]string{"etc/group": testGroup})
			if err := os.Symlink(target, filepath.Join(root, "etc/passwd")); err != nil {
				t.Fatal(err)
			}
			if u, err := ResolveUser(root, "evil", nil); err == nil {
				t.Fatalf("resolved %+v through a symlink out of the root", u)
			}
		})
	}

	t.Run("symlink inside the root is followed", func(t *testing.T) {
		root := writeRootfs(t, map[string]string{"lib/passwd": testPasswd, "etc/group": testGroup})
		if err := os.Symlink("../lib/passwd", filepath.Join(root, "etc/passwd")); err != nil {
			t.Fatal(err)
		}
		u, err := ResolveUser(root, "app", nil)
		if err != nil || u.UID != 1000 {
			t.Fatalf("ResolveUser = %+v, %v", u, err)
		}
	})

	t.Run("a directory named passwd is refused", func(t *testing.T) {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "etc/passwd"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := ResolveUser(root, "app", nil); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Fatalf("err = %v, want invalid argument", err)
		}
	})
}

func TestParsePasswdSkipsMalformed(t *testing.T) {
	got := parsePasswd([]byte("# comment\n\nbad line\nx:x:notanumber:0\nok:x:5:6::/:/bin/sh\n"))
	if len(got) != 1 || got[0] != (passwdEntry{name: "ok", uid: 5, gid: 6}) {
		t.Errorf("parsePasswd = %+v", got)
	}
}
