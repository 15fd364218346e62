package diag

import (
	"math"
	"slices"
	"testing"
	"time"
)

// fakeBus is a bus whose signals arrive at fixed periods: a path's value
// arrives at every multiple of its period (from 0) while the path is on
// and the bus awake.
type fakeBus struct {
	period map[string]time.Duration
	off    map[string]time.Time // path silent from this time on
	sleep  [2]time.Time         // whole bus silent in [sleep[0], sleep[1])
	speed  float64
	cur    map[string]*arrivals
}

func (b *fakeBus) quiet(p string, t time.Time) bool {
	if o, ok := b.off[p]; ok && !t.Before(o) {
		return true
	}
	return !t.Before(b.sleep[0]) && t.Before(b.sleep[1])
}

// heard returns the last arrival at or before now and the count so far
// (walking the arrivals from where the previous call stopped).
func (b *fakeBus) heard(now time.Time) Heard {
	return func(p string) (time.Time, uint64, bool) {
		per, ok := b.period[p]
		if !ok {
			return time.Time{}, 0, false
		}
		if b.cur == nil {
			b.cur = map[string]*arrivals{}
		}
		a := b.cur[p]
		if a == nil || now.Before(a.at) {
			a = &arrivals{next: t0}
			b.cur[p] = a
		}
		a.at = now
		for ; !a.next.After(now); a.next = a.next.Add(per) {
			if !b.quiet(p, a.next) {
				a.last = a.next
				a.n++
			}
		}
		return a.last, a.n, a.n > 0
	}
}

type arrivals struct {
	next, last, at time.Time
	n              uint64
}

var t0 = time.Unix(1_800_000_000, 0)

func (b *fakeBus) read(now time.Time) Read {
	return func(p string) (float64, bool) {
		if p != "speed" || b.quiet(p, now) {
			return 0, false
		}
		return b.speed, true
	}
}

// watchRun steps w once a second from t0+from to t0+to (s) and returns the
// changes with their step times (s since t0).
func watchRun(w *SignalWatch, b *fakeBus, from, to int) (out []LostSignal, at []int) {
	var buf []LostSignal
	for s := from; s <= to; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		buf = w.Step(now, b.heard(now), b.read(now), buf)
		for _, c := range buf {
			out = append(out, c)
			at = append(at, s)
		}
	}
	return out, at
}

func newFakeBus() *fakeBus {
	return &fakeBus{period: map[string]time.Duration{
		"speed": 100 * time.Millisecond, "cell": 100 * time.Millisecond,
		"temp": time.Second, "iso": 2 * time.Second, "motor": 5 * time.Second,
	}, off: map[string]time.Time{}, speed: 50}
}

// TestSignalWatch: a signal that stops while the car drives is reported
// once its silence passes max(30 s, 10 periods), worked by hand; it is
// reported back when it returns.
func TestSignalWatch(t *testing.T) {
	b := newFakeBus()
	b.off["iso"] = t0.Add(200 * time.Second)   // last value at 198 s
	b.off["motor"] = t0.Add(302 * time.Second) // last at 300 s; 10 periods = 50 s
	w := NewSignalWatch([]string{"speed", "cell", "temp", "iso", "motor"}, "speed")
	got, at := watchRun(w, b, 1, 400)
	// iso: silent from 198 s; 30 s (max(30, 10x2)) passed at 228.x: the
	// first whole second with silence > 30 s is 229. motor: from 300 s,
	// 50 s: 351.
	want := []struct {
		path string
		at   int
	}{{"iso", 229}, {"motor", 351}}
	if len(got) != len(want) {
		t.Fatalf("changes %v at %v, want %v", got, at, want)
	}
	for i, wnt := range want {
		c := got[i]
		if c.Path != wnt.path || !c.Lost || at[i] != wnt.at {
			t.Errorf("change %d: %s lost=%v at %d s, want %s lost at %d s", i, c.Path, c.Lost, at[i], wnt.path, wnt.at)
		}
	}
	if math.Abs(got[0].Period-2) > 1e-9 || got[0].Timeout != 30 || math.Abs(got[0].Silent-31) > 1e-9 {
		t.Errorf("iso: period %v timeout %v silent %v, want 2, 30, 31", got[0].Period, got[0].Timeout, got[0].Silent)
	}
	if math.Abs(got[1].Period-5) > 1e-9 || got[1].Timeout != 50 {
		t.Errorf("motor: period %v timeout %v, want 5, 50", got[1].Period, got[1].Timeout)
	}
	if l := w.Lost(); !slices.Equal(l, []string{"iso", "motor"}) {
		t.Errorf("Lost() = %v", l)
	}
	// iso is switched back on after the step at 400 s: its next value
	// arrives at 402 s (every 2 s) and is reported back then.
	delete(b.off, "iso")
	got, at = watchRun(w, b, 401, 520)
	if len(got) != 1 || got[0].Path != "iso" || got[0].Lost || at[0] != 402 {
		t.Errorf("after iso returns: %v at %v, want iso back at 402 s", got, at)
	}
}

