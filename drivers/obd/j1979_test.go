package obd

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// jHex parses "41 0C 1A F8" (spaces optional).
func jHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func jClose(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestJ1979Commands(t *testing.T) {
	s := J1979()
	if s != J1979() {
		t.Fatal("J1979 is not cached")
	}
	pids, signals := 0, 0
	seen := map[byte]bool{}
	for _, c := range s.Commands {
		pid := c.Param()[0]
		if c.Service() != 0x01 || len(c.Param()) != 1 || seen[pid] {
			t.Errorf("command %s: want one service 01 command per PID", c.ID())
		}
		seen[pid] = true
		if J1979Command(pid) != c {
			t.Errorf("J1979Command(%02X) is not %s", pid, c.ID())
		}
		r := c.Request()
		if c.Hdr != "7DF" || c.Rax != "" || r.TxID != FunctionalID || r.RxID != 0 || !r.Functional() || !bytes.Equal(r.Data, []byte{0x01, pid}) {
			t.Errorf("command %s: request %+v is not functional 7DF 01 %02X", c.ID(), r, pid)
		}
		if c.ID() != fmt.Sprintf("7DF.01%02X", pid) {
			t.Errorf("command id %s", c.ID())
		}
		ids := map[string]bool{}
		for _, sg := range c.Signals {
			if ids[sg.ID] {
				t.Errorf("command %s: signal %s twice", c.ID(), sg.ID)
			}
			ids[sg.ID] = true
			if sg.Name == "" {
				t.Errorf("signal %s has no name", sg.ID)
			}
			signals++
		}
		pids++
	}
	for _, p := range []byte{0x00, 0x20, 0x40, 0x60, 0x80, 0xA0, 0xC0, 0xE0, 0xFF} {
		if J1979Command(p) != nil {
			t.Errorf("J1979Command(%02X) should be nil", p)
		}
	}
	t.Logf("J1979 table: %d PIDs, %d signals", pids, signals)
}

// TestJ1979Decode checks values worked out by hand from the J1979 formulas.
func TestJ1979Decode(t *testing.T) {
	type want map[string]any // float64 or string (enumerations)
	for _, tc := range []struct {
		answer string
		want   want
	}{
		{"41 0C 1A F8", want{"RPM": (256.0*0x1A + 0xF8) / 4}}, // 1726 rpm
		{"41 0D 3C", want{"VSS": 60.0}},
		{"41 05 7B", want{"ECT": 123.0 - 40}},
		{"41 42 31 9C", want{"VPWR": 12.7}}, // 0x319C = 12700 mV
		{"41 46 3C", want{"AAT": 60.0 - 40}},
		{"41 A6 00 01 E2 40", want{"ODO": 12345.6}}, // 0x1E240 = 123456 hm
		{"41 5B C0", want{"BAT_SOC": 192.0 * 100 / 255}},
		{"41 06 80", want{"SHRTFT1": 0.0}},
		{"41 06 A0", want{"SHRTFT1": (160.0 - 128) * 100 / 128}}, // +25 %
		{"41 06 00", want{"SHRTFT1": -100.0}},
		{"41 08 60 FF", want{"SHRTFT2": (96.0 - 128) * 100 / 128, "SHRTFT4": 99.2}}, // 99.21875 clamped to the quoted top
		{"41 0E 90", want{"SPARKADV": 144.0/2 - 64}},
		{"41 10 01 F4", want{"MAF": 5.0}},
		{"41 14 B4 80", want{"O2S11": 180.0 / 200, "SHRTFT11": 0.0}},
		{"41 15 5A 90", want{"O2S12": 90.0 / 200, "SHRTFT12": (144.0 - 128) * 100 / 128}},
		{"41 44 80 00", want{"EQ_RAT": 1.0}},
		{"41 24 80 00 40 00", want{"LAMBDA11_VOLT": 1.0, "O2S11_VOLT": 2.0}},       // CD 0x4000 * 8/65536
		{"41 34 80 00 80 80", want{"LAMBDA11_CURRENT": 1.0, "O2S11_CURRENT": 0.5}}, // 0x8080/256 - 128
		{"41 32 FF 38", want{"EVAP_VP": -200.0 / 4000}},                            // signed -200 × 0.25 Pa
		{"41 54 FC 18", want{"EVAP_VP_WIDE": -1.0}},                                // signed -1000 Pa
		{"41 5D 69 00", want{"FUEL_TIMING": 26880.0/128 - 210}},                    // 0 degrees
		{"41 3C 0F A0", want{"CATEMP11": 4000.0/10 - 40}},                          // 360 °C
		{"41 1F 0E 10", want{"RUNTM": 3600.0}},
		{"41 2F 80", want{"FLI": 128.0 * 100 / 255}},
		{"41 43 01 00", want{"LOAD_ABS": 256.0 * 100 / 255}},
		{"41 5C 64", want{"EOT": 60.0}},
		{"41 61 7D", want{"TQ_DD": 0.0}},
		{"41 03 02 00", want{"FUELSYS1": "CL", "FUELSYS2": "OFF"}},
		{"41 12 08", want{"AIR_STAT": "DIAG"}},
		{"41 12 04", want{"AIR_STAT": "OFF"}},
		{"41 51 08", want{"FUEL_TYP": "ELEC"}},
		{"41 1C 06", want{"OBDSUP": "EOBD"}},
		// PID 01: A = 0x83: MIL on, 3 DTCs. B = 0x07: misfire, fuel and
		// component monitors supported (B0-B2), all complete (B4-B6 = 0),
		// spark ignition (B3 = 0). C = 0x65: catalyst (C0), EVAP (C2), O2
		// sensor (C5), O2 heater (C6) supported. D = 0x04: EVAP (D2) not
		// complete.
		{"41 01 83 07 65 04", want{
			"MIL": 1.0, "DTC_CNT": 3.0, "CIM_SUP": "SPARK",
			"MIS_SUP": 1.0, "FUEL_SUP": 1.0, "CCM_SUP": 1.0, "MIS_RDY": 0.0, "FUEL_RDY": 0.0, "CCM_RDY": 0.0,
			"CAT_SUP": 1.0, "HCAT_SUP": 0.0, "EVAP_SUP": 1.0, "AIR_SUP": 0.0, "ACRF_SUP": 0.0, "O2S_SUP": 1.0, "HTR_SUP": 1.0, "EGR_SUP": 0.0,
			"CAT_RDY": 0.0, "EVAP_RDY": 1.0, "O2S_RDY": 0.0,
		}},
		// PID 41, compression ignition (B3) and EGR enabled (C7) but not
		// complete (D7).
		{"41 41 00 08 80 80", want{"CIM_SUP_FLAG": "COMPRESSION", "EGR_ENA": 1.0, "EGR_CMPL": 1.0, "CAT_ENA": 0.0}},
		// PID 13: A0 (bank 1 sensor 1) and A4 (bank 2 sensor 1).
		{"41 13 11", want{"O2S11_EXISTS": 1.0, "O2S21_EXISTS": 1.0, "O2S12_EXISTS": 0.0, "O2S24_EXISTS": 0.0}},
		// PID 9A: A = 0x0F all supported; voltage 0x5DC0/64 = 375 V;
		// current 0xFF9C = -100 → -10.0 A.
		{"41 9A 0F 00 5D C0 FF 9C", want{"HEV_BATT_V": 24000.0 / 64, "HEV_BATT_A": -10.0, "HEV_MODE": "CSM", "HEV_BATT_V_SUP": 1.0}},
		// PID 70: J = 0x06: boost A status (J0-J1) 2 closed loop, B (J2-J3)
		// 1 open loop; A commanded 0x0100/32 = 8 kPa, actual 0x80/32 = 4.
		{"41 70 3F 01 00 00 80 00 00 00 00 06", want{"BP_A_CMD": 8.0, "BP_A_ACT": 4.0, "BP_A": "BP_A_CL", "BP_B": "BP_B_OL"}},
		// PID 7F: B0 run time 0x0E10 s, idle 0x3C s.
		{"41 7F 07 00 00 0E 10 00 00 00 3C 00 00 00 00", want{"RUN_TIME": 3600.0, "IDLE_TIME": 60.0, "PTO_TIME": 0.0}},
		// PID 9F: fuel system A bank 1 = 0xFF (100 %), B bank 1 = 0.
		{"41 9F 03 FF 00 00 00 00 00 00 00", want{"FUELSYSA_B1_SUP": 1.0, "FUELSYSB_B1_SUP": 1.0, "FUELSYSA_B2_SUP": 0.0, "FUELSYSA_B1": 100.0, "FUELSYSB_B1": 0.0}},
		// PID 68: sensors 11 and 23 present, 11 at 0x50-40 = 40 °C.
		{"41 68 21 50 00 00 00 00 46", want{"IAT_11_SUP": 1.0, "IAT_23_SUP": 1.0, "IAT_12_SUP": 0.0, "IAT_11": 40.0, "IAT_23": 30.0}},
		{"41 D2 03 FF 80", want{"SOCE": 100.0, "SOCR": 128.0 * 100 / 255, "SOCE_SUP": 1.0}},
	} {
		data := jHex(t, tc.answer)
		c := J1979Command(data[1])
		if c == nil {
			t.Errorf("%s: no command", tc.answer)
			continue
		}
		vs, err := c.Decode(data, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.answer, err)
		}
		got := map[string]Value{}
		for _, v := range vs {
			got[v.Signal.ID] = v
		}
		for id, w := range tc.want {
			v, ok := got[id]
			switch w := w.(type) {
			case float64:
				if !ok || v.Enum || !jClose(v.Num, w) {
					t.Errorf("%s: %s = %+v, want %v", tc.answer, id, v, w)
				}
			case string:
				if !ok || !v.Enum || v.Str != w {
					t.Errorf("%s: %s = %+v, want %q", tc.answer, id, v, w)
				}
			}
		}
	}
}

