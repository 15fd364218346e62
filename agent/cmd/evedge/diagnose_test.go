package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/diag/train"
	"github.com/evedge/evedge/agent/sim"
	"github.com/evedge/evedge/drivers/can"
)

// TestDiagnoseKonaHealthy: the real Kona logs (a healthy car) raise no alarm.
func TestDiagnoseKonaHealthy(t *testing.T) {
	dbc := needShared(t, "dbc/hyundai-kona-ev-pcan.dbc")
	logs, _ := filepath.Glob(filepath.Join(shared, "canlogs", "kona-*"))
	var out, errb bytes.Buffer
	args := append([]string{"diagnose", "--dbc", dbc, "--map", "../../../board/vehicles/hyundai-kona-ev.toml"}, logs...)
	if code := run(args, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if out.Len() != 0 || strings.Count(errb.String(), ": 0 alarms and detections") != len(logs) {
		t.Errorf("alarms on healthy logs:\n%s\n%s", out.String(), errb.String())
	}
	// The Kona's map has no cell voltages, coolant or insulation: the model
	// cannot run, and says so.
	if !strings.Contains(errb.String(), "fault model off: the signal map lacks") || !strings.Contains(errb.String(), "CellVoltage.Max") {
		t.Errorf("stderr does not say why the model is off:\n%s", errb.String())
	}
}

// simLog writes a candump log of the simulated car, with faults.
func simLog(t *testing.T, seed uint64, d time.Duration, faults ...sim.FaultSpec) string {
	t.Helper()
	return simLogEdit(t, nil, seed, d, faults...)
}

// simLogEdit is simLog with the sim's configuration edited first.
func simLogEdit(t *testing.T, edit func(*sim.Config), seed uint64, d time.Duration, faults ...sim.FaultSpec) string {
	t.Helper()
	db, cycles, err := sim.LoadDBC("../../../board/sim/sim-ev.dbc")
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	cfg.DBC, cfg.Cycles, cfg.Seed, cfg.Duration = db, cycles, seed, d
	car, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range faults {
		if err := car.Inject(f); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "sim.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := can.NewWriter(f, can.FormatCandump)
	if err != nil {
		t.Fatal(err)
	}
	if err := car.Run(context.Background(), w, 0); err != nil {
		t.Fatal(err)
	}
	w.Close()
	f.Close()
	return path
}

func diagnoseLines(t *testing.T, path string) []diagnoseLine {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run([]string{"diagnose", "--dbc", "../../../board/sim/sim-ev.dbc", "--map", "../../../board/sim/sim-ev.toml", path}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(errb.String(), "fault model off") {
		t.Fatalf("the sim map provides every model input: %s", errb.String())
	}
	var lines []diagnoseLine
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var d diagnoseLine
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, d)
	}
	return lines
}

// TestDiagnoseSimLog runs diagnose over a log of the simulated car with an
// insulation fault growing from minute 5: the rules raise levels 1 and 3,
// the model detects insulation degradation with the resistance as
// evidence.
func TestDiagnoseSimLog(t *testing.T) {
	path := simLog(t, 5, 25*time.Minute, sim.FaultSpec{Kind: sim.FaultInsulation, Severity: 1, Start: 5 * time.Minute, Ramp: 10 * time.Minute})
	levels := map[int]bool{}
	model := 0
	for _, d := range diagnoseLines(t, path) {
		switch {
		case d.Kind == "rule" && d.Fault == "insulation":
			levels[d.Severity] = true
		case d.Kind == "model" && d.Fault == "insulation_degradation":
			model++
			iso, ok := d.Evidence["Vehicle.Private.EvedgeSim.InsulationResistance"].(map[string]any)
			if !ok || d.Confidence <= 0.5 || d.Score < d.Threshold || d.Title == "" || d.Component != "hv_isolation" {
				t.Errorf("model detection %+v", d)
			} else if last, _ := iso["last"].(float64); last > 1000 {
				t.Errorf("insulation evidence %v kΩ: not degraded", iso)
			}
		default:
			t.Errorf("unexpected detection %+v", d)
		}
	}
	if !levels[1] || !levels[3] {
		t.Errorf("insulation levels seen %v; want 1 then 3", levels)
	}
	if model != 1 {
		t.Errorf("%d model detections, want 1", model)
	}
}

// TestDiagnoseSimHealthy: 40 min of a healthy simulated car, a log of
// other seeds than the model's training, raise nothing.
func TestDiagnoseSimHealthy(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 40 min")
	}
	for _, d := range diagnoseLines(t, simLog(t, 31337, 40*time.Minute)) {
		t.Errorf("healthy car: %+v", d)
	}
}

