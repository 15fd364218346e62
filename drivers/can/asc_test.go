package can

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// sep30 is `date Sam Sep 30 15:06:13.191 2017` (German day name), read as UTC.
var sep30 = time.Date(2017, 9, 30, 15, 6, 13, 191e6, time.UTC).UnixNano()

const ascHead = "date Sam Sep 30 15:06:13.191 2017\nbase hex  timestamps absolute\ninternal events logged\n// version 9.0.0\nBegin Triggerblock Sam Sep 30 15:06:13.191 2017\n   0.000000 Start of measurement\n"

func TestASCReader(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Frame
	}{
		{"vector sample", ascHead + `   0.015991 CAN 1 Status:chip status error passive - TxErr: 132 RxErr: 0
   1.015991 1  Statistic: D 0 R 0 XD 0 XR 0 E 0 O 0 B 0.00%
  17.876708 1  6F9             Rx   d 8 05 0C 00 00 00 00 00 00  Length = 240015 BitCount = 124 ID = 1785
     2.5010 2   C8             Tx   d 8 09 08 07 06 05 04 03 02
End TriggerBlock
`, []Frame{
			lf(sep30+17_876708_000, 0, 0x6F9, 0, 0x05, 0x0C, 0, 0, 0, 0, 0, 0),
			lf(sep30+2_501000_000, 1, 0xC8, TX, 9, 8, 7, 6, 5, 4, 3, 2),
		}},
		{"extended, remote, error frames", ascHead + `   2.501000 1 ErrorFrame
   2.501010 1 ErrorFrame ECC: 10100010
   2.501020 2 ErrorFrame Flags = 0xe CodeExt = 0x20a2 Code = 0x82 ID = 0 DLC = 0 Position = 5 Length = 11300
   2.510001 2 100 Rx r
   2.584921 4 300 Tx r 8 Length = 1704000 BitCount = 145
   3.098426 1  18EBFF00x       Rx d 8 01 A0 0F A6 60 3B D1 40    Length = 273910 BitCount = 141 ID = 418119424x
   3.100000 1  1x              Rx d 0
`, []Frame{
			lf(sep30+2_501000_000, 0, 0, ErrorFrame),
			lf(sep30+2_501010_000, 0, 0, ErrorFrame),
			lf(sep30+2_501020_000, 1, 0, ErrorFrame),
			lfRemote(sep30+2_510001_000, 1, 0x100, 0, 0),
			lfRemote(sep30+2_584921_000, 3, 0x300, TX, 8),
			lf(sep30+3_098426_000, 0, 0x18EBFF00, Extended, 0x01, 0xA0, 0x0F, 0xA6, 0x60, 0x3B, 0xD1, 0x40),
			lf(sep30+3_100000_000, 0, 0x1, Extended),
		}},
		{"channel 0 (real file style)", "date Wed, 08 Nov 2023 21:21:54 GMT\r\nbase hex  timestamps absolute\r\nbegin triggerblock\r\n   0.075600 0  59E\tRx   d 8 00 00 00 00 18 0E 00 00 \r\n   0.075860 1  5A3\tRx   d 2 0F 00 \r\nend triggerblock\r\n",
			[]Frame{
				lf(time.Date(2023, 11, 8, 21, 21, 54, 0, time.UTC).UnixNano()+75_600_000, 0, 0x59E, 0, 0, 0, 0, 0, 0x18, 0x0E, 0, 0),
				lf(time.Date(2023, 11, 8, 21, 21, 54, 0, time.UTC).UnixNano()+75_860_000, 1, 0x5A3, 0, 0x0F, 0x00),
			}},
		{"channel 0 later in the buffer", "   0.1 1 100 Rx d 0\n   0.2 0 100 Rx d 0\n",
			[]Frame{lf(100_000_000, 1, 0x100, 0), lf(200_000_000, 0, 0x100, 0)}},
		{"no date: offsets", "base hex  timestamps absolute\n   1.000001 1 7E8 Rx d 1 02\n",
			[]Frame{lf(1_000_001_000, 0, 0x7E8, 0, 0x02)}},
		{"date from triggerblock, 12-hour clock", "Begin TriggerBlock Thu Apr 28 10:44:52.480 pm 2022\n   1.0 1 7E8 Rx d 0\n",
			[]Frame{lf(time.Date(2022, 4, 28, 22, 44, 52, 480e6, time.UTC).UnixNano()+1e9, 0, 0x7E8, 0)}},
		{"base dec", "base dec  timestamps absolute\n   0.5 1 2024 Rx d 3 1 255 16\n   0.6 1 418119424x Rx d 1 7\n",
			[]Frame{lf(500_000_000, 0, 2024, 0, 1, 255, 16), lf(600_000_000, 0, 0x18EBFF00, Extended, 7)}},
		{"timestamps relative", "base hex  timestamps relative\n   0.000000 Start of measurement\n   0.100000 1 100 Rx d 0\n   0.050000 1 101 Rx d 0\n   0.025000 1 ErrorFrame\n   0.000100 1 102 Rx d 0\n",
			[]Frame{lf(100_000_000, 0, 0x100, 0), lf(150_000_000, 0, 0x101, 0), lf(175_000_000, 0, 0, ErrorFrame), lf(175_100_000, 0, 0x102, 0)}},
		{"relative counts skipped events", "base hex  timestamps relative\n   0.1 1  Statistic: D 0\n   0.1 1 100 Rx d 0\n   0.1 1 101 Rx d 99\n   0.1 1 102 Rx d 0\n",
			[]Frame{lf(200_000_000, 0, 0x100, 0), lf(400_000_000, 0, 0x102, 0)}},
		{"dlc above 8", "   13.258671 1  3FF             Tx   d D 55 AA 01 02 03 04 05 06  Length = 232016 BitCount = 119 ID = 1023\n",
			[]Frame{lf(13_258671_000, 0, 0x3FF, TX, 0x55, 0xAA, 1, 2, 3, 4, 5, 6)}},
		{"symbolic name", "   1.0 1  EngineData      Rx   d 2 01 02  Length = 0 BitCount = 0 ID = 100\n   1.1 1  Diag_Req        Tx   d 1 03  ID = 417001744x\n",
			[]Frame{lf(1e9, 0, 100, 0, 1, 2), lf(1.1e9, 0, 0x18DAF110, Extended|TX, 3)}},
		{"extended without x", "   1.0 1  18DAF110 Rx d 0\n",
			[]Frame{lf(1e9, 0, 0x18DAF110, Extended)}},
		{"lower case keywords", "BASE HEX TIMESTAMPS ABSOLUTE\nbegin triggerblock\n   1.0 1 7e8 rx D 1 aa\nend triggerblock\n",
			[]Frame{lf(1e9, 0, 0x7E8, 0, 0xAA)}},
		{"silent events", "no internal events logged\n   0.1 SV: 1 0 1 ::sysvar = 1\n   0.2 Log trigger event\n   0.3 1 100 TxRq d 0\n   0.4 1 100 Rx d 0\n",
			[]Frame{lf(400_000_000, 0, 0x100, 0)}},
		{"end triggerblock without newline", "   0.4 1 100 Rx d 0\nEnd TriggerBlock",
			[]Frame{lf(400_000_000, 0, 0x100, 0)}},
		// CANFD events, as CANoe writes them (the first three lines are
		// python-can's test_CanFdMessage.asc): BRS and ESI from their
		// columns, FD from EDL (0x1000) in Flags.
		{"canfd vector sample", ascHead + `  30.005021 CANFD   1 Rx        300                                   1 0 8  8 11 c2 03 04 05 06 07 08   102203  133   303000 e0006659 46500250 4b140250 20011736 2001040d
  30.005041 CANFD   2 Tx        1C4D80A7x                                   0 1 8  8 12 c2 03 04 05 06 07 08   102203  133   303000 e0006659 46500250 4b140250 20011736 2001040d
  30.005071 CANFD   3 Rx        30a  Generic_Name_12                  1 1 8  8 01 02 03 04 05 06 07 08   102203  133   303000 e0006659 46500250 4b140250 20011736 2001040d
  30.100000 CANFD   1 Rx        7E8                                   0 0 3  3 06 41 0D        0    0     1000        0        0        0        0        0
  30.200000 CANFD   1 Rx        123                                   1 0 0  0        0    0     3000        0        0        0        0        0
End TriggerBlock
`, []Frame{
			lf(sep30+30_005021_000, 0, 0x300, FD|BRS, 0x11, 0xC2, 3, 4, 5, 6, 7, 8),
			lf(sep30+30_005041_000, 1, 0x1C4D80A7, Extended|TX|FD|ESI, 0x12, 0xC2, 3, 4, 5, 6, 7, 8),
			lf(sep30+30_005071_000, 2, 0x30A, FD|BRS|ESI, 1, 2, 3, 4, 5, 6, 7, 8),
			lf(sep30+30_100000_000, 0, 0x7E8, FD, 0x06, 0x41, 0x0D),
			lf(sep30+30_200000_000, 0, 0x123, FD|BRS),
		}},
		{"canfd classical frames on a CAN FD channel", ascHead + `  30.300981 CANFD   3 Tx     50005x                                0 1 5 0 140000 73 200050 7a60 46500250 460a0250 20011736 20010205
  30.400000 CANFD   1 Rx        100                                   0 0 2  2 AA BB   102203  133        0        0        0        0        0        0
  30.500000 CANFD   1 Rx        101                                   0 0 F  8 01 02 03 04 05 06 07 08   102203  133   200000        0        0        0        0        0
`, []Frame{
			// python-can's test_CanFdRemoteMessage.asc: remote (0x10), no EDL.
			lfRemote(sep30+30_300981_000, 2, 0x50005, Extended|TX, 5),
			lf(sep30+30_400000_000, 0, 0x100, 0, 0xAA, 0xBB),
			lf(sep30+30_500000_000, 0, 0x101, 0, 1, 2, 3, 4, 5, 6, 7, 8),
		}},
		{"canfd error frame", "   1.0 CANFD   1 Rx ErrorFrame Not Acknowledge error, dominant error flag fffe c7 31ca Data 0 123 0 0 8 8 01 02 03 04 05 06 07 08 200000 2000 0 46500250 460a0250\n",
			[]Frame{lf(1e9, 0, 0, ErrorFrame)}},
		{"canfd without trailing fields", "   1.0 CANFD 1 Tx 123 1 1 2 2 0A 0B\n   1.1 CANFD 2 Rx 18DAF110 0 0 1 1 02\n",
			[]Frame{lf(1e9, 0, 0x123, TX|FD|BRS|ESI, 0x0A, 0x0B), lf(1.1e9, 1, 0x18DAF110, Extended|FD, 0x02)}},
		{"canfd base dec", "base dec  timestamps absolute\n   0.5 CANFD 1 Rx 2024 1 0 3 3 1 255 16\n",
			[]Frame{lf(500_000_000, 0, 2024, FD|BRS, 1, 255, 16)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewASCReader(strings.NewReader(tc.in), "t.asc")
			sameLogFrames(t, readLog(t, r), tc.want)
			if tc.name == "relative counts skipped events" {
				if r.Skipped() != 1 {
					t.Errorf("skipped %d, want 1 (d 99)", r.Skipped())
				}
				return
			}
			if r.Skipped() != 0 {
				t.Errorf("skipped %d: %v", r.Skipped(), r.LineErrors())
			}
		})
	}
}

