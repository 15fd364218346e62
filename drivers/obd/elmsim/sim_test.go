package elmsim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestATCommands(t *testing.T) {
	c := dial(t, startPTY(t, New(testCar())).Path())
	c.expect(
		// Echo is on after power-up; the reset banner is "\r\rELM327 v1.5\r\r>".
		"ATZ", "ATZ\r\r\rELM327 v1.5\r\r>",
		"ATI", "ATI\rELM327 v1.5\r\r>",
		"ATE0", "ATE0\rOK\r\r>",
		"ATI", "ELM327 v1.5\r\r>",
		"AT@1", "OBDII to RS232 Interpreter\r\r>",
		"ATRV", "12.6V\r\r>",
		"ATDP", "AUTO\r\r>",
		"ATDPN", "A0\r\r>",
		// Case and spaces do not matter.
		"at sp 6", "OK\r\r>",
		"ATDP", "ISO 15765-4 (CAN 11/500)\r\r>",
		"ATDPN", "6\r\r>",
		"ATSPA8", "OK\r\r>",
		"ATDPN", "A8\r\r>",
		"ATDP", "AUTO, ISO 15765-4 (CAN 11/250)\r\r>",
		"ATTP7", "OK\r\r>",
		"ATDPN", "A7\r\r>",
		"ATSP D", "?\r\r>",
		"ATSPA0", "?\r\r>",
		"ATH1", "OK\r\r>",
		"ATS0", "OK\r\r>",
		"ATCAF0", "OK\r\r>",
		"ATCAF1", "OK\r\r>",
		"ATAL", "OK\r\r>",
		"ATNL", "OK\r\r>",
		"ATSH 7E0", "OK\r\r>",
		"ATSH18DA10F1", "OK\r\r>",
		"ATSHDA10F1", "OK\r\r>",
		"ATSH7E", "?\r\r>",
		"ATCP 18", "OK\r\r>",
		"ATCRA 7E8", "OK\r\r>",
		"ATCRA 7EX", "OK\r\r>",
		"ATCRA", "OK\r\r>",
		"ATCRA 7G8", "?\r\r>",
		"ATAR", "OK\r\r>",
		"ATCF 7E8", "OK\r\r>",
		"ATCM 7F8", "OK\r\r>",
		"ATCEA 12", "OK\r\r>",
		"ATCEA", "OK\r\r>",
		"ATFCSH 7E0", "OK\r\r>",
		"ATFCSD 300000", "OK\r\r>",
		"ATFCSM1", "OK\r\r>",
		"ATFCSM3", "?\r\r>",
		"ATST 19", "OK\r\r>",
		"ATST1", "?\r\r>",
		"ATAT0", "OK\r\r>",
		"ATAT2", "OK\r\r>",
		"ATPC", "OK\r\r>",
		"ATXYZ", "?\r\r>",
		"AT", "?\r\r>",
		"HELLO", "?\r\r>",
		"010", "?\r\r>", // one byte and a count digit 0
		strings.Repeat("01", 80), "?\r\r>",
		// Defaults turn the echo back on.
		"ATD", "OK\r\r>",
		"ATE0", "ATE0\rOK\r\r>",
	)
	// Linefeeds.
	c.expect(
		"ATL1", "OK\r\n\r\n>",
		"ATI", "ELM327 v1.5\r\n\r\n>",
		"ATL0", "OK\r\r>",
	)
	// A bare CR repeats the last command; LF is ignored.
	c.expect("ATI", "ELM327 v1.5\r\r>", "", "ELM327 v1.5\r\r>")
	c.send("ATRV\r\n")
	if got := c.readPrompt(); got != "12.6V\r\r>" {
		t.Errorf("ATRV CR LF: got %q", got)
	}
	// ATWS warm start resets the settings (echo back on).
	c.expect("ATWS", "\r\rELM327 v1.5\r\r>", "ATI", "ATI\rELM327 v1.5\r\r>")
}