// TestDiagnoseConfigLimits: --config's [diag.limits] replace the GB/T
// thresholds: with the high-temperature item set to 5/6/7 °C, a healthy
// car at 20 °C raises it at level 3; without, nothing. A bad limits table
// is refused with the file's name.
func TestDiagnoseConfigLimits(t *testing.T) {
	log := simLog(t, 4242, 3*time.Minute)
	dir := t.TempDir()
	good := filepath.Join(dir, "car.toml")
	os.WriteFile(good, []byte("[diag.limits]\nbattery_high_temperature = [5, 6, 7]\n"), 0o644)
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[diag.limits]\nbattery_high_temperature = [5, 6]\n"), 0o644)
	args := []string{"diagnose", "--no-model", "--dbc", "../../../board/sim/sim-ev.dbc", "--map", "../../../board/sim/sim-ev.toml"}
	count := func(extra ...string) (int, int, string) {
		var out, errb bytes.Buffer
		code := run(append(append(slices.Clone(args), extra...), log), nil, &out, &errb)
		n, lvl := 0, 0
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var d diagnoseLine
			if json.Unmarshal([]byte(l), &d) == nil && d.Fault == "battery_high_temperature" {
				n++
				lvl = max(lvl, d.Severity)
			}
		}
		if code != 0 {
			return -1, 0, errb.String()
		}
		return n, lvl, errb.String()
	}
	if n, _, e := count(); n != 0 {
		t.Errorf("GB/T defaults: %d high-temperature lines (%s)", n, e)
	}
	if n, lvl, e := count("--config", good); n == 0 || lvl != 3 {
		t.Errorf("limits 5/6/7 °C: %d lines, highest level %d, want level 3 (%s)", n, lvl, e)
	}
	if n, _, e := count("--config", bad); n != -1 || !strings.Contains(e, "bad.toml") {
		t.Errorf("bad limits: lines %d, stderr %q; want a refusal naming bad.toml", n, e)
	}
}

