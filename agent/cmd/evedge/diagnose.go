package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/can"
)

// diagnoseLine is one detection printed by evedge diagnose.
type diagnoseLine struct {
	T          float64        `json:"t"`
	File       string         `json:"file"`
	Kind       string         `json:"kind"` // rule
	Fault      string         `json:"fault"`
	Severity   int            `json:"severity"`
	Confidence float64        `json:"confidence"`
	Evidence   map[string]any `json:"evidence"`
	Component  string         `json:"component,omitempty"`
	Title      string         `json:"title,omitempty"`
}

func cmdDiagnose(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diagnose", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbcPath := fs.String("dbc", "", "DBC `file` of the vehicle (required)")
	mapPath := fs.String("map", "", "signal map `file` naming signals with the VSS paths the rules read (required)")
	format := fs.String("format", "", "log format: candump, gvret (csv) or asc; detected when empty")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: evedge diagnose --dbc FILE --map FILE [--format F] LOG...")
		fmt.Fprintln(stderr, "Runs the GB/T 32960.3 alarm rules over recorded logs; one JSON line per alarm raised.")
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
	db, err := loadVehicle(*dbcPath, *mapPath)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	for _, path := range logs {
		n, err := diagnoseFile(ctx, db, path, f, out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s: %d alarms\n", path, n)
	}
	return out.Flush()
}

// diagnoseFile replays one log into a fresh table and evaluates the rules
// at every second of log time.
func diagnoseFile(ctx context.Context, db *signals.Database, path string, f can.Format, out *bufio.Writer) (int, error) {
	r, closer, err := can.OpenLog(path, f)
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	table := signals.NewTable(db)
	rules := diag.NewRules(nil)
	vals := make([]signals.Value, 0, 256)
	var next int64
	var now time.Time
	n := 0
	emit := func(as []diag.Alarm) error {
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
			if err := emit(rules.Step(now, freshReader(table, now))); err != nil {
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
		if err := emit(rules.Step(now, freshReader(table, now))); err != nil {
			return n, err
		}
	}
	return n, nil
}
