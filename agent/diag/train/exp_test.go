package train

import (
	"context"
	"encoding/gob"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/sim"
	int8nn "github.com/evedge/evedge/models/int8"
)

// TestExperiment (EVEDGE_EXP=1) caches simulated runs under /tmp and
// trains and evaluates a variant in one go: a development harness.
func TestExperiment(t *testing.T) {
	if os.Getenv("EVEDGE_EXP") == "" {
		t.Skip("EVEDGE_EXP not set")
	}
	db, _, err := sim.LoadDBC(dbcPath)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := Options{DBC: db}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	dir := "/tmp/evexp"
	if os.Getenv("EVEDGE_BREAKS") != "" { // pauses in the data (Options.Breaks): their own cache
		opts.Breaks, dir = true, "/tmp/evexp-breaks"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	load := func(name string, scs []Scenario) []Run {
		p := filepath.Join(dir, name+".gob")
		if f, err := os.Open(p); err == nil {
			var runs []Run
			err := gob.NewDecoder(f).Decode(&runs)
			f.Close()
			if err == nil && len(runs) == len(scs) {
				return runs
			}
		}
		t0 := time.Now()
		runs, err := simulateAll(context.Background(), scs, db, opts.Workers)
		if err != nil {
			t.Fatal(err)
		}
		// A missing or stale cache (above) is simulated again; one that
		// cannot be written fails the experiment.
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := gob.NewEncoder(f).Encode(runs); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("simulated %s in %v", name, time.Since(t0))
		return runs
	}
	tname := "train"
	if v := os.Getenv("EVEDGE_RPF"); v != "" {
		fmt.Sscan(v, &opts.RunsPerFault)
	}
	if v := os.Getenv("EVEDGE_HEALTHY"); v != "" { // healthy training runs (Options.HealthyRuns)
		fmt.Sscan(v, &opts.HealthyRuns)
	}
	if opts.RunsPerFault != 30 {
		tname = fmt.Sprintf("train%d", opts.RunsPerFault)
	}
	if opts.HealthyRuns != 300 {
		tname += fmt.Sprintf("h%d", opts.HealthyRuns)
	}
	tscs := scenarios(db, trainSeedBase, opts.HealthyRuns, span{1, 4, 0}, opts.RunsPerFault, span{1, 2, 1.5}, opts.Breaks)
	truns := load(tname, tscs)
	nv := int(math.Ceil(opts.ValidationHours / normalRunH))
	vscs := scenarios(db, validSeedBase, nv, span{normalRunH, normalRunH, 0}, 0, span{}, opts.Breaks)
	vruns := load("valid", vscs)
	// Faulty validation runs (their own seeds) for model selection: the
	// evaluation seeds are only reported.
	nvf, vfname := opts.EvalRunsPerFault, "validf"
	if v := os.Getenv("EVEDGE_VF"); v != "" {
		fmt.Sscan(v, &nvf)
		vfname = fmt.Sprintf("validf%d", nvf)
	}
	vfscs := scenarios(db, validFaultSeedBase, 0, span{}, nvf, span{1, 3, slowEvalHours}, opts.Breaks)
	vfruns := load(vfname, vfscs)
	nNormal := int(math.Ceil(opts.NormalHours / normalRunH))
	escs := scenarios(db, evalSeedBase, nNormal, span{normalRunH, normalRunH, 0}, opts.EvalRunsPerFault, span{1, 3, slowEvalHours}, opts.Breaks)
	eruns := load("eval", escs)
	if os.Getenv("EVEDGE_EXP") == "sim" {
		return
	}
	if v := os.Getenv("EVEDGE_FEAT"); v != "" {
		var idx int
		fmt.Sscan(v, &idx)
		names := InputNames()
		sel := []string{"cell_low_dev_mv", "cell_low_dev0_mv", "ew_cell_low_dev0_rise_mv", "cell_dev_time_mv_h", "cell_dev_soc_mv_10pct", "cell_same_soc_rise_mv", "ew_cell_deficit_pct", "ew_cell_deficit_rise_pct", "cell_deficit_time_pct_h", "cell_deficit_soc_pct_10pct", "soc_pct", "current_mean_a", "charging_share",
			"pump_duty_pct", "cool_ratio", "cool_ratio_duty", "cool_valid", "ew_cool_ratio_duty", "temp_over_coolant_c", "coolant_delta_c", "motor_over_coolant_c", "motor_over_load_c", "ambient_c"}
		if v := os.Getenv("EVEDGE_FEATSEL"); v != "" { // comma-separated input names
			sel = strings.Split(v, ",")
		}
		var cols []int
		for _, n := range sel {
			for j, m := range names {
				if m == n {
					cols = append(cols, j)
				}
			}
		}
		sc, run := escs[idx], eruns[idx]
		if os.Getenv("EVEDGE_FEATSET") == "validf" {
			sc, run = vfscs[idx], vfruns[idx]
		}
		if sc.Fault != nil {
			fmt.Printf("%s sev %.2f start %v ramp %v\n", sc.Fault.Kind, sc.Fault.Severity, sc.Fault.Start, sc.Fault.Ramp)
		}
		fmt.Printf("min cls ")
		for _, n := range sel {
			fmt.Printf("%s ", n)
		}
		fmt.Println()
		for k, w := range run.Windows {
			if k%10 != 9 {
				continue
			}
			fmt.Printf("%3.0f %d", w.End.Minutes(), w.Class)
			for _, j := range cols {
				fmt.Printf(" %7.2f", w.F[j])
			}
			fmt.Println()
		}
		return
	}
	// loadModel loads the committed model or EVEDGE_MODEL (for instance
	// /tmp/evexp/last.evnn, the harness's last model) with its threshold.
	loadModel := func() (*int8nn.Model, float64) {
		path, thr := modelPath, Threshold
		if p := os.Getenv("EVEDGE_MODEL"); p != "" {
			path = p
		}
		m, err := int8nn.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if path != modelPath {
			vmax, err := validationMax(m, vruns)
			if err != nil {
				t.Fatal(err)
			}
			thr = vmax + ThresholdMargin
		}
		return m, thr
	}
	if os.Getenv("EVEDGE_EXP") == "horizons" {
		m, _ := loadModel()
		expHorizons(m, vruns, vfscs, vfruns, escs, eruns)
		return
	}
	if os.Getenv("EVEDGE_EXP") == "committed" {
		m, thr := loadModel()
		met, err := evaluate(m, escs, eruns, thr)
		if err != nil {
			t.Fatal(err)
		}
		met.Markdown(os.Stdout)
		if os.Getenv("EVEDGE_RAISES") == "valid" {
			escs, eruns = append(vscs[:len(vscs):len(vscs)], vfscs...), append(vruns[:len(vruns):len(vruns)], vfruns...)
			fmt.Println("raises in the validation runs (healthy, then faulty):")
		}
		for i, r := range eruns {
			if len(r.Raises) == 0 {
				continue
			}
			kind := "healthy"
			var start time.Duration
			if f := escs[i].Fault; f != nil {
				kind, start = string(f.Kind), f.Start
			}
			fmt.Printf("raises run %d %s onset %v rule %v:", i, kind, start, r.RuleTrip-start)
			for _, x := range r.Raises {
				fmt.Printf(" %s@%v[%s]", x.Check, x.At-start, x.Detail)
			}
			fmt.Println()
		}
		// AUROC on the previous window set (level ≥ LabelLevel).
		var pos, neg []float64
		for i, r := range eruns {
			sc, err := runScores(m, r)
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range r.Windows {
				switch {
				case escs[i].Fault == nil:
					neg = append(neg, sc[k])
				case w.Level >= LabelLevel:
					pos = append(pos, sc[k])
				}
			}
		}
		fmt.Printf("AUROC on level >= %.1f windows: %.4f\n", LabelLevel, auroc(pos, neg))
		// AUROC of each kind's visible windows against the healthy ones.
		byKind := map[string][]float64{}
		for i, r := range eruns {
			if escs[i].Fault == nil {
				continue
			}
			sc, err := runScores(m, r)
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range r.Windows {
				if w.Class != 0 {
					byKind[string(escs[i].Fault.Kind)] = append(byKind[string(escs[i].Fault.Kind)], sc[k])
				}
			}
		}
		var kinds []string
		for k := range byKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		var all []float64
		for _, v := range byKind {
			all = append(all, v...)
		}
		fmt.Printf("  all %d windows AUROC %.4f (eval: %d)\n", len(all), auroc(all, neg), met.FaultWindows)
		for _, k := range kinds {
			fmt.Printf("  %-16s %6d windows AUROC %.4f\n", k, len(byKind[k]), auroc(byKind[k], neg))
		}
		if os.Getenv("EVEDGE_RUNS") != "" {
			fmt.Println("validation faulty runs:")
			listRuns(t, m, thr, vfscs, vfruns)
			fmt.Println("evaluation faulty runs:")
			listRuns(t, m, thr, escs, eruns)
		}
		return
	}
	if v := os.Getenv("EVEDGE_ENS"); v != "" {
		fmt.Sscan(v, &EnsembleSize)
	}
	if v := os.Getenv("EVEDGE_EPOCHS"); v != "" {
		fmt.Sscan(v, &opts.Epochs)
	}
	t0 := time.Now()
	raw, ys, pc := trainingSet(tscs, truns)
	fmt.Printf("training windows per class %v\n", pc)
	net, inputs, _, loss := fitNet(context.Background(), raw, ys, pc, opts.Epochs)
	if os.Getenv("EVEDGE_CAL") != "" {
		fmt.Printf("shifts %.2f\n", calibrate(net, inputs, vruns))
	}
	m, err := quantize(net, inputs, raw)
	if err != nil {
		t.Fatal(err)
	}
	var golden [][]float32
	for _, r := range vfruns[:16] {
		golden = append(golden, append([]float32(nil), r.Windows[len(r.Windows)/2].F[:]...))
	}
	if err := m.SetGolden(golden, 1e-3, 1e-3); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "last.evnn"))
	if err != nil {
		t.Fatal(err)
	}
	if err := int8nn.Write(f, m); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	vmax, err := validationMax(m, vruns)
	if err != nil {
		t.Fatal(err)
	}
	thr := vmax + ThresholdMargin
	fmt.Printf("loss %.4f fit %v; validation max %.3f threshold %.3f\n", loss, time.Since(t0).Round(time.Second), vmax, thr)
	// Which classes make the healthy validation tail.
	type top struct {
		s   float64
		cls int
		run int
	}
	var tops []top
	out := make([]float32, len(Classes))
	for i, r := range vruns {
		rn := m.NewRunner()
		var sm Smoother
		best := top{s: math.Inf(-1)}
		for _, w := range r.Windows {
			rn.Run(w.F[:], out)
			if w.Restart {
				sm.Reset()
			}
			s := sm.Add(Score(out))
			if s > best.s {
				best = top{s, Argmax(out[1:]) + 1, i}
			}
		}
		tops = append(tops, best)
	}
	sort.Slice(tops, func(i, j int) bool { return tops[i].s > tops[j].s })
	for _, tp := range tops[:8] {
		fmt.Printf("  valid run %d max %.2f class %s\n", tp.run, tp.s, Classes[tp.cls])
	}
	for i, r := range eruns {
		if escs[i].Fault != nil {
			continue
		}
		rn := m.NewRunner()
		var sm Smoother
		for k, w := range r.Windows {
			rn.Run(w.F[:], out)
			if w.Restart {
				sm.Reset()
			}
			if s := sm.Add(Score(out)); s >= thr-0.5 {
				if s < 3 && k < len(r.Windows)-1 {
					continue
				}
				c := escs[i].Config
				fmt.Printf("  eval healthy run %d win %d score %.2f class %s amb %.0f soh %.0f cells %d cap %.0f aux %.0f lv %.0f mix %s\n", i, k, s, Classes[Argmax(out[1:])+1], c.Ambient, c.SOH, c.Cells, c.CellCapacity, c.AuxPower, c.LVLoad, c.Scenario)
				if os.Getenv("EVEDGE_DUMP") != "" {
					for j, n := range InputNames() {
						fmt.Printf("    %s %.3f (z %.1f)\n", n, w.F[j], (w.F[j]-m.Inputs[j].Mean)/m.Inputs[j].Std)
					}
				}
			}
		}
	}
	vmet, err := evaluate(m, append(vscs[:len(vscs):len(vscs)], vfscs...), append(vruns[:len(vruns):len(vruns)], vfruns...), thr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("VALIDATION (selection):")
	vmet.Markdown(os.Stdout)
	fmt.Println("EVALUATION (report only):")
	met, err := evaluate(m, escs, eruns, thr)
	if err != nil {
		t.Fatal(err)
	}
	met.Markdown(os.Stdout)
	if os.Getenv("EVEDGE_RUNS") != "" {
		listRuns(t, m, thr, escs, eruns)
	}
	if os.Getenv("EVEDGE_EXP") == "write" {
		t.Log("not writing from the harness")
	}
}

