package dialog

import (
	"math"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/audio"
)

// Reason is why an action was refused; "" when it was not. The reply's
// text for it comes from the context: "not_allowed_<kind>" for
// ReasonNotAllowed and ReasonUnsupported, else "refused" with {reason}
// filled from "reason_<Reason>".
type Reason string

// Refusal reasons, in the order the gate checks them.
const (
	ReasonUnsupported      Reason = "unsupported"        // the vehicle's DBC has no such command message
	ReasonNotAllowed       Reason = "not_allowed"        // the board profile's [[can_write]] does not allow it
	ReasonSpeedUnknown     Reason = "speed_unknown"      // speed not reported, or older than max_age.safety
	ReasonGearUnknown      Reason = "gear_unknown"       // gear not reported, or older than max_age.safety
	ReasonReverse          Reason = "reverse"            // reversing, for the kinds gates.reverse lists
	ReasonBoardSpeed       Reason = "board_speed"        // faster than the board's max_speed_kmh for the message
	ReasonSpeed            Reason = "speed"              // opening a window faster than gates.window_open_max_kmh
	ReasonChildLock        Reason = "child_lock"         // opening a rear window with the child lock on
	ReasonChildLockUnknown Reason = "child_lock_unknown" // opening a rear window, child lock not known
	ReasonRateLimit        Reason = "rate_limit"         // sooner than the board's max_rate allows
	ReasonSendFailed       Reason = "send_failed"        // the sink refused the frame
)

// Reasons lists every refusal reason, in the gate's order.
func Reasons() []Reason {
	return []Reason{ReasonUnsupported, ReasonNotAllowed, ReasonSpeedUnknown, ReasonGearUnknown, ReasonReverse,
		ReasonBoardSpeed, ReasonSpeed, ReasonChildLock, ReasonChildLockUnknown, ReasonRateLimit, ReasonSendFailed}
}

// guard holds the board profile's allowed writes and when each was last
// used, for the rate limit.
type guard struct {
	writes []board.Write
	last   []time.Time
}

// entry returns the index of the [[can_write]] entry that allows message
// m, or -1. An entry with both id and message must match both.
func (g *guard) entry(m *signals.Message) int {
	for i, w := range g.writes {
		if w.Message == "" && w.ID == nil {
			continue
		}
		if w.Message != "" && w.Message != m.Name {
			continue
		}
		if w.ID != nil && *w.ID != m.ID {
			continue
		}
		return i
	}
	return -1
}

// read returns a fresh value of path: known, finite and at most maxAge old.
func (d *Dialogue) read(path string, maxAge time.Duration) (float64, bool) {
	if path == "" || d.state == nil {
		return 0, false
	}
	v, age, ok := d.state.Value(path)
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) || age > maxAge || age < -maxAge {
		return 0, false
	}
	return v, true
}

func (d *Dialogue) info(path string) (float64, bool) { return d.read(path, d.cfg.MaxAge.Info.Duration) }

func (d *Dialogue) safety(path string) (float64, bool) {
	return d.read(path, d.cfg.MaxAge.Safety.Duration)
}

// gate runs the safety checks for a plan (see the package comment). It
// returns the reason of the first failing check (and the speed limit it
// applied, for the refusal text), or "" and the [[can_write]] entry to use.
// With undo set (a cancellation), only the board's checks that cannot make
// a stop or a return to the previous setting unsafe apply: the allow-list
// and the rate limit.
func (d *Dialogue) gate(p *plan, zone audio.Zone, now time.Time, undo bool) (r Reason, limit float64, entry int) {
	if p.cmd.msg == nil {
		return ReasonUnsupported, 0, -1
	}
	entry = d.guard.entry(p.cmd.msg)
	if entry < 0 {
		return ReasonNotAllowed, 0, -1
	}
	w := d.guard.writes[entry]
	if !undo {
		speed, okSpeed := d.safety(d.cfg.Paths.Speed)
		if !okSpeed {
			return ReasonSpeedUnknown, 0, entry
		}
		speed = math.Abs(speed)
		gear, okGear := d.safety(d.cfg.Paths.Gear)
		if !okGear {
			return ReasonGearUnknown, 0, entry
		}
		if gear < 0 && d.reverseBlocks[p.kind] {
			return ReasonReverse, 0, entry
		}
		if w.MaxSpeedKmh > 0 && speed > w.MaxSpeedKmh {
			return ReasonBoardSpeed, w.MaxSpeedKmh, entry
		}
		if p.opens && speed > d.cfg.Gates.WindowOpenMaxKmh {
			return ReasonSpeed, d.cfg.Gates.WindowOpenMaxKmh, entry
		}
		if len(p.rear) > 0 && !d.exempt[zone] {
			if r := d.childLock(p.rear); r != "" {
				return r, 0, entry
			}
		}
	}
	if last := d.guard.last[entry]; !last.IsZero() {
		if gap := now.Sub(last); gap >= 0 && gap < time.Duration(float64(time.Second)/w.MaxRate) {
			return ReasonRateLimit, 0, entry
		}
	}
	return "", 0, entry
}

// childLock checks the child locks for opening the rear windows in rear
// (0 left, 1 right): the window child lock and that side's door child
// lock. A car that reports neither has no child lock gate.
func (d *Dialogue) childLock(rear []int) Reason {
	paths := []string{d.cfg.Paths.WindowLock}
	for _, side := range rear {
		if side == 0 {
			paths = append(paths, d.cfg.Paths.ChildLocks.RearLeft)
		} else {
			paths = append(paths, d.cfg.Paths.ChildLocks.RearRight)
		}
	}
	unknown := false
	for _, p := range paths {
		if p == "" {
			continue
		}
		v, ok := d.safety(p)
		switch {
		case !ok:
			unknown = true
		case v != 0:
			return ReasonChildLock
		}
	}
	if unknown {
		return ReasonChildLockUnknown
	}
	return ""
}
