package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	if out.Len() != 0 || strings.Count(errb.String(), ": 0 alarms") != len(logs) {
		t.Errorf("alarms on healthy logs:\n%s\n%s", out.String(), errb.String())
	}
}

// TestDiagnoseSimLog writes a candump log of the simulated car with an
// insulation fault growing from minute 5, and runs diagnose over it.
func TestDiagnoseSimLog(t *testing.T) {
	db, cycles, err := sim.LoadDBC("../../../board/sim/sim-ev.dbc")
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.DefaultConfig()
	cfg.DBC, cfg.Cycles, cfg.Seed, cfg.Duration = db, cycles, 5, 25*time.Minute
	car, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := car.Inject(sim.FaultSpec{Kind: sim.FaultInsulation, Severity: 1, Start: 5 * time.Minute, Ramp: 10 * time.Minute}); err != nil {
		t.Fatal(err)
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
	var out, errb bytes.Buffer
	if code := run([]string{"diagnose", "--dbc", "../../../board/sim/sim-ev.dbc", "--map", "../../../board/sim/sim-ev.toml", path}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	levels := map[int]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var d diagnoseLine
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if d.Kind != "rule" || d.Fault != "insulation" {
			t.Errorf("unexpected detection %+v", d)
		}
		levels[d.Severity] = true
	}
	if !levels[1] || !levels[3] {
		t.Errorf("insulation levels seen %v; want 1 then 3:\n%s", levels, out.String())
	}
}
