package store

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// edgeFrames are frames of every kind the Frame type can hold, on all 256
// buses, with times around zero (relative logs) and far from it.
func edgeFrames() []can.Frame {
	var fs []can.Frame
	kinds := []can.Frame{
		frame(0, 0, 0x123, 0, 0xDE, 0xAD, 0xBE, 0xEF),
		frame(0, 0, 0x1FFFFFFF, can.Extended, 1, 2, 3, 4, 5, 6, 7, 8),
		frame(0, 0, 0x7FF, can.Remote),         // remote, no data
		{ID: 0x7DF, Flags: can.Remote, Len: 8}, // remote asking for 8 bytes
		frame(0, 0, 0x20000004, can.ErrorFrame|can.Extended, 0, 0, 0, 0, 0, 0, 0, 0),
		frame(0, 0, 0x000, 0),                        // zero length
		frame(0, 0, 0x7E0, can.TX, 0x02, 0x10, 0x03), // transmitted
		frame(0, 0, 0x18DAF110, can.Extended|can.TX, 0x03, 0x22, 0xF1, 0x90),
		{ID: 0xFFFFFFFF, Flags: 0xFF, Len: 0xFF, Data: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}}, // beyond what is valid: still kept
	}
	t := int64(-3_000_000_000) // relative times before zero
	for bus := range 256 {
		for k, f := range kinds {
			f.Bus = uint8(bus)
			f.Time = t
			f.Data[0] ^= byte(bus)
			fs = append(fs, f)
			t += int64(1 + (bus*7+k)%13*1000) // irregular steps
		}
	}
	return fs
}

func sortFrames(fs []can.Frame) {
	slices.SortStableFunc(fs, func(a, b can.Frame) int {
		switch {
		case a.Time != b.Time:
			if a.Time < b.Time {
				return -1
			}
			return 1
		case a.Bus != b.Bus:
			return int(a.Bus) - int(b.Bus)
		}
		return 0
	})
}

func sameFrames(t *testing.T, got, want []can.Frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frame %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestFramesRoundTrip(t *testing.T) {
	o := testOpts(t)
	s := openStore(t, o)
	in := edgeFrames()
	if err := s.AppendFrames(in); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, s)
	want := slices.Clone(in)
	sortFrames(want)

	sameFrames(t, readFrames(t, s, time.Time{}, time.Time{}, -1), want)

	// Reopened: the same.
	mustClose(t, s)
	s = openStore(t, o)
	defer mustClose(t, s)
	sameFrames(t, readFrames(t, s, time.Time{}, time.Time{}, -1), want)

	// One bus.
	for _, bus := range []int{0, 1, 77, 255} {
		var wb []can.Frame
		for _, f := range want {
			if int(f.Bus) == bus {
				wb = append(wb, f)
			}
		}
		sameFrames(t, readFrames(t, s, time.Time{}, time.Time{}, bus), wb)
	}

	// Time ranges, half open, across zero.
	for _, r := range [][2]int64{{-2_000_000_000, -1_000_000_000}, {-1, 1}, {0, 5_000_000}, {want[100].Time, want[100].Time + 1}, {want[len(want)-1].Time, math.MaxInt64}} {
		var wr []can.Frame
		for _, f := range want {
			if f.Time >= r[0] && f.Time < r[1] {
				wr = append(wr, f)
			}
		}
		got := readFrames(t, s, time.Unix(0, r[0]), time.Unix(0, r[1]), -1)
		sameFrames(t, got, wr)
	}
}

func TestFramesTimeGoesBack(t *testing.T) {
	// A log whose clock resets (like the real compressor log) and
	// identical timestamps: each bus's blocks are cut where time goes
	// back, and the query returns everything in time order.
	s := openStore(t, testOpts(t))
	defer mustClose(t, s)
	var in []can.Frame
	for i := range 3000 {
		tm := int64(i%1000) * 1_000_000 // 0..999 ms, three times
		in = append(in, frame(tm, uint8(i%3), uint32(i%50), 0, byte(i), byte(i>>8)))
		in = append(in, frame(tm, uint8(i%3), uint32(i%50)+1, 0, byte(i)))
	}
	if err := s.AppendFrames(in); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, s)
	got := readFrames(t, s, time.Time{}, time.Time{}, -1)
	if len(got) != len(in) {
		t.Fatalf("%d frames, want %d", len(got), len(in))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time < got[i-1].Time {
			t.Fatalf("frame %d out of order: %d after %d", i, got[i].Time, got[i-1].Time)
		}
	}
	// Same multiset.
	key := func(f can.Frame) [3]int64 {
		return [3]int64{f.Time, int64(f.Bus)<<32 | int64(f.ID), int64(f.Data[0]) | int64(f.Data[1])<<8}
	}
	count := map[[3]int64]int{}
	for _, f := range in {
		count[key(f)]++
	}
	for _, f := range got {
		count[key(f)]--
	}
	for k, v := range count {
		if v != 0 {
			t.Fatalf("frame %v: count off by %d", k, v)
		}
	}
}

func TestFramesContextCancel(t *testing.T) {
	s := openStore(t, testOpts(t))
	defer mustClose(t, s)
	var in []can.Frame
	for i := range 200_000 {
		in = append(in, frame(int64(i)*100_000, 0, uint32(i%40), 0, byte(i)))
	}
	s.AppendFrames(in)
	mustFlush(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	it := s.Frames(ctx, time.Time{}, time.Time{}, -1)
	defer it.Close()
	n := 0
	for it.Next() {
		if n++; n == 10_000 {
			cancel()
		}
	}
	if it.Err() != context.Canceled || n >= len(in) {
		t.Fatalf("after cancel: %d frames, err %v", n, it.Err())
	}
}

// TestFirstCommitEarly: the first frames after Open reach the disk after
// FirstCommitDelay, not after a whole CommitInterval; later ones wait for
// the interval.
func TestFirstCommitEarly(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, CommitInterval: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now()
	if err := s.AppendFrames([]can.Frame{{Time: t0.UnixNano(), ID: 0x100, Len: 1}}); err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		ro, err := Open(Options{Dir: dir, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		n, err := ro.CountFrames(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(3 * time.Second)
	for count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first frame not committed within 3 s (commit interval 10 s)")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(t0); d < FirstCommitDelay {
		t.Errorf("committed after %v, before the delay", d)
	}
	if err := s.AppendFrames([]can.Frame{{Time: t0.Add(time.Second).UnixNano(), ID: 0x100, Len: 1}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * FirstCommitDelay)
	if n := count(); n != 1 {
		t.Errorf("%d frames on disk; the second append should wait for the interval", n)
	}
}