func TestPIDLen(t *testing.T) {
	for pid, want := range map[byte]int{0x00: 4, 0x01: 4, 0x0C: 2, 0x0D: 1, 0x42: 2, 0x46: 1, 0x5B: 1, 0x7F: 13, 0x9A: 6, 0xA6: 4, 0xFF: 0, 0x97: 0} {
		if got := PIDLen(pid); got != want {
			t.Errorf("PIDLen(%02X) = %d, want %d", pid, got, want)
		}
	}
	// The table's signals fill exactly the J1979 length, except where the
	// last bytes are optional (bank 3 in 06/07/55-58) or reserved (50).
	shorter := map[byte]bool{0x06: true, 0x07: true, 0x50: true, 0x55: true, 0x56: true, 0x57: true, 0x58: true}
	for _, c := range J1979().Commands {
		pid := c.Param()[0]
		end := 0
		for _, s := range c.Signals {
			end = max(end, (s.Fmt.Bix+s.Fmt.Len+7)/8)
		}
		n := PIDLen(pid)
		if end > n || end < n && !shorter[pid] {
			t.Errorf("PID %02X: signals span %d bytes, PIDLen says %d", pid, end, n)
		}
	}
	for p := 0; p < 256; p += 0x20 {
		if PIDLen(byte(p)) != 4 {
			t.Errorf("bitmap PID %02X: length %d", p, PIDLen(byte(p)))
		}
	}
}

