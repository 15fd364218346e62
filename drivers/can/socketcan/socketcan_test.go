package socketcan

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/evedge/evedge/drivers/can"
)

// wire builds a struct can_frame: id with flag bits, dlc, payload.
func wire(id uint32, dlc uint8, data ...byte) []byte {
	b := make([]byte, wireLen)
	binary.LittleEndian.PutUint32(b, id)
	b[4] = dlc
	copy(b[8:], data)
	return b
}

const (
	effFlag = 0x80000000 // CAN_EFF_FLAG
	rtrFlag = 0x40000000 // CAN_RTR_FLAG
	errFlag = 0x20000000 // CAN_ERR_FLAG
)

func TestFrameConversion(t *testing.T) {
	tests := []struct {
		name  string
		frame can.Frame
		wire  []byte
	}{
		{"standard", can.Frame{ID: 0x123, Len: 3, Data: [8]byte{0xDE, 0xAD, 0xBE}}, wire(0x123, 3, 0xDE, 0xAD, 0xBE)},
		{"standard max id full payload", can.Frame{ID: 0x7FF, Len: 8, Data: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}}, wire(0x7FF, 8, 1, 2, 3, 4, 5, 6, 7, 8)},
		{"zero length", can.Frame{ID: 0x000}, wire(0, 0)},
		{"extended", can.Frame{ID: 0x18DAF110, Len: 2, Flags: can.Extended, Data: [8]byte{0x02, 0x10}}, wire(effFlag|0x18DAF110, 2, 0x02, 0x10)},
		{"extended small id", can.Frame{ID: 0x5, Len: 1, Flags: can.Extended, Data: [8]byte{9}}, wire(effFlag|0x5, 1, 9)},
		{"extended max id", can.Frame{ID: 0x1FFFFFFF, Flags: can.Extended}, wire(effFlag|0x1FFFFFFF, 0)},
		{"remote", can.Frame{ID: 0x7DF, Len: 8, Flags: can.Remote}, wire(rtrFlag|0x7DF, 8)},
		{"remote extended", can.Frame{ID: 0x1234567, Len: 0, Flags: can.Remote | can.Extended}, wire(effFlag|rtrFlag|0x1234567, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]byte, wireLen)
			if err := encodeWire(tt.frame, got); err != nil {
				t.Fatalf("encode: %v", err)
			}
			if string(got) != string(tt.wire) {
				t.Errorf("encode %v:\n got % X\nwant % X", tt.frame, got, tt.wire)
			}
			var st counters
			back := decodeWire(tt.wire, &st)
			if back != tt.frame {
				t.Errorf("decode % X:\n got %+v\nwant %+v", tt.wire, back, tt.frame)
			}
			if s := st.snapshot(); s != (Stats{Frames: 1}) {
				t.Errorf("stats after one frame: %+v", s)
			}
		})
	}
}

func TestEncodeZeroesUnusedBytes(t *testing.T) {
	// Bytes past Len and the payload of a remote frame must not reach the wire.
	f := can.Frame{ID: 0x100, Len: 2, Data: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}}
	got := make([]byte, wireLen)
	if err := encodeWire(f, got); err != nil {
		t.Fatal(err)
	}
	if want := wire(0x100, 2, 1, 2); string(got) != string(want) {
		t.Errorf("got % X, want % X", got, want)
	}
	f.Flags = can.Remote
	if err := encodeWire(f, got); err != nil {
		t.Fatal(err)
	}
	if want := wire(rtrFlag|0x100, 2); string(got) != string(want) {
		t.Errorf("remote: got % X, want % X", got, want)
	}
}

