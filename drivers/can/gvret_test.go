package can

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

const (
	gvretV1Header = "Time Stamp,ID,Extended,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8"
	gvretV2Header = "Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8"
)

func TestGVRETReader(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Frame
	}{
		{"v1 crlf", gvretV1Header + "\r\n7254438300,000007DF,false,1,8,02,01,00,00,00,00,00,00\r\n",
			[]Frame{lf(7254438300_000, 1, 0x7DF, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0)}},
		{"v2 trailing comma", gvretV2Header + "\n22213513,00000111,false,Rx,0,8,00,00,00,00,00,00,00,05,\n",
			[]Frame{lf(22213513_000, 0, 0x111, 0, 0, 0, 0, 0, 0, 0, 0, 0x05)}},
		{"tx", gvretV2Header + "\n1,00000123,false,Tx,2,1,AA,00,00,00,00,00,00,00,\n",
			[]Frame{lf(1000, 2, 0x123, TX, 0xAA)}},
		{"extended", gvretV2Header + "\n5,18DAF110,true,Rx,0,3,02,10,03,00,00,00,00,00,\n",
			[]Frame{lf(5000, 0, 0x18DAF110, Extended, 0x02, 0x10, 0x03)}},
		{"extended small id", gvretV1Header + "\n5,00000010,TRUE,0,0,00,00,00,00,00,00,00,00\n",
			[]Frame{lf(5000, 0, 0x10, Extended)}},
		{"zero length", gvretV1Header + "\n5,00000123,false,0,0\n",
			[]Frame{lf(5000, 0, 0x123, 0)}},
		{"short data fields", gvretV1Header + "\n5,123,false,0,2,A,b\n",
			[]Frame{lf(5000, 0, 0x123, 0, 0x0A, 0x0B)}},
		{"negative time", gvretV2Header + "\n-364210,00000121,false,Rx,0,8,8F,07,33,04,00,00,00,00,\n",
			[]Frame{lf(-364210_000, 0, 0x121, 0, 0x8F, 0x07, 0x33, 0x04, 0, 0, 0, 0)}},
		{"columns reordered", "ID,LEN,D1,D2,Bus,Extended,Time Stamp\n7E8,2,06,41,3,false,100\n",
			[]Frame{lf(100_000, 3, 0x7E8, 0, 0x06, 0x41)}},
		{"quoted names, odd case and spaces", `"time stamp", "Id" ,EXTENDED,bus,Len,d1` + "\n 100 , 7E8 , false , 3 , 1 , 06 \n",
			[]Frame{lf(100_000, 3, 0x7E8, 0, 0x06)}},
		{"no extended or bus column", "Time Stamp,ID,LEN,D1\n1,7E8,1,01\n2,18DAF110,1,02\n",
			[]Frame{lf(1000, 0, 0x7E8, 0, 0x01), lf(2000, 0, 0x18DAF110, Extended, 0x02)}},
		{"extra columns", "Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,Note\n1,7E8,false,Rx,0,2,01,02,hello\n",
			[]Frame{lf(1000, 0, 0x7E8, 0, 0x01, 0x02)}},
		{"no header v1", "7254438300,000007DF,false,1,8,02,01,00,00,00,00,00,00\n",
			[]Frame{lf(7254438300_000, 1, 0x7DF, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0)}},
		{"no header v2", "22213513,00000111,false,Tx,0,1,05,00,00,00,00,00,00,00,\n",
			[]Frame{lf(22213513_000, 0, 0x111, TX, 0x05)}},
		{"joined files", gvretV1Header + "\n1,100,false,1,1,01\n\n" + gvretV2Header + "\n2,200,false,Tx,0,1,02,\n",
			[]Frame{lf(1000, 1, 0x100, 0, 0x01), lf(2000, 0, 0x200, TX, 0x02)}},
		{"bom", "\xEF\xBB\xBF" + gvretV1Header + "\n1,100,false,1,1,01\n",
			[]Frame{lf(1000, 1, 0x100, 0, 0x01)}},
		{"header only", gvretV2Header + "\n", nil},
		// SavvyCAN has no CAN FD column: a CAN FD frame of up to 8 bytes is
		// a plain line, read as a classical frame.
		{"fd frame of 8 bytes", gvretV2Header + "\n22213513,00000300,false,Rx,0,8,11,C2,03,04,05,06,07,08,\n",
			[]Frame{lf(22213513_000, 0, 0x300, 0, 0x11, 0xC2, 3, 4, 5, 6, 7, 8)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewGVRETReader(strings.NewReader(tc.in), "t.csv")
			sameLogFrames(t, readLog(t, r), tc.want)
			if r.Skipped() != 0 {
				t.Errorf("skipped %d: %v", r.Skipped(), r.LineErrors())
			}
		})
	}
}