// TestDiagnoseTrace: --trace writes every scored window: one line per
// minute of the log, each with the model's 63 inputs and 9 class logits;
// the first window whose smoothed score reaches the threshold is the
// model detection on stdout, at the same time, score and class. A trace
// file that cannot be created is refused by name.
func TestDiagnoseTrace(t *testing.T) {
	path := simLog(t, 5, 25*time.Minute, sim.FaultSpec{Kind: sim.FaultInsulation, Severity: 1, Start: 5 * time.Minute, Ramp: 10 * time.Minute})
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	var out, errb bytes.Buffer
	if code := run([]string{"diagnose", "--dbc", "../../../board/sim/sim-ev.dbc", "--map", "../../../board/sim/sim-ev.toml", "--trace", trace, path}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var det *diagnoseLine
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var d diagnoseLine
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		if d.Kind == "model" && det == nil {
			det = &d
		}
	}
	if det == nil {
		t.Fatalf("no model detection: %s", out.String())
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 24 || len(lines) > 25 {
		t.Errorf("%d trace lines for a 25 min log, want 24..25 (one a minute)", len(lines))
	}
	var first *traceLine
	for i, l := range lines {
		var tl traceLine
		if err := json.Unmarshal([]byte(l), &tl); err != nil {
			t.Fatalf("trace line %d: %v", i+1, err)
		}
		if tl.File != path || len(tl.Inputs) != diag.NumInputs || len(tl.Logits) != len(train.Classes) || tl.Threshold != train.Threshold || tl.NewRun != (i == 0) {
			t.Fatalf("trace line %d: %s", i+1, l)
		}
		if first == nil && tl.Smoothed >= tl.Threshold {
			first = &tl
		}
	}
	if first == nil || first.T != det.T || math.Abs(first.Smoothed-det.Score) > 1e-3 || first.Class != det.Fault {
		t.Errorf("first window over the threshold %+v, detection %+v", first, det)
	}
	errb.Reset()
	if code := run([]string{"diagnose", "--dbc", "../../../board/sim/sim-ev.dbc", "--map", "../../../board/sim/sim-ev.toml", "--trace", "/nonexistent/dir/t.jsonl", path}, nil, &out, &errb); code == 0 || !strings.Contains(errb.String(), "/nonexistent/dir/t.jsonl") {
		t.Errorf("unwritable trace: exit %d, %s", code, errb.String())
	}
}

// TestDiagnoseSignalLost: the simulated car's insulation monitor stops
// sending (its whole IMD_Status message) 15 min into a drive: diagnose
// reports the insulation input lost once, as a rule line with the
// knowledge base's severity, after its silence passed max(30 s, 10 of its
// periods) and no later than a minute after the onset (the car drives in
// the sim's cycles; a stop would hold the report back, not raise one).
// The model's own view of the dropout is not asserted here.
func TestDiagnoseSignalLost(t *testing.T) {
	const onset = 15 * time.Minute
	path := simLog(t, 7, 25*time.Minute, sim.FaultSpec{Kind: sim.FaultSensorDropout, Signal: "IMD_Status", Start: onset})
	start := logStart(t, path)
	d, at := soleRuleLine(t, diagnoseLines(t, path), start, diag.SignalLostID)
	if d.Kind != "rule" || d.Severity != 2 || d.Component != "vehicle_network" || d.Evidence["path"] != "Vehicle.Private.EvedgeSim.InsulationResistance" {
		t.Errorf("signal_lost line %+v", d)
	}
	silent, _ := d.Evidence["silent_s"].(float64)
	timeout, _ := d.Evidence["timeout_s"].(float64)
	// The silence counts from the last value, up to one period (0.5 s)
	// before the onset.
	if timeout < 30 || silent <= timeout || at < onset+29*time.Second || at > onset+time.Minute {
		t.Errorf("reported %v into the log (onset %v), silent %v s, timeout %v s", at, onset, silent, timeout)
	}
}

// TestDiagnosePackVoltageDrift: the simulated car's pack voltage sensor
// drifts to 8 V low (−2.2 % of about 367 V) over 15 min from minute 20:
// diagnose reports one sensor fault from the pack voltage plausibility
// check, with the 96 cells in series it learnt from the car, once the
// drift passed 1.5 % (5.5 V: 69 % of the ramp, 30.3 min in) and held 5 min,
// and within 15 min of the drift's end. A healthy 2 h drive reports
// nothing (not with -short).
func TestDiagnosePackVoltageDrift(t *testing.T) {
	path := packDriftLog(t)
	start := logStart(t, path)
	d, at := soleRuleLine(t, diagnoseLines(t, path), start, "sensor_fault")
	dev, _ := d.Evidence["deviation_pct"].(float64)
	cells, _ := d.Evidence["cells_in_series"].(float64)
	if d.Evidence["check"] != "pack_voltage" || dev > -1.5 || dev < -2.5 || math.Abs(cells-96) > 0.1 || d.Severity != 2 || d.Component != "sensors" {
		t.Errorf("line %+v", d)
	}
	if at < 35*time.Minute || at > 50*time.Minute {
		t.Errorf("reported %v into the log, want 35..50 min", at)
	}
	if testing.Short() {
		return
	}
	for _, d := range diagnoseLines(t, simLog(t, 3, 2*time.Hour)) {
		t.Errorf("healthy 2 h drive: %+v", d)
	}
}

// packDriftLog simulates 55 min of the sim car whose pack voltage sensor
// drifts 8 V low over 15 min from minute 20.
func packDriftLog(t *testing.T) string {
	return simLog(t, 11, 55*time.Minute, sim.FaultSpec{Kind: sim.FaultSensorDrift, Signal: "BMS_PackStatus.PackVoltage", Severity: -8, Start: 20 * time.Minute, Ramp: 15 * time.Minute})
}

// logStart reads the time of a candump log's first frame, s.
func logStart(t *testing.T, path string) float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var ts float64
	if _, err := fmt.Sscanf(line, "(%f)", &ts); err != nil {
		t.Fatalf("%s: first line %q: %v", path, line, err)
	}
	return ts
}

