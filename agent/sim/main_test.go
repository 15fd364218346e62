package sim

import (
	"sync"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const dbcPath = "../../board/sim/sim-ev.dbc"

var loadDBC = sync.OnceValues(func() (*signals.Database, error) {
	db, _, err := LoadDBC(dbcPath)
	return db, err
})

// t0 is the start of every test run: 2023-11-14 22:13:20 UTC.
var t0 = time.Unix(1700000000, 0)

// newSim builds a sim on the shared DBC with the defaults, a fixed start and
// the changes made by edit.
func newSim(t testing.TB, edit func(*Config)) *Sim {
	t.Helper()
	db, err := loadDBC()
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DBC = db
	cfg.Start = t0
	cfg.Seed = 1
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runUntil steps s by step until done returns true or limit passes; it
// returns false on the limit.
func runUntil(s *Sim, step, limit time.Duration, done func(st *State) bool) bool {
	for s.Elapsed() < limit {
		s.Step(step)
		st := s.State()
		if done(&st) {
			return true
		}
	}
	return false
}
