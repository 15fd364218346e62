package train

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	int8nn "github.com/evedge/evedge/models/int8"
)

// Metrics are the held-out results of a model, run in int8 as the agent
// runs it.
type Metrics struct {
	NormalHours     float64 // held-out healthy driving
	NormalWindows   int
	FaultWindows    int // windows where the fault is Visible
	AUROC           float64
	Threshold       float64 // the alarm threshold evaluated (set on validation driving)
	MaxNormal       float64 // highest smoothed score of the held-out healthy driving (information only)
	FalseAlarms     int     // alarms (runs of consecutive windows at or above Threshold) in healthy driving
	FalseAlarmWins  int     // healthy windows at or above Threshold
	FaultRuns       int
	Detected        int // faulty runs with a window at or above Threshold after onset
	VisibleRuns     int // faulty runs where the fault became visible (a window with its class, relabel)
	VisibleDetected int // of those, detected
	DetectedByKind  map[string][2]int
	ClassAccuracy   float64 // argmax over fault classes, detected fault windows
	ClassWindows    int
	ClassRunsOK     int // detected faulty runs whose most frequent alarmed class is right
	ClassRuns       int
	SlowFaultHours  float64 // slow fault runs last at least this long past their ramp
	LeadMedian      time.Duration
	LeadRuns        int // slow-fault runs (cell_short, cooling_loss) where the GB/T rule tripped
	LeadLate        int // of those, detected after the rule tripped or not at all
	LeadNeverTipped int // slow-fault runs where the rule never tripped
	EvalTime        time.Duration

	// The whole detector: the model or a monitor check (diag.NewChecks,
	// stepped on the same samples; Run.Raises). A faulty run counts as
	// detected by a check raised after the fault's onset; a check raised
	// in healthy driving is a false alarm.
	MonitorFalseAlarms int            // check raises in the held-out normal driving
	MonitorFalseBy     map[string]int // of those, by check
	DetectedAll        int            // faulty runs detected by the model or a check
	DetectedAllByKind  map[string][2]int
	MonitorRaised      int // faulty runs where a check raised after the onset
	MonitorRightFault  int // of those, runs whose first check named the run's fault class
	LeadMedianAll      time.Duration
	LeadLateAll        int
}

// slowEvalHours is how long slow faults run past the end of their ramp in
// the evaluation: long enough for the GB/T rules to trip in many runs.
const slowEvalHours = 4.0

// Evaluate simulates held-out scenarios (seeds apart from training and
// validation) and measures m on them at opts.Threshold.
func Evaluate(m *int8nn.Model, opts Options) (Metrics, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Metrics{}, err
	}
	if m.NumOutputs() != len(Classes) {
		return Metrics{}, fmt.Errorf("train: model has %d outputs, want %d classes", m.NumOutputs(), len(Classes))
	}
	if len(m.Inputs) != NumInputs {
		return Metrics{}, fmt.Errorf("train: model has %d inputs, want %d: retrain (--train)", len(m.Inputs), NumInputs)
	}
	t0 := time.Now()
	nNormal := int(math.Ceil(opts.NormalHours / normalRunH))
	h := min(normalRunH, opts.NormalHours)
	scs := scenarios(opts.DBC, evalSeedBase, nNormal, span{h, h, 0}, opts.EvalRunsPerFault, span{1, 3, slowEvalHours}, opts.Breaks)
	runs, err := simulateAll(opts.Ctx, scs, opts.DBC, opts.Workers)
	if err != nil {
		return Metrics{}, err
	}
	met, err := evaluate(m, scs, runs, opts.Threshold)
	met.EvalTime = time.Since(t0)
	return met, err
}

