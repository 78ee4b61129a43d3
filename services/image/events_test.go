package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	eventtypes "github.com/moby/moby/api/types/events"

	imagestore "github.com/pouchcontainer/pouch/image"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

type eventRecorder struct {
	mu sync.Mutex
	ms []eventtypes.Message
}

func (r *eventRecorder) Publish(m eventtypes.Message) {
	r.mu.Lock()
	r.ms = append(r.ms, m)
	r.mu.Unlock()
}

// take returns "action id name" per event since the last take, and the
// events themselves.
func (r *eventRecorder) take() ([]string, []eventtypes.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.ms {
		if m.Type != eventtypes.ImageEventType {
			out = append(out, "wrong type "+string(m.Type))
		}
		out = append(out, fmt.Sprintf("%s %s %s", m.Action, m.Actor.ID, m.Actor.Attributes["name"]))
	}
	ms := r.ms
	r.ms = nil
	return out, ms
}

func TestImageEvents(t *testing.T) {
	s, _ := newTestService(t)
	ctx := imagestore.WithNamespace(context.Background())
	rec := &eventRecorder{}
	s.SetEvents(rec)

	img, err := testimage.Busybox(testimage.WithName("labelled:1"), testimage.WithLabels(map[string]string{"team": "blue"}))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := testimage.WriteDockerArchive(&buf, img); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	id, _ := img.ID()
	got, ms := rec.take()
	if fmt.Sprint(got) != fmt.Sprintf("[load %s labelled:1]", id) || ms[0].Actor.Attributes["team"] != "blue" {
		t.Errorf("load: %v %v", got, ms)
	}

	if err := s.Tag(ctx, "labelled:1", "example.com/other:2"); err != nil {
		t.Fatal(err)
	}
	if got, ms := rec.take(); fmt.Sprint(got) != fmt.Sprintf("[tag %s example.com/other:2]", id) || ms[0].Actor.Attributes["team"] != "blue" {
		t.Errorf("tag: %v", got)
	}

	if err := s.Save(ctx, []string{"labelled:1"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, _ := rec.take(); fmt.Sprint(got) != fmt.Sprintf("[save %s %s]", id, id) {
		t.Errorf("save: %v", got)
	}

	// A name of two: untag only; then the last name: untag and delete.
	if _, err := s.Remove(ctx, "example.com/other:2", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := rec.take(); fmt.Sprint(got) != fmt.Sprintf("[untag %s example.com/other:2]", id) {
		t.Errorf("untag: %v", got)
	}
	if _, err := s.Remove(ctx, "labelled:1", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	// Untag events for every name the answer lists as untagged (the
	// name@digest forms too), then the delete.
	got, _ = rec.take()
	if len(got) < 2 || got[0] != fmt.Sprintf("untag %s labelled:1", id) || got[len(got)-1] != fmt.Sprintf("delete %s %s", id, id) {
		t.Errorf("remove: %v", got)
	}

	// A refused removal publishes nothing.
	if _, err := s.Remove(ctx, "nope:1", RemoveOptions{}); err == nil {
		t.Fatal("removed an unknown image")
	}
	if _, _, err := s.Prune(ctx, PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	got, ms = rec.take()
	if fmt.Sprint(got) != "[prune  ]" || ms[0].Actor.Attributes["reclaimed"] != "0" {
		t.Errorf("prune: %v %v", got, ms)
	}

	// Without a publisher nothing breaks.
	s.SetEvents(nil)
	if err := s.Tag(ctx, "busybox", "quiet:1"); err != nil {
		t.Fatal(err)
	}
	if len(rec.ms) != 0 {
		t.Errorf("published without a publisher: %v", rec.ms)
	}
}
