package obd

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/obd/isotp"
)

func TestUDSReadDataByIdentifier(t *testing.T) {
	if got := ReadDataByIdentifierRequest(0xF190); !bytes.Equal(got, []byte{0x22, 0xF1, 0x90}) {
		t.Errorf("request % X", got)
	}
	if got := ReadDataByIdentifierRequest(0x0101, 0xF18C); !bytes.Equal(got, []byte{0x22, 0x01, 0x01, 0xF1, 0x8C}) {
		t.Errorf("request % X", got)
	}
	b, err := ParseReadDataByIdentifier(jHex(t, "62 01 01 FF 80 12"), 0x0101)
	if err != nil || !bytes.Equal(b, []byte{0xFF, 0x80, 0x12}) {
		t.Errorf("ParseReadDataByIdentifier = % X, %v", b, err)
	}
	if b, err := ParseReadDataByIdentifier(jHex(t, "62 01 01"), 0x0101); err != nil || len(b) != 0 {
		t.Errorf("empty record: % X, %v", b, err)
	}
	_, err = ParseReadDataByIdentifier(jHex(t, "7F 22 31"), 0x0101)
	var nr *NegativeResponse
	if !errors.As(err, &nr) || nr.Service != 0x22 || nr.Code != 0x31 {
		t.Errorf("negative answer: %v", err)
	}
	for in, want := range map[string]string{
		"62 01 02 00": "DID 0102, not 0101",
		"62 01":       "too short",
		"7F 19 31":    "not an answer to service 22",
		"":            "not an answer to service 22",
		"59 02 FF":    "not an answer to service 22",
	} {
		_, err := ParseReadDataByIdentifier(jHex(t, in), 0x0101)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseReadDataByIdentifier(%s): %v, want %q", in, err, want)
		}
	}
}

func TestUDSReportDTCs(t *testing.T) {
	if got := ReportDTCByStatusMaskRequest(0xFF); !bytes.Equal(got, []byte{0x19, 0x02, 0xFF}) {
		t.Errorf("request % X", got)
	}
	for _, tc := range []struct {
		in    string
		avail byte
		dtcs  string
		err   string
	}{
		{"59 02 FF", 0xFF, "", ""},
		// 58 12 87: 0101 1000 -> C, 1, 8; 12; FTB 87. Status 28.
		{"59 02 FF 58 12 87 28", 0xFF, "C1812-87/28", ""},
		{"59 02 09 96 03 00 08 92 10 00 09", 0x09, "B1603-00/08 B1210-00/09", ""},
		{"59 02 09 00 00 00 00 92 10 00 09", 0x09, "B1210-00/09", ""}, // padding record
		{"59 0A 7F 0A 7F 1B 00", 0x7F, "P0A7F-1B/00", ""},
		{"59 02 09 96 03 00 08 92", 0x09, "B1603-00/08", "not a multiple of 4"},
		{"59 02", 0, "", "no status availability mask"},
		{"59 04 FF 01 02 03 04", 0, "", "sub-function 04"},
		{"59", 0, "", "too short"},
		{"62 01 01", 0, "", "not an answer to service 19"},
	} {
		avail, ds, err := ParseReportDTCs(jHex(t, tc.in))
		var got []string
		for _, d := range ds {
			if !d.HasStatus || !d.HasFailureType {
				t.Errorf("%s: %+v", tc.in, d)
			}
			got = append(got, fmt.Sprintf("%s/%02X", d.Code, d.Status))
		}
		if avail != tc.avail || strings.Join(got, " ") != tc.dtcs {
			t.Errorf("ParseReportDTCs(%s) = %02X %q, want %02X %q", tc.in, avail, got, tc.avail, tc.dtcs)
		}
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseReportDTCs(%s): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseReportDTCs(%s) error %v, want %q", tc.in, err, tc.err)
		}
	}
	_, _, err := ParseReportDTCs(jHex(t, "7F 19 78"))
	var nr *NegativeResponse
	if !errors.As(err, &nr) || nr.Code != NRCResponsePending {
		t.Errorf("negative answer: %v", err)
	}
}

