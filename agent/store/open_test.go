package store

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOpenOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{Dir: t.TempDir(), Quotas: Quotas{Frames: -1}},
		{Dir: t.TempDir(), MaxBlockFrames: 1 << 20},
		{Dir: t.TempDir(), MaxBlockSpan: 2 * time.Second},
	} {
		if s, err := Open(o); err == nil {
			s.Close()
			t.Errorf("Open(%+v) accepted", o)
		} else {
			t.Log(err)
		}
	}
}

// TestOpenCorrupt: a file that is not a database is moved aside and a new
// store starts.
func TestOpenCorrupt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(strings.Repeat("not a database ", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, Options{Dir: dir, CommitInterval: -1})
	defer mustClose(t, s)
	if !s.Stats().Recreated {
		t.Error("Stats.Recreated not set")
	}
	aside, _ := filepath.Glob(filepath.Join(dir, FileName+".corrupt-*"))
	if len(aside) != 1 {
		t.Errorf("moved aside: %v", aside)
	}
	if err := s.AppendFrames(edgeFrames()[:10]); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, s)
}

// TestOpenNewerSchema: a database from a newer program is refused, not
// touched.
func TestOpenNewerSchema(t *testing.T) {
	o := testOpts(t)
	mustClose(t, openStore(t, o))
	db, err := sql.Open("sqlite3", filepath.Join(o.Dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := Open(o); err == nil {
		s.Close()
		t.Fatal("a newer schema was accepted")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("error %v", err)
	}
}

// TestClosed: after Close every method fails with ErrClosed or does
// nothing, and Close again is fine.
func TestClosed(t *testing.T) {
	s := openStore(t, Options{Dir: t.TempDir()}) // with the commit loop
	s.AddValue("x", 1, 1)
	mustClose(t, s)
	if err := s.AppendFrames(edgeFrames()[:1]); err != ErrClosed {
		t.Errorf("AppendFrames: %v", err)
	}
	if _, err := s.AddEvent(Event{Kind: "k"}); err != ErrClosed {
		t.Errorf("AddEvent: %v", err)
	}
	if _, err := s.Enqueue(OutMsg{Topic: "t"}); err != ErrClosed {
		t.Errorf("Enqueue: %v", err)
	}
	if err := s.Flush(); err != ErrClosed {
		t.Errorf("Flush: %v", err)
	}
	s.AddValue("x", 2, 2)
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestBackgroundCommits: with the commit loop, data reaches the disk
// within about a commit interval without Flush.
func TestBackgroundCommits(t *testing.T) {
	o := Options{Dir: t.TempDir(), CommitInterval: 20 * time.Millisecond}
	s := openStore(t, o)
	defer mustClose(t, s)
	in := edgeFrames()[:100]
	if err := s.AppendFrames(in); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().FramesCommitted < 100 {
		if time.Now().After(deadline) {
			t.Fatal("not committed after 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := readFrames(t, s, time.Time{}, time.Time{}, -1); len(got) != 100 {
		t.Errorf("%d frames", len(got))
	}
}

// TestPins: pins survive a restart, expire by the Store's clock at a
// commit or by ExpirePins, and Unpin removes them.
func TestPins(t *testing.T) {
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	o := testOpts(t)
	o.Now = func() time.Time { return now }
	s := openStore(t, o)
	a, _ := s.Pin(now.Add(-time.Hour), now, "service 1", now.Add(time.Hour))
	b, _ := s.Pin(now.Add(-2*time.Hour), now.Add(-time.Hour), "fault", time.Time{})
	c, _ := s.Pin(now, now.Add(time.Minute), "later", now.Add(2*time.Hour))
	if _, err := s.Pin(now, now.Add(-time.Second), "backwards", time.Time{}); err == nil {
		t.Error("a pin ending before it starts was accepted")
	}
	mustClose(t, s)
	s = openStore(t, o)
	if p := s.Pins(); len(p) != 3 || p[0].ID != a || p[1].ID != b || p[2].ID != c || p[0].Reason != "service 1" || !p[0].From.Equal(now.Add(-time.Hour)) || !p[0].Expires.Equal(now.Add(time.Hour)) || !p[1].Expires.IsZero() {
		t.Fatalf("pins after reopen: %+v", p)
	}
	// The clock passes pin a's expiry: the next commit drops it.
	now = now.Add(90 * time.Minute)
	s.AddValue("x", now.UnixNano(), 1)
	mustFlush(t, s)
	if p := s.Pins(); len(p) != 2 {
		t.Fatalf("after a's expiry: %+v", p)
	}
	if n := s.ExpirePins(now.Add(3 * time.Hour)); n != 1 {
		t.Errorf("ExpirePins = %d, want 1 (c)", n)
	}
	s.Unpin(b)
	mustFlush(t, s)
	if p := s.Pins(); len(p) != 0 {
		t.Fatalf("after Unpin: %+v", p)
	}
	mustClose(t, s)
	s = openStore(t, o)
	defer mustClose(t, s)
	if p := s.Pins(); len(p) != 0 {
		t.Errorf("after reopen: %+v", p)
	}
}

func TestCheckCountPending(t *testing.T) {
	s := openStore(t, testOpts(t))
	defer mustClose(t, s)
	in := edgeFrames()
	if err := s.AppendFrames(in); err != nil {
		t.Fatal(err)
	}
	if p := s.Pending(); p != len(in) {
		t.Errorf("Pending = %d, want %d", p, len(in))
	}
	if n, err := s.CountFrames(t.Context()); err != nil || n != 0 {
		t.Errorf("CountFrames before Flush = %d, %v", n, err)
	}
	mustFlush(t, s)
	if p := s.Pending(); p != 0 {
		t.Errorf("Pending after Flush = %d", p)
	}
	if n, err := s.CountFrames(t.Context()); err != nil || n != int64(len(in)) {
		t.Errorf("CountFrames = %d, %v; want %d", n, err, len(in))
	}
	if err := s.IntegrityCheck(t.Context()); err != nil {
		t.Error(err)
	}
}

// TestAutoVacuumOnlyNew: a new database is created with incremental
// auto-vacuum; an existing one is opened without the auto_vacuum
// setting, which the driver would otherwise apply with a write on every
// connection (on a full disk with a non-empty WAL, that write failed and
// the store could not be opened again).
func TestAutoVacuumOnlyNew(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "evedge.db")
	if !strings.Contains(dsn(path, false), "_auto_vacuum=incremental") {
		t.Errorf("no database yet: %s", dsn(path, false))
	}
	s, err := Open(Options{Dir: dir, CommitInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var av int
	if err := db.QueryRow("PRAGMA auto_vacuum").Scan(&av); err != nil || av != 2 {
		t.Errorf("new database: auto_vacuum %d (%v), want 2 (incremental)", av, err)
	}
	if d := dsn(path, false); strings.Contains(d, "auto_vacuum") {
		t.Errorf("existing database: %s", d)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dsn(empty, false), "_auto_vacuum=incremental") {
		t.Errorf("an empty file is a new database: %s", dsn(empty, false))
	}
}