func TestGVRETBadLines(t *testing.T) {
	lines := []string{
		gvretV2Header, // 1
		"1,00000100,false,Rx,0,1,01,00,00,00,00,00,00,00,",              // 2 ok
		"2,00000100,false,Rx,0,12,01,02,03,04,05,06,07,08,09,0A,0B,0C,", // 3 CAN FD
		"3,0000010G,false,Rx,0,1,01,",                                   // 4 bad id
		"4,00000100,maybe,Rx,0,1,01,",                                   // 5 bad extended
		"5,00000800,false,Rx,0,1,01,",                                   // 6 standard id above 7FF
		"6,00000100,false,Rx,0,8,01,02,03,04",                           // 7 LEN 8, 4 bytes
		"7,00000100,false,Rx,0,1,GG,",                                   // 8 bad byte
		"8,00000100",                                                    // 9 too few fields
		"9,00000100,false,Up,0,1,01,",                                   // 10 bad dir
		"10,00000100,false,Rx,256,1,01,",                                // 11 bus above 255
		"11,00000100,false,Rx,0,65,",                                    // 12 LEN 65
		"x1,00000100,false,Rx,0,1,01,",                                  // 13 not a header or frame
		"12.5,00000100,false,Rx,0,1,01,",                                // 14 fractional time
		"13,20000000,true,Rx,0,1,01,",                                   // 15 id above 1FFFFFFF
		"14,00000100,false,Rx,0,1,123,",                                 // 16 three-digit byte
		"Time Stamp,ID,Bus",                                             // 17 header without LEN
		"15,00000200,false,Tx,1,2,0A,0B,00,00,00,00,00,00,",             // 18 ok
		"ID,ID,Time Stamp,LEN",                                          // 19 ID twice
		"99999999999999999,00000100,false,Rx,0,0,",                      // 20 time out of range
		"16,1FFFFFFF,true,Rx,0,0,",                                      // 21 ok
		"17,00000300,false,Rx,0,64,11,C2,03,04,05,06,07,08,",            // 22 CAN FD, 64 bytes cut to 8 by SavvyCAN
	}
	in := strings.Join(lines, "\n") + "\n"
	r := NewGVRETReader(strings.NewReader(in), "bad.csv")
	sameLogFrames(t, readLog(t, r), []Frame{
		lf(1000, 0, 0x100, 0, 0x01),
		lf(15000, 1, 0x200, TX, 0x0A, 0x0B),
		lf(16000, 0, 0x1FFFFFFF, Extended),
	})
	wantLines := []int{3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 22}
	if got := errLines(r.LineErrors()); !slices.Equal(got, wantLines) {
		t.Errorf("error lines %v, want %v", got, wantLines)
	}
	if r.Skipped() != len(wantLines) {
		t.Errorf("Skipped = %d, want %d", r.Skipped(), len(wantLines))
	}
	for _, e := range r.LineErrors() {
		if fd := e.Line == 3 || e.Line == 22; errors.Is(e, ErrUnsupportedFD) != fd {
			t.Errorf("line %d: %v; ErrUnsupportedFD %v", e.Line, e, fd)
		}
	}
	for _, e := range r.LineErrors() {
		t.Logf("%v", e)
	}
}

