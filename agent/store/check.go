package store

import (
	"context"
	"fmt"
	"strings"
)

// IntegrityCheck runs SQLite's PRAGMA integrity_check and returns nil when
// it reports "ok", else an error with its findings.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("store: integrity_check: %w", err)
	}
	defer rows.Close()
	var res []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("store: integrity_check: %w", err)
		}
		res = append(res, line)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: integrity_check: %w", err)
	}
	if len(res) == 1 && res[0] == "ok" {
		return nil
	}
	return fmt.Errorf("store: integrity_check: %s", strings.Join(res, "; "))
}

// CountFrames returns the number of committed frames, from the block
// headers (no decoding).
func (s *Store) CountFrames(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(sum(n), 0) FROM frame_blocks").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count frames: %w", err)
	}
	return n, nil
}

// Pending is the number of frames buffered for the next commit. A replay
// that must not lose frames waits while it is high (backpressure); live
// buses do not wait, and the store drops the oldest buffered frames past
// Options.MaxPending (counted in Stats.DroppedFrames).
func (s *Store) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.frames
}
