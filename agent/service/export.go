// Package service is what the service centre reaches: exports of the
// recorded history (and, with the service-API work, the HTTPS API and the
// repair report). Exports here are shared by the `evedge logs export`
// command and the API so both give the same bytes.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/evedge/evedge/drivers/can"
)

// FrameIterator is the shape of the store's frame query (agent/store
// FrameIter): Next, Frame, Err.
type FrameIterator interface {
	Next() bool
	Frame() can.Frame
	Err() error
}

// ExportStats count what an export wrote.
type ExportStats struct {
	Frames  uint64 // frames written
	Skipped uint64 // frames the format cannot represent (remote/error frames in GVRET CSV)
	First   int64  // time of the first frame written (unix ns), 0 if none
	Last    int64  // time of the last frame written
}

// ExportFrames writes the frames of it to w in format f. Frames the format
// cannot represent are counted in Skipped, not fatal. It stops with
// ctx.Err() when ctx is done.
func ExportFrames(ctx context.Context, it FrameIterator, w io.Writer, f can.Format) (ExportStats, error) {
	var st ExportStats
	lw, err := can.NewWriter(w, f)
	if err != nil {
		return st, err
	}
	for it.Next() {
		if st.Frames&0x3FF == 0 && ctx.Err() != nil {
			return st, ctx.Err()
		}
		fr := it.Frame()
		if err := lw.WriteFrame(fr); err != nil {
			if errors.Is(err, can.ErrNotRepresentable) {
				st.Skipped++
				continue
			}
			return st, fmt.Errorf("export: %w", err)
		}
		if st.Frames == 0 {
			st.First = fr.Time
		}
		st.Last = fr.Time
		st.Frames++
	}
	if err := it.Err(); err != nil {
		return st, fmt.Errorf("export: reading the history: %w", err)
	}
	if err := lw.Close(); err != nil {
		return st, fmt.Errorf("export: %w", err)
	}
	return st, nil
}
