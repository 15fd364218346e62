package dialog

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/voice/intent"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/audio"
	"github.com/evedge/evedge/drivers/can"
)

// Options are what New needs.
type Options struct {
	Config Config
	// Contexts are the car contexts, one per language; Ask tries them in
	// this order when the language is not given.
	Contexts []*intent.Context
	// DBC is the vehicle's compiled DBC, for encoding the command messages.
	DBC *signals.Database
	// Writes are the board profile's allowed CAN writes ([[can_write]]).
	Writes []board.Write
	// Sink receives the frames of the actions that pass the gate. Nil:
	// nothing is sent and actions are refused with ReasonSendFailed.
	Sink can.Sink
	// State gives the live values; Faults the active faults (nil: the
	// fault memory cannot be read).
	State  State
	Faults Faults
	// Now is the clock for rate limits and cancelling (nil: time.Now).
	Now func() time.Time
}

// Request is one turn: a recognised intent, or not.
type Request struct {
	// Text is what was said or typed (for the reply only).
	Text string
	// Lang is the request's language; it must be one of the contexts'.
	Lang intent.Language
	// Zone is the speaker's cabin zone; ZoneUnknown counts as the driver.
	Zone       audio.Zone
	Understood bool
	Result     intent.Result
}

// Reply is the dialogue's answer to one turn.
type Reply struct {
	Text       string
	Lang       intent.Language
	Zone       audio.Zone
	Understood bool
	Intent     string
	Slots      map[string]any
	// Answer is what to say, in Lang.
	Answer string
	// Actions are the frames sent (Sent) for this turn; a refused action
	// is not listed.
	Actions []Action
	// Refused is why the requested action was refused; "" when it was not.
	Refused Reason
}

// Action is one command frame.
type Action struct {
	Kind    Kind
	Message string
	// Frame is the frame as written to the sink, Bus set from [[can_write]].
	Frame can.Frame
	// Signals are the signals the action sets, in physical units, with
	// their value-table label where there is one.
	Signals []SignalValue
	// Effects are the VSS paths that show the action's effect.
	Effects []string
	// Undo marks a cancellation of the previous action.
	Undo bool
	Sent bool
}

// SignalValue is one signal an action sets.
type SignalValue struct {
	Name  string
	Value float64
	Label string
}

// Dialogue holds the conversation's state: the last answer (Repeat) and
// the last action (Cancel), and the rate limits. It is safe for
// concurrent use; turns are handled one at a time.
type Dialogue struct {
	cfg           Config
	ctx           map[intent.Language]*intent.Context
	order         []intent.Language
	state         State
	faults        Faults
	sink          can.Sink
	now           func() time.Time
	cmds          map[Kind]*command
	reverseBlocks map[Kind]bool
	exempt        map[audio.Zone]bool

	mu      sync.Mutex
	guard   guard
	last    string
	pending *pendingAction
}

type pendingAction struct {
	at   time.Time
	undo *plan
}

// command is a command message resolved in the DBC.
type command struct {
	kind  Kind
	field string           // config field, for errors
	msg   *signals.Message // nil: the DBC has no such message
	roles map[string]*signals.Signal
	keep  []setting // every signal at its NoChange value
	label map[*signals.Signal]map[string]uint64
}

// setting is one signal value of a frame: raw bits, or a physical value.
type setting struct {
	sig    *signals.Signal
	raw    uint64
	phys   float64
	isPhys bool
}

// plan is an action before the gate.
type plan struct {
	kind    Kind
	cmd     *command
	set     []setting
	opens   bool  // opens windows: the speed gate applies
	rear    []int // rear windows opened (0 left, 1 right): the child lock gate applies
	effects []string
	undo    *plan // how to cancel it; nil: nothing to undo
}

// requiredResponses are the shared responses the dialogue says; every
// context given to New must have them.
func requiredResponses() []string {
	keys := []string{"not_understood", "cancel", "refused", "not_charging", "no_faults", "fault", "one_fault",
		"more_faults", "fault_separator", "tyre_pressure_wheel", "no_window", "no_seat", "nothing_to_repeat",
		"unknown_range", "unknown_battery", "unknown_charging", "unknown_time_to_full", "unknown_faults",
		"unknown_tyre_pressure", "unknown_cabin_temperature"}
	for _, r := range Reasons() {
		if r != ReasonNotAllowed && r != ReasonUnsupported {
			keys = append(keys, "reason_"+string(r))
		}
	}
	for _, k := range Kinds() {
		keys = append(keys, "not_allowed_"+string(k))
	}
	return keys
}