func TestVersionAndProtocolMemory(t *testing.T) {
	sim := New(testCar())
	sim.Version = "ELM327 v2.1"
	sim.Device = "OBDLink SX"
	c := dial(t, startPTY(t, sim).Path())
	c.init("ATSP6")
	c.expect("ATI", "ELM327 v2.1\r\r>", "AT@1", "OBDLink SX\r\r>")
	// ATSP is kept in the chip's memory across ATZ; ATTP is not.
	c.expect("ATZ", "\r\rELM327 v2.1\r\r>", "ATDPN", "ATDPN\r6\r\r>", "ATE0", "ATE0\rOK\r\r>")
	c.expect("ATTP8", "OK\r\r>", "ATZ", "\r\rELM327 v2.1\r\r>", "ATDPN", "ATDPN\r6\r\r>")
}

func TestSearchingOnFirstRequest(t *testing.T) {
	c := dial(t, startPTY(t, New(testCar())).Path())
	c.init()
	c.expect(
		"0100", lines("SEARCHING...", "41 00 88 18 00 13"),
		"0100", lines("41 00 88 18 00 13"),
		"ATDP", "AUTO, ISO 15765-4 (CAN 11/500)\r\r>",
		"ATDPN", "A6\r\r>",
	)
	// Echo on: the echoed command, then the answer.
	c.expect("ATE1", "OK\r\r>", "01 0D", "01 0D\r41 0D 3C\r\r>", "ATE0", "ATE0\rOK\r\r>")
	// ATSPA6 tries 6 first, without printing SEARCHING.
	c.expect("ATSPA6", "OK\r\r>", "010D", lines("41 0D 3C"))
}

func TestService01(t *testing.T) {
	c := dial(t, startPTY(t, New(testCar())).Path())
	c.init("ATSP6")
	c.expect(
		"0120", lines("41 20 80 00 80 01"),
		"0140", lines("41 40 44 00 80 21"),
		"0160", lines("41 60 00 00 00 01"),
		"0180", lines("41 80 00 00 00 01"),
		"01A0", lines("41 A0 04 00 00 00"),
		"01C0", lines("NO DATA"),
		"010C", lines("41 0C 1A F8"),
		"010C0D", lines("41 0C 1A F8 0D 3C"),
		"01A6", lines("41 A6 00 01 E2 40"),
		"0142", lines("41 42 37 78"),
		"015B", lines("41 5B CC"),
		"0146 05", lines("41 46 3D 05 41"),
		// Unsupported PIDs are left out, or no answer at all.
		"010D 0B", lines("41 0D 3C"),
		"010B", lines("NO DATA"),
		// Six PIDs make a multi-frame answer.
		"01 0C 0D 05 42 46 5B", lines("00F", "0: 41 0C 1A F8 0D 3C", "1: 05 41 42 37 78 46 3D", "2: 5B CC"),
		"ATH1", "OK\r\r>",
		"01 0C 0D 05 42 46 5B", lines(
			"7E8 10 0F 41 0C 1A F8 0D 3C",
			"7E8 21 05 41 42 37 78 46 3D",
			"7E8 22 5B CC AA AA AA AA AA"),
		"ATS0", "OK\r\r>",
		"010D", lines("7E803410D3CAAAAAAAA"),
		"ATD1", "OK\r\r>",
		"010D", lines("7E8803410D3CAAAAAAAA"),
		"ATD0", "OK\r\r>",
		"ATH0", "OK\r\r>",
		"010D", lines("410D3C"),
	)
}

func TestVIN(t *testing.T) {
	c := dial(t, startPTY(t, New(testCar())).Path())
	c.init("ATSP6")
	c.expect(
		"0900", lines("49 00 40 40 00 00"),
		"0902", lines(
			"014",
			"0: 49 02 01 31 47 31",
			"1: 46 5A 36 53 30 37 4C",
			"2: 34 31 30 30 30 30 31"),
		"ATS0", "OK\r\r>",
		"0902", lines("014", "0:490201314731", "1:465A365330374C", "2:34313030303031"),
		"ATH1", "OK\r\r>",
		"0902", lines(
			"7E81014490201314731",
			"7E821465A365330374C",
			"7E82234313030303031"),
		"ATS1", "OK\r\r>",
		"0902", lines(
			"7E8 10 14 49 02 01 31 47 31",
			"7E8 21 46 5A 36 53 30 37 4C",
			"7E8 22 34 31 30 30 30 30 31"),
		"ATH0", "OK\r\r>",
		// ECU name: 20 bytes padded with 00.
		"090A", lines(
			"017",
			"0: 49 0A 01 45 43 4D",
			"1: 2D 45 6E 67 69 6E 65",
			"2: 43 6F 6E 74 72 6F 6C",
			"3: 00 00 00"),
	)
}