func TestSplitMode01(t *testing.T) {
	for _, tc := range []struct {
		in    string
		parts []string
		err   string // substring; "" for none
	}{
		{"41 0C 1A F8 0D 3C 05 7B", []string{"41 0C 1A F8", "41 0D 3C", "41 05 7B"}, ""},
		{"41 00 BE 1F A8 13", []string{"41 00 BE 1F A8 13"}, ""},
		{"41 06 80", []string{"41 06 80"}, ""},                         // no bank 3
		{"41 06 80 81", []string{"41 06 80 81"}, ""},                   // bank 3 present
		{"41 06 80 07 7F", []string{"41 06 80", "41 07 7F"}, ""},       // both without bank 3
		{"41 06 80 0D 20", []string{"41 06 80", "41 0D 20"}, ""},       // 06 80 0D would leave 20 without data
		{"41 0D 3C 06 80 81", []string{"41 0D 3C", "41 06 80 81"}, ""}, // last one with bank 3
		{"41 A7 01 02 03", []string{"41 A7 01 02 03"}, ""},             // one PID of unknown length: whole
		{"41 0C 1A", nil, "PID 0C needs 2 data bytes, 1 left"},
		{"41 0D 3C 0C 1A", []string{"41 0D 3C"}, "PID 0C"},
		{"41 0D 3C A7 01", []string{"41 0D 3C"}, "PID A7"},
		{"41 0D 3C 00 01 02", []string{"41 0D 3C"}, "PID 00 needs 4"},
		{"42 0C 1A F8", nil, "not a service 01 answer"},
		{"41", nil, "not a service 01 answer"},
		{"", nil, "not a service 01 answer"},
	} {
		got, err := SplitMode01(jHex(t, tc.in))
		var gs []string
		for _, p := range got {
			if p.Data[1] != p.PID {
				t.Errorf("%s: part %X has PID %02X", tc.in, p.Data, p.PID)
			}
			gs = append(gs, fmt.Sprintf("% X", p.Data))
		}
		if !slices.Equal(gs, tc.parts) {
			t.Errorf("SplitMode01(%s) = %q, want %q", tc.in, gs, tc.parts)
		}
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("SplitMode01(%s): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("SplitMode01(%s) error %v, want %q", tc.in, err, tc.err)
		}
	}
	// The parts do not share memory with each other or the input.
	in := jHex(t, "41 0C 1A F8 0D 3C")
	parts, _ := SplitMode01(in)
	_ = append(parts[0].Data, 0xEE)
	in[3] = 0
	if parts[1].Data[2] != 0x3C || parts[0].Data[3] != 0xF8 {
		t.Errorf("parts alias: %X %X", parts[0].Data, parts[1].Data)
	}
}

