package isotpcan

import (
	"context"
	"fmt"

	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/obd"
	"github.com/evedge/evedge/drivers/obd/isotp"
)

// Handler answers one request payload (service id and parameters) with the
// answer payload; ok false sends nothing, as an ECU that does not support
// the request on a functional id does.
type Handler func(req []byte) (resp []byte, ok bool)

// Serve acts as one ECU on a CAN connection until src ends: it reassembles
// the requests sent to rxID (sending flow control with WithFlowControl's
// block size and STmin) and the single-frame requests sent to the
// functional id, passes them to h, and sends the answers with txID,
// segmented, honouring the tester's flow control (block size, STmin, Wait,
// Overflow). Ids above 0x7FF are 29-bit (see WithExtendedIDs). Options that
// concern Serve: WithPadding, WithoutPadding, WithFlowControl, WithMaxWait,
// WithExtAddr, WithFunctionalID, WithExtendedIDs, WithPending.
//
// Serve is for tests and simulators; it handles one request at a time: a
// new request, or any frame but flow control from the tester, abandons an
// answer waiting for flow control. It reads src in the calling goroutine,
// so tie src to ctx (can.Bus.Subscribe(ctx, ...), socketcan.Open(ctx, ...)):
// Serve returns when src ends (nil, or src.Err() wrapped); when ctx is
// done, at the latest with the next frame, with nil; or when writing to sink
// fails.
func Serve(ctx context.Context, src can.Source, sink can.Sink, rxID, txID uint32, h Handler, opts ...Option) error {
	s := newServer(ctx, sink, rxID, txID, h, opts)
	for src.Receive() {
		if ctx.Err() != nil {
			return nil
		}
		f := src.Frame()
		if err := s.frame(&f); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("isotpcan: serve %s: %w", idString(rxID, s.extended), err)
		}
	}
	if err := src.Err(); err != nil {
		return fmt.Errorf("isotpcan: serve %s: source: %w", idString(rxID, s.extended), err)
	}
	return nil
}

// server is the state of Serve.
type server struct {
	ctx          context.Context
	sink         can.Sink
	rxID, txID   uint32
	functionalID uint32
	extended     bool
	h            Handler
	cfg          config
	txOpts       isotp.FrameOptions

	r     isotp.Reassembler // physical requests
	cfs   int               // consecutive frames since our last flow control
	out   [][]byte          // answer frames waiting for the tester's flow control
	waits int               // Wait frames received for out
}

func newServer(ctx context.Context, sink can.Sink, rxID, txID uint32, h Handler, opts []Option) *server {
	cfg := newConfig(opts)
	extended := rxID > 0x7FF || txID > 0x7FF
	if cfg.extendedIDsSet {
		extended = cfg.extendedIDs
	}
	fid := uint32(obd.FunctionalID)
	if extended {
		fid = obd.FunctionalID29
	}
	if cfg.functionalIDSet {
		fid = cfg.functionalID
	}
	return &server{
		ctx:          ctx,
		sink:         sink,
		rxID:         rxID,
		txID:         txID,
		functionalID: fid,
		extended:     extended,
		h:            h,
		cfg:          cfg,
		txOpts:       isotp.FrameOptions{ExtAddr: cfg.extAddr, Addr: cfg.txAddr, Pad: cfg.pad, PadByte: cfg.padByte},
	}
}

func (s *server) write(data []byte) error {
	f, err := frame(s.txID, s.extended, data)
	if err != nil {
		return err
	}
	return s.sink.WriteFrame(f)
}

func (s *server) frame(f *can.Frame) error {
	if f.Flags&(can.ErrorFrame|can.Remote) != 0 || f.IsExtended() != s.extended {
		return nil
	}
	functional := s.functionalID != 0 && f.ID == s.functionalID && f.ID != s.rxID
	if f.ID != s.rxID && !functional {
		return nil
	}
	data := f.Payload()
	if s.cfg.extAddr {
		if len(data) == 0 || data[0] != s.cfg.rxAddr {
			return nil
		}
		data = data[1:]
	}
	p, body, err := isotp.Parse(data)
	if err != nil {
		return nil // ignored, as ISO 15765-2 asks
	}
	if functional {
		if p.Type != isotp.Single { // functional requests are single frames (ISO 15765-4)
			return nil
		}
		s.out = nil
		return s.answer(body)
	}
	if len(s.out) > 0 {
		if p.Type == isotp.FlowControl {
			return s.flow(p)
		}
		s.out = nil // the tester moved on
	}
	res, err := s.r.Feed(data)
	switch {
	case err != nil:
		return nil
	case res.First:
		s.cfs = 0
		return s.write(isotp.FlowControlFrame(isotp.ContinueToSend, s.cfg.blockSize, s.cfg.stMin, s.txOpts))
	case res.Payload != nil:
		return s.answer(res.Payload)
	case s.r.Active(): // a consecutive frame
		s.cfs++
		if s.cfg.blockSize > 0 && s.cfs >= int(s.cfg.blockSize) {
			s.cfs = 0
			return s.write(isotp.FlowControlFrame(isotp.ContinueToSend, s.cfg.blockSize, s.cfg.stMin, s.txOpts))
		}
	}
	return nil
}

// answer sends the handler's answer to req: its single frame, or its first
// frame, the rest waiting for the tester's flow control.
func (s *server) answer(req []byte) error {
	resp, ok := s.h(req)
	if !ok || len(resp) == 0 {
		return nil
	}
	frames, err := isotp.Segment(resp, s.txOpts)
	if err != nil {
		return fmt.Errorf("answer to % X: %w", req, err)
	}
	if s.cfg.pendingN > 0 {
		pending, err := isotp.Segment([]byte{0x7F, req[0], obd.NRCResponsePending}, s.txOpts)
		if err != nil {
			return err
		}
		for range s.cfg.pendingN {
			if err := s.write(pending[0]); err != nil {
				return err
			}
			if !s.cfg.sleep(s.ctx.Done(), s.cfg.pendingDelay) {
				return s.ctx.Err()
			}
		}
	}
	if err := s.write(frames[0]); err != nil {
		return err
	}
	s.out, s.waits = frames[1:], 0
	return nil
}

// flow sends consecutive frames as the tester's flow control p allows.
func (s *server) flow(p isotp.PCI) error {
	switch p.Status {
	case isotp.Wait:
		s.waits++
		if s.waits > s.cfg.maxWait {
			s.out = nil
		}
		return nil
	case isotp.Overflow:
		s.out = nil
		return nil
	}
	s.waits = 0
	st := isotp.STmin(p.STmin)
	for n := 0; len(s.out) > 0 && (p.BlockSize == 0 || n < int(p.BlockSize)); n++ {
		if n > 0 && !s.cfg.sleep(s.ctx.Done(), st) {
			return s.ctx.Err()
		}
		if err := s.write(s.out[0]); err != nil {
			return err
		}
		s.out = s.out[1:]
	}
	return nil
}
