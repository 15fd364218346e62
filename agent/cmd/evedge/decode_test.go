package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const shared = "../../../../shared/data"

func needShared(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(shared, rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_SHARED") != "" {
			t.Fatalf("real vehicle data %s not present: %v", p, err)
		}
		t.Skipf("real vehicle data %s not present: %v", p, err)
	}
	return p
}

type sample struct {
	T       float64 `json:"t"`
	Bus     int     `json:"bus"`
	ID      string  `json:"id"`
	Message string  `json:"message"`
	Signal  string  `json:"signal"`
	VSS     string  `json:"vss"`
	Value   any     `json:"value"`
	Unit    string  `json:"unit"`
}

func decodeCLI(t *testing.T, args ...string) ([]sample, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"decode"}, args...), nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got []sample
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var s sample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("output line %q is not JSON: %v", sc.Text(), err)
		}
		got = append(got, s)
	}
	return got, errb.String()
}

// TestDecodeRealASC decodes the real Kona BMS log (Vector ASC) with the
// Kona DBC and map. Counts come from the log text: 45 lines with id 595
// (grep -c " 595\s"), 43 with bytes 6,7 = 18 0E (360.8 V) and 2 with 19 0E
// (0x0E19 = 3609 -> 360.9 V).
func TestDecodeRealASC(t *testing.T) {
	dbc := needShared(t, "dbc/hyundai-kona-ev-pcan.dbc")
	log := needShared(t, "canlogs/kona-bms-precharge-relay-on.asc")
	got, stderr := decodeCLI(t, "--dbc", dbc, "--map", "../../../board/vehicles/hyundai-kona-ev.toml", log)
	n, v3608, v3609 := 0, 0, 0
	for _, s := range got {
		if s.Signal != "VBatt" {
			continue
		}
		n++
		if s.ID != "0x595" || s.Message != "Batt_HV_Status" || s.VSS != "Vehicle.Powertrain.TractionBattery.CurrentVoltage" || s.Unit != "V" || s.Bus != 0 {
			t.Fatalf("bad sample %+v", s)
		}
		v, _ := s.Value.(float64)
		switch {
		case math.Abs(v-360.8) < 1e-9:
			v3608++
		case math.Abs(v-360.9) < 1e-9: // 3609 * 0.1 prints as 360.90000000000003
			v3609++
		default:
			t.Fatalf("VBatt %v", s.Value)
		}
	}
	if n != 45 || v3608 != 43 || v3609 != 2 {
		t.Fatalf("VBatt samples %d (360.8: %d, 360.9: %d), want 45 (43, 2)", n, v3608, v3609)
	}
	// 879 frame lines, 6 of them 7E4/7EC which the P-CAN DBC lacks.
	if !strings.Contains(stderr, "879 frames, 873 decoded") || !strings.Contains(stderr, "6 unknown ids") {
		t.Fatalf("summary: %s", stderr)
	}
	// --signals by VSS path keeps only that signal.
	got, _ = decodeCLI(t, "--dbc", dbc, "--map", "../../../board/vehicles/hyundai-kona-ev.toml",
		"--signals", "Vehicle.LowVoltageBattery.CurrentVoltage", "--format", "asc", log)
	if len(got) != 45 {
		t.Fatalf("%d samples of the 12 V signal, want 45 (lines with id 596)", len(got))
	}
	for _, s := range got {
		if s.Signal != "Voltage_12V" {
			t.Fatalf("filter let through %+v", s)
		}
	}
}

