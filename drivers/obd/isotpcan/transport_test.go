package isotpcan_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/obd"
	"github.com/evedge/evedge/drivers/obd/isotpcan"
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

const vin = "1G1JC5444R7252367"

// vinAnswer is the mode 09 PID 02 answer: 49 02 01 and the VIN.
var vinAnswer = append(hx("49 02 01"), vin...)

// bmsAnswer is a 62-byte UDS answer to 22 01 01: 62 01 01 and bytes 00..3A.
var bmsAnswer = append(hx("62 01 01"), seq(0, 59)...)

// wire is the bus as the test sees it: every frame written by the tester
// or an ECU goes through it and is logged in bus order.
type wire struct {
	bus *can.Bus
	mu  sync.Mutex
	log []logged
}

type logged struct {
	f  can.Frame
	at time.Time
}

func (w *wire) WriteFrame(f can.Frame) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.bus.WriteFrame(f); err != nil {
		return err
	}
	w.log = append(w.log, logged{f, time.Now()})
	return nil
}

// frames returns the log as "7E0 02 01 0C AA AA AA AA AA" lines.
func (w *wire) frames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var s []string
	for _, l := range w.log {
		s = append(s, frameString(l.f))
	}
	return s
}

func (w *wire) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = nil
}

func frameString(f can.Frame) string {
	id := fmt.Sprintf("%03X", f.ID)
	if f.IsExtended() {
		id = fmt.Sprintf("%08X", f.ID)
	}
	if f.Len == 0 {
		return id
	}
	return fmt.Sprintf("%s % X", id, f.Payload())
}

// rig is a can.Bus with a Transport on it; ECUs are added with serve or
// script. Cleanup ends the bus and checks that everything stopped.
type rig struct {
	t      *testing.T
	ctx    context.Context
	cancel context.CancelFunc
	bus    *can.Bus
	wire   *wire
	tr     *isotpcan.Transport
	wg     sync.WaitGroup
}

func newRig(t *testing.T, opts ...isotpcan.Option) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bus := can.NewBus(0)
	r := &rig{t: t, ctx: ctx, cancel: cancel, bus: bus, wire: &wire{bus: bus}}
	r.tr = isotpcan.New(bus.Subscribe(ctx, 1024), r.wire, opts...)
	t.Cleanup(func() {
		cancel()
		bus.Close()
		r.wg.Wait()
		select {
		case <-r.tr.Done():
		case <-time.After(5 * time.Second):
			t.Error("the Transport's reader did not stop after its source ended")
		}
		if err := r.tr.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// serve adds an ECU played by isotpcan.Serve.
func (r *rig) serve(rxID, txID uint32, h isotpcan.Handler, opts ...isotpcan.Option) {
	src := r.bus.Subscribe(r.ctx, 1024)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := isotpcan.Serve(r.ctx, src, r.wire, rxID, txID, h, opts...); err != nil {
			r.t.Errorf("Serve(%03X): %v", rxID, err)
		}
	}()
}

// script adds an ECU played by fn, called with every frame on the bus
// (its own included) and a function to send frames ("7E8 02 41 0C").
func (r *rig) script(fn func(f can.Frame, send func(string))) {
	src := r.bus.Subscribe(r.ctx, 1024)
	send := func(s string) {
		var id uint32
		var rest string
		if _, err := fmt.Sscanf(s, "%x", &id); err != nil {
			panic(s)
		}
		head, rest, _ := strings.Cut(s, " ")
		f := can.Frame{ID: id}
		if len(head) > 3 {
			f.Flags = can.Extended
		}
		f.Len = uint8(copy(f.Data[:], hx(rest)))
		if err := r.wire.WriteFrame(f); err != nil {
			r.t.Errorf("script send %s: %v", s, err)
		}
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for src.Receive() {
			fn(src.Frame(), send)
		}
	}()
}

// table answers requests by their hex form.
func table(m map[string][]byte) isotpcan.Handler {
	return func(req []byte) ([]byte, bool) {
		resp, ok := m[fmt.Sprintf("% X", req)]
		return resp, ok
	}
}

func (r *rig) do(req obd.Request) ([]obd.Response, error) {
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	return r.tr.Do(ctx, req)
}

func checkWire(t *testing.T, w *wire, want []string) {
	t.Helper()
	got := w.frames()
	if !slices.Equal(got, want) {
		t.Errorf("wire:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func checkResponses(t *testing.T, got []obd.Response, want ...obd.Response) {
	t.Helper()
	slices.SortFunc(got, func(a, b obd.Response) int { return int(a.ID) - int(b.ID) })
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].ID == want[i].ID && got[i].ExtAddr == want[i].ExtAddr && bytes.Equal(got[i].Data, want[i].Data)
	}
	if !ok {
		t.Errorf("responses:\n%s\nwant:\n%s", responsesString(got), responsesString(want))
	}
}

func responsesString(rs []obd.Response) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  %X [%02X] % X\n", r.ID, r.ExtAddr, r.Data)
	}
	return b.String()
}

