package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Event is something worth keeping: a diagnosis, a DTC snapshot, a voice
// command, a service access.
type Event struct {
	ID       int64     // set by AddEvent
	Time     time.Time // zero: the Store's clock at AddEvent
	Kind     string    // e.g. "diagnosis", "dtc", "voice", "service"; required
	Severity int       // caller-defined scale
	Source   string    // what produced it
	Body     []byte    // JSON
}

// AddEvent buffers ev for the next commit and returns its id.
func (s *Store) AddEvent(ev Event) (int64, error) {
	if s.opts.ReadOnly {
		return 0, ErrReadOnly
	}
	if ev.Kind == "" {
		return 0, errors.New("store: event without kind")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if ev.Time.IsZero() {
		ev.Time = s.opts.Now()
	}
	ev.ID = s.nextIDs.event
	s.nextIDs.event++
	ev.Body = append([]byte(nil), ev.Body...)
	s.buf.events = append(s.buf.events, ev)
	return ev.ID, nil
}

// EventIter streams events in time order (ties by id), like FrameIter.
type EventIter struct {
	s        *Store
	ctx      context.Context
	from, to int64
	kind     string
	curT     int64
	curID    int64
	page     []Event
	pi       int
	ev       Event
	err      error
	done     bool
}

const eventPage = 256

// Events returns an iterator over the committed events with from <= Time
// < to, of one kind ("" for all). A zero from or to is unbounded.
func (s *Store) Events(ctx context.Context, from, to time.Time, kind string) *EventIter {
	return &EventIter{
		s:     s,
		ctx:   ctx,
		from:  timeNS(from, math.MinInt64),
		to:    timeNS(to, math.MaxInt64),
		kind:  kind,
		curT:  math.MinInt64,
		curID: math.MinInt64,
	}
}

// After makes the iterator start after the event at t with id: the last
// event of the previous page, for paging through a long window. Call it
// before the first Next.
func (it *EventIter) After(t time.Time, id int64) *EventIter {
	it.curT, it.curID = t.UnixNano(), id
	return it
}

// Next advances to the next event.
func (it *EventIter) Next() bool {
	for it.pi >= len(it.page) {
		if it.err != nil || it.done {
			return false
		}
		it.fetch()
	}
	it.ev = it.page[it.pi]
	it.pi++
	return true
}

func (it *EventIter) fetch() {
	if err := it.ctx.Err(); err != nil {
		it.err = err
		return
	}
	q := `SELECT id, t, kind, severity, source, body FROM events
		WHERE t >= ? AND t < ? AND (t > ? OR id > ?)`
	args := []any{max(it.from, it.curT), it.to, it.curT, it.curID}
	if it.kind != "" {
		q += " AND kind = ?"
		args = append(args, it.kind)
	}
	q += " ORDER BY t, id LIMIT ?"
	args = append(args, eventPage)
	rows, err := it.s.db.QueryContext(it.ctx, q, args...)
	if err != nil {
		it.err = fmt.Errorf("store: events: %w", err)
		return
	}
	it.page, it.pi = it.page[:0], 0
	for rows.Next() {
		var ev Event
		var t int64
		if err := rows.Scan(&ev.ID, &t, &ev.Kind, &ev.Severity, &ev.Source, &ev.Body); err != nil {
			rows.Close()
			it.err = fmt.Errorf("store: events: %w", err)
			return
		}
		ev.Time = time.Unix(0, t)
		it.page = append(it.page, ev)
	}
	if err := closeRows(rows); err != nil {
		it.err = fmt.Errorf("store: events: %w", err)
		return
	}
	if len(it.page) < eventPage {
		it.done = true
	}
	if n := len(it.page); n > 0 {
		it.curT, it.curID = it.page[n-1].Time.UnixNano(), it.page[n-1].ID
	}
}

// Event returns the current event.
func (it *EventIter) Event() Event { return it.ev }

// Err returns the error that ended the iteration, if any.
func (it *EventIter) Err() error { return it.err }

// Close releases the iterator and returns Err.
func (it *EventIter) Close() error {
	it.done = true
	it.page = nil
	return it.err
}
