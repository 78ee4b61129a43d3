package image

import (
	"testing"
)

// TestNothingLeftBehind runs last (files run in name order): every test
// must have removed the images and containers it made.
func TestNothingLeftBehind(t *testing.T) {
	busybox := inspect(t, "busybox:latest")
	list := listImages(t, nil)
	if len(list) != 1 || list[0].ID != busybox.ID || !sameStrings(list[0].RepoTags, []string{"busybox:latest"}) {
		t.Errorf("images left behind: %+v", list)
	}
	resp := d.Do(t, "GET", "/containers/json?all=1", nil)
	var cs []struct {
		ID string `json:"Id"`
	}
	resp.JSON(t, &cs)
	if len(cs) != 0 {
		t.Errorf("containers left behind: %+v", cs)
	}
}