// New checks the configuration against the contexts and the DBC and
// returns a dialogue. Errors name the context file or configuration field.
func New(o Options) (*Dialogue, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, fmt.Errorf("dialog: %w", err)
	}
	if len(o.Contexts) == 0 {
		return nil, errors.New("dialog: no contexts")
	}
	if o.DBC == nil {
		return nil, errors.New("dialog: no DBC: the command messages are encoded from the vehicle's DBC")
	}
	d := &Dialogue{
		cfg: o.Config, ctx: map[intent.Language]*intent.Context{}, state: o.State, faults: o.Faults,
		sink: o.Sink, now: o.Now, cmds: map[Kind]*command{}, reverseBlocks: map[Kind]bool{}, exempt: map[audio.Zone]bool{},
		guard: guard{writes: o.Writes, last: make([]time.Time, len(o.Writes))},
	}
	if d.now == nil {
		d.now = time.Now
	}
	var errs []error
	for _, c := range o.Contexts {
		if _, dup := d.ctx[c.Language]; dup {
			errs = append(errs, fmt.Errorf("dialog: %s: a second context for language %s", c.Name, c.Language))
			continue
		}
		d.ctx[c.Language] = c
		d.order = append(d.order, c.Language)
		for _, k := range requiredResponses() {
			if c.Responses[k] == "" {
				errs = append(errs, fmt.Errorf("dialog: %s: responses.%s is missing", c.Name, k))
			}
		}
		if len(c.Wake) > 0 && c.Responses["wake"] == "" {
			errs = append(errs, fmt.Errorf("dialog: %s: responses.wake is missing (the answer to the wake phrase alone)", c.Name))
		}
	}
	for _, k := range o.Config.Gates.Reverse {
		d.reverseBlocks[k] = true
	}
	for _, z := range o.Config.Gates.ChildLockExemptZones {
		zz, _ := audio.ParseZone(z)
		d.exempt[zz] = true
	}
	cc := &o.Config.Commands
	for _, spec := range []struct {
		kind   Kind
		field  string
		msg    string
		roles  map[string]string
		labels []string
	}{
		{KindWindow, "window", cc.Window.Message, cornerRoles(cc.Window.Signals), []string{"Open", "Close", "Stop"}},
		{KindClimate, "climate", cc.Climate.Message, map[string]string{"setpoint": cc.Climate.Signals.Setpoint, "on": cc.Climate.Signals.On}, nil},
		{KindSeat, "seat_heating", cc.Seat.Message, seatRoles(cc.Seat.Signals), nil},
		{KindLights, "lights", cc.Lights.Message, lightRoles(cc.Lights.Signals), []string{"On", "Off"}},
	} {
		cmd, err := resolve(o.DBC, spec.kind, spec.field, spec.msg, spec.roles, spec.labels, o.Config.SeatLevels)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.cmds[spec.kind] = cmd
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return d, nil
}

func cornerRoles(c Corners) map[string]string {
	return map[string]string{"front_left": c.FrontLeft, "front_right": c.FrontRight, "rear_left": c.RearLeft, "rear_right": c.RearRight}
}

func seatRoles(s Seats) map[string]string {
	return map[string]string{"driver": s.Driver, "passenger": s.Passenger, "rear_left": s.RearLeft, "rear_right": s.RearRight}
}

func lightRoles(l Lights) map[string]string {
	return map[string]string{"headlights": l.Headlights, "fog": l.Fog, "interior": l.Interior, "ambient": l.Ambient}
}