func TestSingleFrame(t *testing.T) {
	r := newRig(t)
	r.serve(0x7E0, 0x7E8, table(map[string][]byte{"01 0C": hx("41 0C 1A F8")}))
	for _, rx := range []uint32{0x7E8, 0} { // explicit, and derived from the request id
		r.wire.reset()
		resps, err := r.do(obd.Request{TxID: 0x7E0, RxID: rx, Data: hx("01 0C")})
		if err != nil {
			t.Fatalf("RxID %X: %v", rx, err)
		}
		checkResponses(t, resps, obd.Response{ID: 0x7E8, Data: hx("41 0C 1A F8")})
		checkWire(t, r.wire, []string{
			"7E0 02 01 0C AA AA AA AA AA",
			"7E8 04 41 0C 1A F8 AA AA AA",
		})
	}
	if st := r.tr.Stats(); st != (isotpcan.Stats{Requests: 2, Responses: 2}) {
		t.Errorf("stats %+v", st)
	}
}

// TestMultiFrameAnswer reads a 62-byte answer (a BMS data block) and checks
// every frame on the wire: 62 = 0x3E bytes are a first frame with 6 and
// eight consecutive frames with 7 each, and the tester's flow control goes
// to the request id.
func TestMultiFrameAnswer(t *testing.T) {
	r := newRig(t)
	r.serve(0x7E4, 0x7EC, table(map[string][]byte{"22 01 01": bmsAnswer}))
	resps, err := r.do(obd.Request{TxID: 0x7E4, RxID: 0x7EC, Data: hx("22 01 01")})
	if err != nil {
		t.Fatal(err)
	}
	checkResponses(t, resps, obd.Response{ID: 0x7EC, Data: bmsAnswer})
	checkWire(t, r.wire, []string{
		"7E4 03 22 01 01 AA AA AA AA",
		"7EC 10 3E 62 01 01 00 01 02",
		"7E4 30 00 00 AA AA AA AA AA",
		"7EC 21 03 04 05 06 07 08 09",
		"7EC 22 0A 0B 0C 0D 0E 0F 10",
		"7EC 23 11 12 13 14 15 16 17",
		"7EC 24 18 19 1A 1B 1C 1D 1E",
		"7EC 25 1F 20 21 22 23 24 25",
		"7EC 26 26 27 28 29 2A 2B 2C",
		"7EC 27 2D 2E 2F 30 31 32 33",
		"7EC 28 34 35 36 37 38 39 3A",
	})
}

// TestMultiFrameRequest sends a 15-byte request: first frame, the ECU's
// flow control, two consecutive frames, the last one padded.
func TestMultiFrameRequest(t *testing.T) {
	r := newRig(t)
	req := append(hx("2E F1 90"), seq(0x41, 12)...) // 2E F1 90 41..4C
	r.serve(0x7E0, 0x7E8, table(map[string][]byte{fmt.Sprintf("% X", req): hx("6E F1 90")}))
	resps, err := r.do(obd.Request{TxID: 0x7E0, Data: req})
	if err != nil {
		t.Fatal(err)
	}
	checkResponses(t, resps, obd.Response{ID: 0x7E8, Data: hx("6E F1 90")})
	checkWire(t, r.wire, []string{
		"7E0 10 0F 2E F1 90 41 42 43",
		"7E8 30 00 00 AA AA AA AA AA",
		"7E0 21 44 45 46 47 48 49 4A",
		"7E0 22 4B 4C AA AA AA AA AA",
		"7E8 03 6E F1 90 AA AA AA AA",
	})
}

