package dialog

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/voice/contexts"
	"github.com/evedge/evedge/agent/voice/intent"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/audio"
	"github.com/evedge/evedge/drivers/can"
)

const dbcPath = "../../../board/sim/sim-ev.dbc"

var (
	loadDB = sync.OnceValues(func() (*signals.Database, error) { return signals.Load(dbcPath) })
	loadCx = sync.OnceValues(func() ([]*intent.Context, error) {
		cs, err := intent.LoadAll(contexts.FS, "car.*.yaml")
		if err != nil {
			return nil, err
		}
		// en first, as the agent orders them.
		var out []*intent.Context
		for _, l := range intent.Languages {
			for _, c := range cs {
				if c.Language == l {
					out = append(out, c)
				}
			}
		}
		return out, nil
	})
	loadBoard = sync.OnceValues(func() (*board.Profile, error) { return board.Load("../../../board/sim.toml", nil) })
)

// recorder is a can.Sink that keeps the frames, or fails.
type recorder struct {
	frames []can.Frame
	fail   bool
}

func (r *recorder) WriteFrame(f can.Frame) error {
	if r.fail {
		return errors.New("bus off")
	}
	r.frames = append(r.frames, f)
	return nil
}

type fakeFaults struct {
	fs  []Fault
	err error
}

func (f *fakeFaults) ActiveFaults(lang intent.Language) ([]Fault, error) { return f.fs, f.err }

// baseValues is a car driving at 50 km/h in D, everything reported and
// fresh. Expected answers in the tests are worked out by hand from these.
func baseValues() map[string]StaticValue {
	v := func(x float64) StaticValue { return StaticValue{Value: x} }
	return map[string]StaticValue{
		"Vehicle.Speed": v(50),
		"Vehicle.Powertrain.Transmission.SelectedGear":                         v(127),
		"Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed":           v(76.4),
		"Vehicle.Powertrain.Range":                                             v(312400),
		"Vehicle.Powertrain.TractionBattery.Charging.IsCharging":               v(0),
		"Vehicle.Powertrain.TractionBattery.CurrentPower":                      v(-12000),
		"Vehicle.Powertrain.TractionBattery.Charging.TimeToComplete":           v(0),
		"Vehicle.Cabin.HVAC.AmbientAirTemperature":                             v(21.6),
		"Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature":                   v(21),
		"Vehicle.Cabin.IsWindowChildLockEngaged":                               v(0),
		"Vehicle.Cabin.Door.Row2.DriverSide.IsChildLockActive":                 v(0),
		"Vehicle.Cabin.Door.Row2.PassengerSide.IsChildLockActive":              v(0),
		"Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure":                   v(238),
		"Vehicle.Chassis.Axle.Row1.Wheel.Right.Tire.Pressure":                  v(244),
		"Vehicle.Chassis.Axle.Row2.Wheel.Left.Tire.Pressure":                   v(251),
		"Vehicle.Chassis.Axle.Row2.Wheel.Right.Tire.Pressure":                  v(262),
		"Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling":                    v(0),
		"Vehicle.Cabin.Seat.Row1.PassengerSide.HeatingCooling":                 v(100),
		"Vehicle.Body.Lights.Beam.Low.IsOn":                                    v(1),
		"Vehicle.Body.Lights.Fog.Front.IsOn":                                   v(0),
		"Vehicle.Cabin.Door.Row1.DriverSide.Window.Position":                   v(0),
		"Vehicle.Cabin.Door.Row2.PassengerSide.Window.Position":                v(0),
		"Vehicle.Powertrain.TractionBattery.Charging.IsChargingCableConnected": v(0),
	}
}

type fixture struct {
	d     *Dialogue
	state *StaticState
	sink  *recorder
	now   time.Time
	flt   *fakeFaults
}

