package elmsim

import (
	"bytes"
	"slices"
	"testing"
)

func TestParseDTC(t *testing.T) {
	for _, tc := range []struct {
		code string
		want uint16
	}{
		{"P0A7F", 0x0A7F}, {"P0100", 0x0100}, {"C0035", 0x4035}, {"B1234", 0x9234},
		{"U0100", 0xC100}, {"U3FFF", 0xFFFF}, {"p0a7f", 0x0A7F},
	} {
		got, err := ParseDTC(tc.code)
		if err != nil || got != tc.want {
			t.Errorf("ParseDTC(%q) = %04X, %v; want %04X", tc.code, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "P0A7", "X0100", "P4100", "P0G00", "P01000"} {
		if _, err := ParseDTC(bad); err == nil {
			t.Errorf("ParseDTC(%q): no error", bad)
		}
	}
	if v, err := UDSDTC("P0A7F", 0x1C); err != nil || v != 0x0A7F1C {
		t.Errorf("UDSDTC = %06X, %v", v, err)
	}
}

// TestSupportedBitmaps checks that the bitmaps an OBDECU answers agree with
// the PIDs it answers: every PID it answers has its bit, every bit set
// names a PID it answers, and the chain of bitmap PIDs is complete.
func TestSupportedBitmaps(t *testing.T) {
	for _, pids := range [][]byte{DefaultPIDs, {0x0D}, {0x5B, 0xA6}, {0x20 + 0x1F, 0xC5}, {0x01, 0xFF}} {
		e := &OBDECU{State: testState, PIDs: pids}
		answered := map[byte]bool{}
		for pid := 0; pid < 256; pid++ {
			if ans := e.Handle([]byte{0x01, byte(pid)}); ans != nil {
				answered[byte(pid)] = true
				if ans[0][0] != 0x41 || ans[0][1] != byte(pid) {
					t.Errorf("PIDs % X: PID %02X answered % X", pids, pid, ans[0])
				}
			}
		}
		for base := 0; base < 256; base += 0x20 {
			ans := e.Handle([]byte{0x01, byte(base)})
			if ans == nil {
				later := false
				for p := range answered {
					later = later || int(p) > base && p%0x20 != 0
				}
				if later {
					t.Errorf("PIDs % X: bitmap %02X missing", pids, base)
				}
				continue
			}
			bm := ans[0][2:6]
			for i := 0; i < 32; i++ {
				pid := base + i + 1
				set := bm[i/8]&(0x80>>(i%8)) != 0
				if pid > 0xFF {
					if set {
						t.Errorf("PIDs % X: bitmap %02X announces PID %X", pids, base, pid)
					}
					continue
				}
				if set != answered[byte(pid)] {
					t.Errorf("PIDs % X: bitmap %02X bit for %02X = %v, answered %v", pids, base, pid, set, answered[byte(pid)])
				}
			}
		}
	}
}

func TestOBDECUEncoding(t *testing.T) {
	s := State{
		SpeedKmh: 300, RPM: 16383.75, SOC: 100, ModuleVoltage: 12.345, AmbientC: -40, CoolantC: 215,
		OdometerKm: 429496729.5, RunTimeS: 70000, DistanceMILKm: 1, DistanceSinceClearKm: 65535,
		HVBattery: true, HVBatteryV: 800.5, HVBatteryA: -12.3,
	}
	e := &OBDECU{State: func() State { return s }}
	for _, tc := range []struct {
		pid  byte
		want []byte
	}{
		{0x0D, []byte{0xFF}},       // clamped to 255 km/h
		{0x0C, []byte{0xFF, 0xFF}}, // 16383.75 rpm
		{0x5B, []byte{0xFF}},       // 100 %
		{0x42, []byte{0x30, 0x39}}, // 12345 mV
		{0x46, []byte{0x00}},       // -40 °C
		{0x05, []byte{0xFF}},       // 215 °C
		{0xA6, []byte{0xFF, 0xFF, 0xFF, 0xFF}},
		{0x1F, []byte{0xFF, 0xFF}}, // clamped
		{0x21, []byte{0x00, 0x01}},
		{0x31, []byte{0xFF, 0xFF}},
		{0x51, []byte{0x08}},
		{0x1C, []byte{0x01}},
		{0x9A, []byte{0x06, 0x00, 0xC8, 0x20, 0xFF, 0x85}}, // 800.5 V * 64 = 51232, -123
	} {
		ans := e.Handle([]byte{0x01, tc.pid})
		if len(ans) != 1 || !bytes.Equal(ans[0], append([]byte{0x41, tc.pid}, tc.want...)) {
			t.Errorf("PID %02X: got % X, want 41 %02X % X", tc.pid, ans, tc.pid, tc.want)
		}
	}
	// More than six PIDs, unknown services, and wrong lengths: no answer.
	for _, req := range [][]byte{{0x01, 0x0D, 0x0D, 0x0D, 0x0D, 0x0D, 0x0D, 0x0D}, {0x01}, {0x02, 0x0D, 0x00}, {0x09, 0x02, 0x0A}, {0x04, 0x00}, {0x09, 0x04}} {
		if ans := e.Handle(req); ans != nil {
			t.Errorf("% X: got % X", req, ans)
		}
	}
}

func TestOBDECUClear(t *testing.T) {
	s := testState()
	cleared := 0
	e := &OBDECU{State: func() State { return s }, OnClear: func() { cleared++ }}
	h := func(req ...byte) []byte {
		ans := e.Handle(req)
		if len(ans) != 1 {
			t.Fatalf("% X: got % X", req, ans)
		}
		return ans[0]
	}
	if got := h(0x04); !bytes.Equal(got, []byte{0x44}) || cleared != 1 {
		t.Fatalf("04: % X, cleared %d", got, cleared)
	}
	if got := h(0x03); !bytes.Equal(got, []byte{0x43, 0x00}) {
		t.Errorf("03 after clear: % X", got)
	}
	// A code the car no longer reports, then reports again, is new.
	s.Stored = []string{"U0100"}
	h(0x03)
	s.Stored = []string{"U0100", "P0A7F"}
	if got := h(0x03); !bytes.Equal(got, []byte{0x43, 0x01, 0x0A, 0x7F}) {
		t.Errorf("03 after the code came back: % X", got)
	}
}

func TestParseOBDbTestCase(t *testing.T) {
	yamlText := []byte(`command_id: 744.74C.22E001|fc=1
test_cases:
- expected_values:
    X: 1
  response: |-
    22E001
    74C102762E001FFFFFF
    74C21C0000000010000
- response: |-
    74C 03 62 E0 01 AA AA AA AA
`)
	tr, err := ParseOBDbTestCase(yamlText, "inline")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Header != 0x744 || tr.RespID != 0x74C || tr.Extended || !bytes.Equal(tr.Command, []byte{0x22, 0xE0, 0x01}) || tr.Options["fc"] != "1" {
		t.Errorf("got %+v", tr)
	}
	want := [][]Frame{
		{{ID: 0x74C, Data: []byte{0x10, 0x27, 0x62, 0xE0, 0x01, 0xFF, 0xFF, 0xFF}}, {ID: 0x74C, Data: []byte{0x21, 0xC0, 0, 0, 0, 0x01, 0, 0}}},
		{{ID: 0x74C, Data: []byte{0x03, 0x62, 0xE0, 0x01, 0xAA, 0xAA, 0xAA, 0xAA}}},
	}
	if len(tr.Cases) != 2 {
		t.Fatalf("cases: %v", tr.Cases)
	}
	for i := range want {
		if !slices.EqualFunc(tr.Cases[i], want[i], func(a, b Frame) bool { return a.ID == b.ID && bytes.Equal(a.Data, b.Data) }) {
			t.Errorf("case %d: got %v, want %v", i, tr.Cases[i], want[i])
		}
	}
	ecu := NewTranscriptECU(tr)
	for i, want := range []int{2, 1, 2} {
		frames, ok := ecu.AnswerFrames([]byte{0x22, 0xE0, 0x01})
		if !ok || len(frames) != want {
			t.Errorf("request %d: %d frames, want %d", i, len(frames), want)
		}
	}
	ecu.UseCase(1)
	if frames, _ := ecu.AnswerFrames([]byte{0x22, 0xE0, 0x01}); len(frames) != 1 {
		t.Errorf("UseCase(1): %v", frames)
	}
	if _, ok := ecu.AnswerFrames([]byte{0x22, 0xE0, 0x02}); ok {
		t.Error("unknown command answered")
	}

	// 29-bit ids, and errors.
	tr29, err := ParseOBDbTestCase([]byte("command_id: 18DA10F1.18DAF110.0902\ntest_cases:\n- response: 18DAF11010144902013147 31\n"), "29")
	if err != nil || !tr29.Extended || tr29.Header != 0x18DA10F1 || tr29.RespID != 0x18DAF110 || len(tr29.Cases[0]) != 1 {
		t.Errorf("29-bit: %+v, %v", tr29, err)
	}
	for _, bad := range []string{
		"command_id: 7E4\ntest_cases:\n- response: 7EC0462010100\n",
		"command_id: 7E4.7EC.2G\ntest_cases:\n- response: 7EC0462010100\n",
		"command_id: 7E4.18DAF110.220101\ntest_cases:\n- response: 7EC0462010100\n",
		"command_id: 7E4.7EC.220101\ntest_cases:\n- response: NO DATA\n",
		"command_id: 7E4.7EC.220101\n",
		"command_id: [\n",
	} {
		if _, err := ParseOBDbTestCase([]byte(bad), "bad"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