// TestDiagnoseChargerFault: the simulated car AC-charges at 11 kW from
// 30 % and its on-board charger falls to 1-0.9·0.9 = 19 % of its output
// at minute 20: diagnose reports one charger fault from the charging
// check, 15 low minutes after the fall (35..37 min into the log), with the
// session's best minute near 10 kW (11 kW at 94 % less the car's own use)
// as the reference. The same charge without the fault reports nothing.
func TestDiagnoseChargerFault(t *testing.T) {
	ac := func(c *sim.Config) {
		c.Scenario, c.ParkTime, c.InitialSOC, c.ChargeTarget, c.ACPower, c.Ambient = sim.PhaseAC, -1, 30, 90, 11, 20
	}
	path := simLogEdit(t, ac, 21, 50*time.Minute, sim.FaultSpec{Kind: sim.FaultCharger, Severity: 0.9, Start: 20 * time.Minute})
	start := logStart(t, path)
	d, at := soleRuleLine(t, diagnoseLines(t, path), start, "charger_fault")
	plateau, _ := d.Evidence["plateau_kw"].(float64)
	kw, _ := d.Evidence["charge_kw"].(float64)
	if d.Evidence["check"] != "charging" || plateau < 8.5 || plateau > 10.4 || kw > 0.35*plateau || d.Component != "charger" {
		t.Errorf("line %+v", d)
	}
	if at < 35*time.Minute || at > 37*time.Minute {
		t.Errorf("reported %v into the log, want 35..37 min", at)
	}
	for _, d := range diagnoseLines(t, simLogEdit(t, ac, 21, 50*time.Minute)) {
		t.Errorf("healthy charge: %+v", d)
	}
}

// TestDiagnoseThermalRunaway: a cell of the parked simulated car heats
// itself with 150 W from minute 10 (its module warms 0.29 K/min at
// first, TestFaultThermalRunaway): diagnose reports one thermal runaway
// precursor from the module self-heating check once the spread passed
// 3 K with a 20-minute rise of 1.5 K or more (about 21 min in), before the
// GB/T temperature difference rule (10 K), and within 40 min. The parked
// car without the fault, and an AC charge (TestDiagnoseChargerFault),
// report nothing.
func TestDiagnoseThermalRunaway(t *testing.T) {
	park := func(c *sim.Config) { c.Scenario, c.ParkTime, c.Ambient = sim.PhasePark, 3*time.Hour, 20 }
	path := simLogEdit(t, park, 23, 70*time.Minute, sim.FaultSpec{Kind: sim.FaultThermalRunaway, Target: 40, Severity: 1, Start: 10 * time.Minute})
	start := logStart(t, path)
	lines := diagnoseLines(t, path)
	var tempDiff float64
	for _, d := range lines {
		if d.Kind == "rule" && d.Fault == "temperature_difference" && tempDiff == 0 {
			tempDiff = d.T
		}
	}
	d, at := soleRuleLine(t, lines, start, "thermal_runaway_precursor")
	spread, _ := d.Evidence["spread_k"].(float64)
	if d.Evidence["check"] != "module_self_heating" || spread < 3 || d.Severity != 3 || d.Component != "traction_battery" {
		t.Errorf("line %+v", d)
	}
	if at < 20*time.Minute || at > 40*time.Minute || (tempDiff != 0 && tempDiff < d.T) {
		t.Errorf("reported %v into the log; the temperature difference rule at %.0f s", at, tempDiff-start)
	}
	for _, d := range diagnoseLines(t, simLogEdit(t, park, 23, 70*time.Minute)) {
		t.Errorf("healthy parked car: %+v", d)
	}
}

