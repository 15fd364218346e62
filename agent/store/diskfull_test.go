package store

import (
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// diskFullRun feeds a store that runs out of space (however the caller
// arranged it) and checks how it copes: one ErrDiskFull report, nothing
// committed lost except by eviction (oldest first), the pinned window
// kept, integrity ok, and writing going on.
func diskFullRun(t *testing.T, o Options, recent int, setup func(s *Store), each func(sec int)) {
	var mu sync.Mutex
	var reports []error
	o.OnError = func(err error) {
		mu.Lock()
		reports = append(reports, err)
		mu.Unlock()
	}
	s := openStore(t, o)
	t.Cleanup(func() { s.Close() })
	if setup != nil {
		setup(s)
	}
	start := int64(1_700_000_000) * 1e9
	pinFrom, pinTo := time.Unix(0, start+5e9), time.Unix(0, start+8e9)
	if _, err := s.Pin(pinFrom, pinTo, "fault", time.Time{}); err != nil {
		t.Fatal(err)
	}
	tr := newTraffic(2, start, 3)
	var buf []can.Frame
	fullAt := -1
	var flushErrs int
	seconds := 400
	if raceEnabled {
		seconds = 150
	}
	for sec := range seconds {
		if each != nil {
			each(sec)
		}
		buf = tr.until(buf[:0], start+int64(sec+1)*1e9)
		if err := s.AppendFrames(buf); err != nil {
			t.Fatal(err)
		}
		s.AddValue("Vehicle.Speed", start+int64(sec)*1e9, float64(sec))
		if _, err := s.AddEvent(Event{Time: time.Unix(0, start+int64(sec)*1e9), Kind: "test", Body: make([]byte, 200)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			if !errors.Is(err, ErrDiskFull) {
				t.Fatalf("second %d: Flush: %v", sec, err)
			}
			flushErrs++
		}
		if fullAt < 0 && s.Stats().DiskFull > 0 {
			fullAt = sec
		}
	}
	st := s.Stats()
	mu.Lock()
	first := ""
	if len(reports) > 0 {
		first = reports[0].Error()
	}
	t.Logf("disk full first at second %d; %d reports, the first %q; Flush errors %d; stats: disk full %d, cap %d, db %d, wal %d, write errors %d, dropped %d",
		fullAt, len(reports), first, flushErrs, st.DiskFull, st.DiskCap, st.DBBytes, st.WALBytes, st.WriteErrors, st.DroppedFrames)
	if fullAt < 0 {
		t.Fatal("the disk never filled up")
	}
	if st.DiskFull != 1 || len(reports) != 1 || !errors.Is(reports[0], ErrDiskFull) {
		t.Errorf("disk full reported %d times, counted %d; want once", len(reports), st.DiskFull)
	}
	mu.Unlock()
	if st.DroppedFrames != 0 {
		t.Errorf("%d frames dropped", st.DroppedFrames)
	}
	// Every frame of the last recent seconds is there, and the pinned
	// window.
	got := readFrames(t, s, time.Unix(0, start+int64(seconds-recent)*1e9), time.Time{}, -1)
	want := 0
	tr2 := newTraffic(2, start, 3)
	var all []can.Frame
	for sec := range seconds {
		all = tr2.until(all[:0], start+int64(sec+1)*1e9)
		for _, f := range all {
			if f.Time >= start+int64(seconds-recent)*1e9 {
				want++
			}
		}
	}
	if len(got) != want {
		t.Errorf("last %d s: %d frames, want %d", recent, len(got), want)
	}
	pinned := readFrames(t, s, pinFrom, pinTo, -1)
	if len(pinned) < 2*4000*3-10 { // 2 buses x 4,000 frames/s x 3 s
		t.Errorf("pinned window: %d frames left", len(pinned))
	}
	mustClose(t, s)
	if r := integrity(t, o.Dir); r != "ok" {
		t.Errorf("integrity_check: %s", r)
	}
	// It opens again and takes more.
	s = openStore(t, o)
	if err := s.AppendFrames([]can.Frame{{Time: start + int64(seconds)*1e9, ID: 1, Len: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil && !errors.Is(err, ErrDiskFull) {
		t.Fatal(err)
	}
}

// TestDiskFullMaxPageCount makes SQLite run out of pages with PRAGMA
// max_page_count, which returns SQLITE_FULL exactly as a full disk does
// for the database file (not for the WAL).
func TestDiskFullMaxPageCount(t *testing.T) {
	o := testOpts(t)
	diskFullRun(t, o, 20, func(s *Store) {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		if _, err := s.exec("PRAGMA max_page_count = 512"); err != nil { // 2 MiB
			t.Fatal(err)
		}
	}, nil)
}

// TestDiskFullTmpfs runs the store on a real 2 MiB tmpfs, so that the
// database and its WAL hit ENOSPC. It needs root (mount); it skips
// otherwise.
func TestDiskFullTmpfs(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s); TestDiskFullMaxPageCount covers SQLITE_FULL", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	if err := os.WriteFile(dir+"/probe", nil, 0o644); err != nil {
		t.Skip(err)
	}
	os.Remove(dir + "/probe")
	o := Options{Dir: dir, CommitInterval: -1}
	// The store caps itself to the room it finds (see capFromFS); at
	// second 30, while it still grows, another program takes all the free
	// space that is left. What then fits is a few seconds of frames.
	diskFullRun(t, o, 3, nil, func(sec int) {
		if sec != 30 {
			return
		}
		f, err := os.Create(dir + "/filler")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		chunk := make([]byte, 4096)
		n := 0
		for {
			if _, err := f.Write(chunk); err != nil {
				break
			}
			n++
		}
		t.Logf("second 30: a filler took the last %d KiB", n*4)
	})
}