// TestBlockSizeAndSTmin: the ECU asks for blocks of 2 frames 5 ms apart
// when receiving, and the tester does the same when receiving; each side
// must honour the other's flow control.
func TestBlockSizeAndSTmin(t *testing.T) {
	r := newRig(t, isotpcan.WithFlowControl(2, 0x05))
	req := append(hx("2E 01 02"), seq(0, 37)...) // 40 bytes: 6 + 5 consecutive frames
	r.serve(0x7E0, 0x7E8, table(map[string][]byte{fmt.Sprintf("% X", req): bmsAnswer}), isotpcan.WithFlowControl(2, 0x05))
	resps, err := r.do(obd.Request{TxID: 0x7E0, Data: req})
	if err != nil {
		t.Fatal(err)
	}
	checkResponses(t, resps, obd.Response{ID: 0x7E8, Data: bmsAnswer})
	const fc = "30 02 05 AA AA AA AA AA"
	checkWire(t, r.wire, []string{
		"7E0 10 28 2E 01 02 00 01 02",
		"7E8 " + fc,
		"7E0 21 03 04 05 06 07 08 09",
		"7E0 22 0A 0B 0C 0D 0E 0F 10",
		"7E8 " + fc,
		"7E0 23 11 12 13 14 15 16 17",
		"7E0 24 18 19 1A 1B 1C 1D 1E",
		"7E8 " + fc,
		"7E0 25 1F 20 21 22 23 24 AA",
		"7E8 10 3E 62 01 01 00 01 02",
		"7E0 " + fc,
		"7E8 21 03 04 05 06 07 08 09",
		"7E8 22 0A 0B 0C 0D 0E 0F 10",
		"7E0 " + fc,
		"7E8 23 11 12 13 14 15 16 17",
		"7E8 24 18 19 1A 1B 1C 1D 1E",
		"7E0 " + fc,
		"7E8 25 1F 20 21 22 23 24 25",
		"7E8 26 26 27 28 29 2A 2B 2C",
		"7E0 " + fc,
		"7E8 27 2D 2E 2F 30 31 32 33",
		"7E8 28 34 35 36 37 38 39 3A",
	})
	// The second frame of each block waited STmin after the first.
	r.wire.mu.Lock()
	defer r.wire.mu.Unlock()
	for i := 1; i < len(r.wire.log); i++ {
		a, b := r.wire.log[i-1], r.wire.log[i]
		if a.f.ID == b.f.ID && a.f.Data[0]>>4 == 2 && b.f.Data[0]>>4 == 2 {
			if gap := b.at.Sub(a.at); gap < 5*time.Millisecond {
				t.Errorf("frames %d and %d only %v apart, STmin is 5 ms", i-1, i, gap)
			}
		}
	}
}

