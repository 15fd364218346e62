package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"

	"github.com/evedge/evedge/agent/sim"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/obd/elmsim"
)

// faultDTCs are the generic SAE J2012 codes the simulated car stores while
// a fault is active (hybrid/EV codes where J2012 has them).
var faultDTCs = map[sim.FaultKind]string{
	sim.FaultCellShort:        "P0A7F", // hybrid battery pack deterioration
	sim.FaultCellCapacity:     "P0A7F",
	sim.FaultCellResistance:   "P0A7F",
	sim.FaultCoolingLoss:      "P0A81", // hybrid battery cooling fan / cooling performance
	sim.FaultInsulation:       "P0AA6", // hybrid battery voltage system isolation fault
	sim.FaultWeak12V:          "P0562", // system voltage low
	sim.FaultPrecharge:        "P0C78", // hybrid battery precharge time too long
	sim.FaultContactor:        "P0AA1", // hybrid battery positive contactor stuck closed
	sim.FaultHVIL:             "P0A0A", // high voltage system interlock circuit
	sim.FaultMotorOverheat:    "P0A2F", // drive motor A temperature too high
	sim.FaultInverterOverheat: "P0A3C", // drive motor A inverter over temperature
	sim.FaultSensorStuck:      "P0A9B", // hybrid battery temperature sensor A range/performance
	sim.FaultSensorDrift:      "P0A9B",
	sim.FaultSensorDropout:    "P0A9C",
}

// cmdOBDSim serves an ELM327 simulator on a pseudo-terminal for trials:
// the simulated car of the sim board answers J1979 requests with its live
// state, and OBDb recordings (--transcripts) answer manufacturer PIDs.
func cmdOBDSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("obd sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	link := fs.String("link", "", "make this `path` a symlink to the pty (stable across replugs); default: print the pty path")
	transcripts := fs.String("transcripts", "", "`directory` of OBDb test-case YAML files whose recorded answers the sim replays")
	speed := fs.Float64("sim-speed", 1, "simulated time per real time")
	seed := fs.Int64("seed", 1, "simulated car seed")
	scenario := fs.String("scenario", "loop", "drive scenario: loop or urban, highway, wltp, idle, park, ac, dc")
	vin := fs.String("vin", "5YJ3E1EA7KF000001", "VIN the car reports")
	var faults listFlag
	fs.Var(&faults, "fault", "inject a fault `kind` at start (repeatable): cell_short, insulation, weak_12v, hvil, cooling_loss ...")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: evedge obd sim [--link PATH] [--transcripts DIR] [--sim-speed N] [--fault KIND]")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	prof, err := board.Load("sim", boardDirs())
	if err != nil {
		return err
	}
	db, cycles, err := sim.LoadDBC(prof.Vehicle.DBC)
	if err != nil {
		return err
	}
	sc := sim.DefaultConfig()
	sc.DBC, sc.Cycles, sc.Seed, sc.Scenario = db, cycles, uint64(*seed), *scenario
	car, err := sim.New(sc)
	if err != nil {
		return err
	}
	for _, k := range faults {
		if err := car.Inject(sim.FaultSpec{Kind: sim.FaultKind(k), Severity: 1}); err != nil {
			return usageError{err}
		}
	}
	nodes := []elmsim.Node{{
		Name: "vcu", ReqID: 0x7E0, RespID: 0x7E8, OBD: true, PadByte: 0xAA,
		ECU: &elmsim.OBDECU{VIN: *vin, Name: "VCU-evedge-sim", State: func() elmsim.State { return obdState(car.State()) }},
	}}
	if *transcripts != "" {
		ts, err := elmsim.LoadOBDbTestCases(*transcripts)
		if err != nil {
			return err
		}
		nodes = append(nodes, elmsim.TranscriptNodes(ts)...)
	}
	ecar := elmsim.NewCar(nodes...)
	ecar.BatteryVolts = func() float64 { return car.State().LVVoltage }
	s := elmsim.New(ecar)
	var p *elmsim.PTY
	if *link != "" {
		p, err = s.ServePTYAt(ctx, *link)
	} else {
		p, err = s.ServePTY(ctx)
	}
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(stdout, "ELM327 simulator on %s (pty %s); Ctrl-C stops it\n", p.Path(), p.SlavePath())
	err = car.Run(ctx, discard{}, *speed) // the car's CAN frames are not needed here
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

type discard struct{}

func (discard) WriteFrame(can.Frame) error { return nil }

// obdState maps the simulated car to what its OBD ECU reports.
func obdState(s sim.State) elmsim.State {
	o := elmsim.State{
		SpeedKmh: math.Abs(s.Speed), SOC: s.SOCDisplayed, ModuleVoltage: s.LVVoltage,
		AmbientC: s.Ambient, CoolantC: s.CoolantInlet, OdometerKm: s.Odometer,
		RunTimeS: s.Elapsed.Seconds(), HVBattery: true, HVBatteryV: s.PackVoltage, HVBatteryA: s.PackCurrent,
	}
	seen := map[string]bool{}
	for _, f := range s.Faults {
		code := faultDTCs[f.Spec.Kind]
		if code == "" || seen[code] {
			continue
		}
		seen[code] = true
		if f.Level >= 0.5 {
			o.Stored = append(o.Stored, code)
			o.MIL = true
		} else {
			o.Pending = append(o.Pending, code)
		}
	}
	return o
}