func TestSupportedPIDs(t *testing.T) {
	// 41 00 BE 1F A8 13, bit 7 of A = PID 01:
	// A BE 1011 1110 -> 01, 03, 04, 05, 06, 07
	// B 1F 0001 1111 -> 0C, 0D, 0E, 0F, 10
	// C A8 1010 1000 -> 11, 13, 15
	// D 13 0001 0011 -> 1C, 1F, 20
	got := SupportedPIDs(jHex(t, "41 00 BE 1F A8 13"))
	want := []byte{0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x13, 0x15, 0x1C, 0x1F, 0x20}
	if !bytes.Equal(got, want) {
		t.Errorf("SupportedPIDs = % X, want % X", got, want)
	}
	// Several ECUs and bitmaps are merged; negative answers, other PIDs and
	// short bitmaps are ignored. 41 20 80 01 80 01: A 80 -> 21, B 01 ->
	// 30, C 80 -> 31, D 01 -> 40. 41 E0 00 00 00 01 -> PID 100 (none).
	got = SupportedPIDs(
		jHex(t, "41 00 80 00 00 01"), jHex(t, "41 20 80 01 80 01"), jHex(t, "7F 01 12"),
		jHex(t, "41 0D 3C"), jHex(t, "41 40 FF FF"), jHex(t, "41 E0 00 00 00 01"), nil)
	want = []byte{0x01, 0x20, 0x21, 0x30, 0x31, 0x40}
	if !bytes.Equal(got, want) {
		t.Errorf("SupportedPIDs = % X, want % X", got, want)
	}
	// A multi-PID bitmap answer.
	got = SupportedPIDs(jHex(t, "41 00 00 00 00 01 20 00 00 00 01 40 00 00 00 20"))
	if want = []byte{0x20, 0x40, 0x5B}; !bytes.Equal(got, want) {
		t.Errorf("SupportedPIDs = % X, want % X", got, want)
	}
}

