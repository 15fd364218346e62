// Package isotpcan carries OBD-II and UDS requests over ISO-TP (ISO 15765-2)
// directly on a CAN connection: a SocketCAN socket, the in-process can.Bus,
// anything that is a can.Source and a can.Sink. Transport implements
// obd.Transport; Serve plays one ECU, for tests and simulators.
//
// A Transport reads its source in one goroutine and hands the frames that
// can answer the request in flight to Do; other frames are dropped. Do calls
// are serialized. Physical requests (RxID set, or a TxID whose answer id
// obd.ResponseID derives) end as soon as that ECU has answered; functional
// requests (0x7DF, 0x18DB33F1) collect the answers of 0x7E8-0x7EF, or
// 0x18DAF1xx with 29-bit ids, until their timeout. The Transport sends the
// flow-control frames for multi-frame answers itself, to the ECU's physical
// request id (0x7E8 -> 0x7E0, 0x18DAF1xx -> 0x18DAxxF1, or the request's
// TxID for physical requests), so Request.FlowControl is implied.
//
// Timing follows ISO 15765-4 (see the Default constants): P2 for the start
// of a physical answer, P2* after "response pending", N_Bs and N_Cr between
// frames of a multi-frame message, a collection window for functional
// requests. A request's Timeout replaces P2 or the collection window.
//
// On SocketCAN, a Transport's socket can leave the rest of a busy bus in the
// kernel: open it with socketcan.WithFilter for the answer ids, e.g.
// socketcan.Filter{ID: 0x7E8, Mask: 0x7F8} and socketcan.Filter{ID:
// 0x18DAF100, Mask: 0x1FFFFF00, Extended: true}.
//
// Classical CAN only: frames carry at most 8 bytes and payloads at most 4095.
package isotpcan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/obd"
	"github.com/evedge/evedge/drivers/obd/isotp"
)

// ErrOverflow is returned when the ECU answers a first frame with the flow
// status Overflow: the request is too long for it.
var ErrOverflow = errors.New("isotpcan: the ECU refused the message (flow-control overflow)")

// Transport is an obd.Transport on a CAN connection. Its methods may be
// called from any goroutine.
type Transport struct {
	src  can.Source
	sink can.Sink
	cfg  config

	sem        chan struct{}        // one Do at a time
	cur        atomic.Pointer[call] // the request in flight, read by the reader
	closing    chan struct{}        // closed by Close
	closeOnce  sync.Once
	closeErr   error
	readerDone chan struct{} // closed when the reader returns
	srcErr     error         // the source's Err; written before readerDone closes

	stats counters
}

var _ obd.Transport = (*Transport)(nil)

// New returns a Transport that sends on sink and reads src, which must see
// the answers to what is sent on sink (for SocketCAN, one Conn can be both).
// It starts one goroutine that reads src until src ends or, after Close, at
// the next frame: to stop it, end the source (cancel the context it was
// opened with, close it) or pass WithCloseSource. Frames the Transport sent
// itself, if src sees them (a can.Bus does), are ignored by id.
func New(src can.Source, sink can.Sink, opts ...Option) *Transport {
	t := &Transport{
		src:        src,
		sink:       sink,
		cfg:        newConfig(opts),
		sem:        make(chan struct{}, 1),
		closing:    make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	go t.read()
	return t
}

// Close makes Do return obd.ErrClosed, now and later. With WithCloseSource
// it closes the source and waits for the reading goroutine to end; without,
// the goroutine ends when the source ends or delivers its next frame.
// Calling Close more than once is harmless.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		close(t.closing)
		if !t.cfg.closeSource {
			return
		}
		if c, ok := t.src.(io.Closer); ok {
			if err := c.Close(); err != nil {
				t.closeErr = fmt.Errorf("isotpcan: close source: %w", err)
			}
			<-t.readerDone
		}
	})
	return t.closeErr
}

// Done is closed when the reading goroutine has returned.
func (t *Transport) Done() <-chan struct{} { return t.readerDone }

// Stats are a Transport's counters since New.
type Stats struct {
	// Requests counts requests sent.
	Requests uint64
	// Responses counts complete answers returned by Do.
	Responses uint64
	// Pending counts "response pending" answers received.
	Pending uint64
	// NoData counts requests that nobody answered.
	NoData uint64
	// Incomplete counts multi-frame answers that stopped before their end
	// (no consecutive frame within the frame timeout).
	Incomplete uint64
	// FrameErrors counts frames on an answer id that did not fit ISO-TP:
	// invalid PCI, consecutive frames out of sequence or without a first
	// frame. Do ignores them, and returns the answers of the other ECUs.
	FrameErrors uint64
}

