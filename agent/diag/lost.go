package diag

import (
	"slices"
	"time"
)

// Lost signals: an input the rules or the model read that stops arriving
// while the rest of the car goes on sending. The GB/T 32960.3 items do not
// cover it, and neither rules nor model can see it: a stale input is only
// "missing" to them (an insulation monitor that goes quiet raises no
// insulation alarm). Workshops know it as "lost communication" (the U
// trouble codes). SignalWatch reports it from the times the values arrive,
// without configuration: each signal's period is learnt from the bus.
//
// To stay quiet on healthy cars it reports a signal only when
//   - it was established: seen at least watchMinUpdates times, so its
//     period is known;
//   - it has been silent for longer than max(MinSilence, Periods × its
//     period), counted from when the car last began to move with the bus
//     awake (ECUs that sleep while the car is parked or charging, and come
//     back with it, are not lost);
//   - the car is moving (MovingPath above watchMovingSpeed within the last
//     watchMovingHold), and at least half of the other established signals
//     are fresh: a whole bus going to sleep is not a lost signal.

// Heard returns when path's value last arrived and how many values
// arrived since the start; ok is false when it never did.
type Heard func(path string) (last time.Time, count uint64, ok bool)

// LostSignal is a change of one watched signal: lost (Lost true) or back.
type LostSignal struct {
	Path      string    `json:"path"`
	Lost      bool      `json:"lost"`
	LastHeard time.Time `json:"last_heard"`
	Silent    float64   `json:"silent_s"` // how long it had been silent, s
	Period    float64   `json:"period_s"` // its usual period, s
	Timeout   float64   `json:"timeout_s"`
	Time      time.Time `json:"time"`
}

// SignalWatch watches signals for silence. Create it with NewSignalWatch;
// call Step once a second of data time, in order.
type SignalWatch struct {
	// MinSilence is the shortest silence reported (default 30 s) and
	// Periods the silence in usual periods (default 10), whichever is
	// longer.
	MinSilence time.Duration
	Periods    float64

	paths  []string
	moving string
	st     []watchState
	// awakeSince is when the current stretch of "awake and moving"
	// began; zero while not.
	awakeSince time.Time
	movedAt    time.Time
	lastStep   time.Time
}

type watchState struct {
	last    time.Time
	count   uint64
	updates int     // intervals measured
	period  float64 // EW mean interval, s
	lost    bool
}

const (
	watchMinUpdates  = 5
	watchMovingSpeed = 2.0 // km/h
	watchMovingHold  = 2 * time.Minute
	// watchGap: two values further apart than this are not one period
	// (the car slept in between).
	watchGap = time.Minute
)

// NewSignalWatch watches paths; moving is the vehicle speed path (km/h)
// that tells when the car is driving.
func NewSignalWatch(paths []string, moving string) *SignalWatch {
	return &SignalWatch{MinSilence: 30 * time.Second, Periods: 10, paths: slices.Clone(paths), moving: moving,
		st: make([]watchState, len(paths))}
}

// Paths returns the watched paths.
func (w *SignalWatch) Paths() []string { return slices.Clone(w.paths) }

// Reset forgets everything (data time went back: another log or a clock
// set back).
func (w *SignalWatch) Reset() {
	clear(w.st)
	w.awakeSince, w.movedAt, w.lastStep = time.Time{}, time.Time{}, time.Time{}
}

func (s *watchState) timeout(w *SignalWatch) time.Duration {
	return max(w.MinSilence, time.Duration(w.Periods*s.period*float64(time.Second)))
}

// fresh: heard within three periods (at least 2 s).
func (s *watchState) fresh(now time.Time) bool {
	return now.Sub(s.last) <= max(2*time.Second, time.Duration(3*s.period*float64(time.Second)))
}

// Step updates the watch at now from heard and read (the moving path's
// value), appending the changes to out (reused) and returning it.
func (w *SignalWatch) Step(now time.Time, heard Heard, read Read, out []LostSignal) []LostSignal {
	out = out[:0]
	if now.Before(w.lastStep) {
		w.Reset() // time went back: another log or a clock set back
	}
	w.lastStep = now
	for i, p := range w.paths {
		s := &w.st[i]
		last, n, ok := heard(p)
		if !ok || n <= s.count {
			continue
		}
		if !s.last.IsZero() && last.Before(s.last) {
			w.Reset() // the signal's time went back
			w.lastStep = now
			return out
		}
		if s.count > 0 && last.Sub(s.last) <= watchGap {
			iv := last.Sub(s.last).Seconds() / float64(n-s.count)
			if s.updates == 0 {
				s.period = iv
			} else {
				s.period += 0.1 * (iv - s.period)
			}
			s.updates++
		}
		s.last, s.count = last, n
		if s.lost {
			s.lost = false
			out = append(out, LostSignal{Path: p, Lost: false, LastHeard: last, Period: s.period, Timeout: s.timeout(w).Seconds(), Time: now})
		}
	}
	if v, ok := read(w.moving); ok && v >= watchMovingSpeed {
		w.movedAt = now
	}
	moving := !w.movedAt.IsZero() && now.Sub(w.movedAt) <= watchMovingHold
	est, fresh := 0, 0
	for i := range w.st {
		if s := &w.st[i]; s.updates >= watchMinUpdates {
			est++
			if s.fresh(now) {
				fresh++
			}
		}
	}
	awake := moving && est > 0 && 2*fresh >= est
	switch {
	case !awake:
		w.awakeSince = time.Time{}
		return out
	case w.awakeSince.IsZero():
		w.awakeSince = now
	}
	for i, p := range w.paths {
		s := &w.st[i]
		if s.lost || s.updates < watchMinUpdates || s.fresh(now) {
			continue
		}
		// The others: at least half of them fresh.
		if 2*fresh < est-1 {
			continue
		}
		from := s.last
		if w.awakeSince.After(from) {
			from = w.awakeSince
		}
		if silent, to := now.Sub(from), s.timeout(w); silent > to {
			s.lost = true
			out = append(out, LostSignal{Path: p, Lost: true, LastHeard: s.last, Silent: now.Sub(s.last).Seconds(), Period: s.period, Timeout: to.Seconds(), Time: now})
		}
	}
	return out
}

// Lost lists the signals now lost.
func (w *SignalWatch) Lost() []string {
	var out []string
	for i, p := range w.paths {
		if w.st[i].lost {
			out = append(out, p)
		}
	}
	return out
}

// WatchedPaths returns the inputs of the rules and the model that a
// vehicle's signal map provides (mapped), without those that come and go
// by design (charging state and the brake flag, sent on change by many
// cars): the signals SignalWatch should watch.
func WatchedPaths(mapped func(path string) bool) []string {
	var out []string
	add := func(p string) {
		if mapped(p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	in := DefaultInputs
	for _, ps := range [][]string{in.SOC, in.PackV, in.PackI, in.CellMax, in.CellMin, in.TempMax, in.TempMin,
		in.Insulation, in.DCDCTemp, in.DCDCState, in.InverterTemp, in.MotorTemp, in.HVIL, in.LinkV} {
		for _, p := range ps {
			add(p)
		}
	}
	for i, p := range ModelInputPaths {
		if i != InCharging {
			add(p)
		}
	}
	return out
}

// SignalLostID is the knowledge-base id of a lost signal.
const SignalLostID = "signal_lost"