func TestFunctionalTwoECUs(t *testing.T) {
	r := newRig(t, isotpcan.WithFunctionalTimeout(100*time.Millisecond))
	r.serve(0x7E0, 0x7E8, table(map[string][]byte{"01 00": hx("41 00 BE 3F A8 13")}))
	r.serve(0x7E1, 0x7E9, table(map[string][]byte{"01 00": hx("41 00 98 18 80 13"), "09 02": vinAnswer}))
	r.serve(0x7E2, 0x7EA, table(nil)) // an ECU that supports nothing
	start := time.Now()
	resps, err := r.do(obd.Request{TxID: obd.FunctionalID, Data: hx("01 00")})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("functional request returned after %v, before its 100 ms window", d)
	}
	checkResponses(t, resps,
		obd.Response{ID: 0x7E8, Data: hx("41 00 BE 3F A8 13")},
		obd.Response{ID: 0x7E9, Data: hx("41 00 98 18 80 13")})

	// A multi-frame answer to a functional request: the flow control goes
	// to the answering ECU's physical id.
	r.wire.reset()
	resps, err = r.do(obd.Request{TxID: obd.FunctionalID, Data: hx("09 02")})
	if err != nil {
		t.Fatal(err)
	}
	checkResponses(t, resps, obd.Response{ID: 0x7E9, Data: vinAnswer})
	checkWire(t, r.wire, []string{
		"7DF 02 09 02 AA AA AA AA AA",
		"7E9 10 14 49 02 01 31 47 31",
		"7E1 30 00 00 AA AA AA AA AA",
		"7E9 21 4A 43 35 34 34 34 52",
		"7E9 22 37 32 35 32 33 36 37",
	})

	// Functional requests must be single frames.
	if _, err := r.do(obd.Request{TxID: obd.FunctionalID, Data: seq(1, 8)}); err == nil {
		t.Error("8-byte functional request: no error")
	}
}

func Test29BitIDs(t *testing.T) {
	r := newRig(t, isotpcan.WithFunctionalTimeout(100*time.Millisecond))
	r.serve(0x18DA10F1, 0x18DAF110, table(map[string][]byte{"09 02": vinAnswer, "01 0D": hx("41 0D 32")}))
	r.serve(0x18DA18F1, 0x18DAF118, table(map[string][]byte{"01 0D": hx("41 0D 33")}))
	// Physical; the answer id is derived: 0x18DA10F1 -> 0x18DAF110.
	resps, err := r.do(obd.Request{TxID: 0x18DA10F1, Extended: true, Data: hx("09 02")})
	if err != nil {
		t.Fatal(err)
	}
	checkResponses(t, resps, obd.Response{ID: 0x18DAF110, Data: vinAnswer})
	checkWire(t, r.wire, []string{
		"18DA10F1 02 09 02 AA AA AA AA AA",
		"18DAF110 10 14 49 02 01 31 47 31",
		"18DA10F1 30 00 00 AA AA AA AA AA",
		"18DAF110 21 4A 43 35 34 34 34 52",
		"18DAF110 22 37 32 35 32 33 36 37",
	})
	// Functional.
	resps, err = r.do(obd.Request{TxID: obd.FunctionalID29, Extended: true, Data: hx("01 0D")})
	if err != nil {
		t.Fatal(err)
	}
	checkResponses(t, resps,
		obd.Response{ID: 0x18DAF110, Data: hx("41 0D 32")},
		obd.Response{ID: 0x18DAF118, Data: hx("41 0D 33")})
	// An 11-bit request does not reach them.
	if _, err := r.do(obd.Request{TxID: obd.FunctionalID, Data: hx("01 0D")}); !errors.Is(err, obd.ErrNoData) {
		t.Errorf("11-bit request: %v, want ErrNoData", err)
	}
}

// TestExtendedAddressing talks to ECU 0x12 behind a gateway that uses
// extended addressing (as BMW does): requests on 0x6F1 start with the ECU
// address, answers on 0x612 with the tester address F1.
func TestExtendedAddressing(t *testing.T) {
	r := newRig(t)
	r.serve(0x6F1, 0x612, table(map[string][]byte{"22 F1 90": append(hx("62 F1 90"), vin...)}), isotpcan.WithExtAddr(0x12, 0xF1))
	// Another ECU on the same request id, with another address.
	r.serve(0x6F1, 0x640, table(map[string][]byte{"22 F1 90": hx("7F 22 31")}), isotpcan.WithExtAddr(0x40, 0xF1))
	resps, err := r.do(obd.Request{TxID: 0x6F1, RxID: 0x612, ExtAddr: true, TxExtAddr: 0x12, RxExtAddr: 0xF1, Data: hx("22 F1 90")})
	if err != nil {
		t.Fatal(err)
	}
	checkResponses(t, resps, obd.Response{ID: 0x612, ExtAddr: 0xF1, Data: append(hx("62 F1 90"), vin...)})
	// 20 bytes: 5 in the first frame, then 6, 6 and 3 with padding.
	checkWire(t, r.wire, []string{
		"6F1 12 03 22 F1 90 AA AA AA",
		"612 F1 10 14 62 F1 90 31 47",
		"6F1 12 30 00 00 AA AA AA AA",
		"612 F1 21 31 4A 43 35 34 34",
		"612 F1 22 34 52 37 32 35 32",
		"612 F1 23 33 36 37 AA AA AA",
	})
	resps, err = r.do(obd.Request{TxID: 0x6F1, RxID: 0x640, ExtAddr: true, TxExtAddr: 0x40, RxExtAddr: 0xF1, Data: hx("22 F1 90")})
	if err != nil {
		t.Fatal(err)
	}
	checkResponses(t, resps, obd.Response{ID: 0x640, ExtAddr: 0xF1, Data: hx("7F 22 31")})
}

