package main

import (
	"context"
	"fmt"
	"math"
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
//
// The sink it returns is how the agent transmits on that bus: the car's
// body ECUs obey the command frames (sim.Command), and the frames go on
// the bus flagged TX, stamped with the car's time, so the history shows
// what the agent sent.
func simSource(ctx context.Context, db *signals.Database, dbcPath string, c board.CAN, cfg config.Sim, cfgFile string, inject []sim.FaultSpec) (agent.Source, can.Sink, error) {
	_, cycles, err := sim.LoadDBC(dbcPath)
	if err != nil {
		return agent.Source{}, nil, err
	}
	sc := sim.DefaultConfig()
	sc.DBC = db
	sc.Cycles = cycles
	sc.Seed = uint64(cfg.Seed)
	sc.Scenario = cfg.Scenario
	car, err := sim.New(sc)
	if err != nil {
		if cfgFile != "" {
			return agent.Source{}, nil, fmt.Errorf("config: %s: [sim]: %w", cfgFile, err)
		}
		return agent.Source{}, nil, err
	}
	for _, f := range inject {
		if err := car.Inject(f); err != nil {
			return agent.Source{}, nil, usageError{fmt.Errorf("--inject: %w", err)}
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
	}, simSink{car: car, bus: bus}, nil
}

// simSink transmits on the simulated car's bus.
type simSink struct {
	car *sim.Sim
	bus *can.Bus
}

func (s simSink) WriteFrame(f can.Frame) error {
	f.Flags |= can.TX
	f.Time = s.car.Now().UnixNano()
	s.car.Command(f)
	return s.bus.WriteFrame(f)
}

// parseInject reads --inject KIND[=SIGNAL][@START][+RAMP][:SEVERITY], times
// in sim time: "cooling_loss@10m+20m" starts a cooling loss 10 min into the
// drive, growing to full over 20 min; "sensor-dropout=IMD_Status@1m" stops
// the insulation monitor's message a minute in (SIGNAL: "Message.Signal",
// or a whole message for a dropout, of the sim DBC). A drift's SEVERITY is
// its offset in the signal's DBC unit ("sensor-drift=BMS_PackStatus.PackVoltage@1h+30m:-8").
func parseInject(s string) (sim.FaultSpec, error) {
	spec := sim.FaultSpec{Severity: 1}
	rest := s
	sev := ""
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		sev, rest = rest[i+1:], rest[:i]
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
	if i := strings.IndexByte(rest, '='); i >= 0 {
		spec.Signal, rest = rest[i+1:], rest[:i]
		if spec.Signal == "" {
			return spec, fmt.Errorf("--inject %q: empty signal after '='", s)
		}
	}
	spec.Kind = sim.FaultKind(strings.ReplaceAll(rest, "-", "_")) // cooling-loss or cooling_loss
	if sev != "" {
		v, err := strconv.ParseFloat(sev, 64)
		switch {
		case spec.Kind == sim.FaultSensorDrift && (err != nil || v == 0 || math.IsInf(v, 0) || math.IsNaN(v)):
			return spec, fmt.Errorf("--inject %q: offset %q: want a non-zero number in the signal's DBC unit", s, sev)
		case spec.Kind != sim.FaultSensorDrift && (err != nil || v <= 0 || v > 1):
			return spec, fmt.Errorf("--inject %q: severity %q: want a number in (0, 1]", s, sev)
		}
		spec.Severity = v
	}
	return spec, nil
}
