// Package isotp implements the framing of ISO 15765-2 (ISO-TP), the transport
// that carries OBD-II and UDS messages longer than one CAN frame: single,
// first, consecutive and flow-control frames, padding, and extended (one byte)
// addressing. The framing is pure: it turns payloads into frame data and frame
// data back into payloads, so that the same code serves a SocketCAN
// connection, an ELM327 printing raw frames with headers, recorded answers and
// the simulators.
//
// Only classical CAN (8-byte frames) is supported; first frames with the
// 32-bit length escape (payloads over 4095 bytes, ISO 15765-2:2016) are
// reassembled but never produced.
package isotp

import (
	"errors"
	"fmt"
	"time"
)

// FrameType is the high nibble of the protocol control information (PCI).
type FrameType uint8

const (
	Single      FrameType = 0
	First       FrameType = 1
	Consecutive FrameType = 2
	FlowControl FrameType = 3
)

func (t FrameType) String() string {
	switch t {
	case Single:
		return "single"
	case First:
		return "first"
	case Consecutive:
		return "consecutive"
	case FlowControl:
		return "flow-control"
	}
	return fmt.Sprintf("frame-type-%d", uint8(t))
}

// FlowStatus is the flow-control status nibble.
type FlowStatus uint8

const (
	ContinueToSend FlowStatus = 0
	Wait           FlowStatus = 1
	Overflow       FlowStatus = 2
)

// MaxPayload is the longest payload Segment produces (12-bit length).
const MaxPayload = 4095

// Errors returned by the parser and the reassembler.
var (
	ErrShort      = errors.New("isotp: frame too short")
	ErrBadPCI     = errors.New("isotp: invalid protocol control information")
	ErrSequence   = errors.New("isotp: consecutive frame out of sequence")
	ErrUnexpected = errors.New("isotp: consecutive frame without a first frame")
	ErrTooLong    = errors.New("isotp: payload too long")
)

// FrameOptions say how frames are laid out on the bus.
type FrameOptions struct {
	// ExtAddr, when true, puts Addr as the first data byte of every frame
	// (ISO 15765-2 extended or mixed addressing), leaving 7 bytes.
	ExtAddr bool
	Addr    byte
	// Pad fills every frame up to 8 bytes with PadByte (the OBD-II
	// requirement, ISO 15765-4); without it frames are as short as possible.
	Pad     bool
	PadByte byte
}

// capacity is the number of bytes a frame can carry after the address byte.
func (o FrameOptions) capacity() int {
	if o.ExtAddr {
		return 7
	}
	return 8
}

func (o FrameOptions) frame(body ...[]byte) []byte {
	f := make([]byte, 0, 8)
	if o.ExtAddr {
		f = append(f, o.Addr)
	}
	for _, b := range body {
		f = append(f, b...)
	}
	if o.Pad {
		for len(f) < 8 {
			f = append(f, o.PadByte)
		}
	}
	return f
}

// Segment splits payload into frame data: one single frame when it fits,
// otherwise a first frame and consecutive frames with sequence numbers
// 1..15, 0, 1... The caller sends the first frame, waits for the receiver's
// flow control, then sends the consecutive frames as it allows.
func Segment(payload []byte, o FrameOptions) ([][]byte, error) {
	n := len(payload)
	c := o.capacity()
	if n == 0 {
		return nil, fmt.Errorf("isotp: empty payload")
	}
	if n > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrTooLong, n, MaxPayload)
	}
	if n <= c-1 {
		return [][]byte{o.frame([]byte{byte(n)}, payload)}, nil
	}
	first := c - 2
	frames := [][]byte{o.frame([]byte{0x10 | byte(n>>8), byte(n)}, payload[:first])}
	sn := byte(1)
	for off := first; off < n; off += c - 1 {
		end := min(off+c-1, n)
		frames = append(frames, o.frame([]byte{0x20 | sn}, payload[off:end]))
		sn = (sn + 1) & 0x0f
	}
	return frames, nil
}

// FlowControlFrame builds a flow-control frame: status, block size (0: send
// everything without waiting again) and minimum separation time (STmin byte
// as on the wire, see STmin).
func FlowControlFrame(fs FlowStatus, blockSize, stMin byte, o FrameOptions) []byte {
	return o.frame([]byte{0x30 | byte(fs), blockSize, stMin})
}

// STmin converts the separation-time byte of a flow-control frame to a
// duration: 0x00-0x7F milliseconds, 0xF1-0xF9 100-900 microseconds; reserved
// values mean 127 ms, as the standard asks a sender to assume.
func STmin(b byte) time.Duration {
	switch {
	case b <= 0x7f:
		return time.Duration(b) * time.Millisecond
	case b >= 0xf1 && b <= 0xf9:
		return time.Duration(b-0xf0) * 100 * time.Microsecond
	}
	return 127 * time.Millisecond
}

// PCI is a parsed protocol control information.
type PCI struct {
	Type FrameType
	// Len is the payload length of a single or first frame.
	Len int
	// SN is the sequence number of a consecutive frame.
	SN uint8
	// Flow control fields.
	Status    FlowStatus
	BlockSize uint8
	STmin     uint8
}