func TestWithoutPadding(t *testing.T) {
	r := newRig(t, isotpcan.WithoutPadding())
	r.serve(0x7E0, 0x7E8, table(map[string][]byte{"09 02": vinAnswer[:10]}), isotpcan.WithoutPadding())
	if _, err := r.do(obd.Request{TxID: 0x7E0, Data: hx("09 02")}); err != nil {
		t.Fatal(err)
	}
	checkWire(t, r.wire, []string{
		"7E0 02 09 02",
		"7E8 10 0A 49 02 01 31 47 31",
		"7E0 30 00 00",
		"7E8 21 4A 43 35 34",
	})
}

func TestResponsePending(t *testing.T) {
	r := newRig(t, isotpcan.WithP2(50*time.Millisecond))
	r.serve(0x7E4, 0x7EC, table(map[string][]byte{"22 01 01": bmsAnswer}), isotpcan.WithPending(2, 100*time.Millisecond))
	start := time.Now()
	resps, err := r.do(obd.Request{TxID: 0x7E4, Data: hx("22 01 01")})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("answer after %v, before the ECU sent it", d)
	}
	checkResponses(t, resps, obd.Response{ID: 0x7EC, Data: bmsAnswer})
	if w := r.wire.frames(); len(w) < 3 || w[1] != "7EC 03 7F 22 78 AA AA AA AA" || w[2] != w[1] {
		t.Errorf("wire starts %q, want the request and two pending answers", w[:min(3, len(w))])
	}
	if st := r.tr.Stats(); st.Pending != 2 || st.Responses != 1 {
		t.Errorf("stats %+v, want 2 pending, 1 response", st)
	}
}

// TestResponsePendingForever: an ECU that only says "pending" is waited
// for P2*, then its pending answer is what Do returns.
func TestResponsePendingForever(t *testing.T) {
	r := newRig(t, isotpcan.WithP2(50*time.Millisecond), isotpcan.WithP2Star(150*time.Millisecond))
	r.serve(0x7E0, 0x7E8, table(map[string][]byte{"31 01 FF 00": hx("7F 31 78")}))
	start := time.Now()
	resps, err := r.do(obd.Request{TxID: 0x7E0, Data: hx("31 01 FF 00")})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("returned after %v, before P2* (150 ms)", d)
	}
	checkResponses(t, resps, obd.Response{ID: 0x7E8, Data: hx("7F 31 78")})
	if !resps[0].IsPending() {
		t.Error("not a pending answer")
	}
}