func TestASCChannelBase(t *testing.T) {
	t.Run("one-based", func(t *testing.T) {
		r := NewASCReader(strings.NewReader("   0.1 1 100 Rx d 0\n   0.2 2 100 Rx d 0\n"), "")
		sameLogFrames(t, readLog(t, r), []Frame{lf(100_000_000, 0, 0x100, 0), lf(200_000_000, 1, 0x100, 0)})
		if r.ChannelBase() != 1 {
			t.Errorf("ChannelBase = %d", r.ChannelBase())
		}
	})
	t.Run("zero-based", func(t *testing.T) {
		r := NewASCReader(strings.NewReader("   0.1 0 100 Rx d 0\n   0.2 2 100 Rx d 0\n"), "")
		if r.ChannelBase() != -1 {
			t.Errorf("ChannelBase before reading = %d", r.ChannelBase())
		}
		sameLogFrames(t, readLog(t, r), []Frame{lf(100_000_000, 0, 0x100, 0), lf(200_000_000, 2, 0x100, 0)})
		if r.ChannelBase() != 0 {
			t.Errorf("ChannelBase = %d", r.ChannelBase())
		}
	})
	t.Run("channel 0 beyond the read buffer", func(t *testing.T) {
		// 3000 lines of about 30 bytes on channel 1, more than the
		// 64 KiB the reader looks ahead, then one on channel 0.
		var in strings.Builder
		for i := range 3000 {
			fmt.Fprintf(&in, "   %d.000000 1 100 Rx d 1 01\n", i)
		}
		in.WriteString("   3000.000000 0 100 Rx d 1 01\n")
		r := NewASCReader(strings.NewReader(in.String()), "")
		if n := len(readLog(t, r)); n != 3000 {
			t.Fatalf("%d frames", n)
		}
		if errs := r.LineErrors(); len(errs) != 1 || errs[0].Line != 3001 || r.ChannelBase() != 1 {
			t.Fatalf("errors %v, base %d", errs, r.ChannelBase())
		}
	})
}

func TestASCDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"Wed, 08 Nov 2023 21:21:54 GMT", time.Date(2023, 11, 8, 21, 21, 54, 0, time.UTC), true},
		{"Wed Nov 8 09:21:54.123 pm 2023", time.Date(2023, 11, 8, 21, 21, 54, 123e6, time.UTC), true},
		{"Wed Nov  8 09:21:54 am 2023", time.Date(2023, 11, 8, 9, 21, 54, 0, time.UTC), true},
		{"Thu Jan 1 12:00:00.000 am 1970", time.Unix(0, 0).UTC(), true},
		{"Tue May 27 04:09:35.000 pm 2014", time.Date(2014, 5, 27, 16, 9, 35, 0, time.UTC), true},
		{"Sat Sep 30 10:06:13.191 PM 2017", time.Date(2017, 9, 30, 22, 6, 13, 191e6, time.UTC), true},
		{"Sam Sep 30 15:06:13.191 2017", time.Date(2017, 9, 30, 15, 6, 13, 191e6, time.UTC), true},
		{"Mi Mär 6 08:00:00 2024", time.Date(2024, 3, 6, 8, 0, 0, 0, time.UTC), true},
		{"Fr Okt 13 23:59:59.999999 2023", time.Date(2023, 10, 13, 23, 59, 59, 999999e3, time.UTC), true},
		{"Wed Nov 8 13:21:54 pm 2023", time.Time{}, false},
		{"Wed Nov 8 2023", time.Time{}, false},
		{"Wed 8 09:21:54 2023", time.Time{}, false},
		{"Wed Nov 8 09:21 2023", time.Time{}, false},
		{"Wed Nov 8 09:21:54 1492", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseASCDate([]byte(tc.in))
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("parseASCDate(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestASCBadLines(t *testing.T) {
	lines := []string{
		"date Wed Nov 8 09:21:54.000 pm 2023", // 1
		"base hex  timestamps absolute",       // 2
		"   0.1 1 100 Rx d 1 01",              // 3 ok
		"  24.986902 CANFD   7 Tx        716                                   1 0 f 64 12 3b 36 01 7b 0a 20 20 20 20 22 66 69 6c 65 43 6f 75 6e 74 22 3a 20 31 2c 20 0a 20 20 20 20 22 65 63 75 49 64 22 3a 20 22 30 78 30 37 31 36 22 2c 20 0a 20 20 20 20 22 64 69 64 22 3a 20 22 46        0    0     3000        0        0        0        0        0", // 4 CAN FD, 64 bytes (python-can logfile_vector_fd.asc)
		"   0.2 1 100 Rx d 8 01 02 03 04",              // 5 DLC 8, 4 bytes
		"   0.3 1 1G0 Rx d 0",                          // 6 bad id
		"   0.4 1 100 Up d 0",                          // 7 bad direction
		"   0.5 1 100 Rx q 0",                          // 8 bad type
		"   0.6 1 100 Rx d 1 GG",                       // 9 bad byte
		"   0.7 Li 12 Rx 2 01 02",                      // 10 LIN event
		"hello there",                                  // 11 not ASC
		"   1.2.3 1 100 Rx d 0",                        // 12 bad time
		"   0.8 1 800 Rx d 0",                          // 13 ok: extended without x
		"   0.9 1 20000000x Rx d 0",                    // 14 id above 1FFFFFFF
		"base oct",                                     // 15 bad base
		"   1.0 1x 100 Rx d 0",                         // 16 bad channel
		"   1.1 0 100 Rx d 0",                          // 17 ok: channel 0
		"   1.2",                                       // 18 no event
		"   1.3 1 100 Rx d 1 100",                      // 19 byte above FF
		"   1.4 256 100 Rx d 0",                        // 20 channel above 255
		"begin nothing",                                // 21 unknown begin
		"base hex timestamps sideways",                 // 22 bad timestamps
		"   1.5 1 100 Rx r 2",                          // 23 ok
		"   1.6 1 Sym Rx d 0 ID = 12345678901x",        // 24 trailing id too large
		"   1.7 CANFD 1 Rx 123 1 0 2 2 11 22 0 0 3000", // 25 ok: CAN FD
		"   1.8 CANFD 1 Rx 123 2 0 2 2 11 22 0 0 3000", // 26 BRS 2
		"   1.8 CANFD 1 Rx 123 1 0 8 2 11 22 0 0 3000", // 27 DLC 8, data length 2
		"   1.8 CANFD 1 Rx 123 1 0 9 8 11 22 33 44 55 66 77 88 0 0 3000",              // 28 DLC 9 (12 bytes), data length 8
		"   1.8 CANFD 1 Rx 123 1 0 4 4 11 22",                                         // 29 data length 4, 2 bytes
		"   1.8 CANFD 1 Rx 123 1 0 2 2 11 22 0 0 30G0",                                // 30 bad flags
		"   1.8 CANFD 1x Rx 123 1 0 2 2 11 22",                                        // 31 bad channel
		"   1.8 CANFD 1 Up 123 1 0 2 2 11 22",                                         // 32 bad direction
		"   1.8 CANFD 1 Rx 1G3 1 0 2 2 11 22",                                         // 33 bad id
		"   1.8 CANFD 1 Rx 123 1 0 f 65",                                              // 34 data length 65
		"   1.8 CANFD 1 Rx 123 1 0 2 2 11 2G",                                         // 35 bad data byte
		"   1.8 CANFD 1 Rx 123 1 0 G 2 11 22",                                         // 36 bad DLC
		"   1.8 CANFD 1 Rx 123 1 0 2 x 11 22",                                         // 37 bad data length
		"   1.8 CANFD 1 Rx 20000000x 1 0 0 0",                                         // 38 id above 1FFFFFFF
		"   1.8 CANFD 1 Rx 123 0 0 F 12 11 22 33 44 55 66 77 88 99 AA BB CC 0 0 1000", // 39 CAN FD, 12 bytes
		"   1.8 CANFD 1 Rx 100 0 0 2 1 11 0 0 0",                                      // 40 classical: DLC 2, data length 1
		"   1.9 CANFD 1 TxRq 123 1 0 2 2 11 22",                                       // 41 skipped silently
	}
	in := strings.Join(lines, "\r\n") + "\r\n"
	r := NewASCReader(strings.NewReader(in), "bad.asc")
	start := time.Date(2023, 11, 8, 21, 21, 54, 0, time.UTC).UnixNano()
	// The whole log is in the read buffer, so the channel 0 on line 17
	// makes it zero-based: channel 1 is bus 1.
	sameLogFrames(t, readLog(t, r), []Frame{
		lf(start+100_000_000, 1, 0x100, 0, 0x01),
		lf(start+800_000_000, 1, 0x800, Extended),
		lf(start+1_100_000_000, 0, 0x100, 0),
		lfRemote(start+1_500_000_000, 1, 0x100, 0, 2),
		lf(start+1_700_000_000, 1, 0x123, FD|BRS, 0x11, 0x22),
	})
	if r.ChannelBase() != 0 {
		t.Errorf("ChannelBase = %d, want 0", r.ChannelBase())
	}
	wantLines := []int{4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 18, 19, 20, 21, 22, 24,
		26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40}
	if got := errLines(r.LineErrors()); !slices.Equal(got, wantLines) {
		t.Errorf("error lines %v, want %v", got, wantLines)
	}
	if r.Skipped() != len(wantLines) {
		t.Errorf("Skipped = %d, want %d", r.Skipped(), len(wantLines))
	}
	if errs := r.LineErrors(); !errors.Is(errs[0], ErrUnsupportedFD) {
		t.Errorf("line 4: %v, want ErrUnsupportedFD", errs[0])
	}
	// Only the CAN FD frames of 64 and 12 bytes are unsupported; the rest
	// are bad lines.
	for _, e := range r.LineErrors() {
		if fd := e.Line == 4 || e.Line == 39; errors.Is(e, ErrUnsupportedFD) != fd {
			t.Errorf("line %d: %v; ErrUnsupportedFD %v", e.Line, e, fd)
		}
	}
	for _, e := range r.LineErrors() {
		t.Logf("%v", e)
	}
}

// TestASCRealData checks the real ASC log against its text: 879 frame
// lines (883 lines less 3 header lines and `end triggerblock`), all on
// channel 0, dated `Wed, 08 Nov 2023 21:21:54 GMT`.
func TestASCRealData(t *testing.T) {
	const name = "kona-bms-precharge-relay-on.asc"
	file, err := os.Open(realLog(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	r := NewASCReader(file, name)
	frames := readLog(t, r)
	if len(frames) != 879 || r.Skipped() != 0 {
		t.Fatalf("%d frames, %d skipped (%v); want 879, 0", len(frames), r.Skipped(), r.LineErrors())
	}
	date := time.Date(2023, 11, 8, 21, 21, 54, 0, time.UTC)
	if st, ok := r.Start(); !ok || !st.Equal(date) || r.ChannelBase() != 0 {
		t.Errorf("Start = %v, %v; ChannelBase %d", st, ok, r.ChannelBase())
	}
	at := date.UnixNano()
	for i, want := range map[int]Frame{
		// line 4:   0.075600 0  59E	Rx   d 8 00 00 00 00 18 0E 00 00
		0: lf(at+75_600_000, 0, 0x59E, 0, 0, 0, 0, 0, 0x18, 0x0E, 0, 0),
		// line 204:   1.079120 0  7EC	Rx   d 8 04 6F F0 31 03 AA AA AA (UDS 2F F031 answer)
		200: lf(at+1_079_120_000, 0, 0x7EC, 0, 0x04, 0x6F, 0xF0, 0x31, 0x03, 0xAA, 0xAA, 0xAA),
		// line 882:   4.576770 0  5D8	Rx   d 8 80 65 04 00 5E 01 18 0E
		878: lf(at+4_576_770_000, 0, 0x5D8, 0, 0x80, 0x65, 0x04, 0x00, 0x5E, 0x01, 0x18, 0x0E),
	} {
		if frames[i] != want {
			t.Errorf("frame %d (line %d) = %+v, want %+v", i, i+4, frames[i], want)
		}
	}

	// Written back and read again: the same frames, now numbered from
	// channel 1.
	var buf bytes.Buffer
	writeLog(t, NewASCWriter(&buf, date), frames)
	back := NewASCReader(&buf, "")
	sameLogFrames(t, readLog(t, back), frames)
	if back.ChannelBase() != 1 || back.Skipped() != 0 {
		t.Errorf("ChannelBase %d, skipped %v", back.ChannelBase(), back.LineErrors())
	}
}

func TestASCWriter(t *testing.T) {
	var buf bytes.Buffer
	start := time.Date(2023, 11, 8, 21, 21, 54, 123_456_789, time.UTC)
	w := NewASCWriter(&buf, start)
	at := start.Truncate(time.Millisecond).UnixNano()
	for _, f := range []Frame{
		lf(at+75_600_000, 0, 0x59E, 0, 0, 0, 0, 0, 0x18, 0x0E, 0, 0),
		lf(at+1_079_120_999, 1, 0x18DAF110, Extended|TX, 0x02, 0x10, 0x03),
		lfRemote(at+2_000_000_000, 2, 0x7DF, 0, 0),
		lfRemote(at+2_000_001_000, 2, 0x7DF, TX, 8),
		lf(at+3_000_000_000, 0, 0x80, ErrorFrame, 1, 2),
		lf(at+123_000_000_000, 254, 0x0, 0),
		lf(at-1_500_000, 0, 0x1, 0),
		lf(at+4_000_000_000, 0, 0x300, FD|BRS, 0x11, 0xC2, 3, 4, 5, 6, 7, 8),
		lf(at+4_000_010_000, 1, 0x1C4D80A7, Extended|TX|FD|ESI, 0x12),
		lf(at+4_000_020_000, 2, 0x7E8, FD|BRS|ESI),
		lf(at+4_000_030_000, 0, 0x7FF, FD, 0x01, 0x02, 0x03),
	} {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteFrame(lf(0, 0, 0x800, 0)); err == nil {
		t.Error("invalid frame written")
	}
	// CAN FD has no remote or error frames.
	for _, f := range []Frame{lfRemote(at, 0, 0x123, FD, 0), lf(at, 0, 0, ErrorFrame|FD)} {
		if err := w.WriteFrame(f); !errors.Is(err, ErrNotRepresentable) {
			t.Errorf("WriteFrame(%+v) = %v, want ErrNotRepresentable", f, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(lf(at, 0, 1, 0)); err == nil {
		t.Error("frame written after Close")
	}
	want := `date Wed Nov 8 09:21:54.123 pm 2023
base hex  timestamps absolute
internal events logged
// version 9.0.0
Begin Triggerblock Wed Nov 8 09:21:54.123 pm 2023
   0.000000 Start of measurement
   0.075600 1  59E             Rx   d 8 00 00 00 00 18 0E 00 00
   1.079120 2  18DAF110x       Tx   d 3 02 10 03
   2.000000 3  7DF             Rx   r
   2.000001 3  7DF             Tx   r 8
   3.000000 1  ErrorFrame
 123.000000 255  0               Rx   d 0
  -0.001500 1  1               Rx   d 0
   4.000000 CANFD   1 Rx        300                                   1 0 8  8 11 C2 03 04 05 06 07 08        0    0     3000        0        0        0        0        0
   4.000010 CANFD   2 Tx   1C4D80A7x                                   0 1 1  1 12        0    0     5000        0        0        0        0        0
   4.000020 CANFD   3 Rx        7E8                                   1 1 0  0        0    0     7000        0        0        0        0        0
   4.000030 CANFD   1 Rx        7FF                                   0 0 3  3 01 02 03        0    0     1000        0        0        0        0        0
End TriggerBlock
`
	if got := buf.String(); got != want {
		t.Errorf("wrote\n%s\nwant\n%s", got, want)
	}

	buf.Reset()
	w = NewASCWriter(&buf, time.Time{})
	w.Close()
	if got := buf.String(); !strings.HasPrefix(got, "date Thu Jan 1 12:00:00.000 am 1970\n") || !strings.HasSuffix(got, "End TriggerBlock\n") {
		t.Errorf("empty log:\n%s", got)
	}
}

func TestASCRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		seed  uint64
		start time.Time
	}{
		{"epoch times, start from first frame", 2, time.Time{}},
		{"relative times, start from first frame", 1, time.Time{}},
		{"epoch times, given start", 4, time.Date(2023, 11, 14, 22, 13, 20, 5, time.UTC)},
		{"relative times, epoch start", 3, time.Unix(0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames := randomLogFrames(tc.seed, 2000, logKinds{remote: true, errors: true, tx: true, asc: true, fd: true})
			var buf bytes.Buffer
			writeLog(t, NewASCWriter(&buf, tc.start), frames)
			r := NewASCReader(&buf, "")
			sameLogFrames(t, readLog(t, r), frames)
			if r.Skipped() != 0 {
				t.Errorf("skipped %d: %v", r.Skipped(), r.LineErrors())
			}
		})
	}
}

func FuzzASCReader(f *testing.F) {
	for _, s := range []string{
		ascHead + "  17.876708 1  6F9             Rx   d 8 05 0C 00 00 00 00 00 00  Length = 240015 BitCount = 124 ID = 1785\nEnd TriggerBlock\n",
		"date Wed, 08 Nov 2023 21:21:54 GMT\r\nbase hex  timestamps absolute\r\nbegin triggerblock\r\n   0.075600 0  59E\tRx   d 8 00 00 00 00 18 0E 00 00 \r\nend triggerblock\r\n",
		"base dec  timestamps relative\n   0.5 1 2024 Rx d 3 1 255 16\n   0.6 2 418119424x Tx r 4\n   0.1 1 ErrorFrame\n",
		"   1.0 1  EngineData      Rx   d 2 01 02  ID = 100\n  30.005021 CANFD   1 Rx 300 1 0 8 8 11 c2 03 04 05 06 07 08\n   1.0 1 3FF Tx d D 55 AA 01 02 03 04 05 06\n",
		ascHead + "  30.005071 CANFD   3 Rx        30a  Generic_Name_12                  1 1 8  8 01 02 03 04 05 06 07 08   102203  133   303000 e0006659 46500250 4b140250 20011736 2001040d\n" +
			"  30.300981 CANFD   3 Tx     50005x                                0 1 5 0 140000 73 200050 7a60 46500250 460a0250 20011736 20010205\n" +
			"   4.000010 CANFD   2 Tx   1C4D80A7x                                   0 1 1  1 12        0    0     5000        0        0        0        0        0\n",
		"   1.0 CANFD 1 Rx 100 0 0 F 8 01 02 03 04 05 06 07 08 0 0 0\n   1.1 CANFD 1 Rx ErrorFrame\n   1.2 CANFD 1 Rx 123 0 0 f 64 00\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewASCReader(bytes.NewReader(data), "fuzz")
		var frames []Frame
		for r.Receive() {
			fr := r.Frame()
			if err := fr.Validate(); err != nil {
				t.Fatalf("invalid frame %+v: %v", fr, err)
			}
			frames = append(frames, fr)
		}
		checkLineErrs(t, r)
		if len(frames) == 0 {
			return
		}
		// What was read writes back and reads again the same, to the
		// microsecond of the offset from the start.
		var buf bytes.Buffer
		w := NewASCWriter(&buf, time.Time{})
		for i, fr := range frames {
			if err := w.WriteFrame(fr); err != nil {
				if errors.Is(err, errTimeRange) {
					return // times more than 292 years apart
				}
				t.Fatal(err)
			}
			frames[i].Time = w.startNS + (fr.Time-w.startNS)/1000*1000
		}
		w.Close()
		back := NewASCReader(&buf, "")
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
