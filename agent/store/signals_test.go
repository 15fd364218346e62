package store

import (
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// base is a whole minute (1_699_999_980 = 28,333,333 * 60).
const base = int64(1_699_999_980)

func at(sec int64, ms int64) int64 { return (base+sec)*1e9 + ms*1e6 }

func readSummaries(t *testing.T, s *Store, name string, from, to time.Time, res time.Duration) []Summary {
	t.Helper()
	it := s.Signals(context.Background(), name, from, to, res)
	defer it.Close()
	var out []Summary
	for it.Next() {
		out = append(out, it.Summary())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sec(n int64) time.Time { return time.Unix(base+n, 0) }

func checkSummaries(t *testing.T, got, want []Summary) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d summaries %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) || g.Min != w.Min || g.Max != w.Max || g.Last != w.Last || g.Count != w.Count || math.Abs(g.Mean-w.Mean) > 1e-12 {
			t.Errorf("summary %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestSignalSummaries(t *testing.T) {
	s := openStore(t, testOpts(t))
	defer mustClose(t, s)
	const v = "Vehicle.Speed"
	// Second 10: 1, 3, 2 -> min 1, max 3, mean 2, last 2, count 3.
	s.AddValue(v, at(10, 0), 1)
	s.AddValue(v, at(10, 500), 3)
	s.AddValue(v, at(10, 900), 2)
	// Second 11: -4 alone; a NaN is ignored.
	s.AddValue(v, at(11, 200), -4)
	s.AddValue(v, at(11, 300), math.NaN())
	// Second 12: 5, then a commit in the middle of the second, then 7:
	// the row written at the commit is completed by the next one.
	s.AddValue(v, at(12, 0), 5)
	if err := s.commit(false); err != nil {
		t.Fatal(err)
	}
	s.AddValue(v, at(12, 500), 7)
	// Another signal in the same seconds does not mix in.
	s.AddValue("Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", at(10, 1), 80.5)
	s.AddValue("Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", at(12, 1), 80.25)
	mustFlush(t, s)

	checkSummaries(t, readSummaries(t, s, v, time.Time{}, time.Time{}, time.Second), []Summary{
		{Time: sec(10), Min: 1, Max: 3, Mean: 2, Last: 2, Count: 3},
		{Time: sec(11), Min: -4, Max: -4, Mean: -4, Last: -4, Count: 1},
		{Time: sec(12), Min: 5, Max: 7, Mean: 6, Last: 7, Count: 2},
	})
	// A range: [11.5 s, 12 s) covers the bucket of second 11 only.
	checkSummaries(t, readSummaries(t, s, v, time.Unix(0, at(11, 500)), sec(12), time.Second), []Summary{
		{Time: sec(11), Min: -4, Max: -4, Mean: -4, Last: -4, Count: 1},
	})
	checkSummaries(t, readSummaries(t, s, "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", time.Time{}, time.Time{}, time.Second), []Summary{
		{Time: sec(10), Min: 80.5, Max: 80.5, Mean: 80.5, Last: 80.5, Count: 1},
		{Time: sec(12), Min: 80.25, Max: 80.25, Mean: 80.25, Last: 80.25, Count: 1},
	})
	if got := readSummaries(t, s, "No.Such", time.Time{}, time.Time{}, time.Second); len(got) != 0 {
		t.Errorf("unknown signal: %v", got)
	}
	it := s.Signals(context.Background(), v, time.Time{}, time.Time{}, time.Hour)
	if it.Next() || it.Err() == nil {
		t.Errorf("resolution 1h accepted")
	}
	// Names are interned once and survive.
	if n := s.SignalNames(); len(n) != 2 || n[0] != v {
		t.Errorf("names %v", n)
	}
}

func TestSignalRollups(t *testing.T) {
	s := openStore(t, testOpts(t))
	defer mustClose(t, s)
	const v = "BMS.CellVoltMax"
	// Minute 0: seconds 10 (1, 3, 2), 11 (-4), 12 (5, 7), 59 (10):
	// min -4, max 10, sum 24 over 7 values, last 10.
	for _, x := range []struct {
		s, ms int64
		v     float64
	}{{10, 0, 1}, {10, 500, 3}, {10, 900, 2}, {11, 0, -4}, {12, 0, 5}, {12, 1, 7}, {59, 999, 10}} {
		s.AddValue(v, at(x.s, x.ms), x.v)
	}
	// Minute 1 begins: minute 0 is over and rolled up at the commit.
	s.AddValue(v, at(61, 0), 100)
	if err := s.commit(false); err != nil {
		t.Fatal(err)
	}
	minute0 := Summary{Time: sec(0), Min: -4, Max: 10, Mean: 24.0 / 7, Last: 10, Count: 7}
	checkSummaries(t, readSummaries(t, s, v, time.Time{}, time.Time{}, time.Minute), []Summary{minute0})

	// Flush also rolls up the minute in progress, which is redone when
	// more values come.
	mustFlush(t, s)
	checkSummaries(t, readSummaries(t, s, v, time.Time{}, time.Time{}, time.Minute), []Summary{
		minute0, {Time: sec(60), Min: 100, Max: 100, Mean: 100, Last: 100, Count: 1},
	})
	s.AddValue(v, at(62, 0), 50)
	// A late value for minute 0: it is rolled up again.
	s.AddValue(v, at(30, 0), -10)
	mustFlush(t, s)
	checkSummaries(t, readSummaries(t, s, v, time.Time{}, time.Time{}, time.Minute), []Summary{
		{Time: sec(0), Min: -10, Max: 10, Mean: 14.0 / 8, Last: 10, Count: 8},
		{Time: sec(60), Min: 50, Max: 100, Mean: 75, Last: 50, Count: 2},
	})
}

// crashCopy copies the database and its WAL as a process killed now would
// leave them, into a new folder.
func crashCopy(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	for _, suf := range []string{"", "-wal"} {
		src, err := os.Open(filepath.Join(dir, FileName+suf))
		if err != nil {
			if suf == "-wal" {
				continue
			}
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, FileName+suf))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, src); err != nil {
			t.Fatal(err)
		}
		src.Close()
		out.Close()
	}
	return dst
}

func TestRollupsAfterCrash(t *testing.T) {
	o := testOpts(t)
	s := openStore(t, o)
	defer mustClose(t, s)
	const v = "Motor.Rpm"
	// Minute 0 and part of minute 2 committed by background-style
	// commits; minute 2 is not rolled up when the process dies.
	s.AddValue(v, at(5, 0), 1)
	s.AddValue(v, at(125, 0), 2)
	s.AddValue(v, at(126, 0), 4)
	if err := s.commit(false); err != nil {
		t.Fatal(err)
	}
	crashed := crashCopy(t, o.Dir)
	o2 := o
	o2.Dir = crashed
	r := openStore(t, o2)
	defer mustClose(t, r)
	// The next value (minute 3) closes minute 2, rolled up from the 1 s
	// rows that survived.
	r.AddValue(v, at(185, 0), 8)
	if err := r.commit(false); err != nil {
		t.Fatal(err)
	}
	checkSummaries(t, readSummaries(t, r, v, time.Time{}, time.Time{}, time.Minute), []Summary{
		{Time: sec(0), Min: 1, Max: 1, Mean: 1, Last: 1, Count: 1},
		{Time: sec(120), Min: 2, Max: 4, Mean: 3, Last: 4, Count: 2},
	})
}
