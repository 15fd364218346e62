package detect

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/diag/kb"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/sim"
	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/models/fault"
	int8nn "github.com/evedge/evedge/models/int8"
)

const (
	simDBC = "../../../board/sim/sim-ev.dbc"
	simMap = "../../../board/sim/sim-ev.toml"
)

func loadModel(t testing.TB) *int8nn.Model {
	t.Helper()
	m, err := fault.Load()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// drive runs the sim for d with the given faults through the agent's real
// signal path: CAN frames, the sim DBC, the sim signal map, a last-known
// value table read the way the agent reads it (values at most 10 s old),
// and a Detector stepped once a second of sim time.
func drive(t *testing.T, tweak func(*sim.Config), d time.Duration, faults ...sim.FaultSpec) ([]*Change, *signals.Table) {
	t.Helper()
	det, err := New(loadModel(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var changes []*Change
	table := busDrive(t, tweak, d, faults, func(now time.Time, read diag.Read) {
		c, err := det.Step(now, read)
		if err != nil {
			t.Fatal(err)
		}
		if c != nil {
			changes = append(changes, c)
		}
	})
	return changes, table
}

// busDrive runs the sim for d with the given faults through the sim DBC
// and signal map into a last-known value table and calls step once a
// second of sim time with a reader of that table (values at most 10 s
// old, as the agent reads them).
func busDrive(t *testing.T, tweak func(*sim.Config), d time.Duration, faults []sim.FaultSpec, step func(time.Time, diag.Read)) *signals.Table {
	t.Helper()
	db, cycles, err := sim.LoadDBC(simDBC)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := signals.LoadMap(simMap)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(mp); err != nil {
		t.Fatal(err)
	}
	cfg := sim.DefaultConfig()
	cfg.DBC, cfg.Cycles = db, cycles
	cfg.Start = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range faults {
		if err := s.Inject(f); err != nil {
			t.Fatal(err)
		}
	}
	table := signals.NewTable(db)
	var frames []can.Frame
	var vals []signals.Value
	for s.Elapsed() < d {
		s.Step(time.Second)
		now := s.Now()
		frames = s.Frames(now.UnixNano(), frames[:0])
		for i := range frames {
			if m := db.Lookup(&frames[i]); m != nil {
				vals = m.Decode(&frames[i], vals[:0])
				table.Update(vals, frames[i].Time)
			}
		}
		step(now, func(p string) (float64, bool) {
			smp, ok := table.Get(p)
			if !ok || smp.Count == 0 || now.Sub(smp.Time) > 10*time.Second {
				return 0, false
			}
			return smp.Value, true
		})
	}
	return table
}

// TestHealthyDrives: ordinary healthy use raises nothing.
func TestHealthyDrives(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("simulates 3 h (runs without -short and -race)")
	}
	t.Parallel()
	for _, tc := range []struct {
		name     string
		scenario string
		ambient  float64
	}{
		{"mild mixed", "urban,highway,park,wltp", 18},
		{"cold commute", "wltp,idle,urban", -5},
	} {
		changes, _ := drive(t, func(c *sim.Config) {
			c.Scenario, c.Ambient, c.Seed = tc.scenario, tc.ambient, 77
		}, 90*time.Minute)
		for _, c := range changes {
			t.Errorf("%s: healthy car: %s %s at score %.1f (threshold %.1f)", tc.name, map[bool]string{true: "raised", false: "cleared"}[c.Raised], c.Fault, c.Score, c.Threshold)
		}
	}
}

// TestInsulationFault: an HV insulation fault (10 kΩ leak, far below the
// 100 Ω/V of GB/T 18384) is detected and classified, and its diagnosis
// carries the evidence, the window and the knowledge base's text.
func TestInsulationFault(t *testing.T) {
	t.Parallel()
	onset := 10 * time.Minute
	changes, table := drive(t, func(c *sim.Config) { c.Scenario, c.Seed = "urban,highway", 5 }, 25*time.Minute,
		sim.FaultSpec{Kind: sim.FaultInsulation, Start: onset, Severity: 1})
	if len(changes) == 0 {
		t.Fatal("no detection")
	}
	c := changes[0]
	if !c.Raised || c.Fault != "insulation_degradation" {
		t.Fatalf("first change: raised %v %s, want raised insulation_degradation", c.Raised, c.Fault)
	}
	if lag := c.Time.Sub(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC).Add(onset)); lag < 0 || lag > 10*time.Minute {
		t.Errorf("detected %v after onset, want within 10 min", lag)
	}
	if c.Score < c.Threshold || c.Confidence <= 0.5 || c.Confidence > 1 {
		t.Errorf("score %.2f (threshold %.2f), confidence %.3f", c.Score, c.Threshold, c.Confidence)
	}
	// The sim's 10 kΩ leak in parallel with a healthy multi-MΩ insulation.
	iso := c.Evidence["Vehicle.Private.EvedgeSim.InsulationResistance"]
	if iso.N == 0 || iso.Last > 11 || iso.Last < 9 {
		t.Errorf("evidence insulation %+v kΩ, want about 10 kΩ", iso)
	}
	if len(c.Window) != 60 {
		t.Errorf("window of %d samples, want 60", len(c.Window))
	}
	k, err := kb.Load()
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) (float64, bool) {
		s, ok := table.Get(p)
		return s.Value, ok && s.Count > 0
	}
	d := Describe(c, k, read, []string{"P0AA6"}, true)
	if d.Kind != "model" || d.State != "raised" || d.Component != "hv_isolation" || !d.HighVoltage || d.Severity < 2 {
		t.Errorf("diagnosis %s %s component %s hv %v severity %d", d.Kind, d.State, d.Component, d.HighVoltage, d.Severity)
	}
	for _, l := range kb.Languages() {
		tx, ok := d.Text[l]
		if !ok || tx.Title == "" || len(tx.Causes) == 0 || len(tx.Checks) == 0 || len(tx.Repair) == 0 || len(tx.Safety) == 0 {
			t.Errorf("text %s: %+v", l, tx)
		}
	}
	if !strings.ContainsFunc(d.Text["zh"].Title, func(r rune) bool { return r >= 0x4E00 && r <= 0x9FFF }) {
		t.Errorf("zh title %q has no Chinese", d.Text["zh"].Title)
	}
	if _, ok := d.Evidence["Vehicle.Private.EvedgeSim.InsulationResistance"]; !ok {
		t.Errorf("evidence %v lacks the insulation resistance", d.Evidence)
	}
	if len(d.DTCs) != 1 || d.Window == nil || len(d.Window.Samples) != 60 || len(d.Window.Paths) != diag.NumModelInputs {
		t.Errorf("dtcs %v, window %+v", d.DTCs, d.Window)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back Diagnosis
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Fault != d.Fault || back.Text["de"].Title != d.Text["de"].Title || len(back.Window.Samples) != 60 {
		t.Errorf("JSON round trip lost data: %s", b[:min(300, len(b))])
	}
}

// TestCurrentSign: the detector reads VSS's current (positive into the
// battery) and gives the model the BMS convention it was trained on.
func TestCurrentSign(t *testing.T) {
	det, err := New(loadModel(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1e9, 0)
	read := func(p string) (float64, bool) {
		if p == "Vehicle.Powertrain.TractionBattery.CurrentCurrent" {
			return 100, true // charging at 100 A
		}
		return 0, false
	}
	if _, err := det.Step(now, read); err != nil {
		t.Fatal(err)
	}
	if got := det.x[diag.InPackI]; got != -100 {
		t.Errorf("model sample current %v, want -100 (discharge positive)", got)
	}
	if got := det.vss[0][diag.InPackI]; got != 100 {
		t.Errorf("evidence current %v, want 100 as read", got)
	}
}

// TestGapStartsRun: a pause longer than Gap starts a new run, so a window
// never spans the gap.
func TestGapStartsRun(t *testing.T) {
	det, err := New(loadModel(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	read := func(string) (float64, bool) { return 1, true }
	t0 := time.Unix(1e9, 0)
	for i := range 30 {
		det.Step(t0.Add(time.Duration(i)*time.Second), read)
	}
	t1 := t0.Add(time.Hour)
	for i := range 59 {
		det.Step(t1.Add(time.Duration(i)*time.Second), read)
		if det.windows != 0 {
			t.Fatalf("a window completed %d s after the gap", i+1)
		}
	}
	det.Step(t1.Add(59*time.Second), read)
	if det.windows != 1 {
		t.Errorf("%d windows after 60 s of the new run, want 1", det.windows)
	}
}

// TestSilentBusStartsRun: stepped every second through a silent bus (as
// diagnose and the agent's clock do), the seconds without any input are
// no samples, and a silence longer than Gap starts a new run: no window
// is made of the silence, and the first window after it needs 60 s of
// new data.
func TestSilentBusStartsRun(t *testing.T) {
	det, err := New(loadModel(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := func(string) (float64, bool) { return 1, true }
	silent := func(string) (float64, bool) { return 0, false }
	t0 := time.Unix(1e9, 0)
	sec := 0
	for range 30 {
		det.Step(t0.Add(time.Duration(sec)*time.Second), data)
		sec++
	}
	for range 600 { // 10 min asleep
		if c, _ := det.Step(t0.Add(time.Duration(sec)*time.Second), silent); c != nil || det.windows != 0 {
			t.Fatalf("the silence made a window (%d) or a change %+v", det.windows, c)
		}
		sec++
	}
	for i := range 59 {
		det.Step(t0.Add(time.Duration(sec)*time.Second), data)
		sec++
		if det.windows != 0 {
			t.Fatalf("a window completed %d s after the bus woke", i+1)
		}
	}
	det.Step(t0.Add(time.Duration(sec)*time.Second), data)
	if det.windows != 1 {
		t.Errorf("%d windows after 60 s of the new run, want 1", det.windows)
	}
	// A short silence (under Gap) does not restart the run: 20 s of data
	// after 60 s of silence completes the next window at 60 samples.
	for range 60 {
		sec++
		det.Step(t0.Add(time.Duration(sec)*time.Second), silent)
	}
	for range 60 {
		sec++
		det.Step(t0.Add(time.Duration(sec)*time.Second), data)
	}
	if det.windows != 2 {
		t.Errorf("%d windows after a short silence and 60 more samples, want 2", det.windows)
	}
}

// TestNewChecksModel: a model for other inputs or classes is refused with
// the input it disagrees on.
func TestNewChecksModel(t *testing.T) {
	m := loadModel(t)
	bad := *m
	bad.Inputs = append([]int8nn.Input(nil), m.Inputs...)
	bad.Inputs[3].Name = "something_else"
	if _, err := New(&bad, Options{}); err == nil || !strings.Contains(err.Error(), "something_else") {
		t.Errorf("renamed input: %v", err)
	}
	bad.Inputs = bad.Inputs[:5]
	if _, err := New(&bad, Options{}); err == nil || !strings.Contains(err.Error(), "5 inputs") {
		t.Errorf("5 inputs: %v", err)
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("nil model accepted")
	}
}

// TestMissing: the Kona's signal map (a real car's CAN, board/vehicles)
// lacks cell voltages, coolant and insulation, so the model stays off
// for it; the sim's map provides every input.
func TestMissing(t *testing.T) {
	for _, tc := range []struct {
		file string
		none bool
	}{{simMap, true}, {"../../../board/vehicles/hyundai-kona-ev.toml", false}} {
		mp, err := signals.LoadMap(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, s := range mp.Signals {
			have[s.VSS] = true
		}
		miss := Missing(func(p string) bool { return have[p] })
		if tc.none != (len(miss) == 0) {
			t.Errorf("%s: missing %v", tc.file, miss)
		}
		if !tc.none && !strings.Contains(strings.Join(miss, " "), "CellVoltage.Max") {
			t.Errorf("%s: missing %v, want CellVoltage.Max among them", tc.file, miss)
		}
	}
}

func TestNumJSON(t *testing.T) {
	b, err := json.Marshal([]Num{1.5, Num(math.NaN()), Num(math.Inf(1))})
	if err != nil || string(b) != "[1.5,null,null]" {
		t.Fatalf("%s %v", b, err)
	}
}

// BenchmarkStep: one second of a live vehicle (19 table reads, a window
// every 60 steps with the int8 model).
func BenchmarkStep(b *testing.B) {
	det, err := New(loadModel(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	vals := map[string]float64{}
	for i, p := range diag.ModelInputPaths {
		vals[p] = float64(10 + i)
	}
	read := func(p string) (float64, bool) { v, ok := vals[p]; return v, ok }
	t0 := time.Unix(1e9, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		det.Step(t0.Add(time.Duration(i)*time.Second), read)
	}
}

// TestSleepKeepsSameSOC: after a silence longer than Gap the detector
// starts a new run that still compares the cells at the same SOC with the
// run before (diag.Stream.Continue): 30 min with the lowest cell 10 mV
// under the average at 60 % SOC, 2 h asleep, then 40 mV at the same SOC
// gives a same-SOC rise of 30 mV and a rate of 30 mV / 2.5 h = 12 mV/h in
// the first window after the wake-up, also in a detector restored from
// the first one's memory. Data going back in time (another log) forgets
// it.
func TestSleepKeepsSameSOC(t *testing.T) {
	det, err := New(loadModel(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var last Scored
	det.SetTrace(func(w Scored) { last = w; last.Inputs = slices.Clone(w.Inputs) })
	gap := 0.010
	vals := map[string]float64{}
	for i, p := range diag.ModelInputPaths {
		vals[p] = []float64{3.72, 0, 3.70, 25, 24, 370, 0, 60, 25, 25, 0, 5000, 14, 30, 30, 0, 0, 0, 20}[i]
	}
	read := func(p string) (float64, bool) {
		if p == diag.ModelInputPaths[diag.InCellMin] {
			return 3.70 - gap, true
		}
		v, ok := vals[p]
		return v, ok
	}
	rise, rate := diag.NumFeatures+diag.LCellSameSOCRise, diag.NumFeatures+diag.LCellSameSOCRate
	t0 := time.Unix(1e9, 0)
	for s := range 30 * 60 {
		det.Step(t0.Add(time.Duration(s)*time.Second), read)
	}
	if last.Inputs[rise] != 0 || last.NewRun {
		t.Fatalf("before the sleep: rise %v, new run %v", last.Inputs[rise], last.NewRun)
	}
	// The same memory carried by a second detector (an agent that
	// powered down with the car and started again) gives the same.
	restarted, err := New(loadModel(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := restarted.Restore(det.AppendMemory(nil)); err != nil {
		t.Fatal(err)
	}
	gap = 0.040
	wake := t0.Add(30*time.Minute + 2*time.Hour)
	for _, d := range []*Detector{det, restarted} {
		d.SetTrace(func(w Scored) { last = w; last.Inputs = slices.Clone(w.Inputs) })
		for s := range 60 {
			d.Step(wake.Add(time.Duration(s)*time.Second), read)
		}
		if !last.NewRun || math.Abs(float64(last.Inputs[rise])-30) > 0.05 || math.Abs(float64(last.Inputs[rate])-12) > 0.05 {
			t.Errorf("first window after 2 h asleep (restarted %v): new run %v, rise %v mV, rate %v mV/h; want true, 30, 12", d == restarted, last.NewRun, last.Inputs[rise], last.Inputs[rate])
		}
	}
	if err := restarted.Restore([]byte("EVSM garbage")); err == nil || restarted.AppendMemory(nil) != nil {
		t.Errorf("a corrupt memory: %v; the detector must start afresh", err)
	}
	for s := range 60 { // an older log
		det.Step(t0.Add(time.Duration(s)*time.Second), read)
	}
	if !last.NewRun || last.Inputs[rise] != 0 {
		t.Errorf("after time went back: new run %v, rise %v; want a fresh run", last.NewRun, last.Inputs[rise])
	}
}

// TestInverterCoolingThroughCAN: the sim board's map gives the inverter
// cooling check its drive loop (MCU_Temps.CoolantTemp and
// CoolantPumpDuty), so an inverter that loses its cold plate is reported
// through the real signal path, and the same drive without the fault
// reports nothing.
func TestInverterCoolingThroughCAN(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("simulates 3 h (runs without -short and -race)")
	}
	t.Parallel()
	onset := 40 * time.Minute
	start := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	tweak := func(c *sim.Config) { c.Scenario, c.Ambient, c.Seed = "highway,urban,highway", 25, 11 }
	for _, faulty := range []bool{true, false} {
		var faults []sim.FaultSpec
		if faulty {
			faults = []sim.FaultSpec{{Kind: sim.FaultInverterOverheat, Start: onset, Ramp: 10 * time.Minute, Severity: 1}}
		}
		chk := diag.NewInverterCoolingCheck()
		var changes []*diag.CheckChange
		busDrive(t, tweak, 90*time.Minute, faults, func(now time.Time, read diag.Read) {
			if c := chk.Step(now, read); c != nil {
				changes = append(changes, c)
			}
		})
		if !faulty {
			for _, c := range changes {
				t.Errorf("healthy inverter: raised %v at %v: %v", c.Raised, c.Time.Sub(start), c.Evidence)
			}
			continue
		}
		// The fault is at full strength 10 min after its onset; the check
		// needs 3 pools in a row of 10 minutes over 3 times its line.
		if len(changes) != 1 || !changes[0].Raised || changes[0].Fault != "motor_inverter_overheating" {
			t.Fatalf("faulty inverter: changes %+v, want one raise", changes)
		}
		c := changes[0]
		if c.Since.Before(start.Add(onset)) || c.Time.After(start.Add(onset+30*time.Minute)) {
			t.Errorf("raised at %v since %v, want since the onset at %v and within 30 min of it", c.Time.Sub(start), c.Since.Sub(start), onset)
		}
		if c.Evidence["ratio"] < 3 || c.Evidence["pump_duty_pct"] <= 0 {
			t.Errorf("evidence %v", c.Evidence)
		}
	}
}