// TestGVRETRealData checks counts and single frames against the text of the
// real logs (counts: `wc -l` minus the header line; grep -c '^-' for the
// negative time stamps).
func TestGVRETRealData(t *testing.T) {
	for _, tc := range []struct {
		file     string
		frames   int
		negative int
		hasDir   bool
		checks   map[int]Frame // frame index (file line - 2) -> frame
	}{
		{"kona-2021-dcan-elm327-scanner.gvret.csv", 1845, 0, false, map[int]Frame{
			// line 2: 7254438300,000007DF,false,1,8,02,01,00,00,00,00,00,00
			0: lf(7254438300_000, 1, 0x7DF, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0),
			// line 4: 7254446200,000007EC,false,1,8,06,41,00,80,00,00,01,AA (mode 01 PID 00 answer)
			2: lf(7254446200_000, 1, 0x7EC, 0, 0x06, 0x41, 0x00, 0x80, 0x00, 0x00, 0x01, 0xAA),
			// line 184: 7278589000,000007EC,false,1,8,03,59,02,FF,AA,AA,AA,AA (UDS 19 02 answer)
			182: lf(7278589000_000, 1, 0x7EC, 0, 0x03, 0x59, 0x02, 0xFF, 0xAA, 0xAA, 0xAA, 0xAA),
			// line 1846: 8311389600,000007DF,false,1,8,02,01,00,00,00,00,00,00
			1844: lf(8311389600_000, 1, 0x7DF, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0),
		}},
		{"kona-2021-dcan-elm327-vcu-mcu.gvret.csv", 638, 0, false, map[int]Frame{
			// line 2: 8598117300,000007DF,false,1,8,02,01,00,00,00,00,00,00
			0: lf(8598117300_000, 1, 0x7DF, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0),
			// line 3: 8598136600,000007EB,false,1,8,06,41,00,80,00,00,01,00
			1: lf(8598136600_000, 1, 0x7EB, 0, 0x06, 0x41, 0x00, 0x80, 0x00, 0x00, 0x01, 0x00),
			// line 639: 8772309400,000007DF,false,1,8,02,01,00,00,00,00,00,00
			637: lf(8772309400_000, 1, 0x7DF, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0),
		}},
		{"kona-2020-comp-can-heating.gvret.csv", 27982, 217, true, map[int]Frame{
			// line 2: 22213513,00000111,false,Rx,0,8,00,00,00,00,00,00,00,00,
			0: lf(22213513_000, 0, 0x111, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			// line 90: -364210,00000121,false,Rx,0,8,8F,07,33,04,00,00,00,00, (the clock restarts)
			88: lf(-364210_000, 0, 0x121, 0, 0x8F, 0x07, 0x33, 0x04, 0, 0, 0, 0),
			// line 27983: 46149330,00000140,false,Rx,0,8,55,43,F2,06,BD,17,20,00,
			27981: lf(46149330_000, 0, 0x140, 0, 0x55, 0x43, 0xF2, 0x06, 0xBD, 0x17, 0x20, 0x00),
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			file, err := os.Open(realLog(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			r := NewGVRETReader(file, tc.file)
			frames := readLog(t, r)
			if len(frames) != tc.frames || r.Skipped() != 0 {
				t.Fatalf("%d frames, %d skipped (%v); want %d, 0", len(frames), r.Skipped(), r.LineErrors(), tc.frames)
			}
			if r.HasDir() != tc.hasDir {
				t.Errorf("HasDir = %v", r.HasDir())
			}
			neg := 0
			for _, f := range frames {
				if f.Time < 0 {
					neg++
				}
			}
			if neg != tc.negative {
				t.Errorf("%d negative times, want %d", neg, tc.negative)
			}
			for i, want := range tc.checks {
				if frames[i] != want {
					t.Errorf("frame %d (line %d) = %+v, want %+v", i, i+2, frames[i], want)
				}
			}
		})
	}
}

func TestGVRETWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewGVRETWriter(&buf)
	for _, f := range []Frame{
		lf(22213513_000, 0, 0x111, 0, 0, 0, 0, 0, 0, 0, 0, 0x05),
		lf(-364210_999, 1, 0x18DAF110, Extended|TX, 0x02, 0x10),
		lf(7, 255, 0x7FF, 0),
		lf(8_000, 0, 0x300, FD|BRS|ESI|TX, 0x11, 0xC2, 0x03), // no FD column: a plain line
	} {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []Frame{lfRemote(0, 0, 0x123, 0, 0), lf(0, 0, 0x80, ErrorFrame), lfRemote(0, 0, 0x123, FD, 0), lf(0, 0, 0x80, ErrorFrame|FD)} {
		if err := w.WriteFrame(f); !errors.Is(err, ErrNotRepresentable) {
			t.Errorf("WriteFrame(%+v) = %v, want ErrNotRepresentable", f, err)
		}
	}
	if err := w.WriteFrame(Frame{ID: 0x123, Len: 9}); err == nil {
		t.Error("invalid frame written")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := gvretV2Header + `
22213513,00000111,false,Rx,0,8,00,00,00,00,00,00,00,05,
-364210,18DAF110,true,Tx,1,2,02,10,00,00,00,00,00,00,
0,000007FF,false,Rx,255,0,00,00,00,00,00,00,00,00,
8,00000300,false,Tx,0,3,11,C2,03,00,00,00,00,00,
`
	if got := buf.String(); got != want {
		t.Errorf("wrote\n%s\nwant\n%s", got, want)
	}

	buf.Reset()
	w = NewGVRETWriter(&buf)
	w.Flush()
	if buf.String() != gvretV2Header+"\n" {
		t.Errorf("empty log %q, want the header", buf.String())
	}
}

func TestGVRETRoundTrip(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		frames := randomLogFrames(seed, 2000, logKinds{tx: true, fd: true})
		var buf bytes.Buffer
		writeLog(t, NewGVRETWriter(&buf), frames)
		r := NewGVRETReader(&buf, "")
		// The format has no CAN FD column: FD frames come back classical.
		sameLogFrames(t, readLog(t, r), withoutFD(frames))
		if r.Skipped() != 0 {
			t.Errorf("skipped %d: %v", r.Skipped(), r.LineErrors())
		}
	}
}

// TestGVRETToCandump converts the real GVRET logs to candump and reads them
// back: same frames (negative time stamps included).
func TestGVRETToCandump(t *testing.T) {
	for _, name := range []string{
		"kona-2020-comp-can-heating.gvret.csv",
		"kona-2021-dcan-elm327-scanner.gvret.csv",
		"kona-2021-dcan-elm327-vcu-mcu.gvret.csv",
	} {
		t.Run(name, func(t *testing.T) {
			file, err := os.Open(realLog(t, name))
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			frames := readLog(t, NewGVRETReader(file, name))
			var buf bytes.Buffer
			writeLog(t, NewCandumpWriter(&buf), frames)
			r := NewCandumpReader(&buf, "")
			sameLogFrames(t, readLog(t, r), frames)
			if r.Skipped() != 0 {
				t.Errorf("skipped %d: %v", r.Skipped(), r.LineErrors())
			}
		})
	}
}

// withoutFD returns frames as GVRET CSV gives them back: without the FD,
// BRS and ESI flags.
func withoutFD(frames []Frame) []Frame {
	out := slices.Clone(frames)
	for i := range out {
		out[i].Flags &^= FD | BRS | ESI
	}
	return out
}

func FuzzGVRETReader(f *testing.F) {
	for _, s := range []string{
		gvretV1Header + "\r\n7254438300,000007DF,false,1,8,02,01,00,00,00,00,00,00\r\n",
		gvretV2Header + "\n22213513,00000111,false,Rx,0,8,00,00,00,00,00,00,00,05,\n-364210,18DAF110,true,Tx,1,2,02,10,\n",
		"ID,LEN,D1,D2,Bus,Extended,Time Stamp\n7E8,2,06,41,3,false,100\n",
		"1,7E8,false,0,12,01\n5,123,false,0,0\n",
		gvretV2Header + "\n17,00000300,false,Rx,0,64,11,C2,03,04,05,06,07,08,\n18,00000300,false,Tx,1,8,11,C2,03,04,05,06,07,08,\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewGVRETReader(bytes.NewReader(data), "fuzz")
		var frames []Frame
		for r.Receive() {
			fr := r.Frame()
			if err := fr.Validate(); err != nil {
				t.Fatalf("invalid frame %+v: %v", fr, err)
			}
			if fr.Flags&(Remote|ErrorFrame) != 0 || fr.Time%1000 != 0 {
				t.Fatalf("GVRET cannot hold %+v", fr)
			}
			frames = append(frames, fr)
		}
		checkLineErrs(t, r)
		var buf bytes.Buffer
		w := NewGVRETWriter(&buf)
		for _, fr := range frames {
			if err := w.WriteFrame(fr); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		back := NewGVRETReader(&buf, "")
		var got []Frame
		for back.Receive() {
			got = append(got, back.Frame())
		}
		if back.Skipped() != 0 {
			t.Fatalf("rewritten log has bad lines: %v", back.LineErrors())
		}
		sameLogFrames(t, got, frames)
	})
}
