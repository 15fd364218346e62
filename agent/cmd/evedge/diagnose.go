package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/diag/detect"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/can"
)

// diagnoseLine is one detection printed by evedge diagnose.
type diagnoseLine struct {
	T          float64        `json:"t"`
	File       string         `json:"file"`
	Kind       string         `json:"kind"` // rule or model
	Fault      string         `json:"fault"`
	Severity   int            `json:"severity"`
	Confidence float64        `json:"confidence"`
	Evidence   map[string]any `json:"evidence"`
	Component  string         `json:"component,omitempty"`
	Title      string         `json:"title,omitempty"`
	Score      float64        `json:"score,omitempty"`     // model: smoothed score
	Threshold  float64        `json:"threshold,omitempty"` // model: the alarm's threshold
}

func cmdDiagnose(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diagnose", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbcPath := fs.String("dbc", "", "DBC `file` of the vehicle (required)")
	mapPath := fs.String("map", "", "signal map `file` naming signals with the VSS paths the rules read (required)")
	format := fs.String("format", "", "log format: candump, gvret (csv) or asc; detected when empty")
	modelFile := fs.String("model", "", "fault model `file` (.evnn) instead of the built-in one")
	noModel := fs.Bool("no-model", false, "run the rules only")
	tracePath := fs.String("trace", "", "write every scored window of the model (scores, logits, inputs) as JSON lines to `file`")
	cfgPath := fs.String("config", "", "agent configuration `file`: its [diag] limits (per-vehicle alarm thresholds) replace the GB/T defaults")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: evedge diagnose --dbc FILE --map FILE [--config FILE] [--format F] [--model FILE|--no-model] [--trace FILE] LOG...")
		fmt.Fprintln(stderr, "Runs the GB/T 32960.3 alarm rules and the fault model over recorded logs; one JSON line per alarm")
		fmt.Fprintln(stderr, "raised (kind \"rule\"; fault \"signal_lost\" for an input that stops arriving while the car drives on)")
		fmt.Fprintln(stderr, "or fault detected (kind \"model\"). The model runs when the signal map provides all of its inputs")
		fmt.Fprintln(stderr, "(listed in the README); otherwise stderr says which are missing.")
		fs.PrintDefaults()
	}
	logs, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *dbcPath == "" || *mapPath == "" {
		return usageError{errors.New("--dbc and --map are required (the rules read VSS paths)")}
	}
	if len(logs) == 0 {
		return usageError{errors.New("no LOG file given")}
	}
	var f can.Format
	if *format != "" {
		if f, err = can.ParseFormat(*format); err != nil {
			return usageError{err}
		}
	}
	var limits diag.Limits
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		if limits, err = diag.ParseLimits(cfg.Diag.Limits); err != nil {
			return fmt.Errorf("%s: [diag] limits: %w", *cfgPath, err)
		}
	}
	db, err := loadVehicle(*dbcPath, *mapPath)
	if err != nil {
		return err
	}
	model := !*noModel
	if model {
		_, missing, err := newDetector(*modelFile, db)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			model = false
			fmt.Fprintf(stderr, "fault model off: the signal map lacks %d of its %d inputs: %s\n", len(missing), diag.NumModelInputs, strings.Join(missing, ", "))
		}
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	var trace *bufio.Writer
	if *tracePath != "" {
		tf, err := os.Create(*tracePath)
		if err != nil {
			return err
		}
		defer tf.Close()
		trace = bufio.NewWriter(tf)
	}
	for _, path := range logs {
		var det *detect.Detector
		if model {
			if det, _, err = newDetector(*modelFile, db); err != nil {
				return err
			}
			if trace != nil {
				det.SetTrace(traceWriter(trace, path))
			}
		}
		n, err := diagnoseFile(ctx, db, det, limits, path, f, out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s: %d alarms and detections\n", path, n)
	}
	if trace != nil {
		if err := trace.Flush(); err != nil {
			return fmt.Errorf("--trace %s: %w", *tracePath, err)
		}
	}
	return out.Flush()
}

// traceLine is one scored window in diagnose --trace.
type traceLine struct {
	T         float64        `json:"t"`
	File      string         `json:"file"`
	Score     float64        `json:"score"`    // this window's log-odds of a fault
	Smoothed  float64        `json:"smoothed"` // the mean the threshold is compared with
	Threshold float64        `json:"threshold"`
	Class     string         `json:"class"` // most likely fault class
	Present   int            `json:"present"`
	NewRun    bool           `json:"new_run,omitempty"`
	Logits    map[string]any `json:"logits"`
	Inputs    map[string]any `json:"inputs"`
}

