package can

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestCandumpReader(t *testing.T) {
	const ts = 1700000000_123456_000 // (1700000000.123456)
	for _, tc := range []struct {
		name string
		in   string
		want []Frame
	}{
		{"data", "(1700000000.123456) can0 123#DEADBEEF\n",
			[]Frame{lf(ts, 0, 0x123, 0, 0xDE, 0xAD, 0xBE, 0xEF)}},
		{"lower case hex", "(1700000000.123456) can0 7df#deadbeef\n",
			[]Frame{lf(ts, 0, 0x7DF, 0, 0xDE, 0xAD, 0xBE, 0xEF)}},
		{"eight bytes", "(1700000000.123456) can1 7E8#0641008000000100\n",
			[]Frame{lf(ts, 1, 0x7E8, 0, 0x06, 0x41, 0x00, 0x80, 0x00, 0x00, 0x01, 0x00)}},
		{"extended", "(1700000000.123456) can0 18DAF110#0322F190\n",
			[]Frame{lf(ts, 0, 0x18DAF110, Extended, 0x03, 0x22, 0xF1, 0x90)}},
		{"extended small id", "(1700000000.123456) can0 00000123#\n",
			[]Frame{lf(ts, 0, 0x123, Extended)}},
		{"empty payload", "(1700000000.123456) can0 123#\n",
			[]Frame{lf(ts, 0, 0x123, 0)}},
		{"remote", "(1700000000.123456) can0 123#R\n",
			[]Frame{lfRemote(ts, 0, 0x123, 0, 0)}},
		{"remote with length", "(1700000000.123456) can0 123#R4\n",
			[]Frame{lfRemote(ts, 0, 0x123, 0, 4)}},
		{"remote extended", "(1700000000.123456) can0 1FFFFFFF#R8\n",
			[]Frame{lfRemote(ts, 0, 0x1FFFFFFF, Extended, 8)}},
		{"remote raw dlc", "(1700000000.123456) can0 123#R8_F\n",
			[]Frame{lfRemote(ts, 0, 0x123, 0, 8)}},
		{"error frame", "(1700000000.123456) can0 20000080#0000000000000000\n",
			[]Frame{lf(ts, 0, 0x80, ErrorFrame, 0, 0, 0, 0, 0, 0, 0, 0)}},
		{"error frame controller", "(1700000000.123456) can0 20000004#0004000000000000\n",
			[]Frame{lf(ts, 0, 0x04, ErrorFrame, 0, 0x04, 0, 0, 0, 0, 0, 0)}},
		{"direction T", "(1700000000.123456) can0 123#11 T\n",
			[]Frame{lf(ts, 0, 0x123, TX, 0x11)}},
		{"direction R", "(1700000000.123456) can0 123#11 R\n",
			[]Frame{lf(ts, 0, 0x123, 0, 0x11)}},
		{"dot separators", "(1700000000.123456) can0 123#11.22.33\n",
			[]Frame{lf(ts, 0, 0x123, 0, 0x11, 0x22, 0x33)}},
		{"raw dlc", "(1700000000.123456) can0 123#1122334455667788_9\n",
			[]Frame{lf(ts, 0, 0x123, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88)}},
		{"short fraction", "(1.5) can0 123#\n",
			[]Frame{lf(1_500_000_000, 0, 0x123, 0)}},
		{"nanoseconds", "(1.123456789) can0 123#\n",
			[]Frame{lf(1_123_456_789, 0, 0x123, 0)}},
		{"negative time", "(-0.364210) can0 123#\n",
			[]Frame{lf(-364_210_000, 0, 0x123, 0)}},
		{"crlf tabs and spaces", "  (1.000000)\tcan0   123#01  \r\n",
			[]Frame{lf(1e9, 0, 0x123, 0, 0x01)}},
		{"blank and comment lines", "\n# comment\n   \n(1.000000) can0 123#01\n\n",
			[]Frame{lf(1e9, 0, 0x123, 0, 0x01)}},
		{"interfaces", "(1.000000) can0 100#\n(2.000000) vcan3 100#\n(3.000000) slcan1 100#\n(4.000000) can12 100#\n",
			[]Frame{lf(1e9, 0, 0x100, 0), lf(2e9, 3, 0x100, 0), lf(3e9, 1, 0x100, 0), lf(4e9, 12, 0x100, 0)}},
		{"empty input", "", nil},
		// CAN FD: `##`, one hex digit of flags (CANFD_BRS 1, CANFD_ESI 2,
		// CANFD_FDF 4 on newer kernels), then the payload (can-utils lib.c).
		{"fd brs", "(1700000000.123456) can0 123##1112233\n",
			[]Frame{lf(ts, 0, 0x123, FD|BRS, 0x11, 0x22, 0x33)}},
		{"fd no flags", "(1700000000.123456) can0 123##0DEADBEEF\n",
			[]Frame{lf(ts, 0, 0x123, FD, 0xDE, 0xAD, 0xBE, 0xEF)}},
		{"fd esi", "(1700000000.123456) can1 7FF##2AA\n",
			[]Frame{lf(ts, 1, 0x7FF, FD|ESI, 0xAA)}},
		{"fd brs and esi", "(1700000000.123456) can0 123##301\n",
			[]Frame{lf(ts, 0, 0x123, FD|BRS|ESI, 0x01)}},
		{"fd with fdf bit", "(1700000000.123456) can0 123##5C0FFEE\n",
			[]Frame{lf(ts, 0, 0x123, FD|BRS, 0xC0, 0xFF, 0xEE)}},
		{"fd all flag bits", "(1700000000.123456) can0 123##F00\n",
			[]Frame{lf(ts, 0, 0x123, FD|BRS|ESI, 0x00)}},
		{"fd empty payload", "(1700000000.123456) can0 123##0\n",
			[]Frame{lf(ts, 0, 0x123, FD)}},
		{"fd eight bytes", "(1700000000.123456) can0 7E8##10641008000000100\n",
			[]Frame{lf(ts, 0, 0x7E8, FD|BRS, 0x06, 0x41, 0x00, 0x80, 0x00, 0x00, 0x01, 0x00)}},
		{"fd extended transmitted", "(1700000000.123456) can2 18DAF110##10322F190 T\n",
			[]Frame{lf(ts, 2, 0x18DAF110, Extended|FD|BRS|TX, 0x03, 0x22, 0xF1, 0x90)}},
		{"fd lower case", "(1700000000.123456) can0 7df##1deadbeef\n",
			[]Frame{lf(ts, 0, 0x7DF, FD|BRS, 0xDE, 0xAD, 0xBE, 0xEF)}},
		{"fd dot separators", "(1700000000.123456) can0 123##1.11.22.33\n",
			[]Frame{lf(ts, 0, 0x123, FD|BRS, 0x11, 0x22, 0x33)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewCandumpReader(strings.NewReader(tc.in), "t.log")
			sameLogFrames(t, readLog(t, r), tc.want)
			if r.Skipped() != 0 {
				t.Errorf("skipped %d: %v", r.Skipped(), r.LineErrors())
			}
		})
	}
}

func TestCandumpBuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ifs   []string
		buses []uint8
		want  map[string]uint8
	}{
		{"digits", []string{"can0", "can1", "vcan3", "can0"}, []uint8{0, 1, 3, 0},
			map[string]uint8{"can0": 0, "can1": 1, "vcan3": 3}},
		{"no digits in order", []string{"elmcan", "any", "elmcan", "obd"}, []uint8{0, 1, 0, 2},
			map[string]uint8{"elmcan": 0, "any": 1, "obd": 2}},
		{"no digits skip taken", []string{"can0", "elm", "can2", "bench"}, []uint8{0, 1, 2, 3},
			map[string]uint8{"can0": 0, "elm": 1, "can2": 2, "bench": 3}},
		{"same number twice", []string{"can0", "vcan0"}, []uint8{0, 1},
			map[string]uint8{"can0": 0, "vcan0": 1}},
		{"number above 255", []string{"can300", "can0"}, []uint8{0, 1},
			map[string]uint8{"can300": 0, "can0": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in strings.Builder
			for _, name := range tc.ifs {
				in.WriteString("(1.000000) " + name + " 123#\n")
			}
			r := NewCandumpReader(strings.NewReader(in.String()), "")
			frames := readLog(t, r)
			var got []uint8
			for _, f := range frames {
				got = append(got, f.Bus)
			}
			if !bytes.Equal(got, tc.buses) {
				t.Errorf("buses %v, want %v", got, tc.buses)
			}
			if m := r.Buses(); !maps.Equal(m, tc.want) {
				t.Errorf("Buses() = %v, want %v", m, tc.want)
			}
		})
	}
	t.Run("more than 256", func(t *testing.T) {
		var in strings.Builder
		for i := range 257 {
			in.WriteString("(1.000000) if" + strings.Repeat("x", i) + " 123#\n")
		}
		r := NewCandumpReader(strings.NewReader(in.String()), "")
		if n := len(readLog(t, r)); n != 256 || r.Skipped() != 1 || r.LineErrors()[0].Line != 257 {
			t.Fatalf("%d frames, skipped %d %v", n, r.Skipped(), r.LineErrors())
		}
	})
}

