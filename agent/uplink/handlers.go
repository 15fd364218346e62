package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/evedge/evedge/agent/service"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/drivers/can"
)

// HealthHandler answers "health": a report of the window so far, now.
func HealthHandler(rep *Reporter) Handler {
	return func(context.Context, *Uplink, Request) (any, error) {
		env, err := rep.Report()
		if err != nil {
			return nil, err
		}
		return map[string]any{"health_id": env.ID, "seq": env.Seq}, nil
	}
}

// Log upload limits.
const (
	// ChunkData is the raw data per chunk: base64 makes it 96 KB, and with
	// the envelope a chunk stays under 100 KB.
	ChunkData = 72 << 10
	// MaxUpload bounds one upload's compressed size: ask for shorter
	// windows beyond it.
	MaxUpload = 32 << 20
	// MaxLogWindow bounds the time window of one request.
	MaxLogWindow = 24 * time.Hour
	// uploadQueue is how many chunks may wait in the outbox at once, so an
	// upload never crowds out events and health reports.
	uploadQueue = 8
)

// LogsHandler answers "logs": the frames of a time window, exported in
// the requested format, zstd-compressed, sent as chunks of at most 100 KB
// on resp/<request-id> with bulk priority. args.from_chunk resumes an
// interrupted upload (the export of a window is deterministic).
func LogsHandler(st *store.Store) Handler {
	return func(ctx context.Context, u *Uplink, r Request) (any, error) {
		var a LogArgs
		if len(r.Args) > 0 {
			if err := json.Unmarshal(r.Args, &a); err != nil {
				return nil, fmt.Errorf("args: %v", err)
			}
		}
		if a.From.IsZero() || a.To.IsZero() || !a.To.After(a.From) {
			return nil, errors.New("args: want from < to (RFC 3339)")
		}
		if a.To.Sub(a.From) > MaxLogWindow {
			return nil, fmt.Errorf("args: window of %v over the %v limit", a.To.Sub(a.From), MaxLogWindow)
		}
		if a.Format == "" {
			a.Format = "candump"
		}
		f, err := can.ParseFormat(a.Format)
		if err != nil {
			return nil, fmt.Errorf("args: %v", err)
		}
		bus := -1
		if a.Bus != nil {
			bus = *a.Bus
		}
		var buf bytes.Buffer
		zw, err := zstd.NewWriter(&limitWriter{w: &buf, n: MaxUpload}, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			return nil, err
		}
		res, err := service.ExportFrames(ctx, st.Frames(ctx, a.From, a.To, bus), zw, f)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		data := buf.Bytes()
		chunks := max(1, (len(data)+ChunkData-1)/ChunkData)
		if a.FromChunk < 0 || a.FromChunk >= chunks {
			return nil, fmt.Errorf("args: from_chunk %d: the upload has %d chunks", a.FromChunk, chunks)
		}
		topic := Topic(u.o.Vehicle, KindResponse, r.ID)
		go func() {
			for i := a.FromChunk; i < chunks; i++ {
				for st.Stats().Outbox.Rows >= uploadQueue {
					select {
					case <-ctx.Done():
						return
					case <-time.After(200 * time.Millisecond):
					}
				}
				part := data[i*ChunkData : min(len(data), (i+1)*ChunkData)]
				_, err := u.Publish(KindResponse, SchemaLogChunk, topic, store.PriorityBulk, func(env Envelope) any {
					c := LogChunk{Envelope: env, Request: r.ID, Chunk: i, Chunks: chunks, Last: i == chunks-1,
						Format: a.Format, Compression: "zstd", Data: part}
					if c.Last {
						c.Frames = int64(res.Frames)
					}
					return c
				})
				if err != nil {
					u.o.Logger.Error("uplink: log upload", "request", r.ID, "chunk", i, "err", err)
					return
				}
			}
		}()
		// The chunks are the answer; no separate response.
		return nil, nil
	}
}

// limitWriter fails once more than n bytes were written.
type limitWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.w.Len()+len(p) > l.n {
		return 0, fmt.Errorf("upload over %d MiB compressed: ask for a shorter window or one bus", l.n>>20)
	}
	return l.w.Write(p)
}

// DTCHandler answers "dtc" with what read returns (trouble codes read now).
func DTCHandler(read func(ctx context.Context) (any, error)) Handler {
	return func(ctx context.Context, _ *Uplink, _ Request) (any, error) {
		if read == nil {
			return nil, errors.New("no diagnostic port configured on this car")
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return read(ctx)
	}
}
