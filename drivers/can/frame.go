// Package can is evedge's vocabulary for CAN traffic: the Frame type, the
// scanner-shaped Source and the Sink that every bus driver, log reader and
// writer implements, and an in-process Bus used by the simulator and tests.
//
// Implementations live beside it: socketcan/ (Linux SocketCAN), and the log
// formats in this package (candump, SavvyCAN GVRET CSV, Vector ASC). This
// package imports no cgo and no OS-specific code.
package can

import (
	"errors"
	"fmt"
	"time"
)

// MaxDataLen is the payload size of a classical CAN frame. CAN FD frames
// of up to 8 bytes are carried with the FD flag; longer ones (up to 64
// bytes) are not: readers count them as unsupported and skip them (see
// README, "CAN FD").
const MaxDataLen = 8

// Flags describe a frame beyond its identifier and payload.
type Flags uint8

const (
	// Extended marks a 29-bit identifier.
	Extended Flags = 1 << iota
	// Remote marks a remote transmission request (no payload).
	Remote
	// ErrorFrame marks a controller error frame (SocketCAN CAN_ERR_FLAG).
	ErrorFrame
	// TX marks a frame this node transmitted (as logged by some tools).
	TX
	// FD marks a CAN FD frame whose payload fits in MaxDataLen bytes, as
	// SocketCAN delivers them on a CAN FD link. The candump and ASC logs
	// carry it; GVRET CSV cannot, and writes such a frame as a classical
	// one (same id and payload). CAN FD has no remote or error frames:
	// writers refuse FD with Remote or ErrorFrame (ErrNotRepresentable).
	FD
	// BRS marks a CAN FD frame whose data phase was sent at the data
	// bitrate (bit rate switch; candump flag 1, SocketCAN CANFD_BRS). Only
	// meaningful with FD.
	BRS
	// ESI marks a CAN FD frame whose sender was error passive (error state
	// indicator; candump flag 2, SocketCAN CANFD_ESI). Only meaningful with
	// FD.
	ESI
)

// Frame is one classical CAN frame, or one CAN FD frame of up to 8 bytes
// (flag FD), as seen on one bus.
//
// Frame has no pointers so that slices of frames cost the garbage collector
// nothing, and is designed to fit into 24 bytes (a test checks it).
type Frame struct {
	// Time is the receive time in nanoseconds: since the Unix epoch for live
	// buses and absolute logs, since the start of the recording for logs that
	// only carry relative times (GVRET CSV, relative ASC).
	Time int64
	// ID is the 11- or 29-bit identifier, without flag bits.
	ID uint32
	// Bus is the index of the bus (can0 -> 0, can1 -> 1 ...).
	Bus uint8
	// Len is the payload length, 0..8.
	Len uint8
	// Flags holds Extended, Remote, ErrorFrame, TX, FD, BRS, ESI.
	Flags Flags
	_     uint8
	// Data is the payload; bytes past Len are zero.
	Data [MaxDataLen]byte
}

// IsExtended reports whether the frame has a 29-bit identifier.
func (f *Frame) IsExtended() bool { return f.Flags&Extended != 0 }

// IsRemote reports whether the frame is a remote transmission request.
func (f *Frame) IsRemote() bool { return f.Flags&Remote != 0 }

// IsError reports whether the frame is a controller error frame.
func (f *Frame) IsError() bool { return f.Flags&ErrorFrame != 0 }

// IsFD reports whether the frame was received as a CAN FD frame.
func (f *Frame) IsFD() bool { return f.Flags&FD != 0 }

// Payload returns the valid bytes of the payload.
func (f *Frame) Payload() []byte { return f.Data[:f.Len] }

// Timestamp returns Time as a time.Time.
func (f *Frame) Timestamp() time.Time { return time.Unix(0, f.Time) }

// Key returns the identifier with bit 31 set for extended frames, so that
// 11- and 29-bit identifiers never collide in a lookup table.
func (f *Frame) Key() uint32 {
	if f.Flags&Extended != 0 {
		return f.ID | KeyExtended
	}
	return f.ID
}

