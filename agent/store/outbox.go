package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Outbox priorities: lower values are sent first.
const (
	PriorityUrgent = 0  // fault events
	PriorityNormal = 10 // health reports
	PriorityBulk   = 20 // log uploads
)

// OutMsg is an MQTT message waiting in the outbox.
type OutMsg struct {
	ID       int64  // set by Enqueue; grows, never reused
	Kind     string // messages of one kind leave in the order they came
	Priority int    // lower first; see NextBatch
	Topic    string
	Payload  []byte
	QoS      byte
	Retain   bool
	Time     time.Time // zero: the Store's clock at Enqueue
}

// Enqueue buffers m for the next commit and returns its id.
func (s *Store) Enqueue(m OutMsg) (int64, error) {
	if s.opts.ReadOnly {
		return 0, ErrReadOnly
	}
	if m.Topic == "" {
		return 0, errors.New("store: outbox message without topic")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if m.Time.IsZero() {
		m.Time = s.opts.Now()
	}
	m.ID = s.nextIDs.outbox
	s.nextIDs.outbox++
	m.Payload = append([]byte(nil), m.Payload...)
	s.buf.outbox = append(s.buf.outbox, m)
	return m.ID, nil
}

// NextBatch returns up to n unacknowledged messages, most urgent first:
// ordered by priority, then id, except that a message never overtakes an
// earlier one of the same kind (an earlier message inherits the best
// priority of the later ones of its kind). It commits buffered messages
// first, so a message is returned only once it survives a crash. Messages
// stay in the outbox, and come back from NextBatch, until acknowledged.
func (s *Store) NextBatch(n int) ([]OutMsg, error) {
	if n <= 0 {
		return nil, nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	waiting := len(s.buf.outbox) > 0
	s.mu.Unlock()
	if waiting {
		if err := s.commit(false); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	acked := len(s.buf.acks)
	s.mu.Unlock()
	// First the order, from the (kind, id, priority) index alone; then the
	// payloads of just those messages. Ordering with the payloads joined
	// made SQLite read every payload of a long outbox on each call.
	idRows, err := s.db.Query(`WITH o AS (
			SELECT id, min(priority) OVER (PARTITION BY kind ORDER BY id DESC) AS eff FROM outbox)
		SELECT id FROM o ORDER BY eff, id LIMIT ?`, n+acked)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	var ids []any
	pos := map[int64]int{}
	for idRows.Next() {
		var id int64
		if err := idRows.Scan(&id); err != nil {
			idRows.Close()
			return nil, fmt.Errorf("store: outbox: %w", err)
		}
		pos[id] = len(ids)
		ids = append(ids, id)
	}
	if err := closeRows(idRows); err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.db.Query(`SELECT id, kind, priority, topic, payload, qos, retain, t FROM outbox WHERE id IN (?`+
		strings.Repeat(",?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	out := make([]OutMsg, len(ids))
	found := 0
	for rows.Next() {
		var m OutMsg
		var t int64
		if err := rows.Scan(&m.ID, &m.Kind, &m.Priority, &m.Topic, &m.Payload, &m.QoS, &m.Retain, &t); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: outbox: %w", err)
		}
		m.Time = time.Unix(0, t)
		out[pos[m.ID]] = m
		found++
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("store: outbox: %w", err)
	}
	if found != len(ids) {
		// Rows acknowledged (or evicted) between the two queries: keep the
		// ones still there, in order.
		k := 0
		for _, m := range out {
			if m.Topic != "" {
				out[k] = m
				k++
			}
		}
		out = out[:k]
	}
	// Drop the messages acknowledged since the last commit.
	s.mu.Lock()
	k := 0
	for _, m := range out {
		if _, ok := s.buf.ackSet[m.ID]; !ok && k < n {
			out[k] = m
			k++
		}
	}
	s.mu.Unlock()
	return out[:k], nil
}

// Ack removes messages from the outbox (at the next commit). Unknown ids
// are ignored.
func (s *Store) Ack(ids ...int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, id := range ids {
		// Not committed yet: just forget it.
		found := false
		for i := range s.buf.outbox {
			if s.buf.outbox[i].ID == id {
				s.buf.outbox = append(s.buf.outbox[:i], s.buf.outbox[i+1:]...)
				found = true
				break
			}
		}
		if found {
			continue
		}
		if s.buf.ackSet == nil {
			s.buf.ackSet = map[int64]struct{}{}
		}
		if _, ok := s.buf.ackSet[id]; !ok {
			s.buf.ackSet[id] = struct{}{}
			s.buf.acks = append(s.buf.acks, id)
		}
	}
	return nil
}
