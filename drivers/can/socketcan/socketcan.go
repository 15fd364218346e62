// Package socketcan reads and writes classical CAN frames on a Linux
// SocketCAN interface (can0, vcan0 ...) as evedge can.Frame values.
//
// On a CAN FD link (the interface's MTU is 72, as `ip link set can0 type
// can ... fd on` makes it, or WithFD(true)) the socket also receives CAN
// FD frames (CAN_RAW_FD_FRAMES): those whose payload fits in 8 bytes come
// out of Receive as ordinary frames with the can.FD flag; longer ones,
// which can.Frame cannot carry, are skipped and counted in
// Stats.FDOversize with the id of the last one, for the agent to report.
//
// A Conn is both a can.Source (Receive/Frame/Err) and a can.Sink
// (WriteFrame). It receives controller error frames too: they come out of
// Receive with the can.ErrorFrame flag and are counted in Stats (bus-off,
// error-passive, warning, RX overflow), so a logger sees bus trouble in line
// with the traffic and the agent can report it.
//
// Wire format and error-frame decoding come from
// go.einride.tech/can/pkg/socketcan. The socket itself is opened here rather
// than with einride's Dial because evedge needs what Dial cannot give:
// kernel receive timestamps (SO_TIMESTAMPNS) and the socket's drop counter
// (SO_RXQ_OVFL), both carried by recvmsg ancillary data; an AF_CAN check
// before the interface lookup, so that a kernel without SocketCAN is
// reported as can.ErrNotSupported; and no file descriptor leak when a
// socket option fails.
//
// Configure brings a link up with its bitrate, listen-only mode,
// restart-ms and CAN FD data bitrate over rtnetlink (link.go), and
// LinkStatus reports its controller state (error-active ... bus-off), its
// TEC/REC error counters and the driver's own counters (bus-off,
// error-passive, restarts) for health reports.
//
// Only Linux has SocketCAN. Elsewhere Open returns an error wrapping
// can.ErrNotSupported, as it does on a Linux kernel built without AF_CAN.
package socketcan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	einride "go.einride.tech/can"
	"go.einride.tech/can/pkg/socketcan"

	"github.com/evedge/evedge/drivers/can"
)

// Conn is a raw CAN socket bound to one interface. Receive, Frame and Err
// belong to one reading goroutine; WriteFrame, Stats and Close may be called
// from any goroutine, also while Receive blocks.
type Conn struct {
	name string
	bus  uint8
	fd   bool             // CAN_RAW_FD_FRAMES is set: CAN FD frames are received
	now  func() time.Time // receive time when the kernel gives no timestamp

	stopCtx   func() bool // deregisters the close-on-ctx.Done hook
	closed    atomic.Bool // set before the socket is closed on purpose
	closeOnce sync.Once
	closeErr  error

	// Owned by the goroutine calling Receive.
	frame can.Frame
	err   error
	done  bool

	stats counters
	plat  platform // the OS-specific part (the socket on Linux)
}

var (
	_ can.Source = (*Conn)(nil)
	_ can.Sink   = (*Conn)(nil)
)

// Option changes how Open sets up the socket.
type Option func(*options)

type options struct {
	rcvbuf    int
	filters   []Filter
	setFilter bool
	fd        fdMode
}

// fdMode says whether Open enables CAN FD frames on the socket.
type fdMode uint8

const (
	fdAuto fdMode = iota // when the interface's MTU is CANFD_MTU
	fdOn
	fdOff
)

// WithFD sets whether the socket receives CAN FD frames
// (CAN_RAW_FD_FRAMES). Without this option Open enables them when the
// interface runs CAN FD (its MTU is 72 bytes, CANFD_MTU). WithFD(true)
// enables them whatever the MTU says and fails Open when the kernel
// refuses; WithFD(false) keeps the socket classical: CAN FD frames on the
// link are then not received at all.
func WithFD(on bool) Option {
	return func(o *options) {
		o.fd = fdOff
		if on {
			o.fd = fdOn
		}
	}
}

// DefaultReceiveBuffer is the receive buffer Open asks for unless
// WithReceiveBuffer says otherwise. The kernel charges about 770 bytes per
// queued classical frame and doubles the request for its bookkeeping, so
// this holds some 2,700 frames: over half a second of a fully loaded
// 500 kbit/s bus, where the kernel's usual default (208 KiB, about 270
// frames) covers only some 60 ms of reader stall.
const DefaultReceiveBuffer = 1 << 20

