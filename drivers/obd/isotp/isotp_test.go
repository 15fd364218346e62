package isotp_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/obd/isotp"
)

// hx parses bytes written as on a CAN trace: "10 14 49 02".
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// seq returns n bytes counting up from first.
func seq(first byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i)
	}
	return b
}

// vinAnswer is the mode 09 PID 02 answer "49 02 01" + VIN 1G1JC5444R7252367.
var vinAnswer = append(hx("49 02 01"), "1G1JC5444R7252367"...)

var (
	plain    = isotp.FrameOptions{}
	padded   = isotp.FrameOptions{Pad: true, PadByte: 0xAA}
	extF1    = isotp.FrameOptions{ExtAddr: true, Addr: 0xF1}
	extF1Pad = isotp.FrameOptions{ExtAddr: true, Addr: 0xF1, Pad: true, PadByte: 0x55}
)

// The expected frames are worked out by hand from ISO 15765-2: a single
// frame is 0L + L bytes (L <= 7, <= 6 after an address byte); a first frame
// is 1L LL + 6 bytes (5 after an address byte); consecutive frames are 2N +
// 7 bytes (6), N counting 1..15, 0, 1...
func TestSegment(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		o       isotp.FrameOptions
		want    []string
	}{
		{"single unpadded", hx("01 0C"), plain, []string{"02 01 0C"}},
		{"single padded", hx("01 0C"), padded, []string{"02 01 0C AA AA AA AA AA"}},
		{"single of 7", seq(1, 7), plain, []string{"07 01 02 03 04 05 06 07"}},
		{"single of 7 padded needs no pad", seq(1, 7), padded, []string{"07 01 02 03 04 05 06 07"}},
		{"first frame at 8", seq(1, 8), plain, []string{
			"10 08 01 02 03 04 05 06",
			"21 07 08",
		}},
		{"VIN answer", vinAnswer, padded, []string{
			"10 14 49 02 01 31 47 31", // 1 G 1
			"21 4A 43 35 34 34 34 52", // J C 5 4 4 4 R
			"22 37 32 35 32 33 36 37", // 7 2 5 2 3 6 7
		}},
		{"short last frame unpadded", seq(1, 10), plain, []string{
			"10 0A 01 02 03 04 05 06",
			"21 07 08 09 0A",
		}},
		{"short last frame padded", seq(1, 10), padded, []string{
			"10 0A 01 02 03 04 05 06",
			"21 07 08 09 0A AA AA AA",
		}},
		{"ext single of 6", seq(1, 6), extF1, []string{"F1 06 01 02 03 04 05 06"}},
		{"ext single padded", hx("3E 00"), extF1Pad, []string{"F1 02 3E 00 55 55 55 55"}},
		{"ext first frame at 7", seq(1, 7), extF1, []string{
			"F1 10 07 01 02 03 04 05",
			"F1 21 06 07",
		}},
		{"ext first frame at 7 padded", seq(1, 7), extF1Pad, []string{
			"F1 10 07 01 02 03 04 05",
			"F1 21 06 07 55 55 55 55",
		}},
		{"ext 20 bytes", seq(0x10, 20), extF1Pad, []string{
			"F1 10 14 10 11 12 13 14",
			"F1 21 15 16 17 18 19 1A",
			"F1 22 1B 1C 1D 1E 1F 20",
			"F1 23 21 22 23 55 55 55",
		}},
		{"12-bit length", seq(0, 0x123), plain, nil}, // first frame checked below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := isotp.Segment(tt.payload, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if got, want := frames[0][:2], hx("11 23"); !bytes.Equal(got, want) {
					t.Errorf("first frame PCI % X, want % X", got, want)
				}
				// 0x123 = 291 bytes: 6 in the first frame, 285 = 40*7 + 5 after.
				if len(frames) != 42 {
					t.Errorf("%d frames, want 42", len(frames))
				}
				return
			}
			if len(frames) != len(tt.want) {
				t.Fatalf("%d frames, want %d: % X", len(frames), len(tt.want), frames)
			}
			for i, f := range frames {
				if want := hx(tt.want[i]); !bytes.Equal(f, want) {
					t.Errorf("frame %d: % X, want % X", i, f, want)
				}
			}
		})
	}
}