func TestGroupPIDs(t *testing.T) {
	pids := []byte{0x04, 0x05, 0x0C, 0x0D, 0x0F, 0x10, 0x11, 0x42, 0x46, 0x5B, 0x0C, 0xA6, 0x2F, 0x31}
	for _, tc := range []struct {
		max  int
		want string
	}{
		{0, "[04 05 0C 0D 0F 10] [11 42 46 5B A6 2F] [31]"},
		{6, "[04 05 0C 0D 0F 10] [11 42 46 5B A6 2F] [31]"},
		{7, "[04 05 0C 0D 0F 10] [11 42 46 5B A6 2F] [31]"},
		{4, "[04 05 0C 0D] [0F 10 11 42] [46 5B A6 2F] [31]"},
		{1, "[04] [05] [0C] [0D] [0F] [10] [11] [42] [46] [5B] [A6] [2F] [31]"},
	} {
		var parts []string
		for _, g := range GroupPIDs(pids, tc.max) {
			parts = append(parts, fmt.Sprintf("[% X]", g))
		}
		if got := strings.Join(parts, " "); got != tc.want {
			t.Errorf("GroupPIDs(max %d) = %s, want %s", tc.max, got, tc.want)
		}
	}
	got := fmt.Sprint(GroupPIDs([]byte{0x20, 0x0D, 0x00, 0x0C, 0x40}, 6))
	if want := "[[32 0 64] [13 12]]"; got != want {
		t.Errorf("bitmaps grouped apart: %s, want %s", got, want)
	}
	if g := GroupPIDs(nil, 6); len(g) != 0 {
		t.Errorf("GroupPIDs(nil) = %v", g)
	}
	// Appending to one group does not touch the next.
	gs := GroupPIDs([]byte{1, 2, 3}, 2)
	_ = append(gs[0], 0xEE)
	if gs[1][0] != 3 {
		t.Errorf("groups share memory: %v", gs)
	}
}

// obdbDeviation is one place where the J1979 table knowingly differs from
// OBDb's SAEJ1979 signalset: ours is our signal id when renamed, fields
// the values that differ (OBDb's, ours).
type obdbDeviation struct {
	ours   string
	fields map[string][2]float64
	why    string
}

// obdbDeviations lists, by "PID/signal" of the OBDb file, every difference
// that TestJ1979MatchesOBDb accepts.
func obdbDeviations() map[string]obdbDeviation {
	d := map[string]obdbDeviation{
		"12/AIR_STAT": {fields: map[string][2]float64{"bix": {5, 4}, "len": {3, 4}},
			why: "bits A0-A3 (UPS, DNS, OFF, DIAG): OBDb reads A0-A2 only, so DIAG (8) can never show"},
		"24/O2S11_VOLT": {fields: map[string][2]float64{"div": {8196, 8192}},
			why: "J1979 scales wide-range O2S voltage by 8/65536 V = 1/8192; 8196 is a typo"},
		"42/VPWR": {fields: map[string][2]float64{"max": {65535, 65.535}},
			why: "J1979 range is 0-65.535 V (the clamp never binds in either)"},
		"44/EQ_RAT": {fields: map[string][2]float64{"mul": {2, 1}, "div": {65535, 32768}},
			why: "J1979: 0.0000305 per bit = 2/65536 = 1/32768, not 2/65535"},
		"32/EVAP_VP": {fields: map[string][2]float64{"min": {-8192, -8.192}, "max": {8191.75, 8.19175}},
			why: "OBDb gives the range in Pa while the value is in kPa (the clamp never binds)"},
		"54/EVAP_VP_WIDE": {fields: map[string][2]float64{"min": {-32767, -32.768}, "max": {32768, 32.767}},
			why: "OBDb gives the range in Pa while the value is in kPa (the clamp never binds)"},
		"5D/FUEL_TIMING": {fields: map[string][2]float64{"add": {-38665, -210}},
			why: "J1979: (256A+B)/128 - 210 degrees; OBDb's -38665 gives -38465 degrees for 0 degrees"},
	}
	// Fuel trims and EGR errors: J1979 (A-128)*100/128 = A*100/128 - 100;
	// OBDb adds -128 after scaling, reading 0 % as -28 %.
	for _, k := range []string{
		"06/SHRTFT1", "07/LONGFT1", "08/SHRTFT2", "08/SHRTFT4", "09/LONGFT2", "09/LONGFT4",
		"14/SHRTFT11", "18/SHRTFT21", "19/SHRTFT22", "2D/EGR_ERR",
		"55/STSO2FT1", "56/LGSO2FT1", "57/STSO2FT2", "58/LGSO2FT2", "69/EGR_A_ERR", "69/EGR_B_ERR",
	} {
		d[k] = obdbDeviation{fields: map[string][2]float64{"add": {-128, -100}}, why: "fuel trim offset"}
	}
	d["15/SHRTFT11"] = obdbDeviation{ours: "SHRTFT12", fields: map[string][2]float64{"add": {-128, -100}},
		why: "PID 15 is the trim of bank 1 sensor 2 (SHRTFT12); OBDb repeats PID 14's id; fuel trim offset"}
	return d
}

