package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/drivers/obd"
	"github.com/evedge/evedge/drivers/obd/elmsim"
)

// simPTY serves an ELM327 simulator with one OBD ECU (and the given extra
// nodes) on a real pty.
func simPTY(t *testing.T, extra ...elmsim.Node) string {
	t.Helper()
	state := func() elmsim.State {
		return elmsim.State{SpeedKmh: 42, SOC: 55, ModuleVoltage: 13.9, AmbientC: 18, OdometerKm: 3210.4,
			Stored: []string{"P0AA6"}, MIL: true}
	}
	nodes := append([]elmsim.Node{{ReqID: 0x7E0, RespID: 0x7E8, OBD: true, PadByte: 0xAA,
		ECU: &elmsim.OBDECU{State: state, VIN: "KNDC4DLC0R5000001"}}}, extra...)
	car := elmsim.NewCar(nodes...)
	car.BatteryVolts = func() float64 { return 14.3 } // awake: DC-DC running
	p, err := elmsim.New(car).ServePTY(context.Background())
	if errors.Is(err, elmsim.ErrNotSupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.Path()
}

func runJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, nil, &out, &errb); code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errb.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%v: output %q: %v", args, out.String(), err)
	}
	return m
}

func TestOBDCommands(t *testing.T) {
	bms := &elmsim.UDSECU{}
	code, err := elmsim.UDSDTC("P0AA6", 0x00)
	if err != nil {
		t.Fatal(err)
	}
	bms.DTCs = []elmsim.DTC{{Code: code, Status: 0x2F}}
	pty := simPTY(t, elmsim.Node{ReqID: 0x7E4, RespID: 0x7EC, ECU: bms})
	if m := runJSON(t, "obd", "--port", pty, "--json", "vin"); m["vin"] != "KNDC4DLC0R5000001" {
		t.Errorf("vin: %v", m)
	}
	m := runJSON(t, "obd", "--port", pty, "--json", "pids")
	pids, _ := m["pids"].(map[string]any)["7E8"].([]any)
	if !strings.Contains(strings.Trim(strings.Join(strings.Fields(strings.Trim(strings.ReplaceAll(strings.ReplaceAll(jsonString(pids), ",", " "), "\"", ""), "[]")), " "), " "), "0D") {
		t.Errorf("pids: %v", m)
	}
	m = runJSON(t, "obd", "--port", pty, "--json", "read", "010D", "0142", "5B")
	got := map[string]float64{}
	for _, v := range m["values"].([]any) {
		o := v.(map[string]any)
		got[o["id"].(string)] = o["value"].(float64)
	}
	// 42 km/h; 13.9 V = 13900 mV; SOC 55 % -> round(55*2.55) = 140 -> 140/2.55.
	for id, w := range map[string]float64{"VSS": 42, "VPWR": 13.9, "BAT_SOC": 140 * 100.0 / 255} {
		if math.Abs(got[id]-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", id, got[id], w)
		}
	}
	m = runJSON(t, "obd", "--port", pty, "--json", "dtc")
	stored := m["stored"].([]any)
	if len(stored) != 1 || stored[0].(map[string]any)["code"] != "P0AA6" ||
		!strings.Contains(stored[0].(map[string]any)["description"].(string), "Isolation") {
		t.Errorf("dtc: %v", m)
	}
	m = runJSON(t, "obd", "--port", pty, "--json", "dtc", "--uds", "7E4")
	u, _ := m["uds"].([]any)
	if len(u) != 1 || u[0].(map[string]any)["code"] != "P0AA6-00" || u[0].(map[string]any)["ecu"] != "7E4" ||
		!strings.Contains(jsonString(u[0]), "confirmedDTC") {
		t.Errorf("dtc --uds: %v", m)
	}
	// Clearing without --confirm is refused and says why.
	var out, errb bytes.Buffer
	if code := run([]string{"obd", "--port", pty, "clear"}, nil, &out, &errb); code == 0 || !strings.Contains(errb.String(), "--confirm") {
		t.Errorf("clear without --confirm: exit %d, %s", code, errb.String())
	}
	// A port that is not there: a clear error naming it.
	errb.Reset()
	if code := run([]string{"obd", "--port", "/nonexistent/ttyUSB9", "vin"}, nil, &out, &errb); code != 1 || !strings.Contains(errb.String(), "/nonexistent/ttyUSB9") {
		t.Errorf("missing port: exit %d, %s", code, errb.String())
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestOBDDecodeKiaEV9 runs `evedge obd decode` on the real Kia EV9 case
// files and compares every printed value with the recorded expectations.
func TestOBDDecodeKiaEV9(t *testing.T) {
	dir := needShared(t, "obd/kia-ev9")
	files, _ := filepath.Glob(filepath.Join(dir, "tests/test_cases/*/commands/*.yaml"))
	args := append([]string{"obd", "decode", "--signalset", filepath.Join(dir, "signalset.json")}, files...)
	var out, errb bytes.Buffer
	if code := run(args, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	n := 0
	for _, l := range lines {
		var rec struct {
			File   string         `json:"file"`
			Case   int            `json:"case"`
			Values map[string]any `json:"values"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		cf, err := obd.LoadCaseFile(rec.File)
		if err != nil {
			t.Fatal(err)
		}
		for k, w := range cf.Cases[rec.Case].Expected {
			g, ok := rec.Values[k].(float64)
			wf, _ := w.(float64)
			if wi, isInt := w.(int); isInt {
				wf = float64(wi)
			}
			if !ok || math.Abs(g-wf) > 1e-6*math.Max(1, math.Abs(wf)) {
				t.Errorf("%s case %d: %s = %v, want %v", filepath.Base(rec.File), rec.Case, k, rec.Values[k], w)
			}
			n++
		}
	}
	if len(lines) != 579 || n < 6900 {
		t.Errorf("%d lines, %d values checked", len(lines), n)
	}
	// Two recorded answers are to other requests (62 F1 87, 62 F1 B1): reported as a
	// count, listed with -v.
	if e := errb.String(); e != "" && !strings.HasPrefix(e, "decoded 579 cases; 2 answers") {
		t.Errorf("stderr: %s", e)
	}
}

// TestRunWithOBD runs the daemon on the sim board with an ELM327 simulator
// serving the recorded Kia EV9 answers: OBD values reach the store under
// their VSS paths (or OBD.<id>) beside the CAN signals.
func TestRunWithOBD(t *testing.T) {
	dir := needShared(t, "obd/kia-ev9")
	ts, err := elmsim.LoadOBDbTestCases(filepath.Join(dir, "tests/test_cases/2024/commands"))
	if err != nil {
		t.Fatal(err)
	}
	pty := simPTY(t, elmsim.TranscriptNodes(ts)...)
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "../../..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "evedge.toml")
	os.WriteFile(cfg, []byte("[obd]\npids = [\"0D\", \"42\"]\nmodel_year = 2024\nguard = \"voltage\"\n"), 0o644)
	var out, errb bytes.Buffer
	code := run([]string{"run", "--config", cfg, "--view", "off", "--for", "4s", "--data", data,
		"--obd", pty, "--signalset", filepath.Join(wd, dir, "signalset.json")}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	st, err := store.Open(store.Options{Dir: data, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	names := strings.Join(st.SignalNames(), "\n")
	for _, want := range []string{"OBD.EV9_HVBAT_SOC", "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure", "OBD.VSS", "Vehicle.LowVoltageBattery.CurrentVoltage"} {
		if !strings.Contains(names, want) {
			t.Errorf("store lacks %s", want)
		}
	}
	// The tyre pressure went through psi -> kPa; the first 2024 case of
	// 7A0.7A8.22C00B is 0 psi on FL, so check a value exists and is finite.
	it := st.Signals(context.Background(), "OBD.EV9_HVBAT_SOC", time.Now().Add(-time.Minute), time.Now().Add(time.Minute), time.Second)
	nvals := 0
	for it.Next() {
		nvals++
	}
	if nvals == 0 {
		t.Errorf("no EV9 SOC values stored; log:\n%s", errb.String())
	}
}

// TestRunTroubleCodes runs the daemon with an ELM327 simulator whose OBD
// ECU reports P0AA6 (stored) and then, four seconds in, no code, and a BMS
// answering UDS 19 02 with P0A7F: the daemon files "set" events for both
// and a "cleared" one for P0AA6.
func TestRunTroubleCodes(t *testing.T) {
	var cleared atomic.Bool
	state := func() elmsim.State {
		s := elmsim.State{SpeedKmh: 0, SOC: 55, ModuleVoltage: 13.9}
		if !cleared.Load() {
			s.Stored, s.MIL = []string{"P0AA6"}, true
		}
		return s
	}
	bms := &elmsim.UDSECU{}
	code, err := elmsim.UDSDTC("P0A7F", 0x1B)
	if err != nil {
		t.Fatal(err)
	}
	bms.DTCs = []elmsim.DTC{{Code: code, Status: 0x09}}
	car := elmsim.NewCar(elmsim.Node{ReqID: 0x7E0, RespID: 0x7E8, OBD: true, ECU: &elmsim.OBDECU{State: state}},
		elmsim.Node{ReqID: 0x7E4, RespID: 0x7EC, ECU: bms})
	car.BatteryVolts = func() float64 { return 14.3 }
	p, err := elmsim.New(car).ServePTY(context.Background())
	if errors.Is(err, elmsim.ErrNotSupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	time.AfterFunc(4*time.Second, func() { cleared.Store(true) })
	data := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "evedge.toml")
	os.WriteFile(cfg, []byte("[obd]\npids = [\"0D\"]\nguard = \"voltage\"\ndtc_period = \"5s\"\nuds_ecus = [\"7E4\"]\n"), 0o644)
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "../../..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--config", cfg, "--view", "off", "--for", "12s", "--data", data, "--obd", p.Path()}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	st, err := store.Open(store.Options{Dir: data, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	it := st.Events(context.Background(), time.Time{}, time.Now().Add(time.Hour), "dtc")
	var got []string
	for it.Next() {
		var ev dtcEvent
		if err := json.Unmarshal(it.Event().Body, &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %d", ev.State, ev.Status, ev.Code, ev.ECU, it.Event().Severity))
		if ev.State == "set" && ev.Code == "P0AA6" && !strings.Contains(ev.Description, "Isolation") {
			t.Errorf("description %q", ev.Description)
		}
	}
	want := "set uds P0A7F-1B 7E4 1,set stored P0AA6 7E8 1,cleared stored P0AA6 7E8 0" // set codes sorted by code
	if strings.Join(got, ",") != want {
		t.Errorf("dtc events %q, want %q; log:\n%s", got, want, errb.String())
	}
}
