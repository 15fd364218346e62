package store

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// TestCommitRunning blocks the store's writer the way a hung write does:
// another connection holds SQLite's write lock, so the commit waits inside
// its write. CommitRunning must report it, from when it began, for as long
// as it lasts, and stop when the write completes; a store at rest and a
// commit that fails fast (a full disk) report nothing.
func TestCommitRunning(t *testing.T) {
	began := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	o := testOpts(t)
	o.Now = func() time.Time { return began }
	s := openStore(t, o)
	defer mustClose(t, s)
	if _, running := s.CommitRunning(); running {
		t.Fatal("commit running at rest")
	}
	mustFlush(t, s)
	if _, running := s.CommitRunning(); running {
		t.Fatal("commit running after Flush returned")
	}

	other, err := sql.Open("sqlite3", dsn(filepath.Join(o.Dir, FileName), false))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	lock, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendFrames([]can.Frame{frame(began.UnixNano(), 0, 0x123, 0, 1, 2)}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Flush() }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		since, running := s.CommitRunning()
		if running {
			if !since.Equal(began) {
				t.Errorf("running since %v, want %v", since, began)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the blocked commit never showed as running")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Flush returned %v while the write lock was held", err)
	default:
	}
	if _, running := s.CommitRunning(); !running {
		t.Fatal("blocked commit no longer reported")
	}
	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Flush after the lock went: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Flush still blocked 20 s after the lock went")
	}
	if _, running := s.CommitRunning(); running {
		t.Fatal("commit still reported after it completed")
	}
	if n, err := s.CountFrames(ctx); err != nil || n != 1 {
		t.Fatalf("%d frames committed (%v), want 1", n, err)
	}

	// A full disk: the commit fails, and fast; nothing is left running.
	if _, err := s.exec("PRAGMA max_page_count = 1"); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var fs []can.Frame
	for i := range 20000 {
		f := frame(began.UnixNano()+int64(i)*1e6, 0, uint32(i)&0x7FF, 0)
		f.Len = 8
		for j := range f.Data {
			f.Data[j] = byte(rng.Uint32())
		}
		fs = append(fs, f)
	}
	if err := s.AppendFrames(fs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Flush on a full disk: %v, want ErrDiskFull", err)
	}
	if _, running := s.CommitRunning(); running {
		t.Fatal("a failed commit still reported as running")
	}
	if _, err := s.exec("PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
}
