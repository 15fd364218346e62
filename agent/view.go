package agent

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/signals"
)

// View renders the one-screen live view: key signals with units, frames/s
// per bus, and the dropped / unknown / error counters. Keep one View per
// terminal; it remembers the previous counters to compute rates.
type View struct {
	Title string // "board sim · evedge Sim EV"
	a     *Agent
	prev  map[uint8]uint64
	prevT time.Time
}

// NewView returns a view of a.
func NewView(a *Agent, title string) *View {
	return &View{a: a, Title: title, prev: map[uint8]uint64{}}
}

// Render writes one screen of at most height lines and width columns to w,
// starting with the ANSI "home and clear" sequence when clear is set.
func (v *View) Render(w io.Writer, now time.Time, width, height int, clear bool) error {
	if width < 40 {
		width = 40
	}
	if height < 10 {
		height = 10
	}
	height-- // the cursor's line: never scroll the screen
	var b strings.Builder
	if clear {
		b.WriteString("\x1b[H\x1b[2J")
	}
	up := time.Duration(0)
	if !v.a.Started().IsZero() {
		up = now.Sub(v.a.Started()).Truncate(time.Second)
	}
	lines := 0
	line := func(s string) {
		if lines >= height {
			return
		}
		if len(s) > width {
			s = s[:width]
		}
		b.WriteString(s)
		b.WriteString("\x1b[K\n")
		lines++
	}
	line(fmt.Sprintf("evedge · %s · up %s · Ctrl-C to stop", v.Title, up))
	line("")
	line(fmt.Sprintf("%-5s %10s %12s %10s %8s %12s", "BUS", "FRAMES/S", "FRAMES", "UNKNOWN", "ERRORS", "VALUES"))
	dt := now.Sub(v.prevT).Seconds()
	for _, s := range v.a.Stats() {
		rate := 0.0
		if !v.prevT.IsZero() && dt > 0 {
			rate = float64(s.Frames-v.prev[s.Bus]) / dt
		}
		v.prev[s.Bus] = s.Frames
		line(fmt.Sprintf("%-5d %10.0f %12d %10d %8d %12d", s.Bus, rate, s.Frames, s.Unknown, s.Errors, s.Values))
	}
	v.prevT = now
	var loss []string
	for _, s := range v.a.SourceStats() {
		loss = append(loss, fmt.Sprintf("%s: dropped %d, bad lines %d", s.Name, s.Dropped, s.Skipped))
	}
	line("sources: " + strings.Join(loss, "; "))
	line("")
	dataNow := v.a.DataNow()
	samples := keyFirst(v.a.Table().Mapped())
	nameW := 20
	for _, s := range samples {
		if len(s.Name) > nameW {
			nameW = len(s.Name)
		}
	}
	if nameW > width-30 {
		nameW = width - 30
	}
	line(fmt.Sprintf("%-*s %14s  %s", nameW, "SIGNAL (VSS)", "VALUE", "UNIT"))
	if len(samples) == 0 {
		line("(no mapped signal seen yet)")
	}
	for i, s := range samples {
		if lines >= height-1 && i < len(samples)-1 {
			line(fmt.Sprintf("… %d more", len(samples)-i))
			break
		}
		name := s.Name
		if len(name) > nameW {
			name = "…" + name[len(name)-nameW+1:]
		}
		val := formatValue(s.Value)
		if s.Label != "" {
			val = s.Label
		}
		unit := s.Unit
		if s.Stale(dataNow) {
			unit += " (stale)"
		}
		line(fmt.Sprintf("%-*s %14s  %s", nameW, name, val, unit))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatValue(v float64) string {
	switch {
	case v == float64(int64(v)) && v < 1e15 && v > -1e15:
		return strconv.FormatInt(int64(v), 10)
	case v > 1e6 || v < -1e6:
		return strconv.FormatFloat(v, 'g', 6, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// KeySignals are shown first in the live view, in this order, when the
// vehicle's map provides them; the rest follow alphabetically.
var KeySignals = []string{
	"Vehicle.Speed",
	"Vehicle.Powertrain.TractionBattery.StateOfCharge.Current",
	"Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed",
	"Vehicle.Powertrain.Range",
	"Vehicle.Powertrain.TractionBattery.CurrentVoltage",
	"Vehicle.Powertrain.TractionBattery.CurrentCurrent",
	"Vehicle.Powertrain.TractionBattery.CurrentPower",
	"Vehicle.Powertrain.TractionBattery.CellVoltage.Min",
	"Vehicle.Powertrain.TractionBattery.CellVoltage.Max",
	"Vehicle.Powertrain.TractionBattery.Temperature.Min",
	"Vehicle.Powertrain.TractionBattery.Temperature.Max",
	"Vehicle.Powertrain.ElectricMotor.Speed",
	"Vehicle.Powertrain.ElectricMotor.Temperature",
	"Vehicle.LowVoltageBattery.CurrentVoltage",
	"Vehicle.Powertrain.TractionBattery.Charging.IsCharging",
	"Vehicle.Powertrain.TractionBattery.Charging.TimeToComplete",
	"Vehicle.TraveledDistance",
}

func keyFirst(in []signals.Sample) []signals.Sample {
	rank := make(map[string]int, len(KeySignals))
	for i, k := range KeySignals {
		rank[k] = i + 1
	}
	out := make([]signals.Sample, 0, len(in))
	for _, k := range KeySignals {
		for _, s := range in {
			if s.Name == k {
				out = append(out, s)
			}
		}
	}
	for _, s := range in {
		if rank[s.Name] == 0 {
			out = append(out, s)
		}
	}
	return out
}