// evaluate measures m on simulated scenarios at threshold thr.
func evaluate(m *int8nn.Model, scs []Scenario, runs []Run, thr float64) (Metrics, error) {
	r := m.NewRunner()
	out := make([]float32, m.NumOutputs())
	scores := make([][]float64, len(runs))
	logits := make([][][]float32, len(runs))
	for i, run := range runs {
		relabel(scs[i], run)
		var sm Smoother
		for _, w := range run.Windows {
			if err := r.Run(w.F[:], out); err != nil {
				return Metrics{}, err
			}
			if w.Restart {
				sm.Reset()
			}
			scores[i] = append(scores[i], sm.Add(Score(out)))
			logits[i] = append(logits[i], slices.Clone(out))
		}
	}
	met := Metrics{Threshold: thr, MaxNormal: math.Inf(-1), SlowFaultHours: slowEvalHours, MonitorFalseBy: map[string]int{}}
	var neg, pos []float64
	for i, run := range runs {
		if scs[i].Fault == nil {
			met.NormalHours += run.Duration.Hours()
			for _, r := range run.Raises {
				met.MonitorFalseAlarms++
				met.MonitorFalseBy[r.Check]++
			}
			neg = append(neg, scores[i]...)
			on := false
			for _, s := range scores[i] {
				met.MaxNormal = math.Max(met.MaxNormal, s)
				if s >= met.Threshold {
					met.FalseAlarmWins++
					if !on {
						met.FalseAlarms++
					}
				}
				on = s >= met.Threshold
			}
			continue
		}
		for k, w := range run.Windows {
			if w.Class != 0 {
				pos = append(pos, scores[i][k])
			}
		}
	}
	met.NormalWindows, met.FaultWindows = len(neg), len(pos)
	met.AUROC = auroc(pos, neg)
	met.DetectedByKind = map[string][2]int{}
	met.DetectedAllByKind = map[string][2]int{}
	var leads, leadsAll []time.Duration
	var okCls int
	for i, run := range runs {
		sc := scs[i]
		if sc.Fault == nil {
			continue
		}
		met.FaultRuns++
		det := time.Duration(-1)
		votes := make([]int, len(Classes))
		for k, w := range run.Windows {
			if w.End <= sc.Fault.Start || scores[i][k] < met.Threshold {
				continue
			}
			if det < 0 {
				det = w.End
			}
			votes[Argmax(logits[i][k][1:])+1]++
			if w.Class != 0 {
				met.ClassWindows++
				if Argmax(logits[i][k][1:])+1 == w.Class {
					okCls++
				}
			}
		}
		d := met.DetectedByKind[string(sc.Fault.Kind)]
		d[1]++
		vis := slices.ContainsFunc(run.Windows, func(w Window) bool { return w.Class != 0 })
		if vis {
			met.VisibleRuns++
		}
		if det >= 0 {
			met.Detected++
			if vis {
				met.VisibleDetected++
			}
			d[0]++
			met.ClassRuns++
			if Argmax(votes) == sc.Class {
				met.ClassRunsOK++
			}
		}
		detAll := det
		if k := slices.IndexFunc(run.Raises, func(r Raise) bool { return r.At > sc.Fault.Start }); k >= 0 {
			r := run.Raises[k]
			met.MonitorRaised++
			if r.Fault == Classes[sc.Class] {
				met.MonitorRightFault++
			}
			if detAll < 0 || r.At < detAll {
				detAll = r.At
			}
		}
		da := met.DetectedAllByKind[string(sc.Fault.Kind)]
		da[1]++
		if detAll >= 0 {
			met.DetectedAll++
			da[0]++
		}
		met.DetectedAllByKind[string(sc.Fault.Kind)] = da
		if slowFault(sc.Fault.Kind) {
			switch {
			case run.RuleTrip < 0:
				met.LeadNeverTipped++
			default:
				met.LeadRuns++
				if det < 0 || det > run.RuleTrip {
					met.LeadLate++
				}
				if detAll < 0 || detAll > run.RuleTrip {
					met.LeadLateAll++
				}
				leads = append(leads, lead(run.RuleTrip, det))
				leadsAll = append(leadsAll, lead(run.RuleTrip, detAll))
			}
		}
		met.DetectedByKind[string(sc.Fault.Kind)] = d
	}
	if met.ClassWindows > 0 {
		met.ClassAccuracy = float64(okCls) / float64(met.ClassWindows)
	}
	met.LeadMedian, met.LeadMedianAll = median(leads), median(leadsAll)
	return met, nil
}

// lead is how long detection at det (-1: never) came before the rule
// trip; a late or missing detection counts as no lead (0), or as its
// (negative) lateness when it came after the trip.
func lead(trip, det time.Duration) time.Duration {
	if det < 0 || det > trip {
		return min(0, trip-det)
	}
	return trip - det
}

// median of ds (sorted in place); 0 when empty.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	if len(ds)%2 == 0 {
		return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
	}
	return ds[len(ds)/2]
}

// auroc is the probability that a positive outscores a negative (ties
// count half).
func auroc(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return math.NaN()
	}
	type item struct {
		s   float64
		pos bool
	}
	all := make([]item, 0, len(pos)+len(neg))
	for _, s := range pos {
		all = append(all, item{s, true})
	}
	for _, s := range neg {
		all = append(all, item{s, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s < all[j].s })
	var rankSum float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			j++
		}
		r := float64(i+j+1) / 2 // average 1-based rank
		for k := i; k < j; k++ {
			if all[k].pos {
				rankSum += r
			}
		}
		i = j
	}
	np, nn := float64(len(pos)), float64(len(neg))
	return (rankSum - np*(np+1)/2) / (np * nn)
}

// Markdown writes the metrics as a table, with the targets.
func (m Metrics) Markdown(w io.Writer) error {
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	det := 0.0
	if m.FaultRuns > 0 {
		det = float64(m.Detected) / float64(m.FaultRuns)
	}
	fa := math.Inf(1)
	if m.NormalHours > 0 {
		fa = float64(m.FalseAlarms) / m.NormalHours * 1000
	}
	rows := [][4]string{
		{"AUROC (visible fault vs normal windows)", fmt.Sprintf("%.4f", m.AUROC), ">= 0.97", yes(m.AUROC >= 0.97)},
		{fmt.Sprintf("threshold (log-odds fault vs normal, mean of %d windows; set on validation driving)", SmoothWindows), fmt.Sprintf("%.4f (held-out healthy max %.4f)", m.Threshold, m.MaxNormal), "", ""},
		{"false alarms in held-out normal driving", fmt.Sprintf("%d in %.0f h (%d of %d windows)", m.FalseAlarms, m.NormalHours, m.FalseAlarmWins, m.NormalWindows), "<= 1 / 1000 h", yes(m.NormalHours >= 1000 && fa <= 1)},
		{"faulty runs detected", fmt.Sprintf("%.1f %% (%d/%d)", 100*det, m.Detected, m.FaultRuns), ">= 95 %", yes(det >= 0.95)},
		{"faulty runs detected, of those where the fault became visible (relabel)", fmt.Sprintf("%d/%d", m.VisibleDetected, m.VisibleRuns), "", ""},
		{"class accuracy, detected fault windows", fmt.Sprintf("%.1f %% (%d windows; by run %d/%d)", 100*m.ClassAccuracy, m.ClassWindows, m.ClassRunsOK, m.ClassRuns), ">= 90 %", yes(m.ClassAccuracy >= 0.9)},
		{"median lead before the GB/T rule trip the fault causes (cell_short, cooling_loss)", fmt.Sprintf("%.1f min (%d runs where the fault tripped the rule, %d of them late or missed; it never did in %d runs of >= %.0f h past the ramp)", m.LeadMedian.Minutes(), m.LeadRuns, m.LeadLate, m.LeadNeverTipped, m.SlowFaultHours), ">= 10 min", yes(m.LeadRuns > 0 && m.LeadMedian >= 10*time.Minute)},
	}
	if _, err := fmt.Fprintf(w, "| metric | value | target | met |\n|---|---|---|---|\n"); err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r[0], r[1], r[2], r[3]); err != nil {
			return err
		}
	}
	detAll := 0.0
	if m.FaultRuns > 0 {
		detAll = float64(m.DetectedAll) / float64(m.FaultRuns)
	}
	faAll := math.Inf(1)
	if m.NormalHours > 0 {
		faAll = float64(m.FalseAlarms+m.MonitorFalseAlarms) / m.NormalHours * 1000
	}
	checks := make([]string, 0, len(m.MonitorFalseBy))
	for c, n := range m.MonitorFalseBy {
		checks = append(checks, fmt.Sprintf("%s %d", c, n))
	}
	slices.Sort(checks)
	byCheck := ""
	if len(checks) > 0 {
		byCheck = " (" + strings.Join(checks, ", ") + ")"
	}
	all := [][4]string{
		{"false alarms in held-out normal driving, model and checks", fmt.Sprintf("%d in %.0f h (checks %d%s)", m.FalseAlarms+m.MonitorFalseAlarms, m.NormalHours, m.MonitorFalseAlarms, byCheck), "<= 1 / 1000 h", yes(m.NormalHours >= 1000 && faAll <= 1)},
		{"faulty runs detected by the model or a check", fmt.Sprintf("%.1f %% (%d/%d; a check raised in %d runs, naming the run's fault class in %d)", 100*detAll, m.DetectedAll, m.FaultRuns, m.MonitorRaised, m.MonitorRightFault), ">= 95 %", yes(detAll >= 0.95)},
		{"median lead before the GB/T rule trip the fault causes, model or check", fmt.Sprintf("%.1f min (%d runs, %d of them late or missed)", m.LeadMedianAll.Minutes(), m.LeadRuns, m.LeadLateAll), ">= 10 min", yes(m.LeadRuns > 0 && m.LeadMedianAll >= 10*time.Minute)},
	}
	if _, err := fmt.Fprintf(w, "\nThe whole detector: the model and the monitor checks (diag.NewChecks) on the same runs.\n\n| metric | value | target | met |\n|---|---|---|---|\n"); err != nil {
		return err
	}
	for _, r := range all {
		if _, err := fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r[0], r[1], r[2], r[3]); err != nil {
			return err
		}
	}
	kinds := make([]string, 0, len(m.DetectedByKind))
	for k := range m.DetectedByKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	if _, err := fmt.Fprintf(w, "\n| fault kind | detected by the model | by the model or a check |\n|---|---|---|\n"); err != nil {
		return err
	}
	for _, k := range kinds {
		d, da := m.DetectedByKind[k], m.DetectedAllByKind[k]
		if _, err := fmt.Fprintf(w, "| %s | %d/%d | %d/%d |\n", k, d[0], d[1], da[0], da[1]); err != nil {
			return err
		}
	}
	return nil
}
