package store

import (
	"database/sql"
	"errors"
	"time"
)

// Named counters, outbox sequences and request nonces live in the meta
// table and are written in the same transaction as the rows they go with.

const (
	metaSeqPrefix     = "seq:"
	metaCounterPrefix = "ctr:"
	metaNoncePrefix   = "nonce:"
)

// counterLocked returns the current value of a meta-backed counter,
// loading it on first use. mu must be held.
func (s *Store) counterLocked(key string) (int64, error) {
	if v, ok := s.buf.metas[key]; ok {
		return v, nil
	}
	if v, ok := s.ctrs[key]; ok {
		return v, nil
	}
	// The committed value, read through a reader connection: the writer
	// connection belongs to the commit (wmu), which may be running.
	var v int64
	err := s.db.QueryRowContext(s.ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if s.ctrs == nil {
		s.ctrs = map[string]int64{}
	}
	s.ctrs[key] = v
	return v, nil
}

func (s *Store) setCounterLocked(key string, v int64) {
	if s.buf.metas == nil {
		s.buf.metas = map[string]int64{}
	}
	s.buf.metas[key] = v
	if s.ctrs == nil {
		s.ctrs = map[string]int64{}
	}
	s.ctrs[key] = v
}

// EnqueueSeq enqueues a message that carries a sequence number: build gets
// the next number of the named sequence (1, 2, 3 ... per name, never
// reused) and returns the payload. The number and the message are
// committed together, so a crash can lose both but never leaves a gap.
func (s *Store) EnqueueSeq(m OutMsg, seq string, build func(seq int64) ([]byte, error)) (id, n int64, err error) {
	if s.opts.ReadOnly {
		return 0, 0, ErrReadOnly
	}
	if m.Topic == "" {
		return 0, 0, errors.New("store: outbox message without topic")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, 0, ErrClosed
	}
	key := metaSeqPrefix + seq
	cur, err := s.counterLocked(key)
	if err != nil {
		return 0, 0, err
	}
	n = cur + 1
	if m.Payload, err = build(n); err != nil {
		return 0, 0, err
	}
	s.setCounterLocked(key, n)
	if m.Time.IsZero() {
		m.Time = s.opts.Now()
	}
	m.ID = s.nextIDs.outbox
	s.nextIDs.outbox++
	s.buf.outbox = append(s.buf.outbox, m)
	// Commit soon rather than at the next interval: a report must survive
	// a power cut that comes right after it was made.
	s.kickCommit()
	return m.ID, n, nil
}

// Seq returns the last number handed out by a sequence (0: none yet).
func (s *Store) Seq(name string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	return s.counterLocked(metaSeqPrefix + name)
}

// AddCounter adds delta to a named counter and returns the new value. It
// is written with the next commit (a crash loses at most CommitInterval of
// additions).
func (s *Store) AddCounter(name string, delta int64) (int64, error) {
	if s.opts.ReadOnly {
		return 0, ErrReadOnly
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	key := metaCounterPrefix + name
	v, err := s.counterLocked(key)
	if err != nil {
		return 0, err
	}
	v += delta
	s.setCounterLocked(key, v)
	return v, nil
}

// Counter returns a named counter's value (0 when never set).
func (s *Store) Counter(name string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	return s.counterLocked(metaCounterPrefix + name)
}

// UseNonce records a request nonce until expires and reports whether it
// was new. A nonce seen before (and not yet expired) returns false: the
// request is a replay. The record is committed at once, so a request is
// never run twice across a crash.
func (s *Store) UseNonce(nonce string, expires time.Time) (bool, error) {
	if s.opts.ReadOnly {
		return false, ErrReadOnly
	}
	if nonce == "" || len(nonce) > 200 {
		return false, errors.New("store: nonce must be 1..200 bytes")
	}
	s.mu.Lock()
	key := metaNoncePrefix + nonce
	exp, err := s.counterLocked(key)
	if err != nil {
		s.mu.Unlock()
		return false, err
	}
	now := s.opts.Now()
	if exp != 0 && exp >= now.UnixNano() {
		s.mu.Unlock()
		return false, nil
	}
	s.setCounterLocked(key, expires.UnixNano())
	s.mu.Unlock()
	return true, s.commit(false)
}

// ExpireNonces forgets nonces whose requests expired before now (they can
// no longer be replayed: the expiry check refuses them first).
func (s *Store) ExpireNonces(now time.Time) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	s.mu.Lock()
	for k, v := range s.ctrs {
		if len(k) > len(metaNoncePrefix) && k[:len(metaNoncePrefix)] == metaNoncePrefix && v < now.UnixNano() {
			delete(s.ctrs, k)
		}
	}
	s.mu.Unlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.shut {
		return ErrClosed
	}
	_, err := s.exec("DELETE FROM meta WHERE key >= ? AND key < ? AND value < ?", metaNoncePrefix, "nonce;", now.UnixNano())
	return err
}
