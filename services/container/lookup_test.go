package container

import (
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"

	imagesvc "github.com/pouchcontainer/pouch/services/image"
)

func serviceWith(ids map[string]string) *Service {
	s := &Service{byID: map[string]*Container{}, names: map[string]string{}}
	for id, name := range ids {
		s.byID[id] = &Container{ID: id, Name: name}
		s.names[name] = id
	}
	return s
}

func TestGetByIDNameAndPrefix(t *testing.T) {
	a := "aaaa" + strings.Repeat("1", 60)
	b := "aaab" + strings.Repeat("2", 60)
	c := "cccc" + strings.Repeat("3", 60)
	s := serviceWith(map[string]string{a: "web", b: "db", c: "aaab"})
	cases := []struct {
		ref  string
		want string
		err  func(error) bool
	}{
		{a, a, nil},
		{"web", a, nil},
		{"/db", b, nil},
		{"aaaa", a, nil},
		{"aaab", c, nil}, // a name wins over an ID prefix, as in Docker
		{"aaa", "", errdefs.IsInvalidArgument},
		{"cc", c, nil},
		{"nope", "", errdefs.IsNotFound},
		{"", "", errdefs.IsInvalidArgument},
	}
	for _, tc := range cases {
		got, err := s.Get(tc.ref)
		if tc.err != nil {
			if !tc.err(err) {
				t.Errorf("%q: error %v", tc.ref, err)
			}
			continue
		}
		if err != nil || got.ID != tc.want {
			t.Errorf("%q: got %v, %v; want %s", tc.ref, got, err, tc.want)
		}
	}
}

func TestReserveName(t *testing.T) {
	s := serviceWith(map[string]string{"x": "taken"})
	if _, err := s.reserveName("id1", "taken"); !errdefs.IsConflict(err) {
		t.Errorf("duplicate name: %v", err)
	}
	if _, err := s.reserveName("id1", "bad name!"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("bad name: %v", err)
	}
	if n, err := s.reserveName("id1", "/ok-1.2_3"); err != nil || n != "ok-1.2_3" {
		t.Errorf("valid name: %q %v", n, err)
	}
	n, err := s.reserveName("id2", "")
	if err != nil || !strings.Contains(n, "_") {
		t.Errorf("generated name: %q %v", n, err)
	}
}

func TestMergeImageConfigRules(t *testing.T) {
	if _, _, _, err := mergeImageConfig(&ctypes.Config{}, imageWith(nil, nil)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("no command: %v", err)
	}
	cfg, path, args, err := mergeImageConfig(&ctypes.Config{Cmd: []string{"-c", "x"}}, imageWith([]string{"sh"}, []string{"ignored"}))
	if err != nil || path != "sh" || strings.Join(args, " ") != "-c x" || cfg.Cmd[0] != "-c" {
		t.Errorf("entrypoint + user cmd: %q %q %v", path, args, err)
	}
	_, path, args, _ = mergeImageConfig(&ctypes.Config{Entrypoint: []string{"echo"}}, imageWith([]string{"sh"}, []string{"img"}))
	if path != "echo" || len(args) != 0 {
		t.Errorf("explicit entrypoint drops the image cmd: %q %q", path, args)
	}
}

func imageWith(entrypoint, cmd []string) *imagesvc.Image {
	img := &imagesvc.Image{}
	img.Config.Config.Entrypoint = entrypoint
	img.Config.Config.Cmd = cmd
	return img
}

func TestConcurrentRenamesLeaveOneName(t *testing.T) {
	id := strings.Repeat("a", 64)
	s := serviceWith(map[string]string{id: "old"})
	s.byID[id].dir = t.TempDir()
	done := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func(i int) { done <- s.Rename("old", "new"+string(rune('a'+i))) }(i)
	}
	ok := 0
	for i := 0; i < 8; i++ {
		if err := <-done; err == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d renames of the same old name succeeded, want 1", ok)
	}
	if len(s.names) != 1 || s.names[s.byID[id].Name] != id {
		t.Fatalf("names %v, container named %q", s.names, s.byID[id].Name)
	}
}
