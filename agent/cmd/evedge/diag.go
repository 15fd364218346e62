package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/evedge/evedge/agent"
	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/diag/kb"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/uplink"
)

// liveRules runs the GB/T 32960.3 rules on the agent's live values.
type liveRules struct {
	mu sync.Mutex
	r  *diag.Rules
}

func newLiveRules(cfg config.Diag) (*liveRules, error) {
	over, err := diag.ParseLimits(cfg.Limits)
	if err != nil {
		return nil, fmt.Errorf("config: [diag] limits: %w", err)
	}
	return &liveRules{r: diag.NewRules(over)}, nil
}

// faults lists the active alarms for health reports ("insulation:L2").
func (l *liveRules) faults() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, a := range l.r.Active() {
		out = append(out, fmt.Sprintf("%s:L%d", a.Name, a.Level))
	}
	return out
}

// alarmEvent is the body of a "gbt32960" event. Title and summary come
// from the knowledge base in English; reports render the other languages
// from the same entry (kb id = item).
type alarmEvent struct {
	diag.Alarm
	Flags     uint32   `json:"flags"`   // GB/T 32960.3 general alarm flag word after this change
	Highest   int      `json:"highest"` // highest level active
	Component string   `json:"component,omitempty"`
	Title     string   `json:"title,omitempty"`
	Summary   string   `json:"summary,omitempty"`
	DTCs      []string `json:"dtcs,omitempty"`
}

// knowledge is the diagnosis knowledge base, loaded once.
var knowledge = sync.OnceValues(kb.Load)

// describe fills an alarm event's text from the knowledge base.
func describe(ev *alarmEvent) {
	k, err := knowledge()
	if err != nil {
		return // the embedded file is validated by its tests; never fatal here
	}
	if e, t, ok := k.Lookup(ev.Name, "en"); ok {
		ev.Component, ev.Title, ev.Summary, ev.DTCs = e.Component, t.Title, t.Summary, e.DTCs
	}
}

// source evaluates the rules once a second on the data clock; each level
// change becomes an event in the store and, with an uplink, on the events
// topic.
func (l *liveRules) source(a *agent.Agent, st *store.Store, up *uplink.Uplink, log *slog.Logger) agent.Source {
	table := a.Table()
	return agent.Source{
		Name: "rules (GB/T 32960.3)",
		Values: func(ctx context.Context, _ func([]signals.Value, int64)) error {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
				now := a.DataNow()
				if now.Unix() <= 0 {
					continue // no data yet
				}
				l.mu.Lock()
				changes := l.r.Step(now, freshReader(table, now))
				flags, hi := l.r.Flags()
				l.mu.Unlock()
				for _, c := range changes {
					ev := alarmEvent{Alarm: c, Flags: flags, Highest: hi}
					describe(&ev)
					body, _ := json.Marshal(ev)
					if c.Level > 0 {
						log.Warn("alarm", "item", c.Name, "level", c.Level, "value", c.Value, "threshold", c.Threshold)
					} else {
						log.Info("alarm cleared", "item", c.Name, "value", c.Value)
					}
					if st != nil {
						if _, err := st.AddEvent(store.Event{Time: now, Kind: "gbt32960", Severity: c.Level, Source: "rules", Body: body}); err != nil {
							log.Error("recording an alarm", "err", err)
						}
					}
					if up != nil {
						if _, err := up.PublishEvent("gbt32960", max(c.Level, 1), "rules", ev); err != nil {
							log.Error("queueing an alarm for the uplink", "err", err)
						}
					}
				}
			}
		},
	}
}

// maxInputAge is how old (in data time) a value the rules read may be.
const maxInputAge = 10 * time.Second

// freshReader reads last-known values that are at most maxInputAge older
// than now.
func freshReader(t *signals.Table, now time.Time) diag.Read {
	return func(p string) (float64, bool) {
		s, ok := t.Get(p)
		if !ok || s.Count == 0 || now.Sub(s.Time) > maxInputAge {
			return 0, false
		}
		return s.Value, true
	}
}