// WithReceiveBuffer sets the socket's receive buffer (SO_RCVBUF) to n bytes
// instead of DefaultReceiveBuffer; n <= 0 keeps the kernel's default. With
// CAP_NET_ADMIN the size may exceed net.core.rmem_max (SO_RCVBUFFORCE);
// without it the kernel caps it there. Frames that do not fit are dropped
// by the kernel and counted in Stats.Dropped.
func WithReceiveBuffer(n int) Option {
	return func(o *options) { o.rcvbuf = n }
}

// Filter selects frames by identifier in the kernel: a data or remote frame
// passes when its id&Mask equals ID&Mask and it has a 29-bit id exactly
// when Extended is set. Filter{ID: 0x7E8, Mask: 0x7F8} passes the OBD
// answers 0x7E8-0x7EF; Filter{ID: 0x18DAF100, Mask: 0x1FFFFF00, Extended:
// true} their 29-bit counterparts.
type Filter struct {
	ID, Mask uint32
	Extended bool
}

// raw returns the filter as a struct can_filter's can_id and can_mask: the
// 29-bit flag (CAN_EFF_FLAG) is always compared, the remote flag never.
func (f Filter) raw() (id, mask uint32) {
	const effFlag = 0x80000000 // CAN_EFF_FLAG
	id, mask = f.ID&f.Mask&0x1FFFFFFF, f.Mask&0x1FFFFFFF|effFlag
	if f.Extended {
		id |= effFlag
	}
	return id, mask
}

// WithFilter makes the kernel deliver only the data and remote frames that
// pass one of filters (CAN_RAW_FILTER, at most 512), so that a reader that
// wants a few ids, such as an OBD transport waiting for answers, is not
// woken for every frame of a busy bus. Controller error frames are received
// regardless. With no filter no data frame is received at all; without
// WithFilter every frame is.
func WithFilter(filters ...Filter) Option {
	return func(o *options) { o.filters, o.setFilter = append([]Filter(nil), filters...), true }
}

// Stats are a Conn's counters since Open.
type Stats struct {
	// Frames counts data and remote frames received.
	Frames uint64
	// ErrorFrames counts controller error frames received, of any class.
	ErrorFrames uint64
	// BusOff counts error frames reporting bus-off (CAN_ERR_BUSOFF).
	BusOff uint64
	// ErrorPassive counts controller errors reporting the RX or TX error
	// counter above 127 (CAN_ERR_CRTL_RX_PASSIVE, CAN_ERR_CRTL_TX_PASSIVE).
	ErrorPassive uint64
	// ErrorWarning counts controller errors reporting the RX or TX error
	// counter above 95 (CAN_ERR_CRTL_RX_WARNING, CAN_ERR_CRTL_TX_WARNING).
	ErrorWarning uint64
	// RxOverflow counts controller errors reporting a receive buffer
	// overflow (CAN_ERR_CRTL_RX_OVERFLOW): the controller lost frames.
	RxOverflow uint64
	// Dropped is the number of frames the kernel dropped because this
	// socket's receive queue was full (SO_RXQ_OVFL), as of the last frame
	// received: the reader did not keep up.
	Dropped uint64
	// FDFrames counts the CAN FD frames of at most 8 bytes received and
	// delivered with the can.FD flag (they are in Frames too).
	FDFrames uint64
	// FDOversize counts the CAN FD frames with more than 8 bytes of
	// payload: can.Frame cannot carry them, so Receive skips them.
	FDOversize uint64
	// FDOversizeKey is the id of the last of those, in can.Frame.Key form
	// (can.KeyExtended set for a 29-bit id); meaningful when FDOversize > 0.
	FDOversizeKey uint32
}

// Open opens a raw CAN socket on interface name (e.g. "can0", "vcan0") and
// stamps frames with bus index bus. The socket receives every frame on the
// interface, error frames included, until Close is called or ctx is done.
// On a CAN FD interface it receives CAN FD frames too (see WithFD).
//
// On a system without SocketCAN (not Linux, or a kernel without AF_CAN) the
// error wraps can.ErrNotSupported. A missing interface, or one that is not
// a CAN interface, gives an error naming it.
func Open(ctx context.Context, name string, bus uint8, opts ...Option) (*Conn, error) {
	o := options{rcvbuf: DefaultReceiveBuffer}
	for _, opt := range opts {
		opt(&o)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("socketcan: open %s: %w", name, err)
	}
	c := &Conn{name: name, bus: bus, now: time.Now}
	if err := c.open(&o); err != nil {
		return nil, err
	}
	c.stopCtx = context.AfterFunc(ctx, c.shutdown)
	return c, nil
}

// shutdown closes the socket once; a blocked Receive then returns false.
func (c *Conn) shutdown() {
	c.closed.Store(true)
	c.closeOnce.Do(func() { c.closeErr = c.plat.close() })
}