// TestSignalWatchQuiet: nothing is reported for a bus that sleeps, a car
// standing still, or a signal never established; a signal that does not
// come back after a sleep is reported once the car has driven its timeout.
func TestSignalWatchQuiet(t *testing.T) {
	b := newFakeBus()
	b.sleep = [2]time.Time{t0.Add(300 * time.Second), t0.Add(4000 * time.Second)}
	w := NewSignalWatch([]string{"speed", "cell", "temp", "iso", "motor"}, "speed")
	if got, at := watchRun(w, b, 1, 4500); len(got) != 0 {
		t.Errorf("sleeping bus: %v at %v", got, at)
	}
	// Standing still (speed 0): a signal stopping is not reported...
	b.speed = 0
	b.off["temp"] = t0.Add(4600 * time.Second)
	if got, at := watchRun(w, b, 4501, 5000); len(got) != 0 {
		t.Errorf("standing car: %v at %v", got, at)
	}
	// ...until the car has driven more than max(30 s, 10 x 1 s) since it
	// set off at 5001 s: 5032 s.
	b.speed = 30
	got, at := watchRun(w, b, 5001, 5100)
	if len(got) != 1 || got[0].Path != "temp" || at[0] != 5032 {
		t.Errorf("driving off: %v at %v, want temp lost at 5032 s", got, at)
	}
	// After a sleep the IMD never comes back: reported more than 30 s
	// after the bus wakes (4000 s) with the car moving: 4031 s.
	b2 := newFakeBus()
	b2.sleep = [2]time.Time{t0.Add(300 * time.Second), t0.Add(4000 * time.Second)}
	b2.off["iso"] = t0.Add(300 * time.Second)
	w2 := NewSignalWatch([]string{"speed", "cell", "temp", "iso", "motor"}, "speed")
	got, at = watchRun(w2, b2, 1, 4100)
	if len(got) != 1 || got[0].Path != "iso" || at[0] != 4031 {
		t.Errorf("iso silent after a sleep: %v at %v, want lost at 4031 s", got, at)
	}
	// A signal seen fewer than 5 times is never reported.
	b3 := newFakeBus()
	b3.off["motor"] = t0.Add(20 * time.Second) // 0, 5, 10, 15: 3 intervals
	w3 := NewSignalWatch([]string{"speed", "cell", "temp", "iso", "motor"}, "speed")
	if got, at := watchRun(w3, b3, 1, 600); len(got) != 0 {
		t.Errorf("unestablished signal: %v at %v", got, at)
	}
	// Time going back forgets everything.
	w.Step(t0, b.heard(t0), b.read(t0), nil)
	if l := w.Lost(); len(l) != 0 {
		t.Errorf("after time went back: lost %v", l)
	}
}

func TestWatchedPaths(t *testing.T) {
	all := WatchedPaths(func(string) bool { return true })
	if slices.Contains(all, ModelInputPaths[InCharging]) || slices.Contains(all, DefaultInputs.Brake[0]) {
		t.Errorf("watched paths include the charging or brake flag: %v", all)
	}
	if !slices.Contains(all, DefaultInputs.Insulation[0]) || !slices.Contains(all, ModelInputPaths[InSpeed]) {
		t.Errorf("watched paths lack insulation or speed: %v", all)
	}
	if none := WatchedPaths(func(string) bool { return false }); len(none) != 0 {
		t.Errorf("nothing mapped: %v", none)
	}
}

// BenchmarkSignalWatchStep: one second of data time for the watch over
// every rule and model input (the sim map provides them all), 10 values
// of each arriving per second.
func BenchmarkSignalWatchStep(b *testing.B) {
	paths := WatchedPaths(func(string) bool { return true })
	idx := map[string]int{}
	for i, p := range paths {
		idx[p] = i
	}
	last := make([]time.Time, len(paths))
	count := make([]uint64, len(paths))
	var now time.Time
	heard := func(p string) (time.Time, uint64, bool) {
		i, ok := idx[p]
		if !ok {
			return time.Time{}, 0, false
		}
		return last[i], count[i], true
	}
	read := func(string) (float64, bool) { return 50, true }
	w := NewSignalWatch(paths, ModelInputPaths[InSpeed])
	var out []LostSignal
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = t0.Add(time.Duration(i) * time.Second)
		for k := range paths {
			last[k] = now
			count[k] += 10
		}
		out = w.Step(now, heard, read, out)
	}
	if len(w.Lost()) != 0 {
		b.Fatal("lost signals on a healthy bus")
	}
	b.ReportMetric(float64(len(paths)), "paths")
}