// j1979Extras are signals of ours that OBDb's file does not have.
func j1979Extras() map[string]string {
	m := map[string]string{}
	for i, loc := range j1979O2S {
		switch i {
		case 2, 3, 6, 7: // PIDs 16, 17, 1A, 1B
			m[fmt.Sprintf("%02X/O2S%s", 0x14+i, loc)] = "narrow-band sensor, same layout as PIDs 14-15, 18-19"
			m[fmt.Sprintf("%02X/SHRTFT%s", 0x14+i, loc)] = "narrow-band sensor, same layout as PIDs 14-15, 18-19"
		}
		if i > 0 { // PIDs 25-2B and 35-3B
			m[fmt.Sprintf("%02X/LAMBDA%s_VOLT", 0x24+i, loc)] = "wide-range sensor, same layout as PID 24"
			m[fmt.Sprintf("%02X/O2S%s_VOLT", 0x24+i, loc)] = "wide-range sensor, same layout as PID 24"
			m[fmt.Sprintf("%02X/LAMBDA%s_CURRENT", 0x34+i, loc)] = "wide-range sensor, same layout as PID 34"
			m[fmt.Sprintf("%02X/O2S%s_CURRENT", 0x34+i, loc)] = "wide-range sensor, same layout as PID 34"
		}
	}
	return m
}

// jFmtFields returns the compared numeric fields of a format with their
// defaults applied.
func jFmtFields(f *Format) map[string]float64 {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	m := map[string]float64{
		"bix": float64(f.Bix), "len": float64(f.Len), "sign": b(f.Sign),
		"mul": f64(f.Mul, 1), "div": f64(f.Div, 1), "add": f64(f.Add, 0), "min": f64(f.Min, 0),
		"max": f64(f.Max, math.NaN()),
	}
	return m
}