func TestDTCs(t *testing.T) {
	c := dial(t, startPTY(t, New(testCar())).Path())
	c.init("ATSP6")
	c.expect(
		"03", lines("43 02 0A 7F C1 00"),
		"07", lines("47 01 0A A6"),
		"0A", lines("4A 01 0A 7F"),
		"0101", lines("41 01 82 00 00 00"),
		"ATH1", "OK\r\r>",
		"03", lines("7E8 06 43 02 0A 7F C1 00 AA"),
		"04", lines("7E8 01 44 AA AA AA AA AA AA"),
		"03", lines("7E8 02 43 00 AA AA AA AA AA"),
		"07", lines("7E8 02 47 00 AA AA AA AA AA"),
		// Permanent codes survive service 04.
		"0A", lines("7E8 04 4A 01 0A 7F AA AA AA"),
		"0101", lines("7E8 06 41 01 00 00 00 00 AA"),
	)
}

func TestSeveralECUs(t *testing.T) {
	car := testCar()
	car.Nodes = append(car.Nodes, Node{
		Name: "bms", ReqID: 0x7E4, RespID: 0x7EC, OBD: true,
		ECU: &OBDECU{State: func() State { return State{SOC: 50} }, PIDs: []byte{0x5B}, VIN: testVIN},
	})
	c := dial(t, startPTY(t, New(car)).Path())
	c.init("ATSP6", "ATH1")
	c.expect(
		"0100", lines("7E8 06 41 00 88 18 00 13 AA", "7EC 06 41 00 00 00 00 01 00"),
		// The response count digit stops after the first answer.
		"01001", lines("7E8 06 41 00 88 18 00 13 AA"),
		// Physical request to the second ECU.
		"ATSH7E4", "OK\r\r>",
		"015B", lines("7EC 03 41 5B 80 00 00 00 00"),
		// ATCRA shows only one sender.
		"ATSH7DF", "OK\r\r>",
		"ATCRA7EC", "OK\r\r>",
		"0100", lines("7EC 06 41 00 00 00 00 01 00"),
		"ATAR", "OK\r\r>",
	)
	// With a frame gap the multi-frame answers interleave.
	sim := New(car)
	sim.Timing.Frame = 2 * time.Millisecond
	c2 := dial(t, startPTY(t, sim).Path())
	c2.init("ATSP6", "ATH1")
	c2.expect("0902", lines(
		"7E8 10 14 49 02 01 31 47 31",
		"7EC 10 14 49 02 01 31 47 31",
		"7E8 21 46 5A 36 53 30 37 4C",
		"7EC 21 46 5A 36 53 30 37 4C",
		"7E8 22 34 31 30 30 30 30 31",
		"7EC 22 34 31 30 30 30 30 31"))
}