// resolve finds a command message and its signals in the DBC. A message
// the DBC lacks leaves the command unsupported; a signal or label it lacks
// is a configuration error.
func resolve(db *signals.Database, kind Kind, field, name string, roles map[string]string, labels []string, seatLevels int) (*command, error) {
	cmd := &command{kind: kind, field: field, roles: map[string]*signals.Signal{}, label: map[*signals.Signal]map[string]uint64{}}
	if name == "" {
		return cmd, nil
	}
	cmd.msg = db.Message(name)
	if cmd.msg == nil {
		return cmd, nil
	}
	for _, sig := range cmd.msg.Signals {
		byLabel := map[string]uint64{}
		for raw, l := range sig.Labels {
			byLabel[strings.ToLower(l)] = uint64(raw)
		}
		cmd.label[sig] = byLabel
		keep := setting{sig: sig}
		if raw, ok := byLabel["nochange"]; ok {
			keep.raw = raw
		} else if raw, ok := byLabel["noaction"]; ok {
			keep.raw = raw
		}
		cmd.keep = append(cmd.keep, keep)
	}
	for role, sn := range roles {
		if sn == "" {
			continue
		}
		sig := cmd.msg.Signal(sn)
		if sig == nil {
			return nil, fmt.Errorf("dialog: commands.%s.signals.%s: signal %q is not in message %s of %s", field, role, sn, name, db.File)
		}
		cmd.roles[role] = sig
		need := labels
		if kind == KindClimate && role == "on" {
			need = []string{"On", "Off"}
		}
		for _, l := range need {
			if _, ok := cmd.label[sig][strings.ToLower(l)]; !ok {
				return nil, fmt.Errorf("dialog: commands.%s.signals.%s: signal %s.%s has no value labelled %q (VAL_ in %s)", field, role, name, sn, l, db.File)
			}
		}
		if kind == KindSeat && (sig.Size >= 64 || uint64(seatLevels) > 1<<sig.Size-1) {
			return nil, fmt.Errorf("dialog: commands.%s.signals.%s: signal %s.%s of %d bits cannot carry level %d", field, role, name, sn, sig.Size, seatLevels)
		}
	}
	return cmd, nil
}

// Languages returns the languages the dialogue speaks, in Ask's order.
func (d *Dialogue) Languages() []intent.Language { return append([]intent.Language(nil), d.order...) }

// Ask matches typed or transcribed text and handles it. With lang empty
// the contexts are tried in order and the first that understands wins;
// when none does, the reply is in the first context's language.
func (d *Dialogue) Ask(text string, lang intent.Language, zone audio.Zone) Reply {
	req := Request{Text: text, Lang: lang, Zone: zone}
	langs := d.order
	if lang != "" {
		langs = []intent.Language{lang}
	}
	for _, l := range langs {
		c := d.ctx[l]
		if c == nil {
			continue
		}
		r, ok := c.Match(text)
		if !ok {
			// A transcript that kept the wake phrase.
			r, ok = c.MatchWake(text)
		}
		if ok {
			req.Lang, req.Understood, req.Result = l, true, r
			break
		}
	}
	if req.Lang == "" {
		req.Lang = d.order[0]
	}
	return d.Handle(req)
}

// Handle answers one turn and performs its action, if any.
func (d *Dialogue) Handle(req Request) Reply {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.ctx[req.Lang]
	if c == nil {
		req.Lang, req.Understood = d.order[0], false
		c = d.ctx[req.Lang]
	}
	zone := req.Zone
	if zone == audio.ZoneUnknown {
		zone = audio.ZoneDriver
	}
	rep := Reply{Text: req.Text, Lang: req.Lang, Zone: zone, Understood: req.Understood}
	if !req.Understood {
		rep.Answer = c.Response("not_understood")
		return rep
	}
	rep.Intent, rep.Slots = req.Result.Intent, req.Result.Slots
	t := turn{d: d, c: c, r: req.Result, zone: zone, now: d.now(), rep: &rep}
	t.handle()
	if rep.Intent != "Repeat" && (rep.Intent != intent.WakeIntent || len(c.Wake) == 0) {
		d.last = rep.Answer
	}
	return rep
}

// turn is the work of one Handle call.
type turn struct {
	d    *Dialogue
	c    *intent.Context
	r    intent.Result
	zone audio.Zone
	now  time.Time
	rep  *Reply
}

func (t *turn) lang() intent.Language { return t.c.Language }

// say fills a shared response.
func (t *turn) say(name string, vals map[string]any) string {
	s, _ := intent.Fill(t.c.Response(name), vals)
	return s
}

