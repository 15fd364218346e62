package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// realDataDir holds the real CAN logs (shared/data next to the repository).
const realDataDir = "../../../shared/data/canlogs"

// realLogs reads every real log, or skips the test when they are absent.
func realLogs(t testing.TB) map[string][]can.Frame {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(realDataDir, "kona-*"))
	if len(paths) == 0 {
		if os.Getenv("EVEDGE_REQUIRE_SHARED") != "" {
			t.Fatalf("real CAN logs not available in %s", realDataDir)
		}
		t.Skipf("real CAN logs not available in %s; they live in shared/data/canlogs next to the repository", realDataDir)
	}
	out := map[string][]can.Frame{}
	for _, p := range paths {
		r, c, err := can.OpenLog(p, "")
		if err != nil {
			t.Fatal(err)
		}
		var fs []can.Frame
		for r.Receive() {
			fs = append(fs, r.Frame())
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		c.Close()
		out[filepath.Base(p)] = fs
	}
	return out
}

// testOpts returns options for a store in a fresh temporary folder, with
// background commits off (tests call Flush).
func testOpts(t testing.TB) Options {
	return Options{Dir: t.TempDir(), CommitInterval: -1}
}

func openStore(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustFlush(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}

func mustClose(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// readFrames reads every frame of a query.
func readFrames(t testing.TB, s *Store, from, to time.Time, bus int) []can.Frame {
	t.Helper()
	it := s.Frames(context.Background(), from, to, bus)
	defer it.Close()
	var out []can.Frame
	for it.Next() {
		out = append(out, it.Frame())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// integrity runs PRAGMA integrity_check on the database in dir through a
// connection of its own.
func integrity(t testing.TB, dir string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, FileName)+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func frame(t int64, bus uint8, id uint32, fl can.Flags, data ...byte) can.Frame {
	f := can.Frame{Time: t, Bus: bus, ID: id, Flags: fl, Len: uint8(len(data))}
	copy(f.Data[:], data)
	return f
}