func listRuns(t *testing.T, m *int8nn.Model, thr float64, escs []Scenario, eruns []Run) {
	for i, r := range eruns {
		sc := escs[i]
		if sc.Fault == nil {
			continue
		}
		s, err := runScores(m, r)
		if err != nil {
			t.Fatal(err)
		}
		best, vis := math.Inf(-1), 0
		for k, w := range r.Windows {
			if w.End > sc.Fault.Start {
				best = max(best, s[k])
			}
			if w.Class != 0 {
				vis++
			}
		}
		det, firstVis := -1.0, -1.0
		for k, w := range r.Windows {
			if w.End > sc.Fault.Start && s[k] >= thr && det < 0 {
				det = w.End.Minutes()
			}
			if w.Class != 0 && firstVis < 0 {
				firstVis = w.End.Minutes()
			}
		}
		fmt.Printf("  run %d %s input %d sev %.2f start %.0f ramp %.0f h %.1f vis %d/%d max %.2f firstvis %.0f det %.0f rule %.0f\n", i, sc.Fault.Kind, sc.Input, sc.Fault.Severity, sc.Fault.Start.Minutes(), sc.Fault.Ramp.Minutes(), sc.Hours, vis, len(r.Windows), best, firstVis, det, r.RuleTrip.Minutes())
	}
}