// Receive waits for the next frame. It returns false when the context given
// to Open is done or Close was called (Err is nil then), or on an I/O error
// (reported by Err). Frames this host transmitted, seen here because
// SocketCAN loops them back to the other sockets on the interface, carry the
// can.TX flag.
func (c *Conn) Receive() bool {
	if c.done {
		return false
	}
	if !c.receive() {
		c.done = true
		return false
	}
	return true
}

// Frame returns the frame read by the last successful Receive. Time is the
// kernel's receive timestamp in Unix nanoseconds; Bus is the index given to
// Open.
func (c *Conn) Frame() can.Frame { return c.frame }

// Err returns the error that ended Receive, or nil if it ended because the
// Conn was closed or its context done.
func (c *Conn) Err() error { return c.err }

// WriteFrame transmits f. Extended and Remote are honoured, TX and Time are
// ignored; error frames and invalid frames are refused. On real controllers
// a full transmit queue makes it fail with ENOBUFS (wrapped): the caller may
// retry later.
//
// A frame with the can.FD flag is sent as a CAN FD frame (struct
// canfd_frame, no bit rate switch); that needs a socket that receives CAN
// FD frames (FD), and it cannot be a remote frame.
func (c *Conn) WriteFrame(f can.Frame) error {
	if f.Flags&can.FD != 0 {
		if !c.fd {
			return fmt.Errorf("socketcan: %s: write %v: CAN FD frame on a socket without CAN FD (interface MTU not 72; see WithFD)", c.name, f)
		}
		var b [fdWireLen]byte
		if err := encodeFD(f, b[:]); err != nil {
			return fmt.Errorf("socketcan: %s: write %v: %w", c.name, f, err)
		}
		return c.write(b[:])
	}
	var b [wireLen]byte
	if err := encodeWire(f, b[:]); err != nil {
		return fmt.Errorf("socketcan: %s: write %v: %w", c.name, f, err)
	}
	return c.write(b[:])
}

// Stats returns a snapshot of the counters.
func (c *Conn) Stats() Stats { return c.stats.snapshot() }

// Close closes the socket and makes a blocked Receive return false. Calling
// it more than once, or after the context ended, is harmless.
func (c *Conn) Close() error {
	if c.stopCtx != nil {
		c.stopCtx()
	}
	c.shutdown()
	if c.closeErr != nil {
		return fmt.Errorf("socketcan: %s: close: %w", c.name, c.closeErr)
	}
	return nil
}

// Name returns the interface name given to Open.
func (c *Conn) Name() string { return c.name }

// FD reports whether the socket receives (and may send) CAN FD frames.
func (c *Conn) FD() bool { return c.fd }

// wireLen is sizeof(struct can_frame), CAN_MTU.
const wireLen = 16

// fdWireLen is sizeof(struct canfd_frame), CANFD_MTU: can_id, len, flags,
// two reserved bytes, then 64 data bytes at offset 8. Its first 16 bytes
// are laid out as a struct can_frame's.
const fdWireLen = 72

// Flag bits of can_id (linux/can.h): CAN_EFF_FLAG, CAN_RTR_FLAG.
const (
	canEFFFlag = 0x80000000
	canRTRFlag = 0x40000000
)

// errMask is CAN_ERR_MASK: the error class bits of an error frame's id.
const errMask = 0x1FFFFFFF

// decodeWire converts one struct can_frame into a Frame (without Time and
// Bus) and counts it in st. Error frames keep their error class bits as ID
// and their eight data bytes, as candump shows them.
func decodeWire(b []byte, st *counters) can.Frame {
	var w socketcan.Frame
	w.UnmarshalBinary(b)
	ef := w.DecodeFrame()
	f := can.Frame{Len: min(ef.Length, can.MaxDataLen)}
	switch {
	case w.IsError():
		e := w.DecodeErrorFrame()
		f.ID = uint32(e.ErrorClass) & errMask
		f.Flags = can.ErrorFrame
		st.countError(&e)
	default:
		f.ID = ef.ID
		if ef.IsExtended {
			f.Flags |= can.Extended
		}
		if ef.IsRemote {
			f.Flags |= can.Remote
		}
		st.frames.Add(1)
	}
	if f.Flags&can.Remote == 0 {
		copy(f.Data[:f.Len], ef.Data[:f.Len]) // bytes past Len stay zero
	}
	return f
}