// TestDecodeRealGVRET decodes the real ELM327 diagnostic capture (SavvyCAN
// GVRET CSV) with a DBC whose multiplexer is byte 2 (the OBD PID). The file
// has 329 8-byte 7EC frames whose byte 2 is 00 (awk -F, '$2=="000007EC" &&
// $8=="00" && $5=="8'): 322 mode 01 answers "06 41 00 80 00 00 01 AA",
// 2 "02 43 00", 2 "02 47 00" and 3 multi-frame UDS pieces that the
// multiplexer selects all the same. The first is at 7254446200 us on bus 1.
func TestDecodeRealGVRET(t *testing.T) {
	log := needShared(t, "canlogs/kona-2021-dcan-elm327-scanner.gvret.csv")
	got, stderr := decodeCLI(t, "--dbc", "../../signals/testdata/obd-7ec.dbc", "--signals", "SupportedPIDs_01_20", log)
	if len(got) != 329 {
		t.Fatalf("%d samples, want 329\n%s", len(got), stderr)
	}
	n := 0
	for _, s := range got {
		if s.Value == 2147483649.0 {
			n++
		}
	}
	if n != 322 {
		t.Fatalf("%d samples of 0x80000001, want 322 (the 06 41 00 answers)", n)
	}
	first := got[0]
	if first.T != 7254.4462 || first.Bus != 1 || first.ID != "0x7ec" || first.Value != 2147483649.0 {
		t.Fatalf("first sample %+v, want t=7254.4462 bus 1 id 0x7ec value 0x80000001", first)
	}
	// Value tables come out as strings: Service 0x41 -> "ShowCurrentData".
	got, _ = decodeCLI(t, "--dbc", "../../signals/testdata/obd-7ec.dbc", "--signals", "OBD_Resp_7EC.Service", log)
	if len(got) == 0 || got[0].Value != "ShowCurrentData" {
		t.Fatalf("Service = %v", got)
	}
}

func TestDecodeBadLinesAndUnknownIDs(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "x.log")
	text := "(1700000000.000000) can0 595#0B00B8B800001A0E\n" +
		"(1700000000.100000) can0 595#0B00B8B8\n" + // short frame: VBatt (bytes 6,7) left out
		"(1700000000.200000) can0 59G#00\n" + // bad hex: line 3
		"(1700000000.300000) can1 7DF#0201000000000000\n" + // unknown id
		"(1700000000.400000) can0 595#0B00B8B800001B0E\n"
	if err := os.WriteFile(log, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	dbc := needShared(t, "dbc/hyundai-kona-ev-pcan.dbc")
	got, stderr := decodeCLI(t, "--dbc", dbc, "--signals", "VBatt", log)
	// 0x0E1A = 3610 -> 361.0 V; 0x0E1B = 3611 -> 361.1 V
	if len(got) != 2 || got[0].Value != 361.0 || got[1].Value != 361.1 || got[0].T != 1700000000.0 || got[1].T != 1700000000.4 {
		t.Fatalf("got %+v", got)
	}
	for _, want := range []string{"4 frames, 3 decoded", "1 unknown ids", "1 bad lines", "x.log:3:", "0x7df(1)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.dbc")
	os.WriteFile(bad, []byte("BO_ 256 A: 8 X\n SG_ a : 0|8@1+ (1,0 [0|0] \"\" X\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"decode"}, 2, "--dbc is required"},
		{[]string{"decode", "--dbc", bad}, 2, "no LOG"},
		{[]string{"decode", "--dbc", bad, "x.log"}, 1, "bad.dbc:2:"},
		{[]string{"decode", "--dbc", "../../signals/testdata/obd-7ec.dbc", "--format", "pcap", "x.log"}, 2, "pcap"},
		{[]string{"decode", "--dbc", "../../signals/testdata/obd-7ec.dbc", "--signals", "Nope", "x.log"}, 2, "Nope"},
		{[]string{"decode", "--dbc", "../../signals/testdata/obd-7ec.dbc", filepath.Join(dir, "missing.log")}, 1, "missing.log"},
		{[]string{"frobnicate"}, 2, "unknown command"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, nil, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d containing %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain", `q"b\s`, "ctl\x01\n", "ünï", "bad\xff"} {
		b := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		if s != "bad\xff" && back != s {
			t.Fatalf("%q -> %s -> %q", s, b, back)
		}
	}
}
