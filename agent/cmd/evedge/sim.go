package main

import (
	"context"
	"errors"

	"github.com/evedge/evedge/agent"
	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/board"
)

func simSource(ctx context.Context, db *signals.Database, c board.CAN, cfg config.Sim) (agent.Source, error) {
	return agent.Source{}, errors.New("sim: not wired yet")
}
