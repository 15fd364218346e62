package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
)

// TestQuota feeds every class about ten times its quota and checks that
// the files stay within the total quota + 10% all along, that eviction
// took the oldest first, and that a pinned window survived.
func TestQuota(t *testing.T) {
	o := testOpts(t)
	o.Quotas = Quotas{Frames: 2 << 20, Signals: 512 << 10, Rollups: 8 << 10, Events: 256 << 10, Outbox: 256 << 10}
	total := o.Quotas.Total()
	start := int64(1_700_000_000) * 1e9
	secNS := func(sec int) int64 { return start + int64(sec)*1e9 }
	s := openStore(t, o)
	defer func() { mustClose(t, s) }()

	// Pin seconds 100..110 before any data arrives.
	pinFrom, pinTo := time.Unix(0, secNS(100)), time.Unix(0, secNS(110))
	if _, err := s.Pin(pinFrom, pinTo, "service request", time.Time{}); err != nil {
		t.Fatal(err)
	}

	seconds := 1150
	if raceEnabled {
		seconds = 800 // still over 5x the quota
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const perBus = 500
	var fed int64 // frames
	body := make([]byte, 1000)
	var maxFiles, maxDB, maxWAL int64
	for sec := range seconds {
		// Frames with random payloads (they do not compress), 4 buses.
		frames := make([]can.Frame, 0, 4*perBus)
		for i := range perBus {
			for bus := range 4 {
				f := can.Frame{Time: secNS(sec) + int64(i)*2_000_000 + int64(bus), Bus: uint8(bus), ID: uint32(0x100 + i%40), Len: 8}
				binary64(f.Data[:], rng.Uint64())
				frames = append(frames, f)
			}
		}
		// Sequence number of the frame in byte 0..3 of bus 0's first frame
		// of each second is not needed: times identify frames.
		if err := s.AppendFrames(frames); err != nil {
			t.Fatal(err)
		}
		fed += int64(len(frames))
		for sig := range 100 {
			s.AddValue(fmt.Sprintf("Sig.%03d", sig), secNS(sec)+int64(sig)*1e6, float64(sec*sig))
		}
		for range 2 {
			if _, err := s.AddEvent(Event{Time: time.Unix(0, secNS(sec)), Kind: "diagnosis", Source: "test", Body: body}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Enqueue(OutMsg{Kind: "health", Topic: "v/1/health", Payload: body}); err != nil {
				t.Fatal(err)
			}
		}
		mustFlush(t, s)
		db, wal := fileSizes(o.Dir)
		reserve := s.reserveOnDisk()
		maxFiles = max(maxFiles, db+wal+reserve)
		maxDB, maxWAL = max(maxDB, db), max(maxWAL, wal)
		if db+wal+reserve > total*11/10 {
			st := s.Stats()
			t.Fatalf("second %d: db %d + wal %d + reserve %d > 1.1 x quota %d; stats %+v", sec, db, wal, reserve, total, st)
		}
	}
	st := s.Stats()
	db, wal := fileSizes(o.Dir)
	t.Logf("quota %d B; fed %d frames, %d events, %d messages, %d values in %d s; db + wal + reserve file at most %d B (%.3f x quota; db at most %d, wal at most %d, reserve %d), now db %d + wal %d",
		total, fed, 2*seconds, 2*seconds, 100*seconds, seconds, maxFiles, float64(maxFiles)/float64(total), maxDB, maxWAL, s.reserveOnDisk(), db, wal)
	for _, c := range []struct {
		name string
		cs   ClassStats
	}{{"frames", st.Frames}, {"signals", st.Signals}, {"rollups", st.Rollups}, {"events", st.Events}, {"outbox", st.Outbox}} {
		t.Logf("%-8s %8d B (quota %8d) %7d rows, evicted %8d rows %9d B, over quota %v", c.name, c.cs.Bytes, c.cs.Quota, c.cs.Rows, c.cs.EvictedRows, c.cs.EvictedBytes, c.cs.OverQuota)
		if c.cs.EvictedBytes < 5*c.cs.Quota {
			t.Errorf("%s: evicted only %d bytes; the test did not feed enough", c.name, c.cs.EvictedBytes)
		}
		if float64(c.cs.Bytes)*st.Overhead > float64(c.cs.Quota)*1.02 {
			t.Errorf("%s: %d bytes x %.2f over quota %d", c.name, c.cs.Bytes, st.Overhead, c.cs.Quota)
		}
	}
	t.Logf("overhead ratio %.3f, pinned %d B, free %d B", st.Overhead, st.PinnedBytes, st.FreeBytes)

	// Frames: the pinned window is whole, with the rest of the blocks that
	// overlap it (each bus's block is one second here: bus 0's block of
	// second 110 starts at 110 s exactly, in the window); the others are
	// the newest ones without a gap (oldest evicted first).
	pinnedBlock := func(f can.Frame) bool {
		sec := (f.Time - start) / 1e9
		return sec >= 100 && sec < 110 || sec == 110 && f.Bus == 0
	}
	all := readFrames(t, s, time.Time{}, time.Time{}, -1)
	// Blocks are evicted whole, first written first: here bus 0..3 of
	// second 0, then of second 1 ... So the unpinned blocks left must be
	// a suffix of that order, each whole.
	type blockKey struct{ sec, bus int }
	kept := map[blockKey]int{}
	inPin := 0
	for _, f := range all {
		if pinnedBlock(f) {
			inPin++
			continue
		}
		kept[blockKey{int((f.Time - start) / 1e9), int(f.Bus)}]++
	}
	if want := 10*4*perBus + perBus; inPin != want {
		t.Errorf("%d frames in the pinned blocks, want %d", inPin, want)
	}
	if got := len(readFrames(t, s, pinFrom, pinTo.Add(1), -1)); got != 10*4*perBus+1 {
		t.Errorf("%d frames in the pinned window, want %d", got, 10*4*perBus+1)
	}
	first := -1
	for k := 0; k < 4*seconds; k++ {
		bk := blockKey{k / 4, k % 4}
		n, ok := kept[bk]
		if first < 0 && ok {
			first = k
		}
		if first >= 0 && n != perBus {
			t.Errorf("block (second %d, bus %d): %d frames, want %d: not oldest first", bk.sec, bk.bus, n, perBus)
		}
	}
	t.Logf("frames kept: %d in pinned blocks + the newest %d blocks (%.0f s of traffic)", inPin, 4*seconds-first, float64(4*seconds-first)/4)

	// 1 s summaries of the pinned window survived too.
	for _, name := range []string{"Sig.000", "Sig.099"} {
		got := readSummaries(t, s, name, pinFrom, pinTo, time.Second)
		if len(got) != 10 {
			t.Errorf("%s: %d summaries in the pinned window, want 10", name, len(got))
		}
	}
	// Events and messages: the newest, contiguous up to the last.
	ids := 0
	last := int64(0)
	it := s.Events(t.Context(), time.Time{}, time.Time{}, "")
	for it.Next() {
		ev := it.Event()
		if last != 0 && ev.ID != last+1 {
			t.Fatalf("event ids jump from %d to %d", last, ev.ID)
		}
		last = ev.ID
		ids++
	}
	it.Close()
	if last != int64(2*seconds) || ids == 0 || ids >= 2*seconds {
		t.Errorf("events: %d kept, last id %d", ids, last)
	}

	// Unpinning lets the window go at the next eviction.
	s.Unpin(1)
	for sec := seconds; sec < seconds+60; sec++ {
		frames := make([]can.Frame, 0, 4*perBus)
		for i := range 4 * perBus {
			f := can.Frame{Time: secNS(sec) + int64(i)*500_000, Bus: uint8(i % 4), ID: uint32(i % 40), Len: 8}
			binary64(f.Data[:], rng.Uint64())
			frames = append(frames, f)
		}
		s.AppendFrames(frames)
		mustFlush(t, s)
	}
	if n := len(readFrames(t, s, pinFrom, pinTo, -1)); n != 0 {
		t.Errorf("%d frames of the unpinned window left", n)
	}
	if st := s.Stats(); st.Pins != 0 || st.PinnedBytes != 0 {
		t.Errorf("pins %d, pinned bytes %d after Unpin", st.Pins, st.PinnedBytes)
	}
	reserve := s.reserveOnDisk()
	mustClose(t, s)
	if db, wal := fileSizes(o.Dir); db+wal+reserve > total*11/10 {
		t.Errorf("after Close: db %d + wal %d + reserve %d > 1.1 x %d", db, wal, reserve, total)
	}
	if r := integrity(t, o.Dir); r != "ok" {
		t.Errorf("integrity_check: %s", r)
	}
	s = openStore(t, o)
}

func binary64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}