func TestDecodeCleansPayload(t *testing.T) {
	// Garbage past the DLC, a DLC above 8, and a remote frame's payload must
	// not leak into the Frame (bytes past Len are zero by contract).
	var st counters
	if f := decodeWire(wire(0x100, 2, 1, 2, 3, 4), &st); f.Data != [8]byte{1, 2} {
		t.Errorf("data past len kept: %+v", f)
	}
	if f := decodeWire(wire(0x100, 15, 1, 2, 3, 4, 5, 6, 7, 8), &st); f.Len != 8 {
		t.Errorf("dlc 15 gave Len %d, want 8", f.Len)
	}
	if f := decodeWire(wire(rtrFlag|0x100, 4, 1, 2, 3, 4), &st); f.Data != [8]byte{} || f.Len != 4 {
		t.Errorf("remote frame: %+v", f)
	}
}

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name  string
		frame can.Frame
		want  string
	}{
		{"error frame", can.Frame{ID: 0x40, Len: 8, Flags: can.ErrorFrame}, "error frames"},
		{"standard id too big", can.Frame{ID: 0x800}, "standard id"},
		{"extended id too big", can.Frame{ID: 0x20000000, Flags: can.Extended}, "extended id"},
		{"too long", can.Frame{ID: 1, Len: 9}, "length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := encodeWire(tt.frame, make([]byte, wireLen))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// Error frame payload bytes (linux/can/error.h).
const (
	errTxTimeout = 0x001 // CAN_ERR_TX_TIMEOUT
	errCtrl      = 0x004 // CAN_ERR_CRTL
	errProt      = 0x008 // CAN_ERR_PROT
	errBusOff    = 0x040 // CAN_ERR_BUSOFF
	errRestarted = 0x100 // CAN_ERR_RESTARTED

	ctrlRxOverflow = 0x01
	ctrlTxOverflow = 0x02
	ctrlRxWarning  = 0x04
	ctrlTxWarning  = 0x08
	ctrlRxPassive  = 0x10
	ctrlTxPassive  = 0x20
	ctrlActive     = 0x40
)

func TestErrorFrames(t *testing.T) {
	tests := []struct {
		name string
		wire []byte
		want Stats
	}{
		{"bus off", wire(errFlag|errBusOff, 8), Stats{ErrorFrames: 1, BusOff: 1}},
		{"rx warning", wire(errFlag|errCtrl, 8, 0, ctrlRxWarning), Stats{ErrorFrames: 1, ErrorWarning: 1}},
		{"tx warning", wire(errFlag|errCtrl, 8, 0, ctrlTxWarning), Stats{ErrorFrames: 1, ErrorWarning: 1}},
		{"rx passive", wire(errFlag|errCtrl, 8, 0, ctrlRxPassive), Stats{ErrorFrames: 1, ErrorPassive: 1}},
		{"tx passive and warning", wire(errFlag|errCtrl, 8, 0, ctrlTxPassive|ctrlRxWarning), Stats{ErrorFrames: 1, ErrorPassive: 1, ErrorWarning: 1}},
		{"rx overflow", wire(errFlag|errCtrl, 8, 0, ctrlRxOverflow), Stats{ErrorFrames: 1, RxOverflow: 1}},
		{"tx overflow only", wire(errFlag|errCtrl, 8, 0, ctrlTxOverflow), Stats{ErrorFrames: 1}},
		{"back to active", wire(errFlag|errCtrl, 8, 0, ctrlActive), Stats{ErrorFrames: 1}},
		{"controller bits without controller class", wire(errFlag|errProt, 8, 0, ctrlTxPassive), Stats{ErrorFrames: 1}},
		{"bus off with passive", wire(errFlag|errBusOff|errCtrl, 8, 0, ctrlTxPassive), Stats{ErrorFrames: 1, BusOff: 1, ErrorPassive: 1}},
		{"restarted", wire(errFlag|errRestarted, 8), Stats{ErrorFrames: 1}},
		{"tx timeout", wire(errFlag|errTxTimeout, 8), Stats{ErrorFrames: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st counters
			f := decodeWire(tt.wire, &st)
			if !f.IsError() || f.IsExtended() || f.IsRemote() {
				t.Errorf("flags %v, want only ErrorFrame", f.Flags)
			}
			wantID := binary.LittleEndian.Uint32(tt.wire) &^ errFlag
			if f.ID != wantID {
				t.Errorf("ID 0x%X, want error class 0x%X", f.ID, wantID)
			}
			if f.Len != 8 || string(f.Data[:]) != string(tt.wire[8:]) {
				t.Errorf("payload %d % X, want 8 % X", f.Len, f.Data, tt.wire[8:])
			}
			if got := st.snapshot(); got != tt.want {
				t.Errorf("stats\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestErrorFramesAccumulate(t *testing.T) {
	var st counters
	for range 3 {
		decodeWire(wire(errFlag|errBusOff, 8), &st)
	}
	decodeWire(wire(errFlag|errCtrl, 8, 0, ctrlRxPassive), &st)
	decodeWire(wire(0x123, 0), &st)
	want := Stats{Frames: 1, ErrorFrames: 4, BusOff: 3, ErrorPassive: 1}
	if got := st.snapshot(); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestOpenCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := Open(ctx, "vcan0", 0)
	if c != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Open = %v, %v; want nil and context.Canceled", c, err)
	}
}

// fdWire builds a struct canfd_frame (linux/can.h): can_id with flag bits,
// len, flags, two reserved bytes, 64 data bytes.
func fdWire(id uint32, n uint8, flags uint8, data ...byte) []byte {
	b := make([]byte, 72)
	binary.LittleEndian.PutUint32(b, id)
	b[4], b[5] = n, flags
	copy(b[8:], data)
	return b
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(0xA0 + i)
	}
	return b
}

func TestDecodeFD(t *testing.T) {
	const brs = 0x01 // CANFD_BRS
	tests := []struct {
		name string
		wire []byte
		ok   bool
		want can.Frame
		st   Stats
	}{
		{"8 bytes", fdWire(0x123, 8, 0, seq(8)...), true,
			can.Frame{ID: 0x123, Len: 8, Flags: can.FD, Data: [8]byte(seq(8))}, Stats{Frames: 1, FDFrames: 1}},
		{"empty", fdWire(0x7FF, 0, 0), true, can.Frame{ID: 0x7FF, Flags: can.FD}, Stats{Frames: 1, FDFrames: 1}},
		{"extended with bit rate switch", fdWire(effFlag|0x18DAF110, 5, brs, 1, 2, 3, 4, 5), true,
			can.Frame{ID: 0x18DAF110, Len: 5, Flags: can.FD | can.BRS | can.Extended, Data: [8]byte{1, 2, 3, 4, 5}}, Stats{Frames: 1, FDFrames: 1}},
		{"error state indicator", fdWire(0x101, 1, 0x02, 9), true, // CANFD_ESI
			can.Frame{ID: 0x101, Len: 1, Flags: can.FD | can.ESI, Data: [8]byte{9}}, Stats{Frames: 1, FDFrames: 1}},
		{"remote flag ignored", fdWire(rtrFlag|0x100, 2, 0, 7, 8), true,
			can.Frame{ID: 0x100, Len: 2, Flags: can.FD, Data: [8]byte{7, 8}}, Stats{Frames: 1, FDFrames: 1}},
		{"garbage past len dropped", fdWire(0x100, 3, 0, seq(64)...), true,
			can.Frame{ID: 0x100, Len: 3, Flags: can.FD, Data: [8]byte{0xA0, 0xA1, 0xA2}}, Stats{Frames: 1, FDFrames: 1}},
		{"12 bytes", fdWire(0x124, 12, brs, seq(12)...), false, can.Frame{}, Stats{FDOversize: 1, FDOversizeKey: 0x124}},
		{"64 bytes extended", fdWire(effFlag|0x1FFFFFFF, 64, 0, seq(64)...), false, can.Frame{},
			Stats{FDOversize: 1, FDOversizeKey: 0x1FFFFFFF | can.KeyExtended}},
		{"9 bytes (bad len)", fdWire(0x7FF, 9, 0), false, can.Frame{}, Stats{FDOversize: 1, FDOversizeKey: 0x7FF}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st counters
			f, ok := decodeFD(tt.wire, &st)
			if ok != tt.ok || f != tt.want {
				t.Errorf("got %+v %v\nwant %+v %v", f, ok, tt.want, tt.ok)
			}
			if s := st.snapshot(); s != tt.st {
				t.Errorf("stats\n got %+v\nwant %+v", s, tt.st)
			}
		})
	}
}

func TestEncodeFD(t *testing.T) {
	b := make([]byte, fdWireLen)
	f := can.Frame{ID: 0x18DAF110, Len: 8, Flags: can.FD | can.Extended, Data: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}}
	if err := encodeFD(f, b); err != nil {
		t.Fatal(err)
	}
	if want := fdWire(effFlag|0x18DAF110, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8); string(b) != string(want) {
		t.Errorf("got % X\nwant % X", b, want)
	}
	var st counters
	if back, ok := decodeFD(b, &st); !ok || back != f {
		t.Errorf("round trip: %+v %v", back, ok)
	}
	// BRS and ESI go to canfd_frame.flags (byte 5): CANFD_BRS 1, CANFD_ESI 2.
	f.Flags |= can.BRS | can.ESI
	if err := encodeFD(f, b); err != nil || b[5] != 0x03 {
		t.Errorf("flags byte %#x (%v), want 0x03", b[5], err)
	}
	if back, ok := decodeFD(b, &st); !ok || back != f {
		t.Errorf("round trip with BRS and ESI: %+v %v", back, ok)
	}
	if err := encodeFD(can.Frame{ID: 1, Flags: can.FD | can.Remote}, make([]byte, fdWireLen)); err == nil {
		t.Error("remote CAN FD frame encoded")
	}
	if err := encodeFD(can.Frame{ID: 0x800, Flags: can.FD}, make([]byte, fdWireLen)); err == nil {
		t.Error("bad id encoded")
	}
}

func TestWriteFDNeedsFDSocket(t *testing.T) {
	c := &Conn{name: "vcan9"} // never opened: the check comes first
	err := c.WriteFrame(can.Frame{ID: 1, Len: 1, Flags: can.FD})
	if err == nil || !strings.Contains(err.Error(), "vcan9") || !strings.Contains(err.Error(), "without CAN FD") {
		t.Fatalf("got %v", err)
	}
}
