package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/evedge/evedge/agent"
	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/sim"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/can"
)

// simSource builds the simulated car for a board interface with the sim
// driver: the car encodes its frames with the board's DBC onto an
// in-process bus that the agent reads like any other.
func simSource(ctx context.Context, db *signals.Database, dbcPath string, c board.CAN, cfg config.Sim, cfgFile string, inject []sim.FaultSpec) (agent.Source, error) {
	_, cycles, err := sim.LoadDBC(dbcPath)
	if err != nil {
		return agent.Source{}, err
	}
	sc := sim.DefaultConfig()
	sc.DBC = db
	sc.Cycles = cycles
	sc.Seed = uint64(cfg.Seed)
	sc.Scenario = cfg.Scenario
	car, err := sim.New(sc)
	if err != nil {
		if cfgFile != "" {
			return agent.Source{}, fmt.Errorf("config: %s: [sim]: %w", cfgFile, err)
		}
		return agent.Source{}, err
	}
	for _, f := range inject {
		if err := car.Inject(f); err != nil {
			return agent.Source{}, usageError{fmt.Errorf("--inject: %w", err)}
		}
	}
	bus := can.NewBus(uint8(c.Bus))
	rx := bus.Subscribe(ctx, 16384)
	return agent.Source{
		Name: c.Interface + " (simulated car)",
		Src:  rx,
		Run: func(ctx context.Context) error {
			defer bus.Close()
			return car.Run(ctx, bus, cfg.Speed)
		},
		Dropped: rx.Dropped,
	}, nil
}

// parseInject reads --inject KIND[@START][+RAMP][:SEVERITY], times in sim
// time: "cooling_loss@10m+20m" starts a cooling loss 10 min into the drive,
// growing to full over 20 min.
func parseInject(s string) (sim.FaultSpec, error) {
	spec := sim.FaultSpec{Severity: 1}
	rest := s
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		v, err := strconv.ParseFloat(rest[i+1:], 64)
		if err != nil || v <= 0 || v > 1 {
			return spec, fmt.Errorf("--inject %q: severity %q: want a number in (0, 1]", s, rest[i+1:])
		}
		spec.Severity, rest = v, rest[:i]
	}
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		d, err := time.ParseDuration(rest[i+1:])
		if err != nil || d < 0 {
			return spec, fmt.Errorf("--inject %q: ramp %q: want a duration like 20m", s, rest[i+1:])
		}
		spec.Ramp, rest = d, rest[:i]
	}
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		d, err := time.ParseDuration(rest[i+1:])
		if err != nil || d < 0 {
			return spec, fmt.Errorf("--inject %q: start %q: want a duration like 10m", s, rest[i+1:])
		}
		spec.Start, rest = d, rest[:i]
	}
	spec.Kind = sim.FaultKind(strings.ReplaceAll(rest, "-", "_")) // cooling-loss or cooling_loss
	return spec, nil
}