// encodeWire writes f as a struct can_frame into b (wireLen bytes, zeroed).
func encodeWire(f can.Frame, b []byte) error {
	if f.Flags&can.ErrorFrame != 0 {
		return errors.New("error frames cannot be transmitted")
	}
	if err := f.Validate(); err != nil {
		return err
	}
	ef := einride.Frame{
		ID:         f.ID,
		Length:     f.Len,
		IsExtended: f.Flags&can.Extended != 0,
		IsRemote:   f.Flags&can.Remote != 0,
	}
	if !ef.IsRemote {
		copy(ef.Data[:f.Len], f.Data[:f.Len])
	}
	var w socketcan.Frame
	w.EncodeFrame(ef)
	w.MarshalBinary(b)
	return nil
}

// decodeFD converts one struct canfd_frame (fdWireLen bytes) into a Frame
// with the can.FD flag and counts it in st. ok is false for a frame whose
// payload does not fit in a Frame: it is counted in FDOversize instead, and
// its id kept as the last one. b's remote flag may be cleared in place.
func decodeFD(b []byte, st *counters) (f can.Frame, ok bool) {
	id := ne.Uint32(b)
	if n := b[4]; n > can.MaxDataLen {
		key := id & errMask
		if id&canEFFFlag != 0 {
			key |= can.KeyExtended
		} else {
			key &= 0x7FF
		}
		st.fdOversize.Add(1)
		st.fdOversizeKey.Store(key)
		return can.Frame{}, false
	}
	if id&canRTRFlag != 0 { // not a thing in CAN FD: the payload counts
		ne.PutUint32(b, id&^canRTRFlag)
	}
	// The first 16 bytes are a struct can_frame's; len is at most 8 here.
	f = decodeWire(b[:wireLen], st)
	if f.Flags&can.ErrorFrame == 0 {
		f.Flags |= can.FD
		// struct canfd_frame's flags byte: CANFD_BRS, CANFD_ESI.
		if b[5]&canfdBRS != 0 {
			f.Flags |= can.BRS
		}
		if b[5]&canfdESI != 0 {
			f.Flags |= can.ESI
		}
		st.fdFrames.Add(1)
	}
	return f, true
}

// Flags of struct canfd_frame (linux/can.h).
const (
	canfdBRS = 0x01
	canfdESI = 0x02
)

// encodeFD writes f (without remote flag, Len <= 8) as a struct
// canfd_frame into b (fdWireLen bytes, zeroed).
func encodeFD(f can.Frame, b []byte) error {
	if f.Flags&can.Remote != 0 {
		return errors.New("CAN FD has no remote frames")
	}
	var flags byte
	if f.Flags&can.BRS != 0 {
		flags |= canfdBRS
	}
	if f.Flags&can.ESI != 0 {
		flags |= canfdESI
	}
	f.Flags &^= can.FD | can.BRS | can.ESI
	// The classical encoding gives the same first 16 bytes, len included.
	if err := encodeWire(f, b[:wireLen]); err != nil {
		return err
	}
	b[5] = flags
	return nil
}

// counters are updated by the reading goroutine and read by Stats from any.
type counters struct {
	frames, errorFrames, busOff, errorPassive, errorWarning, rxOverflow, dropped atomic.Uint64
	fdFrames, fdOversize                                                         atomic.Uint64
	fdOversizeKey                                                                atomic.Uint32
}

func (s *counters) countError(e *socketcan.ErrorFrame) {
	s.errorFrames.Add(1)
	if e.ErrorClass&socketcan.ErrorClassBusOff != 0 {
		s.busOff.Add(1)
	}
	if e.ErrorClass&socketcan.ErrorClassController == 0 {
		return
	}
	ce := e.ControllerError
	if ce&(socketcan.ControllerErrorRxPassive|socketcan.ControllerErrorTxPassive) != 0 {
		s.errorPassive.Add(1)
	}
	if ce&(socketcan.ControllerErrorRxWarning|socketcan.ControllerErrorTxWarning) != 0 {
		s.errorWarning.Add(1)
	}
	if ce&socketcan.ControllerErrorRxBufferOverflow != 0 {
		s.rxOverflow.Add(1)
	}
}

func (s *counters) snapshot() Stats {
	return Stats{
		Frames:        s.frames.Load(),
		ErrorFrames:   s.errorFrames.Load(),
		BusOff:        s.busOff.Load(),
		ErrorPassive:  s.errorPassive.Load(),
		ErrorWarning:  s.errorWarning.Load(),
		RxOverflow:    s.rxOverflow.Load(),
		Dropped:       s.dropped.Load(),
		FDFrames:      s.fdFrames.Load(),
		FDOversize:    s.fdOversize.Load(),
		FDOversizeKey: s.fdOversizeKey.Load(),
	}
}