// traceWriter writes each window the detector scores as one JSON line
// (non-finite values as null).
func traceWriter(w *bufio.Writer, path string) func(detect.Scored) {
	names := diag.InputNames()
	num := func(v float32) any {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return math.Round(f*1e4) / 1e4
	}
	return func(win detect.Scored) {
		l := traceLine{T: float64(win.Time.UnixNano()) / 1e9, File: path, Score: math.Round(win.Score*1e4) / 1e4,
			Smoothed: math.Round(win.Smoothed*1e4) / 1e4, Threshold: win.Threshold, Class: detect.ClassName(win.Class),
			Present: win.Present, NewRun: win.NewRun, Logits: map[string]any{}, Inputs: map[string]any{}}
		for c, v := range win.Logits {
			l.Logits[detect.ClassName(c)] = num(v)
		}
		for i, v := range win.Inputs {
			if i < len(names) {
				l.Inputs[names[i]] = num(v)
			}
		}
		b, _ := json.Marshal(l)
		w.Write(append(b, '\n'))
	}
}

// diagnoseFile replays one log into a fresh table and evaluates the rules
// at every second of log time.
func diagnoseFile(ctx context.Context, db *signals.Database, det *detect.Detector, limits diag.Limits, path string, f can.Format, out *bufio.Writer) (int, error) {
	r, closer, err := can.OpenLog(path, f)
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	table := signals.NewTable(db)
	rules := diag.NewRules(limits)
	watch := newSignalWatch(db)
	checks := diag.NewChecks()
	heard := heardFrom(table)
	var lost []diag.LostSignal
	vals := make([]signals.Value, 0, 256)
	var next int64
	var now time.Time
	n := 0
	var emit func(as []diag.Alarm) error
	k := kbOrNil()
	step := func(now time.Time) error {
		read := freshReader(table, now)
		if err := emit(rules.Step(now, read)); err != nil {
			return err
		}
		for _, chk := range checks {
			c := chk.Step(now, read)
			if c == nil || !c.Raised {
				continue
			}
			n++
			ev := monitorEventOf(*c)
			evidence := map[string]any{"check": c.Check}
			for k, v := range c.Evidence {
				evidence[k] = math.Round(v*100) / 100
			}
			b, _ := json.Marshal(diagnoseLine{T: float64(now.UnixNano()) / 1e9, File: path, Kind: "rule", Fault: c.Fault, Severity: ev.Severity, Confidence: 1,
				Evidence: evidence, Component: ev.Component, Title: ev.Title})
			if _, err := out.Write(append(b, '\n')); err != nil {
				return err
			}
		}
		lost = watch.Step(now, heard, read, lost)
		for _, c := range lost {
			if !c.Lost {
				continue
			}
			n++
			ev := lostEvent(c)
			b, _ := json.Marshal(diagnoseLine{T: float64(now.UnixNano()) / 1e9, File: path, Kind: "rule", Fault: diag.SignalLostID, Severity: ev.Severity, Confidence: 1,
				Evidence:  map[string]any{"path": c.Path, "silent_s": math.Round(c.Silent*10) / 10, "period_s": math.Round(c.Period*1000) / 1000, "timeout_s": math.Round(c.Timeout*10) / 10},
				Component: ev.Component, Title: ev.Title})
			if _, err := out.Write(append(b, '\n')); err != nil {
				return err
			}
		}
		if det == nil {
			return nil
		}
		c, err := det.Step(now, read)
		if err != nil || c == nil || !c.Raised {
			return err
		}
		n++
		d := detect.Describe(c, k, read, nil, false)
		ev := make(map[string]any, len(d.Evidence))
		for p, s := range d.Evidence {
			ev[p] = s
		}
		b, _ := json.Marshal(diagnoseLine{T: float64(now.UnixNano()) / 1e9, File: path, Kind: "model", Fault: c.Fault, Severity: d.Severity,
			Confidence: d.Confidence, Evidence: ev, Component: d.Component, Title: d.Text["en"].Title, Score: d.Score, Threshold: d.Threshold})
		_, err = out.Write(append(b, '\n'))
		return err
	}
	emit = func(as []diag.Alarm) error {
		for _, a := range as {
			if a.Level == 0 {
				continue
			}
			n++
			ev := alarmEvent{Alarm: a}
			describe(&ev)
			b, _ := json.Marshal(diagnoseLine{T: float64(now.UnixNano()) / 1e9, File: path, Kind: "rule", Fault: a.Name, Severity: a.Level, Confidence: 1,
				Evidence: map[string]any{"value": a.Value, "threshold": a.Threshold, "bit": a.Bit}, Component: ev.Component, Title: ev.Title})
			if _, err := out.Write(append(b, '\n')); err != nil {
				return err
			}
		}
		return nil
	}
	frames := 0
	for r.Receive() {
		if frames++; frames&0xFFF == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
		fr := r.Frame()
		if fr.Flags&can.ErrorFrame != 0 {
			continue
		}
		for next != 0 && fr.Time >= next {
			now = time.Unix(0, next)
			if err := step(now); err != nil {
				return n, err
			}
			next += int64(time.Second)
		}
		if next == 0 {
			next = fr.Time + int64(time.Second)
		}
		m := db.Lookup(&fr)
		if m == nil {
			continue
		}
		vals = m.Decode(&fr, vals[:0])
		table.Update(vals, fr.Time)
	}
	if err := r.Err(); err != nil {
		return n, fmt.Errorf("%s: %w", path, err)
	}
	if next != 0 {
		now = time.Unix(0, next)
		if err := step(now); err != nil {
			return n, err
		}
	}
	return n, nil
}
