package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// TestReadOnlyWhileWriting opens a read-only store on a database another
// Store is writing to (as `evedge logs export` does while the agent
// records): it sees the committed frames, refuses writes, and leaves no
// trace (no reserve file, no checkpoint).
func TestReadOnlyWhileWriting(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(Options{Dir: dir, CommitInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	fs := make([]can.Frame, 1000)
	for i := range fs {
		fs[i] = can.Frame{Time: base + int64(i)*1e6, ID: uint32(i % 50), Len: 2, Data: [8]byte{byte(i), byte(i >> 8)}}
	}
	if err := w.AppendFrames(fs); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	it := r.Frames(context.Background(), time.Time{}, time.Time{}, -1)
	n := 0
	for it.Next() {
		if it.Frame() != fs[n] {
			t.Fatalf("frame %d: %+v, want %+v", n, it.Frame(), fs[n])
		}
		n++
	}
	if it.Err() != nil || n != len(fs) {
		t.Fatalf("read %d frames, err %v", n, it.Err())
	}
	it.Close()
	if err := r.AppendFrames(fs[:1]); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("write to read-only store: %v", err)
	}
	if _, err := r.AddEvent(Event{Kind: "x"}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("event to read-only store: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// The writer goes on after the reader.
	if err := w.AppendFrames(fs[:10]); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// A read-only open of a folder without a database fails, creating nothing.
	empty := filepath.Join(t.TempDir(), "none")
	if _, err := Open(Options{Dir: empty, ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing database succeeded")
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Fatalf("read-only open created %s", empty)
	}
}
