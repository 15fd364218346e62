package isotpcan

import (
	"errors"
	"fmt"
	"time"

	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/obd"
	"github.com/evedge/evedge/drivers/obd/isotp"
)

// collector reassembles the answers to one request. It does no I/O and
// reads no clock: Do feeds it frames with the time they arrived, sends the
// flow-control frames it returns and waits until its deadline.
type collector struct {
	cfg      *config
	rxID     uint32 // 0: functional, any OBD answer id
	extended bool
	extAddr  bool
	rxAddr   byte
	fcOpts   isotp.FrameOptions
	fcID     uint32 // flow-control id; 0: derived from the answer id
	base     time.Time
	stats    *counters

	ecus  map[ecuKey]*ecu
	order []ecuKey
	resps []obd.Response
	got   bool // physical: the ECU has answered
}

// ecuKey identifies one answering ECU.
type ecuKey struct {
	id   uint32
	addr byte // extended address, with extended addressing
}

type ecu struct {
	r       isotp.Reassembler
	until   time.Time     // wait for this ECU until then (message in progress, or pending)
	cfs     int           // consecutive frames since the last flow control
	pending *obd.Response // the last "response pending", until the real answer
	err     error         // what went wrong last, until an answer completes
}

func newCollector(cfg *config, req *obd.Request, rxID uint32, base time.Time, st *counters) *collector {
	return &collector{
		cfg:      cfg,
		rxID:     rxID,
		extended: req.Extended,
		extAddr:  req.ExtAddr,
		rxAddr:   req.RxExtAddr,
		fcOpts:   isotp.FrameOptions{ExtAddr: req.ExtAddr, Addr: req.TxExtAddr, Pad: cfg.pad, PadByte: cfg.padByte},
		base:     base,
		stats:    st,
		ecus:     make(map[ecuKey]*ecu),
	}
}

// complete reports whether a physical request has its answer.
func (c *collector) complete() bool { return c.got }

// deadline is when the collection ends: the request's timeout, extended
// while an answer is in progress (N_Cr) or pending (P2*).
func (c *collector) deadline() time.Time {
	d := c.base
	for _, e := range c.ecus {
		if e.until.After(d) {
			d = e.until
		}
	}
	return d
}

// key returns the ECU a frame comes from and the frame's ISO-TP data, or
// false for a frame that is no answer to this request.
func (c *collector) key(f *can.Frame) (ecuKey, []byte, bool) {
	if f.Flags&(can.ErrorFrame|can.Remote) != 0 || f.IsExtended() != c.extended {
		return ecuKey{}, nil, false
	}
	if c.rxID != 0 && f.ID != c.rxID || c.rxID == 0 && !functionalAnswer(f.ID, c.extended) {
		return ecuKey{}, nil, false
	}
	k := ecuKey{id: f.ID}
	data := f.Payload()
	if c.extAddr {
		if len(data) == 0 || c.rxAddr != 0 && data[0] != c.rxAddr {
			return ecuKey{}, nil, false
		}
		k.addr, data = data[0], data[1:]
	}
	return k, data, true
}

func (c *collector) ecu(k ecuKey) *ecu {
	e := c.ecus[k]
	if e == nil {
		e = &ecu{}
		c.ecus[k] = e
		c.order = append(c.order, k)
	}
	return e
}

// frame processes one frame received at now. It returns a flow-control
// frame to send when the frame starts a multi-frame answer, or ends a block.
func (c *collector) frame(f *can.Frame, now time.Time) (can.Frame, bool) {
	k, data, ok := c.key(f)
	if !ok {
		return can.Frame{}, false
	}
	e := c.ecu(k)
	res, err := e.r.Feed(data)
	if err != nil {
		c.stats.frameErrors.Add(1)
		e.err = fmt.Errorf("%s: %w", c.name(k), err)
		if !e.r.Active() && !e.until.IsZero() && e.pending == nil {
			e.until = time.Time{} // the message was dropped: stop waiting for it
		}
		return can.Frame{}, false
	}
	switch {
	case res.First:
		e.until, e.cfs = now.Add(c.cfg.frameTimeout), 0
		return c.flowControl(k)
	case res.Payload != nil:
		r := obd.Response{ID: f.ID, ExtAddr: k.addr, Data: res.Payload}
		if r.IsPending() {
			c.stats.pending.Add(1)
			e.pending, e.until = &r, now.Add(c.cfg.p2Star)
			return can.Frame{}, false
		}
		e.pending, e.until, e.err = nil, time.Time{}, nil
		c.resps = append(c.resps, r)
		c.got = c.rxID != 0
	case e.r.Active(): // a consecutive frame
		e.until = now.Add(c.cfg.frameTimeout)
		e.cfs++
		if c.cfg.blockSize > 0 && e.cfs >= int(c.cfg.blockSize) {
			e.cfs = 0
			return c.flowControl(k)
		}
	}
	return can.Frame{}, false
}

// flowControl builds the "continue to send" frame for ECU k.
func (c *collector) flowControl(k ecuKey) (can.Frame, bool) {
	id := c.fcID
	if id == 0 {
		id = physicalRequestID(k.id, c.extended)
	}
	f, err := frame(id, c.extended, isotp.FlowControlFrame(isotp.ContinueToSend, c.cfg.blockSize, c.cfg.stMin, c.fcOpts))
	if err != nil {
		return can.Frame{}, false
	}
	return f, true
}

// failed records that the answer of the ECU that sent f cannot complete.
func (c *collector) failed(f *can.Frame, err error) {
	if k, _, ok := c.key(f); ok {
		e := c.ecu(k)
		e.r.Reset()
		e.until, e.err = time.Time{}, fmt.Errorf("%s: %w", c.name(k), err)
	}
}

func (c *collector) name(k ecuKey) string {
	s := "ECU " + idString(k.id, c.extended)
	if c.extAddr {
		s += fmt.Sprintf(" address %02X", k.addr)
	}
	return s
}

// finish returns the answers, or why there is none. A "response pending"
// that no answer followed is returned as the answer.
func (c *collector) finish() ([]obd.Response, error) {
	var errs []error
	for _, k := range c.order {
		e := c.ecus[k]
		switch {
		case e.r.Active():
			c.stats.incomplete.Add(1)
			errs = append(errs, fmt.Errorf("%s: answer incomplete, %d bytes missing: %w", c.name(k), e.r.Missing(), obd.ErrTimeout))
			e.r.Reset()
		case e.pending != nil:
			c.resps = append(c.resps, *e.pending)
			e.pending = nil
		case e.err != nil:
			errs = append(errs, e.err)
		}
	}
	c.stats.responses.Add(uint64(len(c.resps)))
	switch {
	case len(c.resps) > 0:
		return c.resps, nil
	case len(errs) > 0:
		return nil, errors.Join(errs...)
	}
	c.stats.noData.Add(1)
	return nil, obd.ErrNoData
}
