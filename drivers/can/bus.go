package can

import (
	"context"
	"sync"
)

// Bus is an in-process CAN bus: every frame written is delivered to every
// subscriber, in order. It stands in for the wire in the simulator and tests.
// A subscriber that falls behind by more than its buffer loses frames, which
// are counted (as a real controller's receive overrun would be) rather than
// blocking the writer.
type Bus struct {
	index uint8

	mu     sync.Mutex
	subs   []*BusReceiver
	closed bool
}

// NewBus returns a bus whose frames carry the given bus index.
func NewBus(index uint8) *Bus { return &Bus{index: index} }

// Index is the bus index stamped on every frame written.
func (b *Bus) Index() uint8 { return b.index }

// WriteFrame delivers f to all subscribers. It never blocks.
func (b *Bus) WriteFrame(f Frame) error {
	f.Bus = b.index
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrBusClosed
	}
	for _, s := range b.subs {
		select {
		case s.ch <- f:
		default:
			s.mu.Lock()
			s.dropped++
			s.mu.Unlock()
		}
	}
	return nil
}

// Close ends the bus: subscribers receive what is buffered, then stop.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for _, s := range b.subs {
		close(s.ch)
	}
}

// Subscribe returns a receiver of all frames written from now on. It stops
// when ctx is done or the bus is closed. buffer is the receive queue length
// (at least 1).
func (b *Bus) Subscribe(ctx context.Context, buffer int) *BusReceiver {
	if buffer < 1 {
		buffer = 1
	}
	r := &BusReceiver{ch: make(chan Frame, buffer), ctx: ctx}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(r.ch)
	} else {
		b.subs = append(b.subs, r)
	}
	return r
}

// ErrBusClosed is returned when writing to a closed Bus.
var ErrBusClosed = busError("can: bus closed")

type busError string

func (e busError) Error() string { return string(e) }

// BusReceiver is a Source of the frames on a Bus.
type BusReceiver struct {
	ch  chan Frame
	ctx context.Context
	f   Frame

	mu      sync.Mutex
	dropped uint64
}

// Receive waits for the next frame; false when the bus closed or ctx ended.
func (r *BusReceiver) Receive() bool {
	select {
	case f, ok := <-r.ch:
		if !ok {
			return false
		}
		r.f = f
		return true
	case <-r.ctx.Done():
		return false
	}
}

// Frame returns the frame read by the last Receive.
func (r *BusReceiver) Frame() Frame { return r.f }

// Err is always nil: a bus ends only by Close or cancellation.
func (r *BusReceiver) Err() error { return nil }

// Dropped counts frames lost because this receiver's buffer was full.
func (r *BusReceiver) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}