func Test29Bit(t *testing.T) {
	car := NewCar(Node{
		ReqID: 0x18DA10F1, RespID: 0x18DAF110, OBD: true,
		ECU: &OBDECU{State: testState, VIN: testVIN},
	})
	c := dial(t, startPTY(t, New(car)).Path())
	c.init()
	c.expect(
		"010D", lines("SEARCHING...", "41 0D 3C"),
		"ATDPN", "A7\r\r>",
		"ATH1", "OK\r\r>",
		"010D", lines("18 DA F1 10 03 41 0D 3C 00 00 00 00"),
		"ATS0", "OK\r\r>",
		"010D", lines("18DAF11003410D3C00000000"),
		// Physical 29-bit request: 3 header bytes and the priority.
		"ATSH DA10F1", "OK\r\r>",
		"0902", lines("18DAF1101014490201314731", "18DAF11021465A365330374C", "18DAF1102234313030303031"),
		"ATSH DA11F1", "OK\r\r>",
		"010D", lines("NO DATA"),
		// An 11-bit protocol on this car: nobody answers.
		"ATSP6", "OK\r\r>",
		"ATSH7DF", "OK\r\r>",
		"010D", lines("NO DATA"),
		// Wrong bitrate.
		"ATSP9", "OK\r\r>",
		"010D", lines("CAN ERROR"),
	)
}

func TestCAF0AndFlowControl(t *testing.T) {
	c := dial(t, startPTY(t, New(testCar())).Path())
	c.init("ATSP6", "ATCAF0")
	c.expect(
		// The client writes the PCI byte itself and sees whole frames.
		"02010D", lines("03 41 0D 3C AA AA AA AA"),
		"0209 02", lines("10 14 49 02 01 31 47 31", "21 46 5A 36 53 30 37 4C", "22 34 31 30 30 30 30 31"),
		"ATH1", "OK\r\r>",
		// An invalid PCI: the ECU ignores the frame.
		"F1010D", lines("NO DATA"),
	)
	// Without automatic flow control only the first frame comes; the
	// client sends the flow control itself and gets the rest.
	c.expect(
		"ATCFC0", "OK\r\r>",
		"ATSH7E0", "OK\r\r>",
		"020902", lines("7E8 10 14 49 02 01 31 47 31"),
		"300000", lines("7E8 21 46 5A 36 53 30 37 4C", "7E8 22 34 31 30 30 30 30 31"),
		// A segmented request: the ECU answers the first frame with flow
		// control, then the request completes.
		"100A220101020304", lines("7E8 30 00 00 AA AA AA AA AA"),
	)
	// Flow control sent to the wrong id: the ECU never continues.
	c.expect(
		"ATCFC1", "OK\r\r>",
		"ATFCSH7E1", "OK\r\r>",
		"ATFCSD300000", "OK\r\r>",
		"ATFCSM1", "OK\r\r>",
		"020902", lines("7E8 10 14 49 02 01 31 47 31"),
		"ATFCSH7E0", "OK\r\r>",
		"020902", lines("7E8 10 14 49 02 01 31 47 31", "7E8 21 46 5A 36 53 30 37 4C", "7E8 22 34 31 30 30 30 30 31"),
	)
}

func TestExtendedAddressing(t *testing.T) {
	uds := &UDSECU{DIDs: map[uint16][]byte{0xF190: []byte(testVIN)}}
	car := NewCar(Node{ReqID: 0x6F1, RespID: 0x612, ExtAddr: true, ReqAddr: 0x12, RespAddr: 0xF1, PadByte: 0xFF, ECU: uds})
	c := dial(t, startPTY(t, New(car)).Path())
	// The answer id is not the request id + 8: the automatic flow control
	// would go to 60A, so the client aims it at the ECU (with the CEA
	// byte added by the adapter).
	c.init("ATSP6", "ATSH6F1", "ATCRA612", "ATH1", "ATFCSH6F1", "ATFCSD300000", "ATFCSM1")
	c.expect(
		// Without the extended address the ECU does not understand.
		"22F190", lines("NO DATA"),
		"ATCEA12", "OK\r\r>",
		"22F190", lines(
			"612 F1 10 14 62 F1 90 31 47",
			"612 F1 21 31 46 5A 36 53 30",
			"612 F1 22 37 4C 34 31 30 30",
			"612 F1 23 30 30 31 FF FF FF"),
		"ATH0", "OK\r\r>",
		"22F190", lines("014", "0: 62 F1 90 31 47", "1: 31 46 5A 36 53 30", "2: 37 4C 34 31 30 30", "3: 30 30 31"),
	)
}