func TestUDSReportDTCExtData(t *testing.T) {
	if got := ReportDTCExtDataRequest(0x0A7F1B, 0xFF); !bytes.Equal(got, []byte{0x19, 0x06, 0x0A, 0x7F, 0x1B, 0xFF}) {
		t.Errorf("request % X", got)
	}
	e, err := ParseReportDTCExtData(jHex(t, "59 06 0A 7F 1B 09 01 05 02 03 7F"))
	if err != nil || e.DTC.Code != "P0A7F-1B" || e.DTC.Status != 0x09 || !e.DTC.HasStatus || !bytes.Equal(e.Raw, []byte{1, 5, 2, 3, 0x7F}) {
		t.Fatalf("ParseReportDTCExtData = %+v, %v", e, err)
	}
	show := func(rs []ExtDataRecord) string {
		var s []string
		for _, r := range rs {
			s = append(s, fmt.Sprintf("%02X:% X", r.Number, r.Data))
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		lengths map[byte]int
		want    string
		err     bool
	}{
		{nil, "01:05 02 03 7F", false},                      // unknown lengths: one record with the rest
		{map[byte]int{1: 1}, "01:05 02:03 7F", false},       // record 2 unknown: the rest
		{map[byte]int{1: 1, 2: 2}, "01:05 02:03 7F", false}, // both known
		{map[byte]int{1: 1, 2: 5}, "01:05", true},           // record 2 runs past the end
		{map[byte]int{1: -1}, "", true},
	} {
		rs, err := e.Records(tc.lengths)
		if got := show(rs); got != tc.want || (err != nil) != tc.err {
			t.Errorf("Records(%v) = %q, %v; want %q", tc.lengths, got, err, tc.want)
		}
	}
	e, err = ParseReportDTCExtData(jHex(t, "59 10 0A 7F 1B 09"))
	if rs, _ := e.Records(nil); err != nil || len(rs) != 0 {
		t.Errorf("no records: %+v, %v", e, err)
	}
	for in, want := range map[string]string{
		"59 06 0A 7F 1B": "no DTC and status",
		"59 02 FF":       "not an extended data answer",
		"59":             "too short",
	} {
		if _, err := ParseReportDTCExtData(jHex(t, in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseReportDTCExtData(%s): %v, want %q", in, err, want)
		}
	}
	var nr *NegativeResponse
	if _, err := ParseReportDTCExtData(jHex(t, "7F 19 31")); !errors.As(err, &nr) || nr.Code != 0x31 {
		t.Errorf("negative answer: %v", err)
	}
}

func TestVIN(t *testing.T) {
	// Check digit of 1M8GDM9AXKP042788 (the 49 CFR 565 example), by hand:
	// values 1 4 8 7 4 4 9 1 - 2 7 0 4 2 7 8 8, weights 8 7 6 5 4 3 2 10 0
	// 9 8 7 6 5 4 3 2: 8+28+48+35+16+12+18+10+0+18+56+0+24+10+28+24+16 =
	// 351 = 31*11 + 10 -> 'X'.
	const vin = "1M8GDM9AXKP042788"
	vb := []byte(vin)
	for name, data := range map[string][]byte{
		"CAN":            append([]byte{0x49, 0x02, 0x01}, vb...),
		"no count":       append([]byte{0x49, 0x02}, vb...),
		"pre-CAN padded": append([]byte{0x49, 0x02, 0x01, 0, 0, 0}, vb...),
		"trailing NUL":   append(append([]byte{0x49, 0x02, 0x01}, vb...), 0),
		"pre-CAN messages": slices.Concat(
			[]byte{0x49, 0x02, 0x01, 0, 0, 0}, vb[:1], []byte{0x49, 0x02, 0x02}, vb[1:5], []byte{0x49, 0x02, 0x03}, vb[5:9],
			[]byte{0x49, 0x02, 0x04}, vb[9:13], []byte{0x49, 0x02, 0x05}, vb[13:17]),
	} {
		got, err := ParseVIN(data)
		if err != nil || got != vin {
			t.Errorf("%s: ParseVIN(% X) = %q, %v", name, data, got, err)
		}
	}
	if d, ok := VINCheckDigit(vin); !ok || d != 'X' {
		t.Errorf("VINCheckDigit = %c %v", d, ok)
	}
	if w := VINWarning(vin); w != "" {
		t.Errorf("VINWarning(%s) = %q", vin, w)
	}
	// A wrong check digit is a warning, not an error.
	bad := "1M8GDM9A5KP042788"
	if got, err := ParseVIN(append([]byte{0x49, 0x02, 0x01}, bad...)); err != nil || got != bad {
		t.Errorf("ParseVIN(%s) = %q, %v", bad, got, err)
	}
	if w := VINWarning(bad); !strings.Contains(w, "check digit is 5") || !strings.Contains(w, "gives X") {
		t.Errorf("VINWarning(%s) = %q", bad, w)
	}
	// Outside North America the digit is not checked.
	if w := VINWarning("KMHK381GFMU000000"); w != "" {
		t.Errorf("VINWarning(KMH...) = %q", w)
	}
	for in, want := range map[string]string{
		"49 02 01 4F 53 45 56 5F 5F 20 42 4D 53 20 00 00 00 00 00 00": `"OSEV__ BMS "`, // real Kona BMS answer
		"49 02 01 31 4D 38": "has 3 characters",
		"49 02 01 31 6D 38 47 44 4D 39 41 58 4B 50 30 34 32 37 38 38": "not allowed", // lower case
		"49 04 01 00": "not a service 09 InfoType 02",
		"7F 09 11":    "refused service 0x09",
	} {
		if _, err := ParseVIN(jHex(t, in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseVIN(%s): %v, want %q", in, err, want)
		}
	}
	if _, ok := VINCheckDigit("1M8GDM9AXKP04278O"); ok {
		t.Error("VINCheckDigit accepted an O")
	}
}

func TestECUName(t *testing.T) {
	for in, want := range map[string]string{
		// Real answers of a 2021 Kona Electric (7EC, 7ED).
		"49 0A 01 42 45 43 4D 2D 42 2B 45 6E 65 72 67 79 43 74 72 6C 00 00 00": "BECM-B+EnergyCtrl",
		"49 0A 01 42 43 43 4D 2D 42 2B 43 68 61 72 67 65 72 43 74 72 6C 00 00": "BCCM-B+ChargerCtrl",
	} {
		if got, err := ParseECUName(jHex(t, in)); err != nil || got != want {
			t.Errorf("ParseECUName(%s) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"49 0A 01 00", "49 0A", "49 0A 01 41 42 01", "49 02 01 41"} {
		if got, err := ParseECUName(jHex(t, in)); err == nil {
			t.Errorf("ParseECUName(%s) = %q", in, got)
		}
	}
}

// konaAnswer is one reassembled ISO-TP payload of the Kona capture.
type konaAnswer struct {
	id   uint32
	data []byte
}

// readKonaCapture reassembles every ISO-TP payload of a GVRET log, per CAN
// id, and reports the ids whose multi-frame message was abandoned or never
// finished.
func readKonaCapture(t *testing.T, path string) (answers []konaAnswer, unfinished []uint32, frames int) {
	t.Helper()
	r, c, err := can.OpenLog(path, can.FormatGVRET)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ras := map[uint32]*isotp.Reassembler{}
	for r.Receive() {
		f := r.Frame()
		frames++
		ra := ras[f.ID]
		if ra == nil {
			ra = &isotp.Reassembler{}
			ras[f.ID] = ra
		}
		p := f.Payload()
		if ra.Active() && len(p) > 0 && p[0]>>4 != byte(isotp.Consecutive) && p[0]>>4 != byte(isotp.FlowControl) {
			unfinished = append(unfinished, f.ID)
		}
		res, err := ra.Feed(p)
		if err != nil {
			t.Errorf("frame %d %v: %v", frames, f, err)
			continue
		}
		if res.Payload != nil {
			answers = append(answers, konaAnswer{f.ID, res.Payload})
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	for id, ra := range ras {
		if ra.Active() {
			unfinished = append(unfinished, id)
		}
	}
	slices.Sort(unfinished)
	return answers, unfinished, frames
}

// TestKonaScannerCapture decodes a real capture: a phone app polling a
// 2021 Hyundai Kona Electric through an ELM327 (projectgus/hyundai-kona-
// ev-can-logs, CC0). The expected codes were worked out by hand from the
// raw frames.
func TestKonaScannerCapture(t *testing.T) {
	p := ssNeed(t, "canlogs/kona-2021-dcan-elm327-scanner.gvret.csv")
	answers, unfinished, frames := readKonaCapture(t, p)
	if frames != 1845 {
		t.Errorf("%d frames, want 1845", frames)
	}
	// The ECUs at 778 and 7CC began a multi-frame answer (10 17 59 02 ...,
	// 10 13 59 02 ...) to the functional 19 02 08, which the adapter never
	// acknowledged with a flow control: 778 gave up (its next message is a
	// single frame), 7CC's stays open. 778's list arrives complete later,
	// asked physically.
	if want := []uint32{0x778, 0x7CC}; !slices.Equal(unfinished, want) {
		t.Errorf("unfinished multi-frame messages on %X, want %X", unfinished, want)
	}

	// DTC lists by ECU: availability mask, then code-FTB/status. By hand:
	// 58 12 87 28: 0101 1000 -> C 1 8, 12 -> C1812, FTB 87, status 28;
	// 96 03 00: 1001 0110 -> B 1 6, 03 -> B1603; 92 38 13 -> B1238-13;
	// 90 01 52 -> B1001-52; 92 1x 00 -> B121x; A8 01 -> 1010 1000 -> B2801;
	// 56 7C -> C167C; A2 11 -> B2211; 58 29 -> C1829; 56 B6 -> C16B6;
	// 56 38 -> C1638; 58 06 -> C1806; 56 14 -> C1614; 56 43 -> C1643.
	want := map[uint32]string{
		0x72D: "09: B1603-00/08",
		0x73B: "09:",
		0x778: "09: B1603-00/08 B2801-00/08 C167C-00/08 B2211-00/08 C1829-00/08",
		0x77E: "09: B2801-00/08",
		0x788: "09:",
		0x79E: "08:",
		0x7A8: "09: B1603-00/08 B1210-00/09 B1211-00/09 B1212-00/09 B1213-00/09",
		0x7AD: "08: B1603-00/08",
		0x7BB: "09: B1238-13/09",
		0x7BE: "7F:",
		0x7BF: "FF: C1812-87/28",
		0x7CE: "09: B1001-52/09",
		0x7D9: "89: C16B6-87/08 C1638-08/08 C1806-87/08 C1614-87/08 C1643-08/08",
		0x7DC: "89: C1812-87/08",
		0x7EC: "FF:",
	}
	gotDTC := map[uint32]string{}
	supported := map[uint32][][]byte{}
	nrcs := map[string]int{}
	names := map[uint32]string{}
	var dtcs, mode01 int
	for _, a := range answers {
		switch d := a.data; {
		case d[0] == 0x59:
			avail, ds, err := ParseReportDTCs(d)
			if err != nil {
				t.Errorf("%03X % X: %v", a.id, d, err)
			}
			s := fmt.Sprintf("%02X:", avail)
			for _, x := range ds {
				s += fmt.Sprintf(" %s/%02X", x.Code, x.Status)
				if x.Description() == "" {
					t.Errorf("%s: no description", x.Code)
				}
			}
			if prev, ok := gotDTC[a.id]; ok && prev != s {
				t.Errorf("%03X answered %q, then %q", a.id, prev, s)
			}
			gotDTC[a.id] = s
			dtcs++
		case d[0] == 0x41:
			parts, err := SplitMode01(d)
			if err != nil {
				t.Errorf("%03X % X: %v", a.id, d, err)
			}
			for _, p := range parts {
				if p.PID%0x20 == 0 {
					supported[a.id] = append(supported[a.id], p.Data)
				}
			}
			mode01++
		case d[0] == 0x43 || d[0] == 0x47 || d[0] == 0x4A:
			if ds, err := DecodeDTCs(d); err != nil || len(ds) != 0 {
				t.Errorf("%03X % X: %v %v (the car stores no OBD codes)", a.id, d, ds, err)
			}
		case d[0] == 0x49 && len(d) > 1 && d[1] == 0x02:
			// The only answer, from the BMS at 7EC, is not a VIN.
			if v, err := ParseVIN(d); err == nil || a.id != 0x7EC {
				t.Errorf("%03X: ParseVIN(% X) = %q, %v", a.id, d, v, err)
			}
		case d[0] == 0x49 && len(d) > 1 && d[1] == 0x0A:
			n, err := ParseECUName(d)
			if err != nil {
				n = "error"
			}
			names[a.id] = n
		case d[0] == 0x7F && len(d) >= 3:
			nr := &NegativeResponse{Service: d[1], Code: d[2], ECU: a.id}
			if d[1] == 0x19 {
				if _, _, err := ParseReportDTCs(d); !errors.As(err, new(*NegativeResponse)) {
					t.Errorf("%03X % X: %v", a.id, d, err)
				}
			}
			nrcs[fmt.Sprintf("%02X %s", nr.Service, NRCName(nr.Code))]++
		}
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if gotDTC[id] != want[id] {
			t.Errorf("%03X: %q, want %q", id, gotDTC[id], want[id])
		}
	}
	for id := range gotDTC {
		if _, ok := want[id]; !ok {
			t.Errorf("%03X: unexpected DTC answer %q", id, gotDTC[id])
		}
	}
	// Supported PIDs, by hand: 41 00 80 00 00 01 -> 01, 20; 41 20 80 01
	// 80 00 -> 21, 30, 31 (and 40 when D0 is set, as 7EC's); 41 40 00 00
	// 00 20 -> D5 = PID 5B, the hybrid/EV battery charge.
	for id, w := range map[uint32][]byte{
		0x7EB: {0x01, 0x20, 0x21, 0x30, 0x31},
		0x7EC: {0x01, 0x20, 0x21, 0x30, 0x31, 0x40, 0x5B},
	} {
		if got := SupportedPIDs(supported[id]...); !bytes.Equal(got, w) {
			t.Errorf("%03X supports % X, want % X", id, got, w)
		}
	}
	if len(supported) != 2 {
		t.Errorf("bitmaps from %d ECUs, want 2", len(supported))
	}
	if want := map[uint32]string{0x7EB: "error", 0x7EC: "BECM-B+EnergyCtrl", 0x7ED: "BCCM-B+ChargerCtrl"}; !maps.Equal(names, want) {
		t.Errorf("ECU names %v, want %v", names, want)
	}
	t.Logf("%d frames, %d payloads: %d DTC lists, %d service 01 answers; negative answers: %v", frames, len(answers), dtcs, mode01, nrcs)
}

// FuzzParseReportDTCs: never panics; the records are 4 bytes each after the
// mask, every DTC has its status and failure type.
func FuzzParseReportDTCs(f *testing.F) {
	for _, s := range []string{"5902FF581287 28", "5902FF", "590209960300089210000900000000", "590209 9603", "7F1978", "59", "590A7F0A7F1B00"} {
		f.Add(jHex(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		avail, ds, err := ParseReportDTCs(data)
		if err == nil && (len(data) < 3 || (len(data)-3)%4 != 0 || avail != data[2]) {
			t.Fatalf("accepted % X", data)
		}
		if len(data) >= 3 && len(ds) > (len(data)-3)/4 {
			t.Fatalf("%d DTCs from % X", len(ds), data)
		}
		for _, d := range ds {
			if !d.HasStatus || !d.HasFailureType || len(d.Code) != 8 || d.Raw > 0xFFFFFF || d.Code != NewUDSDTC(d.Raw).Code {
				t.Fatalf("bad DTC %+v", d)
			}
			_ = d.Description()
			_ = d.StatusNames()
		}
		e, err := ParseReportDTCExtData(data)
		if err == nil {
			if _, err := e.Records(map[byte]int{1: 1, 2: 2, 3: 4}); err != nil && len(e.Raw) == 0 {
				t.Fatalf("Records error without data: %v", err)
			}
		}
		_, _ = ParseReadDataByIdentifier(data, 0xF190)
	})
}

// FuzzParseVIN: never panics; a VIN it returns has 17 VIN characters.
func FuzzParseVIN(f *testing.F) {
	const vin = "1M8GDM9AXKP042788"
	f.Add(append([]byte{0x49, 0x02, 0x01}, vin...))
	f.Add(append([]byte{0x49, 0x02, 0x01, 0, 0, 0}, vin...))
	f.Add(append([]byte{0x49, 0x02, 0x01, 0, 0, 0, '1', 0x49, 0x02, 0x02}, vin[1:5]...))
	for _, s := range []string{
		"4902014F5345565F5F20424D532000000000000000",
		"490A01424543 4D2D422B456E65726779437472 6C000000",
		"4902", "49", "7F0911",
	} {
		f.Add(jHex(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseVIN(data)
		if err == nil {
			if len(v) != 17 {
				t.Fatalf("VIN %q", v)
			}
			for i := range len(v) {
				if !vinAlphabet(v[i]) {
					t.Fatalf("VIN %q", v)
				}
			}
			if d, ok := VINCheckDigit(v); !ok || (VINWarning(v) == "") != (d == v[8] || v[0] < '1' || v[0] > '5') {
				t.Fatalf("check digit of %q: %c %v %q", v, d, ok, VINWarning(v))
			}
		}
		if n, err := ParseECUName(data); err == nil && (n == "" || strings.ContainsAny(n, "\x00")) {
			t.Fatalf("ECU name %q", n)
		}
	})
}
