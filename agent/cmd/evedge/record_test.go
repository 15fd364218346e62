package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/sim"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/wallclock"
	"github.com/evedge/evedge/drivers/can"
)

// TestRecorderHoldsUntilSaneClock: a board without RTC boots in 1970; the
// frames and values it records before NTP sets the clock are held and,
// once the clock is sane, stored at their true wall times (placed by the
// monotonic clock), not at 1970.
func TestRecorderHoldsUntilSaneClock(t *testing.T) {
	db, _, err := sim.LoadDBC("../../../board/sim/sim-ev.dbc")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: t.TempDir(), CommitInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Fake clocks: the wall clock starts at 1970 + 100 s and is stepped
	// to the real date by "NTP"; the monotonic clock runs steadily.
	var mono atomic.Int64
	var wall atomic.Int64
	var synced atomic.Bool
	wall.Store(time.Unix(100, 0).UnixNano())
	gate := wallclock.New(wallclock.Options{Min: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), RTC: false,
		Now: func() time.Time { return time.Unix(0, wall.Load()) }, Mono: func() time.Duration { return time.Duration(mono.Load()) },
		Synced: func() bool { return synced.Load() }})
	if gate.Sane() {
		t.Fatal("a 1970 clock is sane")
	}
	r := newStoreRecorder(st, db, false, gate)
	r.now = func() time.Time { return time.Unix(0, wall.Load()) }
	msg := db.Message("BMS_SOC")
	if msg == nil {
		t.Fatal("sim DBC has no BMS_SOC")
	}
	sig := msg.Signals[0]
	advance := func(d time.Duration) { mono.Add(int64(d)); wall.Add(int64(d)) }
	// Two frames 1 s apart before the clock is set, stamped at receipt.
	for i := range 2 {
		f := can.Frame{Time: wall.Load(), ID: msg.ID, Len: 8}
		r.AppendFrames([]can.Frame{f})
		r.RecordValues([]signals.Value{{Signal: sig, Value: float64(50 + i)}}, f.Time)
		advance(time.Second)
	}
	st.Flush()
	if n, _ := st.CountFrames(context.Background()); n != 0 {
		t.Fatalf("%d frames stored with an untrusted clock", n)
	}
	// NTP steps the clock to the real date one second later.
	advance(time.Second)
	real := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	wall.Store(real.UnixNano())
	synced.Store(true)
	if !gate.Check() {
		t.Fatal("clock not sane after the step")
	}
	f := can.Frame{Time: wall.Load(), ID: msg.ID, Len: 8}
	r.AppendFrames([]can.Frame{f})
	st.Flush()
	it := st.Frames(context.Background(), real.Add(-time.Hour), real.Add(time.Hour), -1)
	var got []time.Time
	for it.Next() {
		got = append(got, time.Unix(0, it.Frame().Time).UTC())
	}
	// The held frames were at mono 0 s and 1 s; the clock was found sane at
	// mono 3 s = real: so they belong at real-3 s and real-2 s.
	want := []time.Time{real.Add(-3 * time.Second), real.Add(-2 * time.Second), real}
	if len(got) != len(want) {
		t.Fatalf("stored frames at %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("frame %d at %v, want %v", i, got[i], want[i])
		}
	}
	name := sig.VSS()
	if name == "" {
		name = sig.FullName()
	}
	sit := st.Signals(context.Background(), name, real.Add(-time.Minute), real.Add(time.Minute), time.Second)
	n := 0
	for sit.Next() {
		if s := sit.Summary(); s.Time.Before(real.Add(-4*time.Second)) || s.Time.After(real) {
			t.Errorf("value summary at %v", s.Time)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d value summaries near the real time, want 2 (err %v)", n, sit.Err())
	}
}