func TestNoAnswer(t *testing.T) {
	r := newRig(t, isotpcan.WithP2(30*time.Millisecond), isotpcan.WithFunctionalTimeout(60*time.Millisecond))
	r.serve(0x7E0, 0x7E8, table(nil))
	for _, req := range []obd.Request{
		{TxID: 0x7E0, Data: hx("01 A6")},
		{TxID: obd.FunctionalID, Data: hx("01 A6")},
		{TxID: 0x7E0, Data: hx("01 A6"), Timeout: 10 * time.Millisecond},
	} {
		start := time.Now()
		resps, err := r.do(req)
		if !errors.Is(err, obd.ErrNoData) || resps != nil {
			t.Errorf("%v: %v, %v; want ErrNoData", &req, resps, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%v: took %v", &req, d)
		}
	}
	if st := r.tr.Stats(); st.NoData != 3 {
		t.Errorf("stats %+v, want 3 without data", st)
	}
}

// TestECUStopsMidMessage: the ECU sends a first frame and one consecutive
// frame, then nothing. Do gives up after the frame timeout (N_Cr) with
// ErrTimeout, and the next request works.
func TestECUStopsMidMessage(t *testing.T) {
	r := newRig(t, isotpcan.WithFrameTimeout(80*time.Millisecond))
	r.script(func(f can.Frame, send func(string)) {
		switch frameString(f) {
		case "7E4 03 22 01 01 AA AA AA AA":
			send("7EC 10 3E 62 01 01 00 01 02")
		case "7E4 30 00 00 AA AA AA AA AA":
			send("7EC 21 03 04 05 06 07 08 09")
		case "7E4 02 3E 00 AA AA AA AA AA":
			send("7EC 02 7E 00 AA AA AA AA AA")
		}
	})
	start := time.Now()
	resps, err := r.do(obd.Request{TxID: 0x7E4, Data: hx("22 01 01")})
	if !errors.Is(err, obd.ErrTimeout) || resps != nil {
		t.Errorf("got %v, %v; want ErrTimeout", resps, err)
	}
	if d := time.Since(start); d < 80*time.Millisecond || d > 2*time.Second {
		t.Errorf("gave up after %v, want about 80 ms", d)
	}
	t.Logf("error: %v", err)
	resps, err = r.do(obd.Request{TxID: 0x7E4, Data: hx("3E 00")})
	if err != nil {
		t.Fatal(err)
	}
	checkResponses(t, resps, obd.Response{ID: 0x7EC, Data: hx("7E 00")})
	if st := r.tr.Stats(); st.Incomplete != 1 {
		t.Errorf("stats %+v, want 1 incomplete", st)
	}
}

// TestGarbageIgnored: frames that are no answer, or no ISO-TP, around the
// answer do not disturb it.
func TestGarbageIgnored(t *testing.T) {
	r := newRig(t)
	r.script(func(f can.Frame, send func(string)) {
		if frameString(f) != "7E0 02 01 0C AA AA AA AA AA" {
			return
		}
		send("123 01 02 03")
		send("7E8")                         // empty
		send("7E8 40 01 02 03 04 05 06 07") // frame type 4
		send("7E8 21 01 02 03 04 05 06 07") // consecutive frame without first frame
		send("7E8 00 AA AA AA AA AA AA AA") // single frame of length 0
		send("000007E8 02 41 0C")           // 29-bit id 0x7E8
		send("7E9 04 41 0C 00 00 AA AA AA") // another ECU
		send("7E0 02 41 0C AA AA AA AA AA") // the request id
		_ = r.wire.WriteFrame(can.Frame{ID: 0x7E8, Len: 8, Flags: can.Remote})
		_ = r.wire.WriteFrame(can.Frame{ID: 0x7E8, Len: 8, Flags: can.ErrorFrame, Data: [8]byte{2, 0x41, 0x0C}})
		send("7E8 04 41 0C 1A F8 AA AA AA")
	})
	resps, err := r.do(obd.Request{TxID: 0x7E0, Data: hx("01 0C")})
	if err != nil {
		t.Fatal(err)
	}
	checkResponses(t, resps, obd.Response{ID: 0x7E8, Data: hx("41 0C 1A F8")})
	if st := r.tr.Stats(); st.FrameErrors != 4 {
		t.Errorf("stats %+v, want 4 frame errors (empty, type 4, CF, length 0)", st)
	}
}

// TestBrokenAnswerAmongOthers: one ECU's answer goes out of sequence; the
// other ECU's answer is still returned.
func TestBrokenAnswerAmongOthers(t *testing.T) {
	r := newRig(t, isotpcan.WithFunctionalTimeout(80*time.Millisecond))
	r.serve(0x7E0, 0x7E8, table(map[string][]byte{"09 02": vinAnswer}))
	r.script(func(f can.Frame, send func(string)) {
		switch frameString(f) {
		case "7DF 02 09 02 AA AA AA AA AA":
			send("7E9 10 14 49 02 01 31 47 31")
		case "7E1 30 00 00 AA AA AA AA AA":
			send("7E9 22 37 32 35 32 33 36 37") // 21 is missing
		}
	})
	resps, err := r.do(obd.Request{TxID: obd.FunctionalID, Data: hx("09 02")})
	if err != nil {
		t.Fatal(err)
	}
	checkResponses(t, resps, obd.Response{ID: 0x7E8, Data: vinAnswer})
	if st := r.tr.Stats(); st.FrameErrors != 1 {
		t.Errorf("stats %+v, want 1 frame error", st)
	}
	// Alone, the broken answer is the error.
	r2 := newRig(t)
	r2.script(func(f can.Frame, send func(string)) {
		switch frameString(f) {
		case "7E1 02 09 02 AA AA AA AA AA":
			send("7E9 10 14 49 02 01 31 47 31")
		case "7E1 30 00 00 AA AA AA AA AA":
			send("7E9 22 37 32 35 32 33 36 37")
		}
	})
	_, err = r2.do(obd.Request{TxID: 0x7E1, Data: hx("09 02")})
	if err == nil || errors.Is(err, obd.ErrNoData) || !strings.Contains(err.Error(), "sequence") {
		t.Errorf("got %v, want the sequence error", err)
	}
}

// TestSenderFlowControl: Wait frames, Overflow and a missing flow control
// from the ECU while the tester sends a multi-frame request.
func TestSenderFlowControl(t *testing.T) {
	req := seq(0x10, 10) // first frame "10 0A 10 11 12 13 14 15"
	const ff = "7E0 10 0A 10 11 12 13 14 15"
	tests := []struct {
		name  string
		reply []string // the ECU's frames after the first frame
		opts  []isotpcan.Option
		err   error
	}{
		{"wait then CTS", []string{"7E8 31 00 00", "7E8 31 00 00", "7E8 30 00 00"}, nil, nil},
		{"overflow", []string{"7E8 32 00 00"}, nil, isotpcan.ErrOverflow},
		{"too many waits", []string{"7E8 31 00 00", "7E8 31 00 00"}, []isotpcan.Option{isotpcan.WithMaxWait(1)}, obd.ErrTimeout},
		{"no flow control", nil, nil, obd.ErrTimeout},
		{"flow control with bad status ignored", []string{"7E8 34 00 00", "7E8 30 00 00"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, append(tt.opts, isotpcan.WithFrameTimeout(50*time.Millisecond))...)
			r.script(func(f can.Frame, send func(string)) {
				switch frameString(f) {
				case ff:
					for _, s := range tt.reply {
						send(s)
					}
				case "7E0 21 16 17 18 19 AA AA AA":
					send("7E8 02 7F 10")
				}
			})
			resps, err := r.do(obd.Request{TxID: 0x7E0, Data: req})
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("got %v, %v; want %v", resps, err, tt.err)
				}
				if w := r.wire.frames(); slices.Contains(w, "7E0 21 16 17 18 19 AA AA AA") {
					t.Errorf("consecutive frame sent anyway: %q", w)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkResponses(t, resps, obd.Response{ID: 0x7E8, Data: hx("7F 10")})
		})
	}
}

