package main

import (
	"context"
	"fmt"

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
func simSource(ctx context.Context, db *signals.Database, dbcPath string, c board.CAN, cfg config.Sim, cfgFile string) (agent.Source, error) {
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
