package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/diag/detect"
	"github.com/evedge/evedge/agent/sim"
	"github.com/evedge/evedge/agent/store"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRunReplayMax replays the real Kona ASC log at max speed through the
// daemon; it stops by itself at the end of the log with 879 frames counted.
func TestRunReplayMax(t *testing.T) {
	dbc := needShared(t, "dbc/hyundai-kona-ev-pcan.dbc")
	log := needShared(t, "canlogs/kona-bms-precharge-relay-on.asc")
	var out, errb bytes.Buffer
	code := run([]string{"run", "--view", "off", "--data", t.TempDir(), "--replay", log, "--dbc", dbc,
		"--map", "../../../board/vehicles/hyundai-kona-ev.toml", "--speed", "max"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "msg=stopped bus=0 frames=879 unknown=6") {
		t.Fatalf("log lacks the final counters:\n%s", errb.String())
	}
}

// TestRunSim starts the default sim board from the repository root for two
// seconds with the live view forced on, and checks the screen shows the
// simulated car moving frames and its key signals with units.
func TestRunSim(t *testing.T) {
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "../../..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	code := run([]string{"run", "--view", "on", "--for", "2s", "--sim-speed", "10", "--data", t.TempDir()}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	screen := out.String()
	if i := strings.LastIndex(screen, "\x1b[H\x1b[2J"); i >= 0 {
		screen = screen[i:]
	}
	for _, want := range []string{"board sim", "Vehicle.Speed", "km/h",
		"Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", "percent",
		"Vehicle.Powertrain.TractionBattery.CurrentVoltage"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	// The sim DBC's cycle times add up to 374 frames per simulated second;
	// at --sim-speed 10 two seconds carry several thousand frames.
	m := regexp.MustCompile(`(?m)^0\s+\d+\s+(\d+)\s+0\s+0\s+\d+`).FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no bus 0 row without unknown ids or errors:\n%s", screen)
	}
	if n, _ := strconv.Atoi(m[1]); n < 3000 {
		t.Fatalf("bus 0 carried %d frames in 2 s at sim speed 10, expected about 7480", n)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	badBoard := filepath.Join(dir, "b.toml")
	os.WriteFile(badBoard, []byte("name = \"x\"\n[[can]]\ninterface = \"can0\"\ndriver = \"usb\"\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "--board", "nosuch"}, 1, `profile "nosuch" not found`},
		{[]string{"run", "--board", badBoard}, 1, `can[0].driver "usb"`},
		{[]string{"run", "--speed", "fast"}, 2, "--speed"},
		{[]string{"run", "--view", "maybe"}, 2, "--view"},
		{[]string{"run", "--config", filepath.Join(dir, "none.toml")}, 1, "none.toml"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, nil, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d containing %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}

// TestRunRulesAlarm injects an open high-voltage interlock into the
// simulated car one simulated minute in: the GB/T 32960.3 rule raises a
// level 3 alarm, recorded as an event.
func TestRunRulesAlarm(t *testing.T) {
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "../../..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--view", "off", "--for", "6s", "--sim-speed", "60", "--inject", "hvil@1m", "--data", data}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "msg=alarm item=hv_interlock level=3") {
		t.Errorf("no alarm in the log:\n%s", errb.String())
	}
	st, err := store.Open(store.Options{Dir: data, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	it := st.Events(context.Background(), time.Time{}, time.Now().Add(24*time.Hour), "gbt32960")
	n := 0
	for it.Next() {
		ev := it.Event()
		if ev.Severity == 3 && strings.Contains(string(ev.Body), `"item":"hv_interlock"`) && strings.Contains(string(ev.Body), `"flags":65536`) &&
			strings.Contains(string(ev.Body), `"component":"hv_interlock"`) && strings.Contains(string(ev.Body), `"title":`) {
			n++
		}
	}
	if n != 1 || it.Err() != nil {
		t.Errorf("%d interlock events, %v", n, it.Err())
	}
	for _, bad := range []string{"hvil@x", "nope", "hvil:2", "insulation@1m:1.5"} {
		var e bytes.Buffer
		if code := run([]string{"run", "--view", "off", "--for", "1s", "--inject", bad, "--data", t.TempDir()}, nil, &out, &e); code != 2 {
			t.Errorf("--inject %s: exit %d %s", bad, code, e.String())
		}
	}
}

// TestRunModelDiagnosis replays, at full speed, a recording of the
// simulated car with an insulation fault from minute 2: the daemon's fault
// model, sampling every second of data time, detects it; the diagnosis
// event in the store carries the evidence, the raw window, the text in
// five languages, and a pin keeps the data. (A replay paces itself to the
// decoder, so the test does not depend on the machine keeping up with a
// fast simulation; `run --inject` uses the same path.)
func TestRunModelDiagnosis(t *testing.T) {
	log := simLog(t, 5, 16*time.Minute, sim.FaultSpec{Kind: sim.FaultInsulation, Severity: 1, Start: 2 * time.Minute})
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "../../..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--view", "off", "--replay", log, "--dbc", "board/sim/sim-ev.dbc", "--map", "board/sim/sim-ev.toml", "--speed", "max", "--data", data}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "msg=\"fault model on\"") || !strings.Contains(errb.String(), "msg=\"fault detected\" fault=insulation_degradation") {
		t.Errorf("no detection in the log:\n%s", errb.String())
	}
	st, err := store.Open(store.Options{Dir: data, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	it := st.Events(context.Background(), time.Time{}, time.Now().Add(24*time.Hour), "diagnosis")
	n := 0
	for it.Next() {
		ev := it.Event()
		var d detect.Diagnosis
		if err := json.Unmarshal(ev.Body, &d); err != nil {
			t.Fatal(err)
		}
		n++
		if d.Fault != "insulation_degradation" || d.State != "raised" || ev.Severity != d.Severity || d.Severity < 2 || !d.HighVoltage {
			t.Errorf("diagnosis %s %s severity %d/%d hv %v", d.Fault, d.State, ev.Severity, d.Severity, d.HighVoltage)
		}
		if len(d.Text) != 5 || d.Text["fr"].Title == "" || d.Window == nil || len(d.Window.Samples) != 60 || d.Window.Pin == 0 {
			t.Errorf("diagnosis text %d languages, window %v", len(d.Text), d.Window != nil)
			continue
		}
		// The window is one sample per second of sim time, in time order.
		if got := d.Window.To.Sub(d.Window.From); got != 59*time.Second {
			t.Errorf("window spans %v, want 59 s", got)
		}
		found := false
		for _, p := range st.Pins() {
			found = found || (p.ID == d.Window.Pin && !p.From.After(d.Window.From) && !p.To.Before(d.Window.To))
		}
		if !found {
			t.Errorf("pin %d around the window not in the store: %+v", d.Window.Pin, st.Pins())
		}
	}
	if n != 1 || it.Err() != nil {
		t.Errorf("%d diagnosis events, %v", n, it.Err())
	}
}

func TestParseInject(t *testing.T) {
	got, err := parseInject("cooling-loss@10m+5m:0.5")
	want := sim.FaultSpec{Kind: sim.FaultCoolingLoss, Start: 10 * time.Minute, Ramp: 5 * time.Minute, Severity: 0.5}
	if err != nil || got != want {
		t.Errorf("got %+v %v, want %+v", got, err, want)
	}
	got, err = parseInject("sensor-dropout=IMD_Status@1m")
	want = sim.FaultSpec{Kind: sim.FaultSensorDropout, Signal: "IMD_Status", Start: time.Minute, Severity: 1}
	if err != nil || got != want {
		t.Errorf("got %+v %v, want %+v", got, err, want)
	}
	if _, err := parseInject("sensor-dropout=@1m"); err == nil || !strings.Contains(err.Error(), "empty signal") {
		t.Errorf("empty signal: %v", err)
	}
	got, err = parseInject("sensor-drift=BMS_PackStatus.PackVoltage@1h+30m:-8")
	want = sim.FaultSpec{Kind: sim.FaultSensorDrift, Signal: "BMS_PackStatus.PackVoltage", Start: time.Hour, Ramp: 30 * time.Minute, Severity: -8}
	if err != nil || got != want {
		t.Errorf("got %+v %v, want %+v", got, err, want)
	}
	for _, bad := range []string{"sensor-drift=X.Y:0", "sensor-drift=X.Y:NaN", "cooling-loss:-8", "cooling-loss:1.5"} {
		if _, err := parseInject(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestRunPackVoltageDrift: the live agent runs the pack voltage
// plausibility check: a replay (at full speed) of the sim car whose pack
// voltage sensor drifts 8 V low is logged and recorded as one "monitor"
// event, a sensor fault.
func TestRunPackVoltageDrift(t *testing.T) {
	log := packDriftLog(t)
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--view", "off", "--replay", log, "--speed", "max", "--dbc", "../../../board/sim/sim-ev.dbc", "--map", "../../../board/sim/sim-ev.toml", "--data", data}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), `msg="monitor check failed" check=pack_voltage fault=sensor_fault`) {
		t.Errorf("no monitor finding in the log:\n%s", errb.String())
	}
	st, err := store.Open(store.Options{Dir: data, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	it := st.Events(context.Background(), time.Time{}, time.Now().Add(100*24*time.Hour), "monitor")
	n := 0
	for it.Next() {
		ev := it.Event()
		if ev.Severity == 2 && strings.Contains(string(ev.Body), `"raised":true`) && strings.Contains(string(ev.Body), `"fault":"sensor_fault"`) {
			n++
		}
	}
	if n != 1 || it.Err() != nil {
		t.Errorf("%d monitor events, %v", n, it.Err())
	}
}

// TestRunSignalLost: the simulated car's insulation monitor goes quiet a
// simulated minute in; the agent logs the input lost and records one
// "signal_lost" event with the knowledge base's severity and the path.
func TestRunSignalLost(t *testing.T) {
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "../../..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--view", "off", "--for", "6s", "--sim-speed", "60", "--inject", "sensor-dropout=IMD_Status@1m", "--data", data}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), `msg="signal lost" path=Vehicle.Private.EvedgeSim.InsulationResistance`) {
		t.Errorf("no lost signal in the log:\n%s", errb.String())
	}
	st, err := store.Open(store.Options{Dir: data, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	it := st.Events(context.Background(), time.Time{}, time.Now().Add(24*time.Hour), "signal_lost")
	n := 0
	for it.Next() {
		ev := it.Event()
		var body struct {
			Path      string  `json:"path"`
			Lost      bool    `json:"lost"`
			Silent    float64 `json:"silent_s"`
			Component string  `json:"component"`
			Title     string  `json:"title"`
		}
		if err := json.Unmarshal(ev.Body, &body); err != nil {
			t.Fatal(err)
		}
		if ev.Severity != 2 || !body.Lost || body.Path != "Vehicle.Private.EvedgeSim.InsulationResistance" || body.Silent < 30 ||
			body.Component != "vehicle_network" || body.Title == "" {
			t.Errorf("signal_lost event %d %s", ev.Severity, ev.Body)
		}
		n++
	}
	if n != 1 || it.Err() != nil {
		t.Errorf("%d signal_lost events, %v", n, it.Err())
	}
}

// TestRunBadModelFile: a corrupt model file costs the model, not the
// agent: it runs on with the rules and says which file is bad.
func TestRunBadModelFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.evnn")
	os.WriteFile(bad, []byte("EVNN\x01\x00garbage"), 0o644)
	cfg := filepath.Join(dir, "evedge.toml")
	os.WriteFile(cfg, []byte("[diag]\nmodel_file = \""+bad+"\"\n"), 0o644)
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "../../..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--config", cfg, "--view", "off", "--for", "2s", "--data", t.TempDir()}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "fault model off: it cannot be loaded") || !strings.Contains(errb.String(), "bad.evnn") {
		t.Errorf("log does not name the bad model file:\n%s", errb.String())
	}
}

// TestRunBoardOBDPort: the board profile says where the adapter is and the
// configuration what to poll; a missing adapter is retried, the agent runs.
func TestRunBoardOBDPort(t *testing.T) {
	root, _ := filepath.Abs("../../..")
	dir := t.TempDir()
	prof := filepath.Join(dir, "b.toml")
	os.WriteFile(prof, []byte(`name = "b"
data_dir = "`+filepath.Join(dir, "data")+`"
[vehicle]
dbc = "`+filepath.Join(root, "board/sim/sim-ev.dbc")+`"
map = "`+filepath.Join(root, "board/sim/sim-ev.toml")+`"
[[can]]
interface = "sim0"
bus = 0
driver = "sim"
[obd]
port = "/dev/ttyEVEDGE-NONE"
`), 0o644)
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("[obd]\npids = [\"0D\"]\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--board", prof, "--config", cfg, "--view", "off", "--for", "2s"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), `msg="OBD adapter unavailable; retrying" port=/dev/ttyEVEDGE-NONE`) {
		t.Errorf("the board's OBD port was not used:\n%s", errb.String())
	}
	// Without anything to poll, the board's adapter stays unused.
	errb.Reset()
	if code := run([]string{"run", "--board", prof, "--view", "off", "--for", "1s"}, nil, &out, &errb); code != 0 || strings.Contains(errb.String(), "ttyEVEDGE") {
		t.Errorf("exit %d, log:\n%s", code, errb.String())
	}
}

// TestRunVoiceDialogFile: the board's [voice] dialog file configures the
// dialogue; a bad one stops the start with its file and field named.
func TestRunVoiceDialogFile(t *testing.T) {
	root, _ := filepath.Abs("../../..")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "dialog.toml"), []byte("[gates]\nwindow_max_kmh = \"fast\"\n"), 0o644)
	prof := filepath.Join(dir, "b.toml")
	os.WriteFile(prof, []byte(`name = "b"
data_dir = "`+filepath.Join(dir, "data")+`"
[vehicle]
dbc = "`+filepath.Join(root, "board/sim/sim-ev.dbc")+`"
map = "`+filepath.Join(root, "board/sim/sim-ev.toml")+`"
[[can]]
interface = "sim0"
bus = 0
driver = "sim"
[voice]
dialog = "dialog.toml"
`), 0o644)
	var out, errb bytes.Buffer
	code := run([]string{"run", "--board", prof, "--view", "off", "--for", "1s"}, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), filepath.Join(dir, "dialog.toml")) || !strings.Contains(errb.String(), "gates") {
		t.Fatalf("exit %d, want a failed start naming the dialog file and the field:\n%s", code, errb.String())
	}
	// A valid file (a lower window speed) starts.
	os.WriteFile(filepath.Join(dir, "dialog.toml"), []byte("[gates]\nwindow_open_max_kmh = 30\n"), 0o644)
	errb.Reset()
	if code := run([]string{"run", "--board", prof, "--view", "off", "--for", "1s"}, nil, &out, &errb); code != 0 {
		t.Fatalf("valid dialog file: exit %d:\n%s", code, errb.String())
	}
}

// TestRunKeepsModelMemory: a recording agent saves the fault model's
// memory across sleeps in its data directory (diag-memory.bin), and the
// monitor checks' (diag-checks.bin), and reads them at the next start; a
// corrupt file is reported by name, the agent runs on and writes a good
// one.
func TestRunKeepsModelMemory(t *testing.T) {
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "../../..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	data := t.TempDir()
	mem := filepath.Join(data, MemoryFile)
	check := func() time.Time {
		t.Helper()
		b, err := os.ReadFile(mem)
		if err != nil {
			t.Fatal(err)
		}
		var s diag.Stream
		last, err := s.RestoreMemory(b)
		if err != nil || last.IsZero() {
			t.Fatalf("%s: last sample %v, %v", mem, last, err)
		}
		cb, err := os.ReadFile(filepath.Join(data, ChecksMemoryFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := diag.RestoreCheckMemory(cb, diag.NewChecks()); err != nil {
			t.Fatalf("%s: %v", ChecksMemoryFile, err)
		}
		return last
	}
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--view", "off", "--for", "2s", "--sim-speed", "60", "--data", data}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	first := check()
	errb.Reset()
	// The sim's clock starts at the wall clock, so the second run's data
	// begins about 2 s after the first's and its last sample passes the
	// first's only after it covers their 2 simulated minutes: run it
	// twice as long, so that a loaded machine (CI runs packages side by
	// side under -race) lagging by a second or two still passes.
	if code := run([]string{"run", "--view", "off", "--for", "4s", "--sim-speed", "60", "--data", data}, nil, &out, &errb); code != 0 {
		t.Fatalf("second start: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "fault model memory restored") || !strings.Contains(errb.String(), "monitor checks' memory restored") {
		t.Errorf("second start did not restore the memories:\n%s", errb.String())
	}
	if second := check(); !second.After(first) {
		t.Errorf("memory's last sample %v, not after the first run's %v", second, first)
	}
	if err := os.WriteFile(mem, []byte("EVSM not a memory"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, ChecksMemoryFile), []byte("EVCM\x01 not a memory"), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"run", "--view", "off", "--for", "2s", "--sim-speed", "60", "--data", data}, nil, &out, &errb); code != 0 {
		t.Fatalf("corrupt memory: exit %d: %s", code, errb.String())
	}
	if s := errb.String(); !strings.Contains(s, "fault model memory not read") || !strings.Contains(s, MemoryFile) ||
		!strings.Contains(s, "monitor checks' memory not read") || !strings.Contains(s, ChecksMemoryFile) {
		t.Errorf("corrupt memory not reported by name:\n%s", s)
	}
	check()
}
