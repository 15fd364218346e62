package isotpcan

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/obd"
)

// fuzzFrames turns fuzz input into frames: per frame a selector byte (id,
// 29-bit flag), a length byte (mod 9) and that many data bytes.
func fuzzFrames(data []byte, ids []uint32) []can.Frame {
	var out []can.Frame
	for len(data) >= 2 {
		sel, n := data[0], min(int(data[1]%9), len(data)-2)
		f := can.Frame{ID: ids[int(sel&0x3F)%len(ids)], Len: uint8(n)}
		if sel&0x40 != 0 {
			f.Flags = can.Extended
		}
		if sel&0x80 != 0 && f.Flags == 0 {
			f.Flags = can.Remote
		}
		copy(f.Data[:], data[2:2+n])
		out = append(out, f)
		data = data[2+n:]
	}
	return out
}

// FuzzCollector feeds arbitrary frames to the answer collector of a
// physical or functional request: it must not panic, must only ask to send
// well-formed flow control to the right ECU, and must end with answers from
// the expected ids or an error.
func FuzzCollector(f *testing.F) {
	f.Add([]byte("\x00\x08\x10\x14\x49\x02\x01\x31\x47\x31\x00\x08\x21\x4A\x43\x35\x34\x34\x34\x52\x00\x08\x22\x37\x32\x35\x32\x33\x36\x37"), false, false, byte(0))
	f.Add([]byte("\x01\x03\x7F\x22\x78\x01\x04\x03\x62\x01\x01\x02\x02\x21\x00"), true, false, byte(2))
	f.Add([]byte("\x00\x08\xF1\x10\x07\x01\x02\x03\x04\x05\x00\x04\xF1\x21\x06\x07"), false, true, byte(1))
	f.Fuzz(func(t *testing.T, data []byte, functional, extAddr bool, bs byte) {
		cfg := newConfig([]Option{WithFlowControl(bs%4, 0)})
		req := obd.Request{TxID: 0x7E0, RxID: 0x7E8, ExtAddr: extAddr, TxExtAddr: 0x10, Data: []byte{1}}
		if functional {
			req.TxID, req.RxID = obd.FunctionalID, 0
		}
		var st counters
		base := time.Unix(1000, 0)
		col := newCollector(&cfg, &req, req.RxID, base.Add(cfg.p2), &st)
		if !functional {
			col.fcID = req.TxID
		}
		now := base
		ids := []uint32{0x7E8, 0x7E9, 0x7EF, 0x7E0, 0x7DF, 0x123}
		for _, fr := range fuzzFrames(data, ids) {
			if col.complete() {
				break
			}
			now = now.Add(time.Millisecond)
			fc, ok := col.frame(&fr, now)
			if d := col.deadline(); d.Before(base.Add(cfg.p2)) {
				t.Fatalf("deadline %v before the request's timeout", d.Sub(base))
			}
			if !ok {
				continue
			}
			wantID := uint32(0x7E0)
			if functional {
				wantID = fr.ID - 8
			}
			if fc.ID != wantID || fc.IsExtended() || fc.Len != 8 {
				t.Fatalf("flow control %v for a frame from %03X", fc, fr.ID)
			}
			p := fc.Payload()
			if extAddr {
				if p[0] != 0x10 {
					t.Fatalf("flow control %v without the address", fc)
				}
				p = p[1:]
			}
			if p[0] != 0x30 || p[1] != bs%4 || p[2] != 0 {
				t.Fatalf("flow control %v", fc)
			}
		}
		resps, err := col.finish()
		if (len(resps) == 0) == (err == nil) {
			t.Fatalf("finish: %d answers, error %v", len(resps), err)
		}
		if len(resps) == 0 && !errors.Is(err, obd.ErrNoData) && st.frameErrors.Load() == 0 && st.incomplete.Load() == 0 {
			t.Fatalf("error %v without a frame error or incomplete answer", err)
		}
		for _, r := range resps {
			if len(r.Data) == 0 || !functionalAnswer(r.ID, false) || !functional && r.ID != 0x7E8 {
				t.Fatalf("answer %X % X", r.ID, r.Data)
			}
		}
	})
}

// recorder is a Sink that keeps the frames.
type recorder struct{ frames []can.Frame }

func (r *recorder) WriteFrame(f can.Frame) error {
	r.frames = append(r.frames, f)
	return nil
}

// FuzzServe feeds arbitrary frames to the ECU that Serve plays: it must not
// panic, and must only send valid frames with its answer id.
func FuzzServe(f *testing.F) {
	f.Add([]byte("\x00\x03\x02\x09\x02\x00\x03\x30\x00\x00"), false, byte(0))
	f.Add([]byte("\x00\x08\x10\x0A\x01\x02\x03\x04\x05\x06\x00\x05\x21\x07\x08\x09\x0A\x00\x03\x30\x02\x00\x00\x03\x31\x00\x00\x00\x03\x30\x00\x00"), true, byte(3))
	f.Add([]byte("\x01\x02\x01\x00\x00\x08\xF1\x10\x07\x01\x02\x03\x04\x05"), false, byte(1))
	f.Fuzz(func(t *testing.T, data []byte, ext bool, pending byte) {
		opts := []Option{WithPending(int(pending%3), time.Hour), WithFlowControl(pending%4, 0)}
		if ext {
			opts = append(opts, WithExtAddr(0xF1, 0x10))
		}
		var sink recorder
		// Answers are the request repeated to at least 20 bytes: multi-frame.
		h := func(req []byte) ([]byte, bool) {
			if req[0] == 0xFF {
				return nil, false
			}
			resp := append([]byte{req[0] + 0x40}, req[1:]...)
			for len(resp) < 20 {
				resp = append(resp, req...)
			}
			return resp, true
		}
		s := newServer(context.Background(), &sink, 0x7E0, 0x7E8, h, opts)
		s.cfg.sleep = func(<-chan struct{}, time.Duration) bool { return true }
		for _, fr := range fuzzFrames(data, []uint32{0x7E0, 0x7DF, 0x7E8, 0x7E1}) {
			if err := s.frame(&fr); err != nil {
				t.Fatalf("frame %v: %v", fr, err)
			}
		}
		for _, fr := range sink.frames {
			if fr.ID != 0x7E8 || fr.Flags != 0 || fr.Validate() != nil || fr.Len != 8 {
				t.Fatalf("sent %v", fr)
			}
			if ext && fr.Data[0] != 0x10 {
				t.Fatalf("sent %v without the address", fr)
			}
		}
	})
}