func TestUDS(t *testing.T) {
	uds := &UDSECU{
		DIDs:    map[uint16][]byte{0x0101: {0x01, 0x02}},
		Pending: 1,
		DTCs: []DTC{
			{Code: 0x0A7F00, Status: 0x09, Ext: map[byte][]byte{0x01: {0x05}, 0x02: {0x10, 0x20}}},
			{Code: 0xC10000, Status: 0x08},
			{Code: 0x0AA600, Status: 0x04},
		},
	}
	car := NewCar(Node{ReqID: 0x7E4, RespID: 0x7EC, ECU: uds})
	sim := New(car)
	sim.Timing.Pending = 20 * time.Millisecond
	c := dial(t, startPTY(t, sim).Path())
	c.init("ATSP6", "ATSH7E4")
	c.expect(
		"220101", lines("7F 22 78", "62 01 01 01 02"),
		"22F190", lines("7F 22 31"),
		"22", lines("7F 22 13"),
		"1902 08", lines("7F 19 78", "00B", "0: 59 02 FF 0A 7F 00", "1: 09 C1 00 00 08"),
		"1902 04", lines("7F 19 78", "59 02 FF 0A A6 00 04"),
		"190101", lines("7F 19 78", "59 01 FF 01 00 01"),
		"1906 0A7F00 FF", lines("7F 19 78", "00B", "0: 59 06 0A 7F 00 09", "1: 01 05 02 10 20"),
		"1906 0A7F00 03", lines("7F 19 31"),
		"1999", lines("7F 19 12"),
		"3E00", lines("7E 00"),
		"3E80", lines("NO DATA"),
		"1003", lines("50 03 00 32 01 F4"),
		"31010203", lines("7F 31 11"),
		"14FFFFFF", lines("54"),
		"1902FF", lines("7F 19 78", "59 02 FF"),
	)
	// A pending answer longer than the ATST timeout is still waited for
	// (P2*), but a slow first answer is not.
	sim2 := New(car)
	sim2.Timing.Answer = 150 * time.Millisecond
	c2 := dial(t, startPTY(t, sim2).Path())
	c2.init("ATSP6", "ATSH7E4", "ATST10") // 64 ms
	c2.expect("220101", lines("NO DATA"), "ATST64", "OK\r\r>", "220101", lines("7F 22 78", "62 01 01 01 02"))
}