type counters struct {
	requests, responses, pending, noData, incomplete, frameErrors atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats {
	s := &t.stats
	return Stats{
		Requests:    s.requests.Load(),
		Responses:   s.responses.Load(),
		Pending:     s.pending.Load(),
		NoData:      s.noData.Load(),
		Incomplete:  s.incomplete.Load(),
		FrameErrors: s.frameErrors.Load(),
	}
}

// call is the request in flight, as the reader sees it. Its fields do not
// change after it is published.
type call struct {
	extended bool
	rxID     uint32 // 0: the functional answer ids
	frames   chan can.Frame
	done     chan struct{} // closed when Do is finished with the call
	timer    *time.Timer
}

// answerID reports whether id is one the call waits for.
func (c *call) answerID(id uint32) bool {
	if c.rxID != 0 {
		return id == c.rxID
	}
	return functionalAnswer(id, c.extended)
}

// functionalAnswer reports whether id is an OBD answer id (ISO 15765-4):
// 0x7E8-0x7EF, or 0x18DAF1xx with 29-bit ids.
func functionalAnswer(id uint32, extended bool) bool {
	if extended {
		return id&0x1FFFFF00 == 0x18DAF100
	}
	return id >= 0x7E8 && id <= 0x7EF
}

// physicalRequestID is the id an ECU answering with id listens to:
// 0x7E8 -> 0x7E0, 0x18DAF1xx -> 0x18DAxxF1.
func physicalRequestID(id uint32, extended bool) uint32 {
	if extended {
		return 0x18DA0000 | (id&0xFF)<<8 | (id>>8)&0xFF
	}
	return id - 8
}

func (t *Transport) read() {
	defer close(t.readerDone)
	for t.src.Receive() {
		select {
		case <-t.closing:
			return
		default:
		}
		f := t.src.Frame()
		if f.Flags&(can.ErrorFrame|can.Remote) != 0 {
			continue
		}
		c := t.cur.Load()
		if c == nil || f.IsExtended() != c.extended || !c.answerID(f.ID) {
			continue
		}
		select {
		case c.frames <- f:
		case <-c.done:
		case <-t.closing:
			return
		}
	}
	t.srcErr = t.src.Err()
}

// errClosed is the error of Do once the Transport is closed or its source
// ended.
func (t *Transport) errClosed() error {
	select {
	case <-t.readerDone:
		if t.srcErr != nil {
			return fmt.Errorf("%w: source: %w", obd.ErrClosed, t.srcErr)
		}
		return fmt.Errorf("%w: the source ended", obd.ErrClosed)
	default:
		return obd.ErrClosed
	}
}

// errDeadline ends a wait for the next frame.
var errDeadline = errors.New("deadline")

// next returns the next frame for c, waiting until deadline.
func (t *Transport) next(ctx context.Context, c *call, deadline time.Time) (can.Frame, error) {
	select {
	case f := <-c.frames:
		return f, nil
	default:
	}
	d := time.Until(deadline)
	if d <= 0 {
		return can.Frame{}, errDeadline
	}
	c.timer.Reset(d)
	defer c.timer.Stop()
	select {
	case f := <-c.frames:
		return f, nil
	case <-c.timer.C:
		return can.Frame{}, errDeadline
	case <-ctx.Done():
		return can.Frame{}, ctx.Err()
	case <-t.closing:
		return can.Frame{}, t.errClosed()
	case <-t.readerDone:
		select {
		case f := <-c.frames: // delivered before the source ended
			return f, nil
		default:
			return can.Frame{}, t.errClosed()
		}
	}
}

// write sends one frame.
func (t *Transport) write(id uint32, extended bool, data []byte) error {
	f, err := frame(id, extended, data)
	if err == nil {
		err = t.sink.WriteFrame(f)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", obd.ErrBus, err)
	}
	return nil
}

func frame(id uint32, extended bool, data []byte) (can.Frame, error) {
	f := can.Frame{ID: id, Len: uint8(len(data))}
	if extended {
		f.Flags = can.Extended
	}
	if len(data) > can.MaxDataLen {
		return f, fmt.Errorf("frame of %d bytes", len(data))
	}
	copy(f.Data[:], data)
	return f, f.Validate()
}

// Do sends req and returns the answers (see obd.Transport). Errors wrap
// obd.ErrNoData when nobody answered, obd.ErrTimeout when an answer stopped
// in the middle or the ECU sent no flow control for a multi-frame request,
// obd.ErrBus when a frame could not be sent, obd.ErrClosed after Close or
// when the source ended, ErrOverflow, or the context's error. With an
// error, the answers complete so far are returned too. Frames that break
// one ECU's answer do not fail the request when others answered: they are
// counted in Stats.
func (t *Transport) Do(ctx context.Context, req obd.Request) ([]obd.Response, error) {
	fail := func(err error) error { return fmt.Errorf("isotpcan: %v: %w", &req, err) }
	if len(req.Data) == 0 {
		return nil, fail(errors.New("empty request"))
	}
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fail(ctx.Err())
	case <-t.closing:
		return nil, fail(t.errClosed())
	}
	defer func() { <-t.sem }()
	select {
	case <-t.closing:
		return nil, fail(t.errClosed())
	case <-t.readerDone:
		return nil, fail(t.errClosed())
	default:
	}

	if _, err := frame(req.TxID, req.Extended, nil); err != nil {
		return nil, fail(fmt.Errorf("request id: %w", err))
	}
	rxID := req.RxID
	if rxID == 0 {
		rxID = obd.ResponseID(req.TxID, req.Extended)
	}
	functionalTx := req.TxID == obd.FunctionalID && !req.Extended || req.TxID == obd.FunctionalID29 && req.Extended
	txOpts := isotp.FrameOptions{ExtAddr: req.ExtAddr, Addr: req.TxExtAddr, Pad: t.cfg.pad, PadByte: t.cfg.padByte}
	frames, err := isotp.Segment(req.Data, txOpts)
	if err != nil {
		return nil, fail(err)
	}
	if len(frames) > 1 && rxID == 0 {
		return nil, fail(fmt.Errorf("a functional request must fit one frame (%d bytes)", len(req.Data)))
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = t.cfg.p2
		if rxID == 0 {
			timeout = t.cfg.functional
		}
	}

	c := &call{
		extended: req.Extended,
		rxID:     rxID,
		frames:   make(chan can.Frame, 64),
		done:     make(chan struct{}),
		timer:    time.NewTimer(time.Hour),
	}
	c.timer.Stop()
	t.cur.Store(c)
	defer func() {
		t.cur.Store(nil)
		close(c.done)
	}()

	t.stats.requests.Add(1)
	if err := t.send(ctx, c, &req, frames); err != nil {
		return nil, fail(err)
	}

	col := newCollector(&t.cfg, &req, rxID, time.Now().Add(timeout), &t.stats)
	if !functionalTx {
		col.fcID = req.TxID
	}
	for !col.complete() {
		f, err := t.next(ctx, c, col.deadline())
		if err == errDeadline {
			break
		}
		if err != nil {
			return col.resps, fail(err)
		}
		if fc, ok := col.frame(&f, time.Now()); ok {
			if err := t.sink.WriteFrame(fc); err != nil {
				col.failed(&f, fmt.Errorf("flow control: %w: %w", obd.ErrBus, err))
			}
		}
	}
	resps, err := col.finish()
	if err != nil {
		return nil, fail(err)
	}
	return resps, nil
}