func TestConcurrentDo(t *testing.T) {
	r := newRig(t)
	r.serve(0x7E0, 0x7E8, table(map[string][]byte{"09 02": vinAnswer, "01 0C": hx("41 0C 1A F8")}))
	r.serve(0x7E4, 0x7EC, table(map[string][]byte{"22 01 01": bmsAnswer}))
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 10 {
				req, want := obd.Request{TxID: 0x7E0, Data: hx("09 02")}, vinAnswer
				switch (g + i) % 3 {
				case 1:
					req, want = obd.Request{TxID: 0x7E4, Data: hx("22 01 01")}, bmsAnswer
				case 2:
					req, want = obd.Request{TxID: 0x7E0, Data: hx("01 0C")}, hx("41 0C 1A F8")
				}
				resps, err := r.do(req)
				if err != nil || len(resps) != 1 || !bytes.Equal(resps[0].Data, want) {
					t.Errorf("%v: %v, %v", &req, resps, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestClose(t *testing.T) {
	r := newRig(t)
	r.serve(0x7E0, 0x7E8, table(map[string][]byte{"01 0C": hx("41 0C 1A F8")}))
	if _, err := r.do(obd.Request{TxID: 0x7E0, Data: hx("01 0C")}); err != nil {
		t.Fatal(err)
	}
	if err := r.tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.do(obd.Request{TxID: 0x7E0, Data: hx("01 0C")}); !errors.Is(err, obd.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestSourceEnds(t *testing.T) {
	bus := can.NewBus(0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srcCtx, endSrc := context.WithCancel(ctx)
	tr := isotpcan.New(bus.Subscribe(srcCtx, 16), bus)
	defer tr.Close()

	// The source ends while Do waits.
	go func() {
		time.Sleep(20 * time.Millisecond)
		endSrc()
	}()
	_, err := tr.Do(ctx, obd.Request{TxID: 0x7E0, Data: hx("01 0C"), Timeout: 5 * time.Second})
	if !errors.Is(err, obd.ErrClosed) {
		t.Errorf("source ended during Do: %v, want ErrClosed", err)
	}
	<-tr.Done()
	if _, err := tr.Do(ctx, obd.Request{TxID: 0x7E0, Data: hx("01 0C")}); !errors.Is(err, obd.ErrClosed) {
		t.Errorf("after the source ended: %v, want ErrClosed", err)
	}
}

// closingSource is a Source with a Close method, like a socketcan.Conn.
type closingSource struct {
	*can.BusReceiver
	cancel context.CancelFunc
}

func (s closingSource) Close() error { s.cancel(); return nil }

func TestCloseSource(t *testing.T) {
	bus := can.NewBus(0)
	ctx, cancel := context.WithCancel(context.Background())
	tr := isotpcan.New(closingSource{bus.Subscribe(ctx, 16), cancel}, bus, isotpcan.WithCloseSource())
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tr.Done():
	default:
		t.Error("Close with WithCloseSource returned before the reader stopped")
	}
}

func TestContextCancel(t *testing.T) {
	r := newRig(t, isotpcan.WithP2(5*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.tr.Do(ctx, obd.Request{TxID: 0x7E0, Data: hx("01 0C")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v", d)
	}
	if _, err := r.tr.Do(ctx, obd.Request{TxID: 0x7E0}); err == nil {
		t.Error("empty request: no error")
	}
	if _, err := r.tr.Do(context.Background(), obd.Request{TxID: 0x800, Data: hx("01 0C")}); err == nil || errors.Is(err, obd.ErrNoData) {
		t.Errorf("11-bit id 0x800: %v, want an invalid id error", err)
	}
}

func TestServeIgnoresOthers(t *testing.T) {
	r := newRig(t, isotpcan.WithP2(30*time.Millisecond), isotpcan.WithFunctionalTimeout(30*time.Millisecond))
	calls := 0
	var mu sync.Mutex
	r.serve(0x7E0, 0x7E8, func(req []byte) ([]byte, bool) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return hx("41 0C 1A F8"), true
	}, isotpcan.WithFunctionalID(0))
	for _, req := range []obd.Request{
		{TxID: obd.FunctionalID, Data: hx("01 0C")}, // functional turned off
		{TxID: 0x7E1, Data: hx("01 0C")},            // another ECU
		{TxID: 0x7E0, Extended: true, Data: hx("01 0C")},
	} {
		if _, err := r.do(req); !errors.Is(err, obd.ErrNoData) {
			t.Errorf("%v: %v, want ErrNoData", &req, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 0 {
		t.Errorf("handler called %d times", calls)
	}
}
