package store

import (
	"fmt"
	"slices"
	"time"
)

// Pin keeps the frames and 1 s signal summaries of [From, To] from
// eviction until it is unpinned or expires.
type Pin struct {
	ID       int64
	From, To time.Time
	Reason   string    // e.g. "service request 4711", "fault P0A7F"
	Expires  time.Time // zero: never
	Created  time.Time
}

// Pin protects the window [from, to] and returns the pin's id. A zero
// expires never expires. The pin takes effect at once for eviction and is
// committed with the next commit.
func (s *Store) Pin(from, to time.Time, reason string, expires time.Time) (int64, error) {
	if s.opts.ReadOnly {
		return 0, ErrReadOnly
	}
	if to.Before(from) {
		return 0, fmt.Errorf("store: pin ends (%v) before it starts (%v)", to, from)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	p := Pin{ID: s.nextIDs.pin, From: from, To: to, Reason: reason, Expires: expires, Created: s.opts.Now()}
	s.nextIDs.pin++
	s.pins = append(s.pins, p)
	s.buf.pinAdds = append(s.buf.pinAdds, p)
	s.mu.Unlock()
	s.kickCommit()
	return p.ID, nil
}

// Unpin removes a pin (for example once its window is uploaded). Unknown
// ids are ignored.
func (s *Store) Unpin(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.unpinLocked(id)
	return nil
}

func (s *Store) unpinLocked(id int64) {
	i := slices.IndexFunc(s.pins, func(p Pin) bool { return p.ID == id })
	if i < 0 {
		return
	}
	s.pins = slices.Delete(s.pins, i, i+1)
	if j := slices.IndexFunc(s.buf.pinAdds, func(p Pin) bool { return p.ID == id }); j >= 0 {
		s.buf.pinAdds = slices.Delete(s.buf.pinAdds, j, j+1)
		return
	}
	s.buf.pinDels = append(s.buf.pinDels, id)
}

// ExpirePins removes the pins that expired at or before now and returns
// how many. Every commit also calls it with the Store's clock.
func (s *Store) ExpirePins(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expireLocked(now)
}

func (s *Store) expireLocked(now time.Time) int {
	var ids []int64
	for _, p := range s.pins {
		if !p.Expires.IsZero() && !p.Expires.After(now) {
			ids = append(ids, p.ID)
		}
	}
	for _, id := range ids {
		s.unpinLocked(id)
	}
	return len(ids)
}

// Pins returns the active pins.
func (s *Store) Pins() []Pin {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pins)
}

// window is a pinned interval in unix ns, both ends included.
type window struct{ from, to int64 }

// pinWindows returns the active pins as merged, sorted windows.
func (s *Store) pinWindows() []window {
	s.mu.Lock()
	ws := make([]window, 0, len(s.pins))
	for _, p := range s.pins {
		ws = append(ws, window{p.From.UnixNano(), p.To.UnixNano()})
	}
	s.mu.Unlock()
	slices.SortFunc(ws, func(a, b window) int {
		switch {
		case a.from < b.from:
			return -1
		case a.from > b.from:
			return 1
		}
		return 0
	})
	out := ws[:0]
	for _, w := range ws {
		if n := len(out); n > 0 && w.from <= out[n-1].to {
			out[n-1].to = max(out[n-1].to, w.to)
			continue
		}
		out = append(out, w)
	}
	return out
}

// pinned reports whether [from, to] overlaps any of ws.
func pinned(ws []window, from, to int64) bool {
	for _, w := range ws {
		if w.from <= to && from <= w.to {
			return true
		}
	}
	return false
}