func TestCandumpBadLines(t *testing.T) {
	lines := []string{
		"(1700000000.000001) can0 123#01",                         // 1 ok
		"(1700000000.000002) can0 123##1DEADBEEFDEADBEEFDEADBEEF", // 2 CAN FD, 12 bytes
		"(abc) can0 123#11",                                       // 3 bad time
		"(1.0) can0 1234#11",                                      // 4 4-digit id
		"(1.0) can0 800#11",                                       // 5 standard id above 7FF
		"(1.0) can0 123#112",                                      // 6 odd digits
		"(1.0) can0 123#112233445566778899",                       // 7 9 bytes
		"(1.0) can0 123#GG",                                       // 8 not hex
		"(1.0) can0",                                              // 9 no frame
		"can0 123#11",                                             // 10 no time
		"(1.0) can0 123#11 X",                                     // 11 bad direction
		"(1.0) can0 123#R9",                                       // 12 remote length 9
		"(1.0) can0 40000000#",                                    // 13 flag bits
		"(1700000000.000003) can0 18DAF110#AA",                    // 14 ok
		"(1.0) can0 123",                                          // 15 no '#'
		"(1.0 can0 123#",                                          // 16 no ')'
		"(99999999999.0) can0 123#",                               // 17 time out of range
		"(1.0) can0 123#11 T extra",                               // 18 extra field
		"(1.0) can0 123#R4x",                                      // 19 bad remote
		"(1.0) can0 123#11223344_9",                               // 20 raw dlc on 4 bytes
		"(1.0) can0 123###11",                                     // 21 CAN XL
		"(1700000000.000004) can0 123#R",                          // 22 ok
		"(1.0000000001) can0 123#",                                // 23 ten fraction digits
		"(1700000000.000005) can0 123#1122334455667788",           // 24 ok
		"(1.0) can0 70000000#",                                    // 25 error flag and RTR flag (fuzz)
		"(1700000000.000006) can0 123##1AABB T",                   // 26 ok: CAN FD
		"(1.0) can0 123##",                                        // 27 CAN FD without flags
		"(1.0) can0 123##G11",                                     // 28 CAN FD flags not hex
		"(1.0) can0 123##1112",                                    // 29 CAN FD odd digits
		"(1.0) can0 123##1" + strings.Repeat("00", 64),            // 30 CAN FD, 64 bytes
		"(1.0) can0 123##1" + strings.Repeat("00", 65),            // 31 CAN FD, 65 bytes
		"(1.0) can0 20000080##100",                                // 32 error frame in CAN FD notation
		"(1.0) can0 123##1..11",                                   // 33 CAN FD double separator
		"(1.0) can0 123##1R",                                      // 34 CAN FD remote
		"(1.0) can0 123##1GG",                                     // 35 CAN FD payload not hex
	}
	in := strings.Join(lines, "\n") + "\n"
	r := NewCandumpReader(strings.NewReader(in), "bad.log")
	want := []Frame{
		lf(1700000000_000001_000, 0, 0x123, 0, 0x01),
		lf(1700000000_000003_000, 0, 0x18DAF110, Extended, 0xAA),
		lfRemote(1700000000_000004_000, 0, 0x123, 0, 0),
		lf(1700000000_000005_000, 0, 0x123, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88),
		lf(1700000000_000006_000, 0, 0x123, FD|BRS|TX, 0xAA, 0xBB),
	}
	sameLogFrames(t, readLog(t, r), want)
	wantLines := []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18, 19, 20, 21, 23, 25, 27, 28, 29, 30, 31, 32, 33, 34, 35}
	if got := errLines(r.LineErrors()); !slices.Equal(got, wantLines) {
		t.Errorf("error lines %v, want %v", got, wantLines)
	}
	if r.Skipped() != len(wantLines) {
		t.Errorf("Skipped = %d, want %d", r.Skipped(), len(wantLines))
	}
	errs := r.LineErrors()
	if !errors.Is(errs[0], ErrUnsupportedFD) || errs[0].File != "bad.log" {
		t.Errorf("line 2: %v, want ErrUnsupportedFD in bad.log", errs[0])
	}
	// Only the CAN FD frames of 12 and 64 bytes are unsupported; the rest
	// are bad lines.
	for _, e := range errs {
		if fd := e.Line == 2 || e.Line == 30; errors.Is(e, ErrUnsupportedFD) != fd {
			t.Errorf("line %d: %v; ErrUnsupportedFD %v", e.Line, e, fd)
		}
	}
	for _, e := range errs {
		t.Logf("%v", e)
	}
}

func TestCandumpWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewCandumpWriter(&buf)
	for _, f := range []Frame{
		lf(1700000000_123456_789, 0, 0x123, 0, 0xDE, 0xAD, 0xBE, 0xEF),
		lf(1700000000_123457_000, 1, 0x18DAF110, Extended|TX, 0x03, 0x22, 0xF1, 0x90),
		lfRemote(1700000000_200000_000, 2, 0x7DF, 0, 0),
		lfRemote(1700000000_200000_000, 2, 0x7DF, 0, 3),
		lf(1700000000_300000_000, 0, 0x80, ErrorFrame, 0, 0, 0, 0, 0, 0, 0, 0),
		lf(-364_210_000, 10, 0x121, 0),
		lf(0, 0, 0x1, Extended),
		lf(1700000000_400000_000, 0, 0x123, FD|BRS, 0x11, 0x22, 0x33),
		lf(1700000000_400001_000, 1, 0x18DAF110, Extended|FD|ESI|TX, 0x03, 0x22, 0xF1, 0x90),
		lf(1700000000_400002_000, 0, 0x7FF, FD),
		lf(1700000000_400003_000, 0, 0x7E8, FD|BRS|ESI, 1, 2, 3, 4, 5, 6, 7, 8),
	} {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteFrame(lf(0, 0, 0x800, 0)); err == nil {
		t.Error("invalid frame (standard id 800) was written")
	}
	// CAN FD has no remote or error frames.
	for _, f := range []Frame{lfRemote(0, 0, 0x123, FD, 0), lf(0, 0, 0x80, ErrorFrame|FD)} {
		if err := w.WriteFrame(f); !errors.Is(err, ErrNotRepresentable) {
			t.Errorf("WriteFrame(%+v) = %v, want ErrNotRepresentable", f, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := `(1700000000.123456) can0 123#DEADBEEF
(1700000000.123457) can1 18DAF110#0322F190 T
(1700000000.200000) can2 7DF#R
(1700000000.200000) can2 7DF#R3
(1700000000.300000) can0 20000080#0000000000000000
(-0.364210) can10 121#
(0.000000) can0 00000001#
(1700000000.400000) can0 123##1112233
(1700000000.400001) can1 18DAF110##20322F190 T
(1700000000.400002) can0 7FF##0
(1700000000.400003) can0 7E8##30102030405060708
`
	if got := buf.String(); got != want {
		t.Errorf("wrote\n%s\nwant\n%s", got, want)
	}
}

func TestCandumpRoundTrip(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		frames := randomLogFrames(seed, 2000, logKinds{remote: true, errors: true, tx: true, fd: true})
		var buf bytes.Buffer
		w := NewCandumpWriter(&buf)
		writeLog(t, w, frames)
		r := NewCandumpReader(&buf, "")
		sameLogFrames(t, readLog(t, r), frames)
		if r.Skipped() != 0 {
			t.Errorf("skipped %d: %v", r.Skipped(), r.LineErrors())
		}
	}
}

func FuzzCandumpReader(f *testing.F) {
	for _, s := range []string{
		"(1700000000.123456) can0 123#DEADBEEF\n",
		"(1700000000.123456) can1 18DAF110#0322F190 T\n(1.0) vcan3 123#R4\n",
		"(1.5) can0 123#\n(2.0) elm 20000080#0000000000000000 R\n",
		"(1.0) can0 123##1DEADBEEF\n(1.0) can0 123#11.22.33\n(1.0) can0 123#1122334455667788_9\n",
		"(-0.364210) can0 123#R8_F\r\n# c\n",
		"(1700000000.123456) can0 123##1112233\n(1.0) can1 18DAF110##30322F190 T\n(2.0) can0 7FF##0\n",
		"(1.0) can0 123##5.11.22\n(1.0) can0 123##F0102030405060708\n(1.0) can0 123##1010203040506070809\n",
		"(1.0) can0 20000080##100\n(1.0) can0 123##\n(1.0) can0 123###11\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewCandumpReader(bytes.NewReader(data), "fuzz")
		var frames []Frame
		for r.Receive() {
			fr := r.Frame()
			if err := fr.Validate(); err != nil {
				t.Fatalf("invalid frame %+v: %v", fr, err)
			}
			frames = append(frames, fr)
		}
		checkLineErrs(t, r)
		// What was read writes back and reads again the same, to the
		// microsecond.
		var buf bytes.Buffer
		w := NewCandumpWriter(&buf)
		for i := range frames {
			frames[i].Time = frames[i].Time / 1000 * 1000
			if err := w.WriteFrame(frames[i]); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		back := NewCandumpReader(&buf, "")
		var got []Frame
		for back.Receive() {
			got = append(got, back.Frame())
		}
		if back.Skipped() != 0 {
			t.Fatalf("rewritten log has bad lines: %v\n%s", back.LineErrors(), buf.String())
		}
		sameLogFrames(t, got, frames)
	})
}

// checkLineErrs checks the bad-line bookkeeping of a reader after a read.
func checkLineErrs(t *testing.T, r LogReader) {
	t.Helper()
	errs := r.LineErrors()
	if len(errs) > maxLineErrors || r.Skipped() < len(errs) || r.Skipped() > len(errs) && len(errs) != maxLineErrors {
		t.Fatalf("Skipped %d with %d LineErrors", r.Skipped(), len(errs))
	}
	last := 0
	for _, e := range errs {
		if e.Line <= last || e.Err == nil {
			t.Fatalf("line errors out of order or empty: %v", errs)
		}
		last = e.Line
	}
}

// TestAppendCompactFD checks candump's compact notation of CAN FD frames
// (as can-utils' sprint_canframe writes them): `##`, the flags digit, the
// payload. Remote and error frames never take the FD notation.
func TestAppendCompactFD(t *testing.T) {
	for _, tc := range []struct {
		f    Frame
		want string
	}{
		{lf(0, 0, 0x123, FD, 0x11, 0x22), "123##01122"},
		{lf(0, 0, 0x123, FD|BRS, 0x11), "123##111"},
		{lf(0, 0, 0x123, FD|ESI), "123##2"},
		{lf(0, 0, 0x1234567, Extended|FD|BRS|ESI, 0xFF), "01234567##3FF"},
		{lf(0, 0, 0x123, BRS|ESI, 0x11), "123#11"}, // BRS and ESI mean nothing without FD
		{lfRemote(0, 0, 0x123, FD, 2), "123#R2"},
		{lf(0, 0, 0x80, ErrorFrame|FD), "080#"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.f, got, tc.want)
		}
	}
}