func newFixture(t testing.TB, edit func(*Options)) *fixture {
	t.Helper()
	db, err := loadDB()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := loadCx()
	if err != nil {
		t.Fatal(err)
	}
	prof, err := loadBoard()
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{state: &StaticState{Values: baseValues()}, sink: &recorder{}, now: time.Unix(1700000000, 0), flt: &fakeFaults{}}
	o := Options{Config: DefaultConfig(), Contexts: cs, DBC: db, Writes: prof.Writes, Sink: fx.sink, State: fx.state, Faults: fx.flt,
		Now: func() time.Time { return fx.now }}
	if edit != nil {
		edit(&o)
	}
	fx.d, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// ask handles text in lang from the driver's seat, a second after the
// previous turn.
func (fx *fixture) ask(t testing.TB, lang intent.Language, text string) Reply {
	t.Helper()
	fx.now = fx.now.Add(time.Second)
	rep := fx.d.Ask(text, lang, audio.ZoneDriver)
	if !rep.Understood && text != "" {
		t.Logf("%s %q not understood", lang, text)
	}
	return rep
}

func (fx *fixture) set(path string, v float64) { fx.state.Values[path] = StaticValue{Value: v} }

// TestAnswers: the information intents in English, from the state, and
// honest answers for what the car does not report.
func TestAnswers(t *testing.T) {
	fx := newFixture(t, nil)
	for _, c := range []struct{ text, want string }{
		{"what's my range", "Battery at 76 percent, about 310 kilometres of range."},
		{"what's the battery level", "The battery is at 76 percent."},
		{"is the car charging", "The car is not charging. Battery at 76 percent."},
		{"how long until the battery is full", "The car is not charging. Battery at 76 percent."},
		{"any faults", "No faults. Everything looks fine."},
		{"what are the tyre pressures", "Tyre pressures in bar: front left 2.4, front right 2.4, rear left 2.5, rear right 2.6."},
		{"what's the pressure in the rear right tyre", "The rear right tyre is at 2.6 bar."},
		{"what's the cabin temperature", "It's 22 degrees inside."},
		// A transcript that kept the wake phrase, and the phrase alone.
		{"hey car, what's my range", "Battery at 76 percent, about 310 kilometres of range."},
		{"Hello car", "Yes?"},
	} {
		if got := fx.ask(t, intent.English, c.text).Answer; got != c.want {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	if got, want := fx.ask(t, intent.German, "hallo Auto").Answer, "Ja?"; got != want {
		t.Errorf("wake de: %q, want %q", got, want)
	}
	// Charging: 7.36 kW of AC shows one decimal, 48.7 kW none.
	fx.set("Vehicle.Powertrain.TractionBattery.Charging.IsCharging", 1)
	fx.set("Vehicle.Powertrain.TractionBattery.CurrentPower", 7360)
	fx.set("Vehicle.Powertrain.TractionBattery.Charging.TimeToComplete", 2090)
	if got, want := fx.ask(t, intent.English, "is the car charging").Answer, "Charging at 7.4 kilowatts, battery at 76 percent."; got != want {
		t.Errorf("charging: %q, want %q", got, want)
	}
	fx.set("Vehicle.Powertrain.TractionBattery.CurrentPower", 48700)
	if got, want := fx.ask(t, intent.German, "lädt das auto gerade").Answer, "Ladeleistung 49 Kilowatt, Akku bei 76 Prozent."; got != want {
		t.Errorf("charging de: %q, want %q", got, want)
	}
	if got, want := fx.ask(t, intent.English, "how long will charging take").Answer, "About 35 minutes until the battery is full."; got != want {
		t.Errorf("time to full: %q, want %q", got, want)
	}

	// Faults: one, several, more than are spoken, unreadable.
	fx.flt.fs = []Fault{{Code: "P0AA6", Title: "Hybrid battery voltage system isolation fault"}}
	if got, want := fx.ask(t, intent.English, "any faults").Answer, "One fault: P0AA6: Hybrid battery voltage system isolation fault."; got != want {
		t.Errorf("one fault: %q, want %q", got, want)
	}
	fx.flt.fs = []Fault{{Title: "Insulation fault"}, {Code: "P0A80"}, {Code: "B1234", Title: "x"}, {Title: "a"}, {Title: "b"}, {Title: "c"}, {Title: "d"}}
	if got, want := fx.ask(t, intent.English, "any faults").Answer, "7 faults: Insulation fault; P0A80; B1234: x; a; b; and 2 more."; got != want {
		t.Errorf("faults: %q, want %q", got, want)
	}
	if got, want := fx.ask(t, intent.French, "y a-t-il des défauts").Answer, "7 défauts : Insulation fault ; P0A80 ; B1234 : x ; a ; b ; et 2 autres."; got != want {
		t.Errorf("faults fr: %q, want %q", got, want)
	}
	fx.flt.err = errors.New("no diagnosis")
	if got, want := fx.ask(t, intent.English, "any faults").Answer, "I can't read the fault memory right now."; got != want {
		t.Errorf("faults unreadable: %q, want %q", got, want)
	}

	// Missing and stale values are said to be unknown, never read as 0.
	delete(fx.state.Values, "Vehicle.Powertrain.Range")
	fx.state.Values["Vehicle.Chassis.Axle.Row2.Wheel.Left.Tire.Pressure"] = StaticValue{Value: 250, Age: 3 * time.Minute}
	fx.state.Values["Vehicle.Cabin.HVAC.AmbientAirTemperature"] = StaticValue{Value: 20, Age: 121 * time.Second}
	delete(fx.state.Values, "Vehicle.Powertrain.TractionBattery.Charging.IsCharging")
	for _, c := range []struct{ text, want string }{
		{"what's my range", "I don't have the range right now."},
		{"what are the tyre pressures", "I don't have the tyre pressures right now."},
		{"what's the pressure in the rear left tyre", "I don't have the tyre pressures right now."},
		{"what's the cabin temperature", "I don't have the cabin temperature right now."},
		{"is the car charging", "I don't know the charging status right now."},
		{"how long until the battery is full", "I don't know how long charging will take right now."},
	} {
		if got := fx.ask(t, intent.English, c.text).Answer; got != c.want {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	// The front right tyre is still fresh.
	if got, want := fx.ask(t, intent.English, "what's the pressure in the front right tyre").Answer, "The front right tyre is at 2.4 bar."; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	delete(fx.state.Values, "Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed")
	if got, want := fx.ask(t, intent.English, "battery level").Answer, "I don't have the battery level right now."; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if got, want := fx.ask(t, intent.English, "open the boot").Answer, "Sorry, I didn't catch that."; got != want {
		t.Errorf("not understood: %q, want %q", got, want)
	}
}

// TestActionsEncode: each action's frame, bit by bit as the DBC lays it out
// (worked out by hand from board/sim/sim-ev.dbc), and its answer.
func TestActionsEncode(t *testing.T) {
	fx := newFixture(t, nil)
	cases := []struct {
		text   string
		id     uint32
		data   []byte
		answer string
	}{
		// WindowCmdRL (bits 4-5) = 1 Open.
		{"open the rear left window", 0x351, []byte{0x10, 0, 0, 0, 0, 0, 0, 0}, "Opening the rear left window."},
		// All four = 2 Close: 0b10101010.
		{"close all windows", 0x351, []byte{0xAA, 0, 0, 0, 0, 0, 0, 0}, "Closing all windows."},
		// SetpointReq 21/0.5 = 42; HVACOnReq (bits 8-9) = 1.
		{"set the temperature to twenty one degrees", 0x350, []byte{42, 0x01, 0, 0, 0, 0, 0, 0}, "Setting the temperature to 21 degrees."},
		// Passenger (bits 3-5) = 3, the others 7 NoChange: 7 | 3<<3 | 7<<6 | 7<<9 = 0x0FDF.
		{"switch on the passenger seat heater to level 3", 0x352, []byte{0xDF, 0x0F, 0, 0, 0, 0, 0, 0}, "Seat heating on for the passenger seat, level 3."},
		// Rear right (bits 9-11) = 0: 7 | 7<<3 | 7<<6 = 0x01FF.
		{"turn off the rear right seat heating", 0x352, []byte{0xFF, 0x01, 0, 0, 0, 0, 0, 0}, "Seat heating off for the rear right seat."},
		// FogFrontReq (bits 2-3) = 1, the others 3: 3 | 1<<2 | 3<<4 | 3<<6 = 0xF7.
		{"fog lights on", 0x353, []byte{0xF7, 0, 0, 0, 0, 0, 0, 0}, "Turning on the fog lights."},
		// DomeLightReq (bits 4-5) = 0: 3 | 3<<2 | 0 | 3<<6 = 0xCF.
		{"turn off the interior lights", 0x353, []byte{0xCF, 0, 0, 0, 0, 0, 0, 0}, "Turning off the interior lights."},
	}
	for _, c := range cases {
		fx.now = fx.now.Add(time.Second) // past every rate limit
		rep := fx.ask(t, intent.English, c.text)
		if rep.Refused != "" || len(rep.Actions) != 1 || !rep.Actions[0].Sent {
			t.Fatalf("%q: refused %q, actions %+v", c.text, rep.Refused, rep.Actions)
		}
		f := fx.sink.frames[len(fx.sink.frames)-1]
		if f.ID != c.id || f.Len != 8 || string(f.Data[:]) != string(c.data) || f.Bus != 0 {
			t.Errorf("%q: frame %03X#%X (bus %d), want %03X#%X", c.text, f.ID, f.Data[:f.Len], f.Bus, c.id, c.data)
		}
		if rep.Answer != c.answer {
			t.Errorf("%q: answer %q, want %q", c.text, rep.Answer, c.answer)
		}
		if rep.Actions[0].Frame != f {
			t.Errorf("%q: reply frame differs from the frame sent", c.text)
		}
	}
	if len(fx.sink.frames) != len(cases) {
		t.Errorf("%d frames sent, want %d", len(fx.sink.frames), len(cases))
	}
}

// gateCase builds a situation and the reason the gate must give.
type gateCase struct {
	name   string
	text   string
	zone   audio.Zone
	edit   func(fx *fixture)
	opts   func(o *Options)
	reason Reason
}

func gateCases() []gateCase {
	age := func(fx *fixture, p string, a time.Duration) {
		v := fx.state.Values[p]
		v.Age = a
		fx.state.Values[p] = v
	}
	noWindows := func(o *Options) {
		var ws []board.Write
		for _, w := range o.Writes {
			if w.Message != "BCM_WindowCmd" {
				ws = append(ws, w)
			}
		}
		o.Writes = ws
	}
	return []gateCase{
		{"allowed at 80", "open my window", audio.ZoneDriver, func(fx *fixture) { fx.set("Vehicle.Speed", 80) }, nil, ""},
		{"speed", "open my window", audio.ZoneDriver, func(fx *fixture) { fx.set("Vehicle.Speed", 80.5) }, nil, ReasonSpeed},
		{"closing at speed", "close my window", audio.ZoneDriver, func(fx *fixture) { fx.set("Vehicle.Speed", 160) }, nil, ""},
		{"speed unknown", "close my window", audio.ZoneDriver, func(fx *fixture) { delete(fx.state.Values, "Vehicle.Speed") }, nil, ReasonSpeedUnknown},
		{"speed stale", "turn on the headlights", audio.ZoneDriver, func(fx *fixture) { age(fx, "Vehicle.Speed", 1500*time.Millisecond) }, nil, ReasonSpeedUnknown},
		{"gear unknown", "set the temperature to 20 degrees", audio.ZoneDriver, func(fx *fixture) {
			delete(fx.state.Values, "Vehicle.Powertrain.Transmission.SelectedGear")
		}, nil, ReasonGearUnknown},
		{"gear stale", "heat my seat", audio.ZoneDriver, func(fx *fixture) { age(fx, "Vehicle.Powertrain.Transmission.SelectedGear", 2*time.Second) }, nil, ReasonGearUnknown},
		{"reverse window", "close my window", audio.ZoneDriver, func(fx *fixture) { fx.set("Vehicle.Powertrain.Transmission.SelectedGear", -1) }, nil, ReasonReverse},
		{"reverse lights", "turn off the headlights", audio.ZoneDriver, func(fx *fixture) { fx.set("Vehicle.Powertrain.Transmission.SelectedGear", -1) }, nil, ReasonReverse},
		{"reverse allowed by config", "set the temperature to 20 degrees", audio.ZoneDriver, func(fx *fixture) {
			fx.set("Vehicle.Powertrain.Transmission.SelectedGear", -1)
		}, func(o *Options) { o.Config.Gates.Reverse = []Kind{KindWindow} }, ""},
		{"child lock window", "open the rear left window", audio.ZoneDriver, func(fx *fixture) { fx.set("Vehicle.Cabin.IsWindowChildLockEngaged", 1) }, nil, ReasonChildLock},
		{"child lock door", "open the rear right window", audio.ZoneRearRight, func(fx *fixture) {
			fx.set("Vehicle.Cabin.Door.Row2.PassengerSide.IsChildLockActive", 1)
		}, nil, ReasonChildLock},
		{"child lock other door", "open the rear left window", audio.ZoneDriver, func(fx *fixture) {
			fx.set("Vehicle.Cabin.Door.Row2.PassengerSide.IsChildLockActive", 1)
		}, nil, ""},
		{"child lock all windows", "open all windows", audio.ZonePassenger, func(fx *fixture) { fx.set("Vehicle.Cabin.IsWindowChildLockEngaged", 1) }, nil, ReasonChildLock},
		{"child lock front window", "open the front right window", audio.ZoneDriver, func(fx *fixture) { fx.set("Vehicle.Cabin.IsWindowChildLockEngaged", 1) }, nil, ""},
		{"child lock closing", "close the rear left window", audio.ZoneRearLeft, func(fx *fixture) { fx.set("Vehicle.Cabin.IsWindowChildLockEngaged", 1) }, nil, ""},
		{"child lock exempt zone", "open the rear left window", audio.ZoneDriver, func(fx *fixture) { fx.set("Vehicle.Cabin.IsWindowChildLockEngaged", 1) },
			func(o *Options) { o.Config.Gates.ChildLockExemptZones = []string{"driver"} }, ""},
		{"child lock unknown", "open the rear left window", audio.ZoneDriver, func(fx *fixture) {
			delete(fx.state.Values, "Vehicle.Cabin.Door.Row2.DriverSide.IsChildLockActive")
		}, nil, ReasonChildLockUnknown},
		{"child lock not reported", "open the rear left window", audio.ZoneDriver, func(fx *fixture) {
			delete(fx.state.Values, "Vehicle.Cabin.Door.Row2.DriverSide.IsChildLockActive")
			delete(fx.state.Values, "Vehicle.Cabin.IsWindowChildLockEngaged")
		}, func(o *Options) { o.Config.Paths.ChildLocks = RearPair{}; o.Config.Paths.WindowLock = "" }, ""},
		{"not allowed", "open my window", audio.ZoneDriver, nil, noWindows, ReasonNotAllowed},
		{"not allowed beats speed", "open my window", audio.ZoneDriver, func(fx *fixture) { delete(fx.state.Values, "Vehicle.Speed") }, noWindows, ReasonNotAllowed},
		{"unsupported", "turn on the fog lights", audio.ZoneDriver, nil, func(o *Options) { o.Config.Commands.Lights.Message = "NoSuchMessage" }, ReasonUnsupported},
		{"board speed", "turn on the fog lights", audio.ZoneDriver, func(fx *fixture) { fx.set("Vehicle.Speed", 31) }, func(o *Options) {
			o.Writes = append([]board.Write(nil), o.Writes...)
			for i := range o.Writes {
				o.Writes[i].MaxSpeedKmh = 30
			}
		}, ReasonBoardSpeed},
		{"send failed", "turn on the fog lights", audio.ZoneDriver, func(fx *fixture) { fx.sink.fail = true }, nil, ReasonSendFailed},
		{"no sink", "turn on the fog lights", audio.ZoneDriver, nil, func(o *Options) { o.Sink = nil }, ReasonSendFailed},
	}
}

// TestGates runs every gate: the reply's reason, and no frame when refused.
// Every Reason is exercised (ReasonRateLimit by TestRateLimit).
func TestGates(t *testing.T) {
	hit := map[Reason]bool{ReasonRateLimit: true}
	for _, c := range gateCases() {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, c.opts)
			if c.edit != nil {
				c.edit(fx)
			}
			fx.now = fx.now.Add(time.Second)
			rep := fx.d.Ask(c.text, intent.English, c.zone)
			if !rep.Understood {
				t.Fatalf("%q not understood", c.text)
			}
			if rep.Refused != c.reason {
				t.Fatalf("refused %q, want %q (answer %q)", rep.Refused, c.reason, rep.Answer)
			}
			if c.reason != "" && (len(fx.sink.frames) != 0 || len(rep.Actions) != 0) {
				t.Errorf("refused but sent %v", fx.sink.frames)
			}
			if c.reason == "" && (len(fx.sink.frames) != 1 || len(rep.Actions) != 1) {
				t.Errorf("allowed but sent %d frames", len(fx.sink.frames))
			}
			hit[c.reason] = true
		})
	}
	for _, r := range Reasons() {
		if !hit[r] {
			t.Errorf("reason %s not exercised", r)
		}
	}
}

// TestRefusalTexts: every reason and every action kind has its text in
// every language, with no placeholder left; the English ones as written.
func TestRefusalTexts(t *testing.T) {
	fx := newFixture(t, nil)
	want := map[Reason]string{
		ReasonSpeed:            "I can't do that now: the car is faster than 80 kilometres per hour.",
		ReasonBoardSpeed:       "I can't do that now: this is only allowed below 80 kilometres per hour.",
		ReasonChildLock:        "I can't do that now: the child lock is on.",
		ReasonChildLockUnknown: "I can't do that now: I can't tell whether the child lock is on.",
		ReasonReverse:          "I can't do that now: the car is in reverse.",
		ReasonSpeedUnknown:     "I can't do that now: I don't know how fast the car is going.",
		ReasonGearUnknown:      "I can't do that now: I don't know which gear is selected.",
		ReasonRateLimit:        "I can't do that now: that came too soon after the last command, please try again.",
		ReasonSendFailed:       "I can't do that now: the command did not go through.",
		ReasonNotAllowed:       "This car doesn't let me control the windows.",
		ReasonUnsupported:      "This car doesn't let me control the windows.",
	}
	for _, lang := range fx.d.Languages() {
		c := fx.d.ctx[lang]
		tt := &turn{d: fx.d, c: c}
		for _, r := range Reasons() {
			for _, k := range Kinds() {
				s := tt.refusal(k, r, 80)
				if s == "" || strings.ContainsAny(s, "{}") {
					t.Errorf("%s %s %s: %q", lang, k, r, s)
				}
				if lang == intent.English && k == KindWindow && s != want[r] {
					t.Errorf("en %s: %q, want %q", r, s, want[r])
				}
			}
		}
	}
}

// TestZones: "my window" and "my seat" follow the speaker's zone, for a
// left- and a right-hand drive car.
func TestZones(t *testing.T) {
	for _, c := range []struct {
		side   string
		zone   audio.Zone
		window string // answer to "open my window"
		seat   string // answer to "heat my seat"
	}{
		{"left", audio.ZoneDriver, "Opening the front left window.", "Seat heating on for the driver's seat, level 2."},
		{"left", audio.ZoneUnknown, "Opening the front left window.", "Seat heating on for the driver's seat, level 2."},
		{"left", audio.ZonePassenger, "Opening the front right window.", "Seat heating on for the passenger seat, level 2."},
		{"left", audio.ZoneRearLeft, "Opening the rear left window.", "Seat heating on for the rear left seat, level 2."},
		{"left", audio.ZoneRearRight, "Opening the rear right window.", "Seat heating on for the rear right seat, level 2."},
		{"left", audio.ZoneRearCenter, "Which window?", "Which seat?"},
		{"right", audio.ZoneDriver, "Opening the front right window.", "Seat heating on for the driver's seat, level 2."},
		{"right", audio.ZonePassenger, "Opening the front left window.", "Seat heating on for the passenger seat, level 2."},
	} {
		fx := newFixture(t, func(o *Options) {
			if c.side == "right" {
				o.Config = defaultConfig("right")
			}
		})
		fx.now = fx.now.Add(time.Second)
		if got := fx.d.Ask("open my window", intent.English, c.zone).Answer; got != c.window {
			t.Errorf("%s-hand drive, %v: %q, want %q", c.side, c.zone, got, c.window)
		}
		fx.now = fx.now.Add(time.Second)
		if got := fx.d.Ask("heat my seat", intent.English, c.zone).Answer; got != c.seat {
			t.Errorf("%s-hand drive, %v: %q, want %q", c.side, c.zone, got, c.seat)
		}
	}
	// Right-hand drive: the driver's window is the right one, which VSS
	// calls Row1.DriverSide.
	fx := newFixture(t, func(o *Options) { o.Config = defaultConfig("right") })
	rep := fx.d.Ask("open my window", intent.English, audio.ZoneDriver)
	if len(rep.Actions) != 1 || rep.Actions[0].Signals[0].Name != "WindowCmdFR" ||
		rep.Actions[0].Effects[0] != "Vehicle.Cabin.Door.Row1.DriverSide.Window.Position" {
		t.Errorf("right-hand drive driver's window: %+v", rep.Actions)
	}
}

// TestCancelRepeat: cancel undoes the last action within the cancel
// window (a window stops, a set point or seat level goes back); repeat
// says the last answer.
func TestCancelRepeat(t *testing.T) {
	fx := newFixture(t, nil)
	if got, want := fx.ask(t, intent.English, "say that again").Answer, "I haven't said anything yet."; got != want {
		t.Errorf("repeat first: %q, want %q", got, want)
	}
	if got, want := fx.ask(t, intent.English, "cancel").Answer, "OK, cancelled."; got != want || len(fx.sink.frames) != 0 {
		t.Errorf("cancel with nothing pending: %q, %d frames", got, len(fx.sink.frames))
	}
	fx.ask(t, intent.English, "open all windows")
	rep := fx.ask(t, intent.English, "stop")
	if len(rep.Actions) != 1 || !rep.Actions[0].Undo || fx.sink.frames[1].Data[0] != 0xFF {
		t.Fatalf("cancel after opening: %+v, frame %X", rep.Actions, fx.sink.frames[len(fx.sink.frames)-1].Data)
	}
	if rep.Answer != "OK, cancelled." {
		t.Errorf("cancel answer %q", rep.Answer)
	}
	// A second cancel has nothing left to undo.
	if rep := fx.ask(t, intent.English, "cancel"); len(rep.Actions) != 0 {
		t.Errorf("second cancel sent %+v", rep.Actions)
	}
	// Set point back to the 21 °C read before.
	fx.ask(t, intent.English, "set the temperature to 25 degrees")
	rep = fx.ask(t, intent.English, "never mind")
	if len(rep.Actions) != 1 || rep.Actions[0].Signals[0].Value != 21 || rep.Actions[0].Frame.Data[0] != 42 || rep.Actions[0].Frame.Data[1] != 3 {
		t.Errorf("cancel set point: %+v", rep.Actions)
	}
	// The passenger seat was at level 3 (100 %): it goes back to 3.
	fx.ask(t, intent.English, "turn off the passenger seat heating")
	rep = fx.ask(t, intent.English, "cancel")
	if len(rep.Actions) != 1 || rep.Actions[0].Signals[0].Value != 3 {
		t.Errorf("cancel seat: %+v", rep.Actions)
	}
	// Too late: past the cancel window nothing is undone.
	fx.ask(t, intent.English, "turn off the headlights")
	fx.now = fx.now.Add(10 * time.Second)
	if rep := fx.ask(t, intent.English, "cancel"); len(rep.Actions) != 0 {
		t.Errorf("late cancel sent %+v", rep.Actions)
	}
	if got, want := fx.ask(t, intent.English, "what did you say").Answer, "I said: OK, cancelled."; got != want {
		t.Errorf("repeat: %q, want %q", got, want)
	}
	fx.ask(t, intent.German, "wie voll ist der akku")
	// The answer to the wake phrase alone ("Ja?") is not what repeat
	// says.
	fx.ask(t, intent.German, "hallo auto")
	if got, want := fx.ask(t, intent.German, "wie bitte").Answer, "Ich sagte: Der Akku ist bei 76 Prozent."; got != want {
		t.Errorf("repeat de: %q, want %q", got, want)
	}
}

// TestRateLimit: the board's max_rate (5/s for the sim) spaces frames of
// one message at least 200 ms apart; other messages are not held up.
func TestRateLimit(t *testing.T) {
	fx := newFixture(t, nil)
	if rep := fx.d.Ask("open my window", intent.English, audio.ZoneDriver); rep.Refused != "" {
		t.Fatal(rep.Refused)
	}
	fx.now = fx.now.Add(199 * time.Millisecond)
	rep := fx.d.Ask("close my window", intent.English, audio.ZoneDriver)
	if rep.Refused != ReasonRateLimit || rep.Answer != "I can't do that now: that came too soon after the last command, please try again." {
		t.Errorf("199 ms later: %q %q", rep.Refused, rep.Answer)
	}
	if rep := fx.d.Ask("turn on the fog lights", intent.English, audio.ZoneDriver); rep.Refused != "" {
		t.Errorf("other message: %q", rep.Refused)
	}
	fx.now = fx.now.Add(time.Millisecond)
	if rep := fx.d.Ask("close my window", intent.English, audio.ZoneDriver); rep.Refused != "" {
		t.Errorf("200 ms later: %q", rep.Refused)
	}
}

// TestAutoLanguage: without a language the first context that understands
// the text answers; text nobody understands gets the first language's
// not_understood.
func TestAutoLanguage(t *testing.T) {
	fx := newFixture(t, nil)
	for _, c := range []struct {
		text string
		lang intent.Language
	}{
		{"what's my range", intent.English}, {"还能开多远", intent.Chinese}, {"wie weit komme ich noch", intent.German},
		{"cuánta autonomía me queda", intent.Spanish}, {"quelle est mon autonomie", intent.French},
	} {
		rep := fx.d.Ask(c.text, "", audio.ZoneDriver)
		if rep.Lang != c.lang || rep.Intent != "GetRange" {
			t.Errorf("%q: %s %s", c.text, rep.Lang, rep.Intent)
		}
	}
	rep := fx.d.Ask("xyzzy", "", audio.ZoneDriver)
	if rep.Understood || rep.Lang != intent.English || rep.Answer != "Sorry, I didn't catch that." {
		t.Errorf("not understood: %+v", rep)
	}
}

// TestNewErrors: a context without the dialogue's texts and a command
// configuration that does not fit the DBC are refused, naming the file or
// field.
func TestNewErrors(t *testing.T) {
	db, _ := loadDB()
	cs, _ := loadCx()
	bare, err := intent.Parse("bare.en.yaml", []byte("language: en\nintents:\n  GetRange:\n    templates: [range]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"missing responses", func(o *Options) { o.Contexts = []*intent.Context{bare} }, "bare.en.yaml: responses.not_understood is missing"},
		{"duplicate language", func(o *Options) { o.Contexts = append(o.Contexts, cs[0]) }, "a second context for language en"},
		{"no contexts", func(o *Options) { o.Contexts = nil }, "no contexts"},
		{"no dbc", func(o *Options) { o.DBC = nil }, "no DBC"},
		{"bad signal", func(o *Options) { o.Config.Commands.Window.Signals.RearLeft = "WindowCmdXX" },
			`commands.window.signals.rear_left: signal "WindowCmdXX" is not in message BCM_WindowCmd`},
		{"no label", func(o *Options) {
			o.Config.Commands.Lights = LightsCommand{Message: "HVAC_Cmd", Signals: Lights{Fog: "SetpointReq"}}
		},
			`commands.lights.signals.fog: signal HVAC_Cmd.SetpointReq has no value labelled "On"`},
		{"seat level bits", func(o *Options) { o.Config.SeatLevels = 9 }, "cannot carry level 9"},
		{"bad config", func(o *Options) { o.Config.DriverSide = "middle" }, `driver_side "middle"`},
	} {
		o := Options{Config: DefaultConfig(), Contexts: cs, DBC: db}
		c.edit(&o)
		if o.Config.SeatLevels == 9 {
			o.Config.DefaultSeatLevel = 2
		}
		_, err := New(o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestConcurrentTurns: turns from several goroutines are serialised.
func TestConcurrentTurns(t *testing.T) {
	fx := newFixture(t, func(o *Options) { o.Now = nil })
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				fx.d.Ask([]string{"what's my range", "open my window", "cancel", "repeat"}[(i+j)%4], intent.English, audio.ZoneDriver)
			}
		}()
	}
	wg.Wait()
}

// TestFormatNumber: decimal and grouping conventions per language.
func TestFormatNumber(t *testing.T) {
	for _, c := range []struct {
		lang intent.Language
		v    float64
		dec  int
		want string
	}{
		{intent.English, 2.45, 1, "2.5"}, {intent.English, 12345.6, 0, "12,346"}, {intent.English, 999, 0, "999"},
		{intent.English, 1000, 0, "1,000"}, {intent.English, -3, 1, "-3"}, {intent.English, -0.01, 1, "0"},
		{intent.Chinese, 2.45, 1, "2.5"}, {intent.Chinese, 12345.6, 0, "12346"},
		{intent.German, 2.45, 1, "2,5"}, {intent.German, 12345.6, 0, "12.346"}, {intent.German, 1234567.25, 1, "1.234.567,3"},
		{intent.Spanish, 2.45, 1, "2,5"}, {intent.Spanish, 1234, 0, "1234"}, {intent.Spanish, 12345.6, 0, "12.346"},
		{intent.French, 2.45, 1, "2,5"}, {intent.French, 12345.6, 0, "12\u202f346"}, {intent.French, 7.36, 1, "7,4"},
	} {
		if got := FormatNumber(c.lang, c.v, c.dec); got != c.want {
			t.Errorf("FormatNumber(%s, %v, %d) = %q, want %q", c.lang, c.v, c.dec, got, c.want)
		}
	}
}