// respond fills the intent's response with live values.
func (t *turn) respond(live map[string]any) string {
	s, err := t.c.Respond(t.r, live)
	if err != nil && s == "" {
		return t.c.Response("not_understood")
	}
	return s
}

func (t *turn) num(v float64, decimals int) string { return FormatNumber(t.lang(), v, decimals) }

func (t *turn) soc(v float64) string { return t.num(clamp(v, 0, 100), 0) }

// rangeKm rounds a range for speech: to 5 km from 20 km up.
func (t *turn) rangeKm(m float64) string {
	km := math.Max(0, m/1000)
	if km >= 20 {
		km = math.Round(km/5) * 5
	}
	return t.num(km, 0)
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

func (t *turn) handle() {
	d, p := t.d, &t.d.cfg.Paths
	switch t.r.Intent {
	case "GetRange":
		soc, ok1 := d.info(p.SOC)
		rng, ok2 := d.info(p.Range)
		if !ok1 || !ok2 {
			t.rep.Answer = t.say("unknown_range", nil)
			return
		}
		t.rep.Answer = t.respond(map[string]any{"soc": t.soc(soc), "range": t.rangeKm(rng)})
	case "GetBatteryLevel":
		soc, ok := d.info(p.SOC)
		if !ok {
			t.rep.Answer = t.say("unknown_battery", nil)
			return
		}
		t.rep.Answer = t.respond(map[string]any{"soc": t.soc(soc)})
	case "GetChargingStatus":
		t.charging(false)
	case "GetTimeToFull":
		t.charging(true)
	case "GetFaults":
		t.faults()
	case "GetTyrePressure":
		t.tyres()
	case "GetCabinTemperature":
		v, ok := d.info(p.CabinTemperature)
		if !ok {
			t.rep.Answer = t.say("unknown_cabin_temperature", nil)
			return
		}
		t.rep.Answer = t.respond(map[string]any{"cabin_temperature": t.num(v, 0)})
	case "SetTemperature":
		t.setTemperature()
	case "OpenWindow", "CloseWindow":
		t.window(t.r.Intent == "OpenWindow")
	case "SeatHeatingOn", "SeatHeatingOff":
		t.seat(t.r.Intent == "SeatHeatingOn")
	case "LightsOn", "LightsOff":
		t.lights(t.r.Intent == "LightsOn")
	case "Repeat":
		if d.last == "" {
			t.rep.Answer = t.say("nothing_to_repeat", nil)
			return
		}
		t.rep.Answer = t.respond(map[string]any{"last": d.last})
	case "Cancel":
		t.cancel()
	case intent.WakeIntent:
		if len(t.c.Wake) > 0 {
			// The wake phrase alone: the assistant listens for the
			// request.
			t.rep.Answer = t.say("wake", nil)
			return
		}
		// A context without a wake phrase may name an intent Wake.
		t.rep.Answer = t.respond(nil)
	default:
		// An intent of another context: its response with the slots.
		t.rep.Answer = t.respond(nil)
	}
}

func (t *turn) charging(ttf bool) {
	d, p := t.d, &t.d.cfg.Paths
	unknown := "unknown_charging"
	if ttf {
		unknown = "unknown_time_to_full"
	}
	ch, okCh := d.info(p.Charging)
	soc, okSOC := d.info(p.SOC)
	if !okCh || !okSOC {
		t.rep.Answer = t.say(unknown, nil)
		return
	}
	if ch == 0 {
		t.rep.Answer = t.say("not_charging", map[string]any{"soc": t.soc(soc)})
		return
	}
	if ttf {
		s, ok := d.info(p.TimeToFull)
		if !ok || s <= 0 {
			t.rep.Answer = t.say(unknown, nil)
			return
		}
		t.rep.Answer = t.respond(map[string]any{"minutes": t.num(math.Ceil(s/60), 0)})
		return
	}
	w, ok := d.info(p.ChargePower)
	if !ok {
		t.rep.Answer = t.say(unknown, nil)
		return
	}
	kw := math.Max(0, w) / 1000
	dec := 0
	if kw < 10 {
		dec = 1
	}
	t.rep.Answer = t.respond(map[string]any{"power": t.num(kw, dec), "soc": t.soc(soc)})
}

func (t *turn) faults() {
	if t.d.faults == nil {
		t.rep.Answer = t.say("unknown_faults", nil)
		return
	}
	fs, err := t.d.faults.ActiveFaults(t.lang())
	if err != nil {
		t.rep.Answer = t.say("unknown_faults", nil)
		return
	}
	if len(fs) == 0 {
		t.rep.Answer = t.say("no_faults", nil)
		return
	}
	sep := t.c.Response("fault_separator")
	var b strings.Builder
	n := min(len(fs), t.d.cfg.MaxFaultsSpoken)
	for i, f := range fs[:n] {
		if i > 0 {
			b.WriteString(sep)
		}
		switch {
		case f.Code != "" && f.Title != "":
			b.WriteString(t.say("fault", map[string]any{"code": f.Code, "meaning": f.Title}))
		case f.Code != "":
			b.WriteString(f.Code)
		default:
			b.WriteString(f.Title)
		}
	}
	if len(fs) > n {
		b.WriteString(sep)
		b.WriteString(t.say("more_faults", map[string]any{"count": t.num(float64(len(fs)-n), 0)}))
	}
	if len(fs) == 1 {
		t.rep.Answer = t.say("one_fault", map[string]any{"faults": b.String()})
		return
	}
	t.rep.Answer = t.respond(map[string]any{"count": t.num(float64(len(fs)), 0), "faults": b.String()})
}

func cornerPath(c Corners, id string) string {
	switch id {
	case "front_left":
		return c.FrontLeft
	case "front_right":
		return c.FrontRight
	case "rear_left":
		return c.RearLeft
	case "rear_right":
		return c.RearRight
	}
	return ""
}

var corners = []string{"front_left", "front_right", "rear_left", "rear_right"}

func (t *turn) tyres() {
	tyres := t.d.cfg.Paths.Tyres
	bar := func(id string) (string, bool) {
		v, ok := t.d.info(cornerPath(tyres, id))
		return t.num(v/100, 1), ok
	}
	if w, ok := t.r.Slots["wheel"].(string); ok {
		p, ok := bar(w)
		if !ok {
			t.rep.Answer = t.say("unknown_tyre_pressure", nil)
			return
		}
		t.rep.Answer = t.say("tyre_pressure_wheel", map[string]any{"wheel": t.c.Say(t.r.Intent, "wheel", w), "pressure": p})
		return
	}
	live := map[string]any{}
	for _, id := range corners {
		p, ok := bar(id)
		if !ok {
			t.rep.Answer = t.say("unknown_tyre_pressure", nil)
			return
		}
		live[id] = p
	}
	t.rep.Answer = t.respond(live)
}

// zoneWindow is the window next to a cabin zone ("" for rear-center).
func (d *Dialogue) zoneWindow(z audio.Zone) string {
	left := d.cfg.DriverSide == "left"
	switch z {
	case audio.ZoneDriver:
		if left {
			return "front_left"
		}
		return "front_right"
	case audio.ZonePassenger:
		if left {
			return "front_right"
		}
		return "front_left"
	case audio.ZoneRearLeft:
		return "rear_left"
	case audio.ZoneRearRight:
		return "rear_right"
	}
	return ""
}

// zoneSeat is the seat of a cabin zone ("" for rear-center).
func zoneSeat(z audio.Zone) string {
	switch z {
	case audio.ZoneDriver:
		return "driver"
	case audio.ZonePassenger:
		return "passenger"
	case audio.ZoneRearLeft:
		return "rear_left"
	case audio.ZoneRearRight:
		return "rear_right"
	}
	return ""
}

func (t *turn) window(open bool) {
	w, _ := t.r.Slots["window"].(string)
	if w == "" {
		w = t.d.zoneWindow(t.zone)
	}
	var ids []string
	switch w {
	case "":
		t.rep.Answer = t.say("no_window", nil)
		return
	case "all":
		ids = corners
	default:
		ids = []string{w}
	}
	cmd := t.d.cmds[KindWindow]
	p := &plan{kind: KindWindow, cmd: cmd, opens: open}
	undo := &plan{kind: KindWindow, cmd: cmd}
	want := "close"
	if open {
		want = "open"
	}
	for _, id := range ids {
		sig := cmd.roles[id]
		if sig == nil {
			// A window the command message cannot move.
			p.cmd = &command{kind: KindWindow}
			continue
		}
		p.set = append(p.set, setting{sig: sig, raw: cmd.label[sig][want]})
		undo.set = append(undo.set, setting{sig: sig, raw: cmd.label[sig]["stop"]})
		if open && id == "rear_left" {
			p.rear = append(p.rear, 0)
		}
		if open && id == "rear_right" {
			p.rear = append(p.rear, 1)
		}
		if path := cornerPath(t.d.cfg.Paths.Windows, id); path != "" {
			p.effects = append(p.effects, path)
		}
	}
	undo.effects = p.effects
	p.undo = undo
	t.act(p, map[string]any{"window": t.c.Say(t.r.Intent, "window", w)})
}

func (t *turn) setTemperature() {
	temp, ok := t.r.Slots["temperature"].(int)
	if !ok {
		t.rep.Understood, t.rep.Answer = false, t.c.Response("not_understood")
		return
	}
	cmd := t.d.cmds[KindClimate]
	p := &plan{kind: KindClimate, cmd: cmd}
	if sig := cmd.roles["setpoint"]; sig != nil {
		p.set = append(p.set, setting{sig: sig, phys: float64(temp), isPhys: true})
		if prev, ok := t.d.info(t.d.cfg.Paths.Setpoint); ok {
			p.undo = &plan{kind: KindClimate, cmd: cmd, set: []setting{{sig: sig, phys: prev, isPhys: true}}}
		}
	} else if cmd.msg != nil {
		p.cmd = &command{kind: KindClimate}
	}
	if sig := cmd.roles["on"]; sig != nil {
		p.set = append(p.set, setting{sig: sig, raw: cmd.label[sig]["on"]})
	}
	if path := t.d.cfg.Paths.Setpoint; path != "" {
		p.effects = []string{path}
		if p.undo != nil {
			p.undo.effects = p.effects
		}
	}
	t.act(p, map[string]any{"temperature": t.num(float64(temp), 0)})
}

func (t *turn) seat(on bool) {
	s, _ := t.r.Slots["seat"].(string)
	if s == "" {
		s = zoneSeat(t.zone)
	}
	if s == "" {
		t.rep.Answer = t.say("no_seat", nil)
		return
	}
	level := 0
	if on {
		level = t.d.cfg.DefaultSeatLevel
		if l, ok := t.r.Slots["level"].(int); ok {
			level = l
		}
		level = max(1, min(level, t.d.cfg.SeatLevels))
	}
	cmd := t.d.cmds[KindSeat]
	p := &plan{kind: KindSeat, cmd: cmd}
	path := seatPath(t.d.cfg.Paths.Seats, s)
	if sig := cmd.roles[s]; sig != nil {
		p.set = []setting{{sig: sig, raw: uint64(level)}}
		if pct, ok := t.d.info(path); ok {
			prev := int(math.Round(clamp(pct, 0, 100) / 100 * float64(t.d.cfg.SeatLevels)))
			p.undo = &plan{kind: KindSeat, cmd: cmd, set: []setting{{sig: sig, raw: uint64(prev)}}}
		}
	} else if cmd.msg != nil {
		p.cmd = &command{kind: KindSeat}
	}
	if path != "" {
		p.effects = []string{path}
		if p.undo != nil {
			p.undo.effects = p.effects
		}
	}
	t.act(p, map[string]any{"seat": t.c.Say(t.r.Intent, "seat", s), "level": t.num(float64(level), 0)})
}

func seatPath(s Seats, id string) string {
	switch id {
	case "driver":
		return s.Driver
	case "passenger":
		return s.Passenger
	case "rear_left":
		return s.RearLeft
	case "rear_right":
		return s.RearRight
	}
	return ""
}

func lightPath(l Lights, id string) string {
	switch id {
	case "headlights":
		return l.Headlights
	case "fog":
		return l.Fog
	case "interior":
		return l.Interior
	case "ambient":
		return l.Ambient
	}
	return ""
}

func (t *turn) lights(on bool) {
	id, ok := t.r.Slots["lights"].(string)
	if !ok {
		t.rep.Understood, t.rep.Answer = false, t.c.Response("not_understood")
		return
	}
	cmd := t.d.cmds[KindLights]
	p := &plan{kind: KindLights, cmd: cmd}
	path := lightPath(t.d.cfg.Paths.Lights, id)
	if sig := cmd.roles[id]; sig != nil {
		want := "off"
		if on {
			want = "on"
		}
		p.set = []setting{{sig: sig, raw: cmd.label[sig][want]}}
		if prev, ok := t.d.info(path); ok {
			was := "off"
			if prev != 0 {
				was = "on"
			}
			p.undo = &plan{kind: KindLights, cmd: cmd, set: []setting{{sig: sig, raw: cmd.label[sig][was]}}}
		}
	} else if cmd.msg != nil {
		p.cmd = &command{kind: KindLights}
	}
	if path != "" {
		p.effects = []string{path}
		if p.undo != nil {
			p.undo.effects = p.effects
		}
	}
	t.act(p, nil)
}

// act runs a plan through the gate and, when it passes, sends it and
// answers with the intent's response; otherwise answers the refusal.
func (t *turn) act(p *plan, live map[string]any) {
	a, reason, limit := t.d.execute(p, t.zone, t.now, false)
	if reason != "" {
		t.rep.Refused = reason
		t.rep.Answer = t.refusal(p.kind, reason, limit)
		return
	}
	t.rep.Actions = append(t.rep.Actions, a)
	t.d.pending = nil
	if p.undo != nil && t.d.cfg.CancelWindow.Duration > 0 {
		t.d.pending = &pendingAction{at: t.now, undo: p.undo}
	}
	t.rep.Answer = t.respond(live)
}

func (t *turn) refusal(kind Kind, reason Reason, limit float64) string {
	if reason == ReasonNotAllowed || reason == ReasonUnsupported {
		return t.say("not_allowed_"+string(kind), nil)
	}
	why := t.say("reason_"+string(reason), map[string]any{"limit": t.num(limit, 0)})
	return t.say("refused", map[string]any{"reason": why})
}

func (t *turn) cancel() {
	pa := t.d.pending
	t.d.pending = nil
	if pa != nil && t.now.Sub(pa.at) <= t.d.cfg.CancelWindow.Duration {
		a, reason, limit := t.d.execute(pa.undo, t.zone, t.now, true)
		if reason != "" {
			t.rep.Refused = reason
			t.rep.Answer = t.refusal(pa.undo.kind, reason, limit)
			return
		}
		a.Undo = true
		t.rep.Actions = append(t.rep.Actions, a)
	}
	t.rep.Answer = t.respond(nil)
}

// execute gates, encodes and sends a plan.
func (d *Dialogue) execute(p *plan, zone audio.Zone, now time.Time, undo bool) (Action, Reason, float64) {
	reason, limit, entry := d.gate(p, zone, now, undo)
	if reason != "" {
		return Action{}, reason, limit
	}
	f := p.cmd.msg.NewFrame()
	for _, k := range p.cmd.keep {
		k.sig.EncodeRaw(&f, k.raw)
	}
	a := Action{Kind: p.kind, Message: p.cmd.msg.Name, Effects: p.effects}
	for _, s := range p.set {
		sv := SignalValue{Name: s.sig.Name}
		if s.isPhys {
			s.sig.Encode(&f, s.phys)
			sv.Value = s.phys
		} else {
			s.sig.EncodeRaw(&f, s.raw)
			sv.Value = float64(s.raw)*s.sig.Factor + s.sig.Offset
			sv.Label = s.sig.Labels[int64(s.raw)]
		}
		a.Signals = append(a.Signals, sv)
	}
	f.Bus = uint8(d.guard.writes[entry].Bus)
	f.Time = now.UnixNano()
	a.Frame = f
	if d.sink == nil {
		return Action{}, ReasonSendFailed, 0
	}
	if err := d.sink.WriteFrame(f); err != nil {
		return Action{}, ReasonSendFailed, 0
	}
	d.guard.last[entry] = now
	a.Sent = true
	return a, "", 0
}