// soleRuleLine returns the one rule line of fault among lines and its time
// into the log (start: the log's first frame, s); fails the test unless
// there is exactly one.
func soleRuleLine(t *testing.T, lines []diagnoseLine, start float64, fault string) (diagnoseLine, time.Duration) {
	t.Helper()
	var got []diagnoseLine
	for _, d := range lines {
		if d.Kind == "rule" && d.Fault == fault {
			got = append(got, d)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d %s rule lines, want 1: %+v", len(got), fault, got)
	}
	return got[0], time.Duration((got[0].T - start) * float64(time.Second))
}

// TestDiagnoseFrozenCurrent: the simulated car's pack current sensor
// sticks at minute 10 of a drive; diagnose reports one sensor fault from
// the frozen-sensor check, naming the pack current, no earlier than 2 min
// after the sensor stuck (the check's span) and while the car drives on.
// The same drive without the fault reports nothing.
func TestDiagnoseFrozenCurrent(t *testing.T) {
	const seed = 5
	path := simLog(t, seed, 40*time.Minute, sim.FaultSpec{Kind: sim.FaultSensorStuck, Signal: "BMS_PackStatus.PackCurrent", Start: 10 * time.Minute, Severity: 1})
	start := logStart(t, path)
	d, at := soleRuleLine(t, diagnoseLines(t, path), start, "sensor_fault")
	cur, okC := d.Evidence["Vehicle.Powertrain.TractionBattery.CurrentCurrent"].(float64)
	moved, _ := d.Evidence["partner_range"].(float64)
	if d.Evidence["check"] != "frozen_sensor" || !okC || cur == 0 || moved < 15 || d.Component != "sensors" {
		t.Errorf("line %+v", d)
	}
	if at < 12*time.Minute || at > 40*time.Minute {
		t.Errorf("reported %v into the log, want 12..40 min", at)
	}
	t.Logf("reported %v into the log, %v after the sensor stuck; evidence %v", at, at-10*time.Minute, d.Evidence)
	for _, d := range diagnoseLines(t, simLog(t, seed, 40*time.Minute)) {
		if d.Fault == "sensor_fault" {
			t.Errorf("healthy drive: %+v", d)
		}
	}
}

// TestDiagnosePackCurrentOffset: the simulated car stands 2 min with its
// high voltage on, then parks with its contactors open (the map reads BMS_HVStatus.MainPositiveClosed as
// IsPowerConnected) and its pack current sensor drifts 16 A off zero
// from minute 10, towards charge or towards discharge. Nothing flows with
// the contactors open, so the open-contactor check reports a sensor
// fault naming the 16 A: the blocks [10, 10.5), [10.5, 11) and [11,
// 11.5) min read it, so the third ends 11.5 min into the log (measured
// 11 min 31 s: the log starts a second in; want 11..13 min). The
// rest-current check, which alone could judge only the drift towards
// charge, leaves open-contactor seconds to it: one line. The same parked
// car without the drift reports nothing.
func TestDiagnosePackCurrentOffset(t *testing.T) {
	// Two minutes standing with the high voltage on (the contactor state
	// reads closed: the check trusts the bit from then on), then parked.
	park := func(c *sim.Config) {
		c.Scenario, c.IdleTime, c.ParkTime, c.Ambient = sim.PhaseIdle+","+sim.PhasePark, 2*time.Minute, 3*time.Hour, 20
	}
	for _, sev := range []float64{-16, 16} { // BMS sign: positive out of the pack
		path := simLogEdit(t, park, 29, 14*time.Minute, sim.FaultSpec{Kind: sim.FaultSensorDrift, Signal: "BMS_PackStatus.PackCurrent", Start: 10 * time.Minute, Severity: sev})
		start := logStart(t, path)
		d, at := soleRuleLine(t, diagnoseLines(t, path), start, "sensor_fault")
		cur, _ := d.Evidence["current_contactors_open_a"].(float64)
		if d.Evidence["check"] != "pack_current_contactors_open" || math.Abs(cur+sev) > 1 || d.Component != "sensors" {
			t.Errorf("drift %v: line %+v", sev, d)
		}
		if at < 11*time.Minute || at > 13*time.Minute {
			t.Errorf("drift %v: reported %v into the log, want 11..13 min", sev, at)
		}
		t.Logf("drift %v: reported %v into the log, evidence %v", sev, at, d.Evidence)
	}
	for _, d := range diagnoseLines(t, simLogEdit(t, park, 29, 14*time.Minute)) {
		t.Errorf("healthy parked car: %+v", d)
	}
}

// TestDiagnosePackCurrentOffsetIdle: the simulated car stands with its
// high voltage on (contactors closed, the auxiliaries drawing) and its
// pack current sensor drifts 16 A towards charge from minute 10: the
// rest-current check reports it (three minutes over 3 A into the pack,
// 13..15 min into the log). The same car without the drift reports
// nothing.
func TestDiagnosePackCurrentOffsetIdle(t *testing.T) {
	idle := func(c *sim.Config) { c.Scenario, c.ParkTime, c.Ambient = sim.PhaseIdle, -1, 20 }
	path := simLogEdit(t, idle, 29, 16*time.Minute, sim.FaultSpec{Kind: sim.FaultSensorDrift, Signal: "BMS_PackStatus.PackCurrent", Start: 10 * time.Minute, Severity: -16})
	start := logStart(t, path)
	d, at := soleRuleLine(t, diagnoseLines(t, path), start, "sensor_fault")
	cur, _ := d.Evidence["current_at_rest_a"].(float64)
	if d.Evidence["check"] != "pack_current_at_rest" || cur < 8 || cur > 17 || d.Component != "sensors" {
		t.Errorf("line %+v", d)
	}
	if at < 13*time.Minute || at > 15*time.Minute {
		t.Errorf("reported %v into the log, want 13..15 min", at)
	}
	t.Logf("reported %v into the log, evidence %v", at, d.Evidence)
	for _, d := range diagnoseLines(t, simLogEdit(t, idle, 29, 16*time.Minute)) {
		t.Errorf("healthy standing car: %+v", d)
	}
}

// slowACCharge is the simulated car on a 3.7 kW AC charge from 40 % to
// 90 % at 20 °C, for the charge-lag and charge-lead checks.
func slowACCharge(c *sim.Config) {
	c.Scenario, c.ParkTime, c.InitialSOC, c.ChargeTarget, c.ACPower, c.Ambient = sim.PhaseAC, -1, 40, 90, 3.7, 20
}

// TestDiagnoseChargeCellLag: one cell of the simulated car shorts at the
// start of a 3.7 kW AC charge. Current flows through every cell in series,
// so only the short makes the lowest cell fall behind the others faster
// than any capacity difference: the charge-lag check reports an internal
// short at least 30 min before the GB/T cell consistency rule (60 mV)
// trips (measured: 51 min into the log against 3 h 30 min). The same
// charge without the short reports nothing.
func TestDiagnoseChargeCellLag(t *testing.T) {
	ac := slowACCharge
	path := simLogEdit(t, ac, 31, 4*time.Hour, sim.FaultSpec{Kind: sim.FaultCellShort, Target: 17, Severity: 1})
	start := logStart(t, path)
	lines := diagnoseLines(t, path)
	var consistency float64
	for _, d := range lines {
		if d.Kind == "rule" && d.Fault == "cell_consistency" && consistency == 0 {
			consistency = d.T
		}
	}
	d, at := soleRuleLine(t, lines, start, "cell_internal_short")
	ratio, _ := d.Evidence["lag_per_soc_gained"].(float64)
	lag, _ := d.Evidence["lag_pct_soc"].(float64)
	if d.Evidence["check"] != "charge_cell_lag" || ratio < 0.2 || lag < 1 || d.Component != "traction_battery" {
		t.Errorf("line %+v", d)
	}
	if consistency == 0 || consistency-d.T < 30*60 {
		t.Errorf("reported %v into the log; the cell consistency rule at %.0f s: want it 30 min later or more", at, consistency-start)
	}
	t.Logf("reported %v into the log; cell consistency rule at %.0f s; evidence %v", at, consistency-start, d.Evidence)
	for _, d := range diagnoseLines(t, simLogEdit(t, ac, 31, 4*time.Hour)) {
		t.Errorf("healthy charge: %+v", d)
	}
}

// TestDiagnoseFrozenMotorTemp: the simulated car's motor thermistor
// sticks 5 min into a drive from cold while the inverter beside it warms:
// the frozen-sensor check reports the motor reading once it has held
// 45 min with the inverter's reading over a range of 20 K or more. The
// same drive without the fault reports no sensor fault.
func TestDiagnoseFrozenMotorTemp(t *testing.T) {
	const seed = 7
	cold := func(c *sim.Config) { c.Ambient = -5 }
	path := simLogEdit(t, cold, seed, 80*time.Minute, sim.FaultSpec{Kind: sim.FaultSensorStuck, Signal: "MCU_Temps.MotorTemp", Start: 5 * time.Minute, Severity: 1})
	start := logStart(t, path)
	d, at := soleRuleLine(t, diagnoseLines(t, path), start, "sensor_fault")
	moved, _ := d.Evidence["partner_range"].(float64)
	if _, ok := d.Evidence["Vehicle.Powertrain.ElectricMotor.Temperature"]; d.Evidence["check"] != "frozen_sensor" || !ok || moved < 20 || d.Component != "sensors" {
		t.Errorf("line %+v", d)
	}
	if at < 45*time.Minute || at > 51*time.Minute {
		// 45 min held: the reading stuck at 5 min had not changed since
		// a little before (whole degrees), hence a report from 45 min.
		t.Errorf("reported %v into the log, want 45..51 min", at)
	}
	t.Logf("reported %v into the log; evidence %v", at, d.Evidence)
	for _, d := range diagnoseLines(t, simLogEdit(t, cold, seed, 80*time.Minute)) {
		if d.Fault == "sensor_fault" {
			t.Errorf("healthy drive: %+v", d)
		}
	}
}

// TestDiagnoseCellResistance: a cell of the simulated car drives with
// five times its resistance (severity 1) from minute 5 of a drive. When
// the discharge current swings, its voltage swings 4 times the average
// cell's extra: the cell-resistance check reports a weak cell
// (cell_capacity_outlier) with a ratio ΔR/R well over its limit of 1,
// once 5 judged minutes are pooled and 3 are in a row. The same drive
// without the fault reports nothing.
func TestDiagnoseCellResistance(t *testing.T) {
	const seed = 11
	path := simLog(t, seed, 25*time.Minute, sim.FaultSpec{Kind: sim.FaultCellResistance, Target: 17, Start: 5 * time.Minute, Severity: 1})
	start := logStart(t, path)
	d, at := soleRuleLine(t, diagnoseLines(t, path), start, "cell_capacity_outlier")
	ratio, _ := d.Evidence["extra_resistance_ratio"].(float64)
	if d.Evidence["check"] != "cell_resistance" || ratio < 2 || d.Component != "traction_battery" {
		t.Errorf("line %+v", d)
	}
	if at < 12*time.Minute || at > 25*time.Minute {
		t.Errorf("reported %v into the log, want 12..25 min", at)
	}
	t.Logf("reported %v into the log; evidence %v", at, d.Evidence)
	for _, d := range diagnoseLines(t, simLog(t, seed, 25*time.Minute)) {
		t.Errorf("healthy drive: %+v", d)
	}
}

// TestDiagnoseChargeCellLead: a cell of the simulated car keeps 70 % of
// its capacity (severity 0.6) through a 3.7 kW AC charge: it gains SOC
// 1/0.7 times as fast as the others, so the highest cell pulls ahead of
// the average by 0.43 % of SOC for every % gained, over the lead check's
// 0.3 (measured: 0.32, reported 78 min into the log): a capacity
// outlier. The healthy charge of
// TestDiagnoseChargeCellLag reports nothing.
func TestDiagnoseChargeCellLead(t *testing.T) {
	ac := slowACCharge
	path := simLogEdit(t, ac, 31, 2*time.Hour, sim.FaultSpec{Kind: sim.FaultCellCapacity, Target: 17, Severity: 0.6})
	start := logStart(t, path)
	d, at := soleRuleLine(t, diagnoseLines(t, path), start, "cell_capacity_outlier")
	ratio, _ := d.Evidence["lead_per_soc_gained"].(float64)
	if d.Evidence["check"] != "charge_cell_lead" || ratio < 0.3 || d.Component != "traction_battery" {
		t.Errorf("line %+v", d)
	}
	t.Logf("reported %v into the log; evidence %v", at, d.Evidence)
}

// sleepLog rewrites the candump log at path without the lines from from
// to to after its first line: the car's bus silent while it sleeps.
func sleepLog(t *testing.T, path string, from, to time.Duration) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start := logStart(t, path)
	var out strings.Builder
	for _, line := range strings.SplitAfter(string(b), "\n") {
		var ts float64
		if _, err := fmt.Sscanf(line, "(%f)", &ts); err == nil {
			if d := time.Duration((ts - start) * float64(time.Second)); d >= from && d < to {
				continue
			}
		}
		out.WriteString(line)
	}
	slept := filepath.Join(t.TempDir(), "slept.log")
	if err := os.WriteFile(slept, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return slept
}

// TestDiagnoseSelfDischarge: the simulated car stands parked (high
// voltage off) at 25 % with one cell shorted through 1 Ω (about 2 %
// of its charge an hour), and its bus sleeps from minute 8 to minute 140.
// At the wake-up the lowest cell has fallen away from the average it
// rested at: the self-discharge check reports an internal short in the
// first minutes after it (the woken BMS's first minute is skipped, two
// judged minutes raise). The same park without the short reports
// nothing. Skipped under -race (a 2.5 h simulation; `make test` runs it
// without).
func TestDiagnoseSelfDischarge(t *testing.T) {
	if raceEnabled {
		t.Skip("a 2.5 h simulation: run without -race (make test-unit does)")
	}
	park := func(c *sim.Config) {
		c.Scenario, c.ParkTime, c.InitialSOC, c.Ambient = sim.PhasePark, 10*time.Hour, 25, 20
	}
	const d = 150 * time.Minute
	path := sleepLog(t, simLogEdit(t, park, 41, d, sim.FaultSpec{Kind: sim.FaultCellShort, Target: 17, Severity: 1}), 8*time.Minute, 140*time.Minute)
	start := logStart(t, path)
	got, at := soleRuleLine(t, diagnoseLines(t, path), start, "cell_internal_short")
	growth, _ := got.Evidence["gap_growth_mv"].(float64)
	hours, _ := got.Evidence["rest_hours"].(float64)
	if got.Evidence["check"] != "cell_self_discharge" || growth < 20 || hours < 2 || got.Component != "traction_battery" {
		t.Errorf("line %+v", got)
	}
	if at < 142*time.Minute || at > 145*time.Minute {
		t.Errorf("reported %v into the log, want 142..145 min", at)
	}
	t.Logf("reported %v into the log, evidence %v", at, got.Evidence)
	for _, l := range diagnoseLines(t, sleepLog(t, simLogEdit(t, park, 41, d), 8*time.Minute, 140*time.Minute)) {
		t.Errorf("healthy parked car: %+v", l)
	}
}
