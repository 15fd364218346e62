package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/diag/kb"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/sim"
	"github.com/evedge/evedge/agent/voice/contexts"
	"github.com/evedge/evedge/agent/voice/dialog"
	"github.com/evedge/evedge/agent/voice/intent"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/audio"
	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/obd"
)

const askUsage = `Usage:
  evedge ask [--lang L] [--zone Z] [--board B] [--state FILE.json | --scenario S --sim-time D ...] TEXT...

Runs the voice assistant's intent matching and dialogue on typed text (one
turn per argument, or per line of standard input without arguments) and
prints one JSON line per turn:
  {"text","lang","zone","understood","intent","slots","answer","actions":[...],"refused","ms"}

The car is the board's simulated car, driven for --sim-time through the real
decode path, or the state in --state. Actions print the CAN frame (candump
syntax); with the simulated car they are applied, the car runs on for
--settle and the action's effect is read back ("state").`

// askLine is the JSON line printed per turn.
type askLine struct {
	Text       string         `json:"text"`
	Lang       string         `json:"lang"`
	Zone       string         `json:"zone"`
	Understood bool           `json:"understood"`
	Intent     string         `json:"intent"`
	Slots      map[string]any `json:"slots"`
	Answer     string         `json:"answer"`
	Actions    []askAction    `json:"actions"`
	Refused    *string        `json:"refused"`
	MS         float64        `json:"ms"`
}

type askAction struct {
	Kind    string         `json:"kind"`
	Message string         `json:"message"`
	Frame   string         `json:"frame"`
	Signals map[string]any `json:"signals"`
	Cancel  bool           `json:"cancel,omitempty"`
	Sent    bool           `json:"sent"`
	// Applied: the simulated car obeyed the frame.
	Applied bool `json:"applied"`
	// State is the effect read back after --settle (simulated car only);
	// null for a value the car does not report.
	State map[string]*float64 `json:"state,omitempty"`
}