// send writes the request frames: the single frame, or the first frame and,
// as the ECU's flow control allows, the consecutive frames.
func (t *Transport) send(ctx context.Context, c *call, req *obd.Request, frames [][]byte) error {
	if err := t.write(req.TxID, req.Extended, frames[0]); err != nil {
		return err
	}
	for i := 1; i < len(frames); {
		bs, stMin, err := t.awaitFlow(ctx, c, req)
		if err != nil {
			return err
		}
		for n := 0; i < len(frames) && (bs == 0 || n < int(bs)); n++ {
			if n > 0 && !sleep(ctx.Done(), stMin) {
				return ctx.Err()
			}
			if err := t.write(req.TxID, req.Extended, frames[i]); err != nil {
				return err
			}
			i++
		}
	}
	return nil
}

// awaitFlow waits for the ECU's flow-control frame, through Wait frames, and
// returns its block size and separation time.
func (t *Transport) awaitFlow(ctx context.Context, c *call, req *obd.Request) (byte, time.Duration, error) {
	deadline := time.Now().Add(t.cfg.frameTimeout)
	waits := 0
	for {
		f, err := t.next(ctx, c, deadline)
		if err == errDeadline {
			return 0, 0, fmt.Errorf("no flow control from %s within %v: %w", idString(c.rxID, c.extended), t.cfg.frameTimeout, obd.ErrTimeout)
		}
		if err != nil {
			return 0, 0, err
		}
		data := f.Payload()
		if req.ExtAddr {
			if len(data) == 0 || req.RxExtAddr != 0 && data[0] != req.RxExtAddr {
				continue
			}
			data = data[1:]
		}
		p, _, err := isotp.Parse(data)
		if err != nil || p.Type != isotp.FlowControl {
			continue
		}
		switch p.Status {
		case isotp.ContinueToSend:
			return p.BlockSize, isotp.STmin(p.STmin), nil
		case isotp.Wait:
			waits++
			if waits > t.cfg.maxWait {
				return 0, 0, fmt.Errorf("%s sent %d flow-control Wait frames (limit %d): %w", idString(c.rxID, c.extended), waits, t.cfg.maxWait, obd.ErrTimeout)
			}
			deadline = time.Now().Add(t.cfg.frameTimeout)
		default:
			return 0, 0, ErrOverflow
		}
	}
}

func idString(id uint32, extended bool) string {
	if extended {
		return fmt.Sprintf("%08X", id)
	}
	return fmt.Sprintf("%03X", id)
}