// KeyExtended is the bit Key sets for 29-bit identifiers.
const KeyExtended = 1 << 31

// The CAN FD flags as SocketCAN's struct canfd_frame and candump's
// `##<flags>` digit hold them.
const (
	canfdBRS = 0x01 // CANFD_BRS
	canfdESI = 0x02 // CANFD_ESI
)

// fdFlagsNibble returns the candump flags digit (CANFD_BRS, CANFD_ESI) of
// a frame's BRS and ESI flags.
func fdFlagsNibble(fl Flags) uint8 {
	var n uint8
	if fl&BRS != 0 {
		n |= canfdBRS
	}
	if fl&ESI != 0 {
		n |= canfdESI
	}
	return n
}

// Validate reports whether the frame is a well-formed classical CAN frame.
func (f *Frame) Validate() error {
	switch {
	case f.Len > MaxDataLen:
		return fmt.Errorf("length %d > %d", f.Len, MaxDataLen)
	case f.Flags&Extended == 0 && f.ID > 0x7FF:
		return fmt.Errorf("standard id 0x%X > 0x7FF", f.ID)
	case f.ID > 0x1FFFFFFF:
		return fmt.Errorf("extended id 0x%X > 0x1FFFFFFF", f.ID)
	}
	return nil
}

// String formats the frame in candump's compact notation, e.g. "123#DEADBEEF".
func (f Frame) String() string {
	b := make([]byte, 0, 32)
	return string(AppendCompact(b, &f))
}

// AppendCompact appends the frame in candump's compact notation
// (`123#DEADBEEF`, `12345678#00`, `123#R`) to b. A CAN FD frame (FD set,
// neither Remote nor ErrorFrame) is written `123##<flags><data>` with the
// flags digit holding BRS (1) and ESI (2), as can-utils does: `123##1DEAD`.
func AppendCompact(b []byte, f *Frame) []byte {
	const hexdigits = "0123456789ABCDEF"
	if f.Flags&Extended != 0 {
		for s := 28; s >= 0; s -= 4 {
			b = append(b, hexdigits[(f.ID>>uint(s))&0xF])
		}
	} else {
		for s := 8; s >= 0; s -= 4 {
			b = append(b, hexdigits[(f.ID>>uint(s))&0xF])
		}
	}
	b = append(b, '#')
	if f.Flags&Remote != 0 {
		b = append(b, 'R')
		if f.Len > 0 {
			b = append(b, hexdigits[f.Len&0xF])
		}
		return b
	}
	if f.Flags&(FD|ErrorFrame) == FD {
		b = append(b, '#', hexdigits[fdFlagsNibble(f.Flags)])
	}
	for i := 0; i < int(f.Len) && i < MaxDataLen; i++ {
		b = append(b, hexdigits[f.Data[i]>>4], hexdigits[f.Data[i]&0xF])
	}
	return b
}

// Source is a scanner-shaped supplier of frames: call Receive until it
// returns false, read each frame with Frame, then check Err. A Source that
// ends because its context was cancelled or its log ended returns a nil Err.
type Source interface {
	Receive() bool
	Frame() Frame
	Err() error
}

// Sink accepts frames: a bus transmitter or a log writer.
type Sink interface {
	WriteFrame(f Frame) error
}

// ErrNotSupported is returned by drivers whose hardware or kernel support is
// missing on this system (for example SocketCAN outside Linux, or a kernel
// without AF_CAN). The agent degrades and tests skip with the wrapped reason.
var ErrNotSupported = errors.New("not supported on this system")

// ErrUnsupportedFD is returned (wrapped in a LineError) by log readers for
// CAN FD frames with more than 8 bytes, which Frame does not carry. CAN FD
// frames of up to 8 bytes are read, with the FD flag where the format says.
var ErrUnsupportedFD = errors.New("CAN FD frame (more than 8 bytes) not supported")

// LineError is a problem with one line of a log file. Readers count these
// and keep going; they never end the read.
type LineError struct {
	File string // file name, when known
	Line int    // 1-based line number
	Err  error
}

func (e *LineError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }
