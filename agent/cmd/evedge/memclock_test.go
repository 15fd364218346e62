package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/signals"
)

// TestMemoryKeptUntilSaneClock: a head unit without RTC powers down with
// the car parked (the self-discharge check has its reference rest:
// lowest cell 3.795 V under an average of 3.800 V) and boots in 1970. Its
// data is stamped 1970 until NTP sets the clock, 10 min later: the
// memories wait (the file is not rewritten from 1970 data, neither by the
// periodic saves nor by the save at exit, which would
// make the checks forget it), are restored with the first trusted second,
// and the woken pack's lowest cell, 45 mV lower at the same average, is
// reported as an internal short against the rest before the power-down.
func TestMemoryKeptUntilSaneClock(t *testing.T) {
	db, err := loadVehicle("../../../board/sim/sim-ev.dbc", "../../../board/sim/sim-ev.toml")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]*signals.Signal{}
	for _, s := range db.Signals {
		for _, in := range []int{diag.InPackI, diag.InCellAvg, diag.InCellMin, diag.InSpeed, diag.InCharging} {
			if s.VSS() == diag.ModelInputPaths[in] {
				ids[in] = s
			}
		}
	}
	if len(ids) != 5 {
		t.Fatalf("sim map provides %d of the 5 inputs", len(ids))
	}
	// values: pack current (VSS: into the pack), speed, average and lowest cell.
	values := func(i, v, avg, low float64) []signals.Value {
		return []signals.Value{{Signal: ids[diag.InPackI], Value: i}, {Signal: ids[diag.InSpeed], Value: v},
			{Signal: ids[diag.InCharging], Value: 0}, {Signal: ids[diag.InCellAvg], Value: avg}, {Signal: ids[diag.InCellMin], Value: low}}
	}

	// The memory saved at the power-down: driven until 600 s, rested until 900 s.
	real0 := time.Date(2026, 6, 1, 6, 0, 0, 0, time.UTC)
	before := diag.NewChecks()
	for s := range 900 {
		i, v := 0.0, 0.0
		if s < 600 {
			i, v = -40, 50
		}
		vals := values(i, v, 3.800, 3.795)
		read := func(p string) (float64, bool) {
			for _, x := range vals {
				if x.Signal.VSS() == p {
					return x.Value, true
				}
			}
			return 0, false
		}
		for _, c := range before {
			if ch := c.Step(real0.Add(time.Duration(s)*time.Second), read); ch != nil {
				t.Fatalf("change %+v before the power-down", ch)
			}
		}
	}
	dir := t.TempDir()
	memFile := filepath.Join(dir, ChecksMemoryFile)
	saved := diag.AppendCheckMemory(nil, before)
	if err := os.WriteFile(memFile, saved, 0o644); err != nil {
		t.Fatal(err)
	}

	// The boot: wall clock at 1970 + 100 s, not synchronised.
	clk := newBootClocks(t)
	wall, synced, gate, wallNow := &clk.wall, &clk.synced, clk.gate, clk.now
	st, r := clk.recorder(t, db)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	table := signals.NewTable(db)
	l := &liveDiag{checks: diag.NewChecks(), dtcs: &dtcTracker{}}
	l.attach(table, st, nil, r, log)
	l.keepMemory(dir, log)
	if !strings.Contains(logs.String(), "monitor checks' memory kept until the wall clock is sane") {
		t.Fatalf("memory not kept for the clock:\n%s", logs.String())
	}
	// 10 min of the woken pack at rest, stamped 1970.
	second := func(now time.Time, low float64) {
		table.Update(values(0, 0, 3.800, low), now.UnixNano())
		l.step(now)
	}
	for range 600 {
		second(wallNow(), 3.750)
		clk.advance(time.Second)
	}
	// An agent stopped now (before NTP) saves at exit: the files stay.
	if err := l.saveMemory(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(memFile); err != nil || !bytes.Equal(b, saved) {
		t.Fatalf("memory file rewritten from 1970 data (err %v)", err)
	}
	if strings.Contains(logs.String(), "monitor checks' memory restored") {
		t.Fatalf("memory restored before the clock was sane:\n%s", logs.String())
	}
	// NTP: the car woke 2 h 15 min after the power-down.
	real := real0.Add(8100 * time.Second)
	wall.Store(real.UnixNano())
	synced.Store(true)
	if !gate.Check() {
		t.Fatal("clock not sane")
	}
	for s := range 300 {
		second(real.Add(time.Duration(s)*time.Second), 3.750)
	}
	if !strings.Contains(logs.String(), "monitor checks' memory restored") {
		t.Errorf("memory not restored once the clock was sane:\n%s", logs.String())
	}
	st.Flush()
	it := st.Events(context.Background(), time.Time{}, time.Time{}, "monitor")
	var found bool
	for it.Next() {
		var ev monitorEvent
		if err := json.Unmarshal(it.Event().Body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Check == "cell_self_discharge" && ev.Raised && ev.Since.Equal(real0.Add(720*time.Second)) {
			found = true
		} else {
			t.Errorf("event %+v", ev)
		}
	}
	if !found {
		t.Errorf("no internal short reported against the rest before the power-down:\n%s", logs.String())
	}
	if b, err := os.ReadFile(memFile); err != nil || bytes.Equal(b, saved) {
		t.Errorf("memory not saved once the clock was sane (err %v)", err)
	}
}