func TestSegmentSequenceWraps(t *testing.T) {
	// 125 bytes = 6 + 17*7: consecutive frames 21..2F, 20, 21.
	payload := seq(0, 125)
	frames, err := isotp.Segment(payload, plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 18 {
		t.Fatalf("%d frames, want 18", len(frames))
	}
	want := []byte{0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x20, 0x21}
	for i, pci := range want {
		if got := frames[i+1][0]; got != pci {
			t.Errorf("consecutive frame %d: PCI %02X, want %02X", i+1, got, pci)
		}
	}
	// Frame 16 (SN 0) carries bytes 6+15*7 = 111..117.
	if got, want := frames[16], hx("20 6F 70 71 72 73 74 75"); !bytes.Equal(got, want) {
		t.Errorf("frame 16: % X, want % X", got, want)
	}
	var r isotp.Reassembler
	got := feedAll(t, &r, frames)
	if !bytes.Equal(got, payload) {
		t.Errorf("reassembled % X\nwant % X", got, payload)
	}
}

func TestSegmentErrors(t *testing.T) {
	if _, err := isotp.Segment(nil, plain); err == nil {
		t.Error("empty payload: no error")
	}
	if _, err := isotp.Segment(make([]byte, 4096), plain); !errors.Is(err, isotp.ErrTooLong) {
		t.Errorf("4096 bytes: %v, want ErrTooLong", err)
	}
	frames, err := isotp.Segment(make([]byte, 4095), plain)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := frames[0][:2], hx("1F FF"); !bytes.Equal(got, want) {
		t.Errorf("4095 bytes: PCI % X, want % X", got, want)
	}
}

func TestFlowControlFrame(t *testing.T) {
	tests := []struct {
		fs     isotp.FlowStatus
		bs, st byte
		o      isotp.FrameOptions
		want   string
	}{
		{isotp.ContinueToSend, 0, 0, padded, "30 00 00 AA AA AA AA AA"},
		{isotp.ContinueToSend, 0, 0, plain, "30 00 00"},
		{isotp.ContinueToSend, 8, 0x14, plain, "30 08 14"},
		{isotp.Wait, 0, 0, plain, "31 00 00"},
		{isotp.Overflow, 0, 0, padded, "32 00 00 AA AA AA AA AA"},
		{isotp.ContinueToSend, 0, 0xF1, extF1Pad, "F1 30 00 F1 55 55 55 55"},
	}
	for _, tt := range tests {
		if got := isotp.FlowControlFrame(tt.fs, tt.bs, tt.st, tt.o); !bytes.Equal(got, hx(tt.want)) {
			t.Errorf("FlowControlFrame(%d, %d, %#x, %+v) = % X, want %s", tt.fs, tt.bs, tt.st, tt.o, got, tt.want)
		}
	}
}

func TestSTmin(t *testing.T) {
	tests := []struct {
		b    byte
		want time.Duration
	}{
		{0x00, 0},
		{0x01, time.Millisecond},
		{0x14, 20 * time.Millisecond},
		{0x7F, 127 * time.Millisecond},
		{0x80, 127 * time.Millisecond}, // reserved
		{0xF0, 127 * time.Millisecond}, // reserved
		{0xF1, 100 * time.Microsecond},
		{0xF5, 500 * time.Microsecond},
		{0xF9, 900 * time.Microsecond},
		{0xFA, 127 * time.Millisecond}, // reserved
		{0xFF, 127 * time.Millisecond}, // reserved
	}
	for _, tt := range tests {
		if got := isotp.STmin(tt.b); got != tt.want {
			t.Errorf("STmin(%#02x) = %v, want %v", tt.b, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		data string
		pci  isotp.PCI
		body string
		err  error
	}{
		{"single", "02 41 0C", isotp.PCI{Type: isotp.Single, Len: 2}, "41 0C", nil},
		{"single padding dropped", "03 41 0D 32 AA AA AA AA", isotp.PCI{Type: isotp.Single, Len: 3}, "41 0D 32", nil},
		{"single of 7", "07 01 02 03 04 05 06 07", isotp.PCI{Type: isotp.Single, Len: 7}, "01 02 03 04 05 06 07", nil},
		{"first", "10 14 49 02 01 31 47 31", isotp.PCI{Type: isotp.First, Len: 20}, "49 02 01 31 47 31", nil},
		{"first 12-bit", "1F FF 00 01 02 03 04 05", isotp.PCI{Type: isotp.First, Len: 4095}, "00 01 02 03 04 05", nil},
		{"first at 8", "10 08 01 02 03 04 05 06", isotp.PCI{Type: isotp.First, Len: 8}, "01 02 03 04 05 06", nil},
		{"first of 7 after an address byte", "10 07 01 02 03 04 05", isotp.PCI{Type: isotp.First, Len: 7}, "01 02 03 04 05", nil},
		{"first 32-bit escape", "10 00 00 00 13 88 01 02", isotp.PCI{Type: isotp.First, Len: 5000}, "01 02", nil},
		{"consecutive", "21 4A 43 35 34 34 34 52", isotp.PCI{Type: isotp.Consecutive, SN: 1}, "4A 43 35 34 34 34 52", nil},
		{"consecutive SN 0", "20 01", isotp.PCI{Type: isotp.Consecutive, SN: 0}, "01", nil},
		{"consecutive SN 15", "2F 01 02", isotp.PCI{Type: isotp.Consecutive, SN: 15}, "01 02", nil},
		{"flow CTS", "30 00 00 AA AA AA AA AA", isotp.PCI{Type: isotp.FlowControl, Status: isotp.ContinueToSend}, "", nil},
		{"flow BS STmin", "30 08 14", isotp.PCI{Type: isotp.FlowControl, BlockSize: 8, STmin: 0x14}, "", nil},
		{"flow wait", "31 00 00", isotp.PCI{Type: isotp.FlowControl, Status: isotp.Wait}, "", nil},
		{"flow overflow", "32 00 00", isotp.PCI{Type: isotp.FlowControl, Status: isotp.Overflow}, "", nil},

		{"empty", "", isotp.PCI{}, "", isotp.ErrShort},
		{"single too short", "05 01 02", isotp.PCI{Type: isotp.Single, Len: 5}, "", isotp.ErrShort},
		{"single of 8 in a classical frame", "08 01 02 03 04 05 06 07", isotp.PCI{Type: isotp.Single, Len: 8}, "", isotp.ErrShort},
		{"single length 0", "00 03 01 02 03 AA AA AA", isotp.PCI{Type: isotp.Single}, "", isotp.ErrBadPCI},
		{"single length 0 alone", "00", isotp.PCI{Type: isotp.Single}, "", isotp.ErrBadPCI},
		{"first too short", "10", isotp.PCI{Type: isotp.First}, "", isotp.ErrShort},
		{"first of 7 in a full frame", "10 07 01 02 03 04 05 06", isotp.PCI{Type: isotp.First, Len: 7}, "", isotp.ErrBadPCI},
		{"first of 2", "10 02 01 02 03 04 05 06", isotp.PCI{Type: isotp.First, Len: 2}, "", isotp.ErrBadPCI},
		{"first escape too short", "10 00 00 00", isotp.PCI{Type: isotp.First}, "", isotp.ErrShort},
		{"first escape over 1 MiB", "10 00 00 10 00 01 01 02", isotp.PCI{Type: isotp.First}, "", isotp.ErrTooLong},
		{"flow too short", "30 00", isotp.PCI{Type: isotp.FlowControl}, "", isotp.ErrShort},
		{"flow status 3", "33 00 00", isotp.PCI{Type: isotp.FlowControl, Status: 3}, "", isotp.ErrBadPCI},
		{"frame type 4", "40 01 02", isotp.PCI{Type: 4}, "", isotp.ErrBadPCI},
		{"frame type F", "FF FF FF FF FF FF FF FF", isotp.PCI{Type: 15}, "", isotp.ErrBadPCI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pci, body, err := isotp.Parse(hx(tt.data))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				if pci.Type != tt.pci.Type {
					t.Errorf("type %v, want %v", pci.Type, tt.pci.Type)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pci != tt.pci {
				t.Errorf("PCI %+v, want %+v", pci, tt.pci)
			}
			if !bytes.Equal(body, hx(tt.body)) {
				t.Errorf("body % X, want %s", body, tt.body)
			}
		})
	}
}

func TestFrameTypeString(t *testing.T) {
	for ft, want := range map[isotp.FrameType]string{
		isotp.Single: "single", isotp.First: "first", isotp.Consecutive: "consecutive",
		isotp.FlowControl: "flow-control", 7: "frame-type-7",
	} {
		if got := ft.String(); got != want {
			t.Errorf("%d: %q, want %q", uint8(ft), got, want)
		}
	}
}

// feedAll feeds frames and returns the one payload they make, failing on
// errors, on an early payload or on none.
func feedAll(t *testing.T, r *isotp.Reassembler, frames [][]byte) []byte {
	t.Helper()
	for i, f := range frames {
		res, err := r.Feed(f)
		if err != nil {
			t.Fatalf("frame %d (% X): %v", i, f, err)
		}
		if res.First != (i == 0 && len(frames) > 1) {
			t.Errorf("frame %d: First = %v", i, res.First)
		}
		if i < len(frames)-1 {
			if res.Payload != nil {
				t.Fatalf("frame %d of %d completed a payload", i, len(frames))
			}
			continue
		}
		if res.Payload == nil {
			t.Fatalf("last frame completed nothing; %d bytes missing", r.Missing())
		}
		return res.Payload
	}
	t.Fatal("no frames")
	return nil
}

func TestReassembleVIN(t *testing.T) {
	frames := [][]byte{
		hx("10 14 49 02 01 31 47 31"),
		hx("21 4A 43 35 34 34 34 52"),
		hx("22 37 32 35 32 33 36 37"),
	}
	var r isotp.Reassembler
	res, err := r.Feed(frames[0])
	if err != nil || !res.First || res.Payload != nil {
		t.Fatalf("first frame: %+v, %v", res, err)
	}
	if !r.Active() || r.Missing() != 14 {
		t.Errorf("after the first frame: active %v, missing %d, want true, 14", r.Active(), r.Missing())
	}
	if res, err = r.Feed(frames[1]); err != nil || res.Payload != nil || r.Missing() != 7 {
		t.Fatalf("second frame: %+v, %v, missing %d", res, err, r.Missing())
	}
	if res, err = r.Feed(frames[2]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Payload, vinAnswer) {
		t.Errorf("payload % X\nwant % X", res.Payload, vinAnswer)
	}
	if string(res.Payload[3:]) != "1G1JC5444R7252367" {
		t.Errorf("VIN %q", res.Payload[3:])
	}
	if r.Active() || r.Missing() != 0 {
		t.Errorf("after the message: active %v, missing %d", r.Active(), r.Missing())
	}
}

func TestReassemblePaddingTrimmed(t *testing.T) {
	var r isotp.Reassembler
	got := feedAll(t, &r, [][]byte{
		hx("10 0A 01 02 03 04 05 06"),
		hx("21 07 08 09 0A AA AA AA"),
	})
	if want := seq(1, 10); !bytes.Equal(got, want) {
		t.Errorf("got % X, want % X", got, want)
	}
	// A single frame's padding too.
	res, err := r.Feed(hx("03 7F 22 78 AA AA AA AA"))
	if err != nil || !bytes.Equal(res.Payload, hx("7F 22 78")) {
		t.Errorf("single: %+v, %v", res, err)
	}
}

func TestReassembleSinglePayloadIsACopy(t *testing.T) {
	var r isotp.Reassembler
	frame := hx("02 41 0C")
	res, err := r.Feed(frame)
	if err != nil {
		t.Fatal(err)
	}
	frame[1] = 0
	if !bytes.Equal(res.Payload, hx("41 0C")) {
		t.Errorf("payload changed with the frame: % X", res.Payload)
	}
}

func TestReassembleFlowControl(t *testing.T) {
	var r isotp.Reassembler
	res, err := r.Feed(hx("30 08 14 AA AA AA AA AA"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Flow == nil || *res.Flow != (isotp.PCI{Type: isotp.FlowControl, BlockSize: 8, STmin: 0x14}) {
		t.Errorf("Flow = %+v", res.Flow)
	}
	if res.Payload != nil || res.First {
		t.Errorf("flow control gave %+v", res)
	}
}

// TestReassemble32BitEscape reassembles a 5000-byte message announced with
// the 32-bit length escape, which Segment never produces: the frames are
// built here byte by byte.
func TestReassemble32BitEscape(t *testing.T) {
	const n = 5000 // 0x1388: 2 bytes in the first frame, then 714 frames of 7
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	frames := [][]byte{append(hx("10 00 00 00 13 88"), payload[:2]...)}
	for off, sn := 2, 1; off < n; off, sn = off+7, sn+1 {
		frames = append(frames, append([]byte{0x20 | byte(sn&0x0f)}, payload[off:min(off+7, n)]...))
	}
	if len(frames) != 715 {
		t.Fatalf("built %d frames, want 715", len(frames))
	}
	var r isotp.Reassembler
	if got := feedAll(t, &r, frames); !bytes.Equal(got, payload) {
		t.Errorf("payload differs (len %d)", len(got))
	}
}

func TestReassembleErrors(t *testing.T) {
	t.Run("consecutive without first", func(t *testing.T) {
		var r isotp.Reassembler
		if _, err := r.Feed(hx("21 01 02 03 04 05 06 07")); !errors.Is(err, isotp.ErrUnexpected) {
			t.Errorf("got %v, want ErrUnexpected", err)
		}
	})
	t.Run("out of sequence", func(t *testing.T) {
		var r isotp.Reassembler
		if _, err := r.Feed(hx("10 14 49 02 01 31 47 31")); err != nil {
			t.Fatal(err)
		}
		_, err := r.Feed(hx("22 37 32 35 32 33 36 37"))
		if !errors.Is(err, isotp.ErrSequence) {
			t.Fatalf("got %v, want ErrSequence", err)
		}
		if r.Active() {
			t.Error("still active after a sequence error")
		}
		// The message is gone: its next frame is unexpected.
		if _, err := r.Feed(hx("21 4A 43 35 34 34 34 52")); !errors.Is(err, isotp.ErrUnexpected) {
			t.Errorf("after the abort: %v, want ErrUnexpected", err)
		}
		// A new message works.
		res, err := r.Feed(hx("02 41 0C"))
		if err != nil || !bytes.Equal(res.Payload, hx("41 0C")) {
			t.Errorf("new single frame: %+v, %v", res, err)
		}
	})
	t.Run("repeated frame", func(t *testing.T) {
		var r isotp.Reassembler
		for _, f := range []string{"10 14 49 02 01 31 47 31", "21 4A 43 35 34 34 34 52"} {
			if _, err := r.Feed(hx(f)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.Feed(hx("21 4A 43 35 34 34 34 52")); !errors.Is(err, isotp.ErrSequence) {
			t.Errorf("got %v, want ErrSequence", err)
		}
	})
	t.Run("consecutive after completion", func(t *testing.T) {
		var r isotp.Reassembler
		feedAll(t, &r, [][]byte{hx("10 08 01 02 03 04 05 06"), hx("21 07 08 AA AA AA AA AA")})
		if _, err := r.Feed(hx("22 01")); !errors.Is(err, isotp.ErrUnexpected) {
			t.Errorf("got %v, want ErrUnexpected", err)
		}
	})
	t.Run("invalid frames are ignored mid-message", func(t *testing.T) {
		var r isotp.Reassembler
		if _, err := r.Feed(hx("10 14 49 02 01 31 47 31")); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"", "40 01 02", "05 01", "00 AA AA", "10 03 01 02 03 04 05 06", "33 00 00"} {
			if _, err := r.Feed(hx(bad)); err == nil {
				t.Errorf("%q: no error", bad)
			}
			if !r.Active() || r.Missing() != 14 {
				t.Fatalf("%q disturbed the message: active %v, missing %d", bad, r.Active(), r.Missing())
			}
		}
		got := feedAll(t, &r, [][]byte{hx("10 14 49 02 01 31 47 31"), hx("21 4A 43 35 34 34 34 52"), hx("22 37 32 35 32 33 36 37")})
		if !bytes.Equal(got, vinAnswer) {
			t.Errorf("got % X", got)
		}
	})
	t.Run("single frame abandons a message", func(t *testing.T) {
		var r isotp.Reassembler
		if _, err := r.Feed(hx("10 14 49 02 01 31 47 31")); err != nil {
			t.Fatal(err)
		}
		res, err := r.Feed(hx("03 7F 09 78"))
		if err != nil || !bytes.Equal(res.Payload, hx("7F 09 78")) {
			t.Fatalf("single: %+v, %v", res, err)
		}
		if r.Active() {
			t.Error("message still active")
		}
	})
	t.Run("first frame restarts", func(t *testing.T) {
		var r isotp.Reassembler
		if _, err := r.Feed(hx("10 0A FF FF FF FF FF FF")); err != nil {
			t.Fatal(err)
		}
		got := feedAll(t, &r, [][]byte{hx("10 0A 01 02 03 04 05 06"), hx("21 07 08 09 0A")})
		if !bytes.Equal(got, seq(1, 10)) {
			t.Errorf("got % X", got)
		}
	})
	t.Run("reset", func(t *testing.T) {
		var r isotp.Reassembler
		if _, err := r.Feed(hx("10 0A 01 02 03 04 05 06")); err != nil {
			t.Fatal(err)
		}
		r.Reset()
		if r.Active() || r.Missing() != 0 {
			t.Error("Reset left a message")
		}
		if _, err := r.Feed(hx("21 07 08 09 0A")); !errors.Is(err, isotp.ErrUnexpected) {
			t.Errorf("got %v, want ErrUnexpected", err)
		}
	})
}

// TestRoundTrip segments and reassembles payloads of every length up to a
// few wraps of the sequence number, with each frame layout.
func TestRoundTrip(t *testing.T) {
	for _, o := range []isotp.FrameOptions{plain, padded, extF1, extF1Pad} {
		for n := 1; n <= 300; n++ {
			payload := seq(byte(n), n)
			frames, err := isotp.Segment(payload, o)
			if err != nil {
				t.Fatal(err)
			}
			var r isotp.Reassembler
			var got []byte
			for i, f := range frames {
				if o.Pad && len(f) != 8 {
					t.Fatalf("%+v n=%d: frame %d has %d bytes", o, n, i, len(f))
				}
				if o.ExtAddr {
					if f[0] != o.Addr {
						t.Fatalf("%+v n=%d: frame %d address %02X", o, n, i, f[0])
					}
					f = f[1:]
				}
				res, err := r.Feed(f)
				if err != nil {
					t.Fatalf("%+v n=%d: frame %d (% X): %v", o, n, i, f, err)
				}
				if res.Payload != nil {
					got = res.Payload
				}
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("%+v n=%d: got % X", o, n, got)
			}
		}
	}
}

func FuzzReassemble(f *testing.F) {
	f.Add([]byte("\x08\x10\x14\x49\x02\x01\x31\x47\x31\x08\x21\x4A\x43\x35\x34\x34\x34\x52\x08\x22\x37\x32\x35\x32\x33\x36\x37"), false, byte(0), false)
	f.Add([]byte("\x06\x10\x00\x00\x00\x10\x00\x02\x21\x01\x03\x30\x00\x00"), true, byte(0xF1), true)
	f.Add([]byte("\x03\x02\x41\x0C\x01\x40\x00\x08\x1F\xFF"), false, byte(0x55), true)
	f.Fuzz(func(t *testing.T, data []byte, ext bool, addr byte, pad bool) {
		// Property 1: any frame sequence is handled without panicking, and
		// what it yields is consistent. data is a list of frames, each one
		// length byte (mod 9) followed by that many bytes.
		var r isotp.Reassembler
		for rest := data; len(rest) > 0; {
			n := min(int(rest[0]%9), len(rest)-1)
			frame := rest[1 : 1+n]
			rest = rest[1+n:]
			wasActive, missing := r.Active(), r.Missing()
			res, err := r.Feed(frame)
			if err != nil && (res.Payload != nil || res.First || res.Flow != nil) {
				t.Fatalf("% X: error %v with a result %+v", frame, err, res)
			}
			if res.Payload != nil && len(res.Payload) == 0 {
				t.Fatalf("% X: empty payload", frame)
			}
			if res.Payload != nil && r.Active() {
				t.Fatalf("% X: payload completed but a message is still active", frame)
			}
			if r.Missing() < 0 || (r.Active() && r.Missing() == 0) {
				t.Fatalf("% X: missing %d, active %v", frame, r.Missing(), r.Active())
			}
			if err != nil && !errors.Is(err, isotp.ErrSequence) && !errors.Is(err, isotp.ErrUnexpected) &&
				(r.Active() != wasActive || r.Missing() != missing) {
				t.Fatalf("% X: invalid frame (%v) changed the message in progress", frame, err)
			}
		}

		// Property 2: Segment then Feed returns the payload.
		payload := data
		if len(payload) == 0 || len(payload) > isotp.MaxPayload {
			return
		}
		o := isotp.FrameOptions{ExtAddr: ext, Addr: addr, Pad: pad, PadByte: 0xAA}
		frames, err := isotp.Segment(payload, o)
		if err != nil {
			t.Fatalf("Segment(%d bytes): %v", len(payload), err)
		}
		r.Reset()
		var got []byte
		for i, fr := range frames {
			if len(fr) > 8 || (pad && len(fr) != 8) {
				t.Fatalf("frame %d: %d bytes", i, len(fr))
			}
			if ext {
				fr = fr[1:]
			}
			res, err := r.Feed(fr)
			if err != nil {
				t.Fatalf("frame %d (% X): %v", i, fr, err)
			}
			if res.Payload != nil {
				if i != len(frames)-1 {
					t.Fatalf("payload complete at frame %d of %d", i, len(frames))
				}
				got = res.Payload
			}
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("round trip: got % X, want % X", got, payload)
		}
	})
}

func BenchmarkReassemble62(b *testing.B) {
	payload := append(hx("62 01 01"), seq(0, 59)...) // UDS 22 0101 answer, 62 bytes
	frames, err := isotp.Segment(payload, padded)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	var r isotp.Reassembler
	for b.Loop() {
		var got []byte
		for _, f := range frames {
			res, err := r.Feed(f)
			if err != nil {
				b.Fatal(err)
			}
			got = res.Payload
		}
		if len(got) != 62 {
			b.Fatalf("got %d bytes", len(got))
		}
	}
}
