package dialog

import (
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/signals"
)

// TestParseConfig: a file overrides the defaults field by field;
// driver_side = "right" switches the default paths; errors name the file,
// line and field.
func TestParseConfig(t *testing.T) {
	c, err := ParseConfig("d.toml", []byte(`
default_seat_level = 3
cancel_window = "5s"
[gates]
window_open_max_kmh = 50
reverse = ["window"]
child_lock_exempt_zones = ["driver"]
[paths]
soc = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
[commands.lights.signals]
ambient = ""
`))
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if c.DefaultSeatLevel != 3 || c.CancelWindow.Duration != 5*time.Second || c.Gates.WindowOpenMaxKmh != 50 ||
		len(c.Gates.Reverse) != 1 || c.Gates.ChildLockExemptZones[0] != "driver" ||
		c.Paths.SOC != "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current" || c.Commands.Lights.Signals.Ambient != "" {
		t.Errorf("parsed %+v", c)
	}
	if c.Paths.Speed != d.Paths.Speed || c.Commands.Lights.Signals.Fog != d.Commands.Lights.Signals.Fog || c.MaxAge != d.MaxAge {
		t.Errorf("defaults lost: %+v", c)
	}

	r, err := ParseConfig("rhd.toml", []byte("driver_side = \"right\"\n[gates]\nwindow_open_max_kmh = 60\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Paths.Windows.FrontRight != "Vehicle.Cabin.Door.Row1.DriverSide.Window.Position" ||
		r.Paths.Windows.RearLeft != "Vehicle.Cabin.Door.Row2.PassengerSide.Window.Position" ||
		r.Paths.Seats.Driver != "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling" ||
		r.Paths.ChildLocks.RearLeft != "Vehicle.Cabin.Door.Row2.PassengerSide.IsChildLockActive" || r.Gates.WindowOpenMaxKmh != 60 {
		t.Errorf("right-hand drive: %+v", r.Paths)
	}

	for _, c := range []struct{ in, want string }{
		{"driver_side = \"centre\"", `bad.toml: driver_side "centre": expected "left" or "right"`},
		{"speed_limit = 3", `bad.toml:1: unknown field "speed_limit"`},
		{"[gates]\nwindow_open_max_kmh = -1", "bad.toml: gates.window_open_max_kmh -1: expected 0..300"},
		{"[gates]\nwindow_open_max_kmh = \"fast\"", "bad.toml:2"},
		{"[gates]\nreverse = [\"doors\"]", `bad.toml: gates.reverse[0] "doors": expected one of window, climate, seat_heating, lights`},
		{"[gates]\nchild_lock_exempt_zones = [\"boot\"]", `gates.child_lock_exempt_zones[0] "boot"`},
		{"[paths]\nspeed = \"Speed\"", `bad.toml: paths.speed: "Speed": expected a path starting with "Vehicle."`},
		{"[max_age]\nsafety = \"0s\"", "max_age.safety 0s"},
		{"[max_age]\ninfo = \"soon\"", "bad.toml:2"},
		{"default_seat_level = 4", "default_seat_level 4: expected 1..3"},
		{"cancel_window = \"-1s\"", "cancel_window -1s"},
		{"max_faults_spoken = 0", "max_faults_spoken 0"},
		{"[commands.window]\nmessage = \"\"", `commands.window.signals.front_left: signal "WindowCmdFL" without a message`},
		{"[paths\n", "bad.toml:1"},
	} {
		_, err := ParseConfig("bad.toml", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
	if _, err := LoadConfig("/nonexistent/d.toml"); err == nil || !strings.Contains(err.Error(), "/nonexistent/d.toml") {
		t.Errorf("LoadConfig: %v", err)
	}
}

// FuzzParseConfig: any input gives a config that validates, or an error
// naming the file.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("driver_side = \"right\"\n[gates]\nwindow_open_max_kmh = 60\nreverse = [\"window\"]\n"))
	f.Add([]byte("[paths.windows]\nfront_left = \"Vehicle.X\"\n[commands.seat_heating.signals]\ndriver = \"S\"\n"))
	f.Add([]byte("[max_age]\nsafety = \"2s\"\ninfo = \"1h\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("f.toml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "f.toml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
	})
}

// TestDefaultPathsOnSimBoard: every VSS path the default configuration
// reads is provided by the sim board's signal map, so the simulated car can
// answer everything and feed every gate.
func TestDefaultPathsOnSimBoard(t *testing.T) {
	mp, err := signals.LoadMap("../../../board/sim/sim-ev.toml")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, s := range mp.Signals {
		have[s.VSS] = true
	}
	c := DefaultConfig()
	for _, f := range c.pathFields() {
		if !have[f.v] {
			t.Errorf("paths.%s = %s: not in board/sim/sim-ev.toml", f.name, f.v)
		}
	}
}