// TestJ1979MatchesOBDb checks the table against OBDb's SAEJ1979 signalset,
// the independent reference: every service 01 signal of the file must be
// in J1979() with the same bit position, length, sign, scaling, range and
// enumeration, but for the listed deviations; every signal of ours must be
// in the file or listed as an extra.
func TestJ1979MatchesOBDb(t *testing.T) {
	p := ssNeed(t, "obd/saej1979/signalset.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ParseSignalset(p, b)
	if err != nil {
		t.Fatal(err)
	}
	devs, extras := obdbDeviations(), j1979Extras()
	usedDev := map[string]bool{}
	covered := map[string]bool{} // "PID/id" of ours
	refPIDs, refSignals := 0, 0
	for _, rc := range ref.Commands {
		if rc.Service() != 0x01 {
			continue
		}
		refPIDs++
		pid := rc.Param()[0]
		mc := J1979Command(pid)
		if mc == nil {
			t.Errorf("PID %02X (%s): not in J1979()", pid, rc.Signals[0].ID)
			continue
		}
		for _, rs := range rc.Signals {
			refSignals++
			key := fmt.Sprintf("%02X/%s", pid, rs.ID)
			dev, hasDev := devs[key]
			id := rs.ID
			if hasDev {
				usedDev[key] = true
				if dev.ours != "" {
					id = dev.ours
				}
			}
			var ms *Signal
			for _, s := range mc.Signals {
				if s.ID == id {
					ms = s
				}
			}
			if ms == nil {
				t.Errorf("%s: no signal %s in J1979 PID %02X", key, id, pid)
				continue
			}
			covered[fmt.Sprintf("%02X/%s", pid, id)] = true
			rf, mf := jFmtFields(&rs.Fmt), jFmtFields(&ms.Fmt)
			for name, rv := range rf {
				mv := mf[name]
				same := rv == mv || math.IsNaN(rv) && math.IsNaN(mv)
				want, listed := dev.fields[name]
				switch {
				case same && listed:
					t.Errorf("%s: deviation on %s listed but values agree (%v)", key, name, rv)
				case !same && !listed:
					t.Errorf("%s: %s is %v in J1979(), %v in OBDb", key, name, mv, rv)
				case !same && (want[0] != rv || want[1] != mv):
					t.Errorf("%s: %s is %v in J1979(), %v in OBDb; deviation lists %v -> %v", key, name, mv, rv, want[0], want[1])
				}
			}
			if len(rs.Fmt.Map) != len(ms.Fmt.Map) || (rs.Fmt.Map == nil) != (ms.Fmt.Map == nil) {
				t.Errorf("%s: %d enumeration values, OBDb has %d", key, len(ms.Fmt.Map), len(rs.Fmt.Map))
			}
			for k, e := range rs.Fmt.Map {
				if got, ok := ms.Fmt.Map[k]; !ok || got.Value != e.Value {
					t.Errorf("%s: enumeration %s is %q, OBDb has %q", key, k, got.Value, e.Value)
				}
			}
		}
	}
	for k := range devs {
		if !usedDev[k] {
			t.Errorf("deviation %s does not match a signal of the OBDb file", k)
		}
	}
	ours := 0
	for _, c := range J1979().Commands {
		for _, s := range c.Signals {
			ours++
			key := fmt.Sprintf("%02X/%s", c.Param()[0], s.ID)
			_, extra := extras[key]
			switch {
			case covered[key] && extra:
				t.Errorf("%s: listed as an extra but OBDb has it", key)
			case !covered[key] && !extra:
				t.Errorf("%s: not in the OBDb file and not listed as an extra", key)
			}
		}
	}
	t.Logf("OBDb SAEJ1979: %d service 01 PIDs, %d signals; J1979(): %d PIDs, %d signals; %d deviations, %d extras",
		refPIDs, refSignals, len(J1979().Commands), ours, len(devs), len(extras))
}

// BenchmarkDecodeMode01 splits and decodes a six-PID answer, as a poller
// does for every answer.
func BenchmarkDecodeMode01(b *testing.B) {
	data := jHex(b, "41 0C 1A F8 0D 3C 05 7B 42 31 9C 46 3C 5B C0")
	out := make([]Value, 0, 16)
	J1979()
	b.ReportAllocs()
	for b.Loop() {
		parts, err := SplitMode01(data)
		if err != nil {
			b.Fatal(err)
		}
		out = out[:0]
		for _, p := range parts {
			if out, err = J1979Command(p.PID).Decode(p.Data, out); err != nil {
				b.Fatal(err)
			}
		}
		if len(out) != 6 {
			b.Fatalf("%d values", len(out))
		}
	}
}

// FuzzSplitMode01: never panics; the parts put back together are the
// answer (or its start, with an error), each with a known or whole length.
func FuzzSplitMode01(f *testing.F) {
	for _, s := range []string{
		"410C1AF80D3C057B", "4100BE1FA813", "41068007", "4106808081", "41A7010203", "410C1A", "41", "",
		"41060606060606060606060606060606060606", "4106800D20", "7F0112",
	} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := SplitMode01(data)
		if len(parts) > 0 && data[0] != 0x41 {
			t.Fatalf("parts from a non-01 answer % X", data)
		}
		joined := []byte{0x41}
		for _, p := range parts {
			if len(p.Data) < 2 || p.Data[0] != 0x41 || p.Data[1] != p.PID {
				t.Fatalf("bad part % X", p.Data)
			}
			n := len(p.Data) - 2
			if n != PIDLen(p.PID) && n != pidShortLen(p.PID) && !(len(parts) == 1 && PIDLen(p.PID) == 0) {
				t.Fatalf("part % X: %d data bytes for PID %02X (J1979 %d)", p.Data, n, p.PID, PIDLen(p.PID))
			}
			joined = append(joined, p.Data[1:]...)
		}
		if len(parts) == 0 {
			return
		}
		if err == nil && !bytes.Equal(joined, data) || err != nil && !bytes.HasPrefix(data, joined) {
			t.Fatalf("parts % X do not rebuild % X (err %v)", joined, data, err)
		}
		_ = SupportedPIDs(data)
	})
}