func TestTranscriptKiaEV9(t *testing.T) {
	dir := filepath.Join(sharedData(t), "obd", "kia-ev9", "tests", "test_cases", "2024", "commands")
	ts, err := LoadOBDbTestCases(dir)
	if err != nil {
		t.Fatal(err)
	}
	var bms Transcript
	for _, tr := range ts {
		if tr.Header == 0x7E4 && string(tr.Command) == "\x22\x01\x01" {
			bms = tr
		}
	}
	if bms.Cases == nil || bms.RespID != 0x7EC || bms.Options["fc"] != "1" {
		t.Fatalf("transcript 7E4.7EC.220101 not loaded: %+v", bms)
	}
	// The recorded text, line by line, as the adapter printed it.
	raw, err := os.ReadFile(filepath.Join(dir, "7E4.7EC.220101|fc=1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := recordedResponses(t, string(raw))

	car := NewCar(TranscriptNodes(ts)...)
	c := dial(t, startPTY(t, New(car)).Path())
	// What an OBDb-driven scanner sends for "fc=1".
	c.init("ATSP6", "ATH1", "ATS0", "ATSH7E4", "ATCRA7EC", "ATFCSH7E4", "ATFCSD300000", "ATFCSM1")
	for i := range 2 {
		got := c.cmd("220101")
		if w := strings.Join(want[i], "\r") + "\r\r>"; got != w {
			t.Errorf("case %d:\n got %q\nwant %q", i, got, w)
		}
	}
	// Reformatted with headers off: the payload of the first case.
	c.expect("ATH0", "OK\r\r>", "ATS1", "OK\r\r>")
	got := c.cmd("220101")
	ls := strings.Split(strings.TrimSuffix(got, "\r\r>"), "\r")
	if len(ls) != 10 || ls[0] != "03E" || ls[1] != "0: 62 01 01 EF FB E7" || !strings.HasPrefix(ls[9], "8: ") {
		t.Errorf("CAF1 H0: got %q", got)
	}
	// 7A8 is outside the automatic receive range 7E8-7EF: like a real
	// adapter, the answer needs ATCRA.
	c.expect(
		"ATH1", "OK\r\r>", "ATS0", "OK\r\r>", "ATFCSM0", "OK\r\r>",
		"ATAR", "OK\r\r>", "ATSH7A0", "OK\r\r>",
		"22C00B", lines("NO DATA"),
		"ATCRA7A8", "OK\r\r>",
	)
	if got := c.cmd("22C00B"); !strings.HasPrefix(got, "7A8102462C00BFFFFFF\r") {
		t.Errorf("7A0 with CRA: got %q", got)
	}
	// A request that was never recorded.
	c.expect("ATSH7E4", "OK\r\r>", "ATCRA7EC", "OK\r\r>", "220199", lines("NO DATA"))
}

// sharedData finds the project's shared data folder: $EVEDGE_SHARED_DATA,
// shared/data in the checkout (../../../shared/data from here), or beside
// it (../../../../shared/data). It skips the test when none exists, unless
// EVEDGE_REQUIRE_SHARED=1.
func sharedData(t *testing.T) string {
	t.Helper()
	candidates := []string{
		filepath.Join("..", "..", "..", "shared", "data"),
		filepath.Join("..", "..", "..", "..", "shared", "data"),
	}
	if d := os.Getenv("EVEDGE_SHARED_DATA"); d != "" {
		candidates = []string{d}
	}
	for _, d := range candidates {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	if os.Getenv("EVEDGE_REQUIRE_SHARED") == "1" {
		t.Fatalf("shared data required but not found in %q", candidates)
	}
	t.Skipf("shared data not found in %q; set EVEDGE_REQUIRE_SHARED=1 to make this a failure", candidates)
	return ""
}

// recordedResponses extracts the response lines of each test case.
func recordedResponses(t *testing.T, yamlText string) [][]string {
	var out [][]string
	var cur []string
	in := false
	for _, l := range strings.Split(yamlText, "\n") {
		s := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(s, "response:"):
			in, cur = true, nil
		case in && strings.HasPrefix(l, "    ") && s != "":
			cur = append(cur, s)
		case in:
			in = false
			out = append(out, cur)
		}
	}
	if in {
		out = append(out, cur)
	}
	if len(out) < 2 {
		t.Fatalf("found %d responses in the YAML text", len(out))
	}
	return out
}

func TestStopped(t *testing.T) {
	sim := New(testCar())
	sim.Timing.Answer = 300 * time.Millisecond
	c := dial(t, startPTY(t, sim).Path())
	c.init("ATSP6", "ATSTFF")
	c.send("010D\r")
	time.Sleep(50 * time.Millisecond)
	c.send("X")
	if got := c.readPrompt(); got != "STOPPED\r\r>" {
		t.Errorf("got %q", got)
	}
	// The adapter is usable again; the interrupting character was lost.
	c.expect("010D", lines("41 0D 3C"))
	// A command sent before the prompt: its first character is lost and
	// the rest is read as the next command ("10D": a count digit after
	// one byte, which nobody answers).
	c.send("010D\r")
	time.Sleep(50 * time.Millisecond)
	c.send("010D\r")
	if got := c.readPrompt(); got != "STOPPED\r\r>" {
		t.Errorf("got %q", got)
	}
	if got := c.readPrompt(); got != "NO DATA\r\r>" {
		t.Errorf("after STOPPED: got %q", got)
	}
}

func TestAsleep(t *testing.T) {
	awake := make(chan bool, 1)
	awake <- false
	isAwake := func() bool { v := <-awake; awake <- v; return v }
	setAwake := func(v bool) { <-awake; awake <- v }
	car := testCar()
	car.Awake = isAwake
	c := dial(t, startPTY(t, New(car)).Path())
	c.init()
	c.expect(
		"0100", lines("SEARCHING...", "UNABLE TO CONNECT"),
		"0100", lines("SEARCHING...", "UNABLE TO CONNECT"),
		"ATSP6", "OK\r\r>",
		"0100", lines("NO DATA"),
		"ATSP0", "OK\r\r>",
	)
	setAwake(true)
	c.expect("010D", lines("SEARCHING...", "41 0D 3C"), "010D", lines("41 0D 3C"))
	// The car falls asleep after the search: the error, then a new search.
	setAwake(false)
	c.expect("010D", lines("NO DATA"), "010D", lines("SEARCHING...", "UNABLE TO CONNECT"))

	// An adapter that sees no acknowledgement on the dead bus.
	car2 := testCar()
	car2.Awake = isAwake
	car2.AsleepReply = "CAN ERROR"
	car2.BatteryVolts = func() float64 { return 12.38 }
	c2 := dial(t, startPTY(t, New(car2)).Path())
	c2.init("ATSP6")
	c2.expect("0100", lines("CAN ERROR"), "ATRV", "12.4V\r\r>")
}

func TestMonitorAll(t *testing.T) {
	car := testCar()
	car.Traffic = Loop(
		Frame{ID: 0x5B3, Data: []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}},
		Frame{ID: 0x7E8, Data: []byte{0x03, 0x41, 0x0D, 0x3C}},
	)
	car.TrafficInterval = 2 * time.Millisecond
	c := dial(t, startPTY(t, New(car)).Path())
	c.init("ATSP6", "ATH1")
	c.send("ATMA\r")
	first, err := c.readUntil("7E8 03 41 0D 3C\r", 2*time.Second)
	if err != nil || !strings.HasPrefix(first, "5B3 01 02 03 04 05 06 07 08\r") {
		t.Fatalf("ATMA: %q, %v", first, err)
	}
	c.send("x")
	got := c.readPrompt()
	if !strings.HasSuffix(got, "STOPPED\r\r>") {
		t.Errorf("after a key: %q", got)
	}
	// With a receive filter and headers off.
	c.expect("ATH0", "OK\r\r>", "ATCRA7E8", "OK\r\r>")
	c.send("ATMA\r")
	if s, err := c.readUntil("\r", 2*time.Second); err != nil || s != "41 0D 3C\r" {
		t.Errorf("ATMA with CRA: %q, %v", s, err)
	}
	c.send("x")
	if got := c.readPrompt(); !strings.HasSuffix(got, "STOPPED\r\r>") || strings.Contains(got, "01 02") {
		t.Errorf("after a key: %q", got)
	}
}

func TestFaults(t *testing.T) {
	sim := New(testCar())
	p := startPTY(t, sim)
	c := dial(t, p.Path())
	c.init("ATSP6")

	sim.SetFaults(Faults{Unknown: true})
	c.expect("ATI", "?\r\r>", "010D", "?\r\r>")

	sim.SetFaults(Faults{CANError: true})
	c.expect("ATI", "ELM327 v1.5\r\r>", "010D", lines("CAN ERROR"))

	sim.SetFaults(Faults{Garbage: []byte{0x00, 0xFC, 'x'}})
	c.expect("010D", "\x00\xfcx41 0D 3C\r\r>")

	sim.SetFaults(Faults{BufferFull: true})
	c.expect("010D", lines("41 0D 3C"), "0902", lines("014", "0: 49 02 01 31 47 31", "BUFFER FULL"))

	sim.SetFaults(Faults{SplitWrites: 3})
	c.send("0902\r")
	first := make([]byte, 64)
	c.f.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.f.Read(first)
	if err != nil || n >= 20 {
		t.Errorf("split writes: first read %q, %v", first[:n], err)
	}
	c.buf = append(c.buf, first[:n]...)
	if got := c.readPrompt(); got != lines("014", "0: 49 02 01 31 47 31", "1: 46 5A 36 53 30 37 4C", "2: 34 31 30 30 30 30 31") {
		t.Errorf("split writes: %q", got)
	}

	sim.SetFaults(Faults{Delay: 100 * time.Millisecond})
	start := time.Now()
	c.expect("010D", lines("41 0D 3C"))
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("delay: answered in %v", d)
	}

	sim.SetFaults(Faults{Silent: true})
	c.send("ATI\r")
	if !c.quiet(200 * time.Millisecond) {
		t.Error("silent adapter answered")
	}
	sim.SetFaults(Faults{})
	c.expect("ATI", "ELM327 v1.5\r\r>")

	sim.SetFaults(Faults{DropMidAnswer: true})
	c.send("0902\r")
	got, err := c.readUntil(">", 2*time.Second)
	if err == nil || !strings.HasPrefix(got, "014\r0: 49 02 01 31 47 31\r1:") || strings.Contains(got, ">") {
		t.Errorf("dropped: got %q, %v", got, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for p.Plugged() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if p.Plugged() || !errors.Is(p.Err(), ErrDropped) {
		t.Errorf("after the drop: plugged %v, err %v", p.Plugged(), p.Err())
	}
	sim.SetFaults(Faults{})
	if err := p.Plug(); err != nil {
		t.Fatal(err)
	}
	c2 := dial(t, p.Path())
	c2.init()
	c2.expect("ATDPN", "6\r\r>", "010D", lines("41 0D 3C"))
}

func TestBufferFullAtLowBaud(t *testing.T) {
	long := make([]byte, 120)
	for i := range long {
		long[i] = byte(i)
	}
	car := NewCar(Node{ReqID: 0x7E4, RespID: 0x7EC, ECU: &UDSECU{DIDs: map[uint16][]byte{0x0101: long, 0x0102: long[:20]}}})
	sim := New(car)
	sim.Timing.Baud = 38400
	c := dial(t, startPTY(t, sim).Path())
	c.init("ATSP6", "ATSH7E4", "ATH1")
	got := c.cmd("220101")
	ls := strings.Split(strings.TrimSuffix(got, "\r\r>"), "\r")
	if ls[len(ls)-1] != "BUFFER FULL" || len(ls) < 5 || len(ls) > 15 {
		t.Errorf("got %d lines: %q", len(ls), got)
	}
	// A short answer fits.
	if got := c.cmd("220102"); strings.Contains(got, "BUFFER FULL") {
		t.Errorf("short answer: %q", got)
	}
}

func TestReplugAtSymlink(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyOBD")
	p, err := New(testCar()).ServePTYAt(context.Background(), link)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if target, err := os.Readlink(link); err != nil || target != p.SlavePath() || p.Path() != link {
		t.Fatalf("link %q -> %q, %v (slave %q)", link, target, err, p.SlavePath())
	}
	c := dial(t, link)
	c.init("ATSP6")
	c.expect("010D", lines("41 0D 3C"))

	if err := p.Unplug(); err != nil {
		t.Fatal(err)
	}
	// The client's reads end, the link is gone.
	if s, err := c.readUntil(">", 2*time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after unplug: %q, %v", s, err)
	}
	if _, err := c.f.Write([]byte("ATI\r")); err == nil {
		t.Error("write after unplug succeeded")
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("link after unplug: %v", err)
	}
	if err := p.Plug(); err != nil {
		t.Fatal(err)
	}
	c2 := dial(t, link)
	// A fresh power-up: echo on, stored protocol kept.
	c2.expect("ATI", "ATI\rELM327 v1.5\r\r>", "ATDPN", "ATDPN\r6\r\r>")
	if err := p.Replug(); err != nil {
		t.Fatal(err)
	}
	c3 := dial(t, link)
	c3.expect("ATI", "ATI\rELM327 v1.5\r\r>")
}

func TestContextClosesPTY(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	link := filepath.Join(t.TempDir(), "ttyOBD")
	p, err := New(testCar()).ServePTYAt(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for p.Plugged() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if p.Plugged() {
		t.Fatal("still plugged after cancel")
	}
	if err := p.Plug(); err == nil {
		t.Error("Plug after Close succeeded")
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("link after close: %v", err)
	}
}