// Parse reads the PCI of one frame's data (after the extended address byte,
// if any) and returns it with the payload bytes that frame carries. Padding
// after a single frame's payload is dropped; a consecutive frame's data is
// returned whole (the reassembler trims it to the announced length).
func Parse(data []byte) (PCI, []byte, error) {
	if len(data) == 0 {
		return PCI{}, nil, ErrShort
	}
	p := PCI{Type: FrameType(data[0] >> 4)}
	switch p.Type {
	case Single:
		p.Len = int(data[0] & 0x0f)
		body := data[1:]
		// SF_DL 0 is the CAN FD escape (length in the next byte), valid only
		// in frames longer than 8 bytes; in a classical frame it is
		// reserved and a receiver ignores the frame (ISO 15765-2:2016).
		if p.Len == 0 && len(data) > 8 {
			p.Len = int(data[1])
			body = data[2:]
		}
		if p.Len == 0 {
			return p, nil, fmt.Errorf("%w: single frame of length 0", ErrBadPCI)
		}
		if len(body) < p.Len {
			return p, nil, fmt.Errorf("%w: single frame announces %d bytes, carries %d", ErrShort, p.Len, len(body))
		}
		return p, body[:p.Len], nil
	case First:
		if len(data) < 2 {
			return p, nil, ErrShort
		}
		p.Len = int(data[0]&0x0f)<<8 | int(data[1])
		body := data[2:]
		if p.Len == 0 { // 32-bit length escape
			if len(data) < 6 {
				return p, nil, ErrShort
			}
			l := uint32(data[2])<<24 | uint32(data[3])<<16 | uint32(data[4])<<8 | uint32(data[5])
			if l > 1<<20 {
				return p, nil, fmt.Errorf("%w: first frame announces %d bytes", ErrTooLong, l)
			}
			p.Len = int(l)
			body = data[6:]
		}
		// A first frame must carry more than a single frame of the same
		// size could: FF_DLmin is 8 with normal addressing (8 data bytes
		// after the address) and 7 with extended addressing (7 data bytes).
		ffMin := 8
		if len(data) < 8 {
			ffMin = 7
		}
		if p.Len < ffMin {
			return p, nil, fmt.Errorf("%w: first frame announces only %d bytes", ErrBadPCI, p.Len)
		}
		if len(body) > p.Len {
			body = body[:p.Len]
		}
		return p, body, nil
	case Consecutive:
		p.SN = data[0] & 0x0f
		return p, data[1:], nil
	case FlowControl:
		if len(data) < 3 {
			return p, nil, ErrShort
		}
		p.Status = FlowStatus(data[0] & 0x0f)
		if p.Status > Overflow {
			return p, nil, fmt.Errorf("%w: flow status %d", ErrBadPCI, p.Status)
		}
		p.BlockSize, p.STmin = data[1], data[2]
		return p, nil, nil
	}
	return p, nil, fmt.Errorf("%w: frame type %d", ErrBadPCI, p.Type)
}

// Reassembler collects the frames of one sender into payloads. The zero value
// is ready to use; it is not safe for concurrent use.
type Reassembler struct {
	buf    []byte
	want   int
	next   uint8
	active bool
}

// Result of feeding one frame.
type Result struct {
	// Payload is set when a message is complete. It is owned by the caller.
	Payload []byte
	// First is true when the frame was a first frame: a receiver must answer
	// with a flow-control frame.
	First bool
	// Flow is set when the frame was a flow-control frame (for a sender).
	Flow *PCI
}

// Feed processes one frame's data (after the extended address byte, if any).
// A new single or first frame abandons a message in progress, and so does a
// consecutive frame out of sequence (ErrSequence). A frame that does not
// parse (unknown frame type, invalid length) is reported and otherwise
// ignored, as ISO 15765-2 asks: a message in progress goes on.
func (r *Reassembler) Feed(data []byte) (Result, error) {
	p, body, err := Parse(data)
	if err != nil {
		return Result{}, err
	}
	switch p.Type {
	case Single:
		r.Reset()
		return Result{Payload: append([]byte(nil), body...)}, nil
	case First:
		r.Reset()
		r.active, r.want, r.next = true, p.Len, 1
		// Capacity for a 12-bit length at most: a 32-bit escape may
		// announce up to 1 MiB, which one forged frame should not allocate.
		r.buf = append(make([]byte, 0, min(p.Len, MaxPayload)), body...)
		return Result{First: true}, nil
	case Consecutive:
		if !r.active {
			return Result{}, ErrUnexpected
		}
		if p.SN != r.next {
			want := r.next
			r.Reset()
			return Result{}, fmt.Errorf("%w: got %d, want %d", ErrSequence, p.SN, want)
		}
		r.next = (r.next + 1) & 0x0f
		take := min(len(body), r.want-len(r.buf))
		r.buf = append(r.buf, body[:take]...)
		if len(r.buf) == r.want {
			msg := r.buf
			r.buf, r.active = nil, false
			return Result{Payload: msg}, nil
		}
		return Result{}, nil
	default: // flow control
		fc := p // a copy, so that p stays on the stack for the other frames
		return Result{Flow: &fc}, nil
	}
}

// Active reports whether a multi-frame message is in progress.
func (r *Reassembler) Active() bool { return r.active }

// Missing returns how many payload bytes the message in progress still lacks.
func (r *Reassembler) Missing() int {
	if !r.active {
		return 0
	}
	return r.want - len(r.buf)
}

// Reset drops a message in progress.
func (r *Reassembler) Reset() { r.buf, r.want, r.next, r.active = nil, 0, 0, false }