func cmdAsk(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ask", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, askUsage); fs.PrintDefaults() }
	langFlag := fs.String("lang", "", "language of the text: en, zh, de, es or fr (default: the first that understands it, trying en, zh, de, es, fr)")
	zoneFlag := fs.String("zone", "driver", "speaker's cabin `zone`: driver, passenger, rear-left, rear-right or rear-center (\"my window\")")
	boardName := fs.String("board", "sim", "board profile: a name or a `file` (its DBC, signal map and [[can_write]])")
	statePath := fs.String("state", "", "vehicle state from a JSON `file` (VSS path to value, faults, dtcs) instead of the simulated car")
	dialogPath := fs.String("dialog", "", "dialogue configuration `file` (TOML) over the built-in defaults")
	scenario := fs.String("scenario", "loop", "simulated car: scenario (loop, or phases urban, highway, wltp, idle, park, ac, dc)")
	simTime := fs.Duration("sim-time", 2*time.Minute, "simulated car: how long it runs before the first turn")
	seed := fs.Uint64("seed", 1, "simulated car: random seed")
	childLock := fs.Bool("child-lock", false, "simulated car: child locks engaged")
	settle := fs.Duration("settle", 5*time.Second, "time between turns: the car runs on this long after each turn before its state is read back")
	texts, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err}
	}
	var lang intent.Language
	if *langFlag != "" {
		lang = intent.Language(*langFlag)
		if !lang.Supported() {
			return usageError{fmt.Errorf("--lang %q: expected en, zh, de, es or fr", *langFlag)}
		}
	}
	zone, err := audio.ParseZone(*zoneFlag)
	if err != nil || zone == audio.ZoneUnknown {
		return usageError{fmt.Errorf("--zone %q: expected driver, passenger, rear-left, rear-right or rear-center", *zoneFlag)}
	}
	if *simTime < 0 || *simTime > 24*time.Hour {
		return usageError{fmt.Errorf("--sim-time %v: expected 0..24h", *simTime)}
	}
	if *settle < 0 || *settle > time.Hour {
		return usageError{fmt.Errorf("--settle %v: expected 0..1h", *settle)}
	}
	cfg := dialog.DefaultConfig()
	if *dialogPath != "" {
		if cfg, err = dialog.LoadConfig(*dialogPath); err != nil {
			return err
		}
	}
	prof, err := board.Load(*boardName, boardDirs())
	if err != nil {
		return err
	}
	db, err := signals.Load(prof.Vehicle.DBC)
	if err != nil {
		return err
	}
	if prof.Vehicle.Map != "" {
		mp, err := signals.LoadMap(prof.Vehicle.Map)
		if err != nil {
			return err
		}
		if err := db.Apply(mp); err != nil {
			return err
		}
	}
	know, err := kb.Load()
	if err != nil {
		return err
	}
	ctxs, err := intent.LoadAll(contexts.FS, "car.*.yaml")
	if err != nil {
		return err
	}
	// Try languages in the documented order.
	slices.SortStableFunc(ctxs, func(a, b *intent.Context) int {
		return slices.Index(intent.Languages, a.Language) - slices.Index(intent.Languages, b.Language)
	})

	var (
		car    *askSim
		state  dialog.State
		faults = &askFaults{kb: know}
		clock  time.Time
		sink   askSink
	)
	if *statePath != "" {
		st, err := dialog.LoadState(*statePath)
		if err != nil {
			return err
		}
		if err := faults.fromState(st); err != nil {
			return err
		}
		state, clock = st, time.Unix(1700000000, 0)
	} else {
		if car, err = newAskSim(prof, db, *scenario, *seed, *childLock); err != nil {
			return err
		}
		car.run(*simTime)
		faults.alarms = car.alarms
		state, clock = car, car.car.Now()
		sink.car = car.car
	}
	now := func() time.Time {
		if car != nil {
			return car.car.Now()
		}
		return clock
	}
	dl, err := dialog.New(dialog.Options{Config: cfg, Contexts: ctxs, DBC: db, Writes: prof.Writes, Sink: &sink, State: state, Faults: faults, Now: now})
	if err != nil {
		return err
	}
	ifaces := map[uint8]string{}
	for _, c := range prof.CAN {
		ifaces[uint8(c.Bus)] = c.Interface
	}

	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	turn := func(text string) error {
		t0 := time.Now()
		sink.applied = sink.applied[:0]
		rep := dl.Ask(text, lang, zone)
		ms := float64(time.Since(t0).Microseconds()) / 1000
		line := askLine{
			Text: text, Lang: string(rep.Lang), Zone: rep.Zone.String(), Understood: rep.Understood,
			Intent: rep.Intent, Slots: map[string]any{}, Answer: rep.Answer, Actions: []askAction{}, MS: ms,
		}
		for k, v := range rep.Slots {
			line.Slots[k] = v
		}
		if rep.Refused != "" {
			r := string(rep.Refused)
			line.Refused = &r
		}
		// The car runs on: windows move, the cabin warms or cools.
		if car != nil {
			car.run(*settle)
		} else {
			clock = clock.Add(*settle)
		}
		for i, a := range rep.Actions {
			f := a.Frame
			aa := askAction{
				Kind: string(a.Kind), Message: a.Message, Cancel: a.Undo, Sent: a.Sent,
				Frame:   ifaceName(ifaces, f.Bus) + " " + string(can.AppendCompact(nil, &f)),
				Signals: map[string]any{},
			}
			for _, s := range a.Signals {
				if s.Label != "" {
					aa.Signals[s.Name] = s.Label
				} else {
					aa.Signals[s.Name] = s.Value
				}
			}
			if car != nil {
				aa.Applied = i < len(sink.applied) && sink.applied[i]
				aa.State = map[string]*float64{}
				for _, p := range a.Effects {
					if v, _, ok := car.Value(p); ok {
						v = math.Round(v*1000) / 1000
						aa.State[p] = &v
					} else {
						aa.State[p] = nil
					}
				}
			}
			line.Actions = append(line.Actions, aa)
		}
		return enc.Encode(line)
	}
	if len(texts) > 0 {
		for _, t := range texts {
			if ctx.Err() != nil {
				return nil
			}
			if err := turn(t); err != nil {
				return err
			}
		}
		return nil
	}
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		if ctx.Err() != nil {
			return nil
		}
		if t := strings.TrimSpace(sc.Text()); t != "" {
			if err := turn(t); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

func ifaceName(m map[uint8]string, bus uint8) string {
	if n, ok := m[bus]; ok {
		return n
	}
	return fmt.Sprintf("can%d", bus)
}

// askSink hands action frames to the simulated car, if any; without one
// (a state file) the frames are only printed.
type askSink struct {
	car     *sim.Sim
	applied []bool
}

func (s *askSink) WriteFrame(f can.Frame) error {
	ok := s.car != nil && s.car.Command(f)
	if s.car != nil && !ok {
		return fmt.Errorf("the simulated car does not obey frame %03X", f.ID)
	}
	s.applied = append(s.applied, ok)
	return nil
}

// askSim is the board's simulated car with the agent's decode path: its
// frames are decoded with the board's DBC and signal map into a
// last-known-value table, and the fault rules run over it once a second.
type askSim struct {
	car      *sim.Sim
	db       *signals.Database
	table    *signals.Table
	rules    *diag.Rules
	frames   []can.Frame
	vals     []signals.Value
	nextRule time.Time
}

func newAskSim(prof *board.Profile, db *signals.Database, scenario string, seed uint64, childLock bool) (*askSim, error) {
	simBus := -1
	for _, c := range prof.CAN {
		if c.Driver == board.DriverSim {
			simBus = c.Bus
			break
		}
	}
	if simBus < 0 {
		return nil, usageError{fmt.Errorf("board %s has no simulated car (no [[can]] with driver = \"sim\"): give the car's state with --state FILE.json", prof.Name)}
	}
	_, cycles, err := sim.LoadDBC(prof.Vehicle.DBC)
	if err != nil {
		return nil, err
	}
	sc := sim.DefaultConfig()
	sc.DBC, sc.Cycles, sc.Seed, sc.Scenario, sc.ChildLock = db, cycles, seed, scenario, childLock
	sc.Start = time.Unix(1700000000, 0)
	car, err := sim.New(sc)
	if err != nil {
		return nil, usageError{fmt.Errorf("--scenario/--seed: %w", err)}
	}
	return &askSim{car: car, db: db, table: signals.NewTable(db), rules: diag.NewRules(nil), frames: make([]can.Frame, 0, 512)}, nil
}

// run steps the car for d, decoding every frame it sends.
func (a *askSim) run(d time.Duration) {
	tick := a.car.Config().Tick
	end := a.car.Elapsed() + d
	for a.car.Elapsed() < end {
		a.car.Step(min(tick, end-a.car.Elapsed()))
		now := a.car.Now()
		a.frames = a.car.Frames(now.UnixNano(), a.frames[:0])
		for i := range a.frames {
			f := &a.frames[i]
			if m := a.db.Lookup(f); m != nil {
				a.vals = m.Decode(f, a.vals[:0])
				a.table.Update(a.vals, f.Time)
			}
		}
		if !now.Before(a.nextRule) {
			a.rules.Step(now, func(p string) (float64, bool) {
				s, ok := a.table.Get(p)
				return s.Value, ok && !s.Stale(now)
			})
			a.nextRule = now.Add(time.Second)
		}
	}
}

// Value implements dialog.State from the last-known-value table, ages
// against the sim clock.
func (a *askSim) Value(path string) (float64, time.Duration, bool) {
	s, ok := a.table.Get(path)
	if !ok {
		return 0, 0, false
	}
	return s.Value, a.car.Now().Sub(s.Time), true
}

// alarms returns the active alarm items' names (fault ids of the KB).
func (a *askSim) alarms() []string {
	var ids []string
	for _, al := range a.rules.Active() {
		ids = append(ids, al.Name)
	}
	return ids
}

// askFaults implements dialog.Faults: diagnoses are read out with their KB
// title in the request's language; trouble codes with their SAE J2012
// meaning (English), or in other languages the title of the KB fault that
// lists the code, where one does.
type askFaults struct {
	kb     *kb.KB
	ids    []string        // from a state file
	alarms func() []string // from the simulated car's rules
	dtcs   []obd.DTC
}

func (f *askFaults) fromState(st *dialog.StaticState) error {
	for i, id := range st.Faults {
		if _, _, ok := f.kb.Lookup(id, "en"); !ok {
			return fmt.Errorf("state: %s: faults[%d]: unknown fault id %q (expected an id of agent/diag/kb/faults.yaml such as %q)", st.File, i, id, f.kb.IDs()[0])
		}
	}
	f.ids = st.Faults
	for i, c := range st.DTCs {
		d, err := obd.ParseDTC(c)
		if err != nil {
			return fmt.Errorf("state: %s: dtcs[%d]: %w", st.File, i, err)
		}
		f.dtcs = append(f.dtcs, d)
	}
	return nil
}

func (f *askFaults) ActiveFaults(lang intent.Language) ([]dialog.Fault, error) {
	ids := f.ids
	if f.alarms != nil {
		ids = append(slices.Clone(ids), f.alarms()...)
	}
	var out []dialog.Fault
	for _, id := range ids {
		_, t, ok := f.kb.Lookup(id, string(lang))
		if !ok {
			return nil, fmt.Errorf("fault %q not in the knowledge base", id)
		}
		out = append(out, dialog.Fault{Title: t.Title})
	}
	for _, d := range f.dtcs {
		out = append(out, dialog.Fault{Code: d.Code, Title: f.meaning(d, lang)})
	}
	return out, nil
}

func (f *askFaults) meaning(d obd.DTC, lang intent.Language) string {
	if lang != intent.English {
		for _, id := range f.kb.IDs() {
			e, t, _ := f.kb.Lookup(id, string(lang))
			if slices.Contains(e.DTCs, d.Base()) {
				return t.Title
			}
		}
	}
	return d.Description()
}
