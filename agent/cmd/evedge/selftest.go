package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/diag/detect"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/wallclock"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/audio"
	"github.com/evedge/evedge/drivers/audio/malgo"
	"github.com/evedge/evedge/drivers/can/socketcan"
	"github.com/evedge/evedge/models/fault"
	int8nn "github.com/evedge/evedge/models/int8"
)

// Selftest results.
const (
	checkPass = "pass"
	checkFail = "FAIL"
	checkSkip = "skip"
)

// checkRow is one line of the selftest table.
type checkRow struct {
	Check, Result, Detail string
}

// selftest gathers the rows of one run; its probes are fields so that a
// test can stand in for hardware.
type selftest struct {
	rows []checkRow
	// audioDevices lists a direction's devices (malgo.Devices on the
	// platform's backends).
	audioDevices func(malgo.Kind) ([]malgo.DeviceInfo, error)
	// linkStatus reports a SocketCAN link (socketcan.LinkStatus).
	linkStatus func(string) (socketcan.Link, error)
	now        func() time.Time
	synced     func() bool
}

func newSelftest() *selftest {
	return &selftest{
		audioDevices: func(k malgo.Kind) ([]malgo.DeviceInfo, error) { return malgo.Devices(malgo.BackendAuto, k) },
		linkStatus:   socketcan.LinkStatus,
		now:          time.Now,
		synced:       wallclock.KernelSynced,
	}
}

func (s *selftest) add(check, result, format string, args ...any) {
	s.rows = append(s.rows, checkRow{check, result, fmt.Sprintf(format, args...)})
}

func (s *selftest) failed() int {
	n := 0
	for _, r := range s.rows {
		if r.Result == checkFail {
			n++
		}
	}
	return n
}

func cmdSelftest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "agent configuration `file` (TOML)")
	boardName := fs.String("board", "", "board profile: a name (sim, rpi4-pican2, auto ...) or a `file`; default from the config, else sim")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: evedge selftest [--board B] [--config F]")
		fmt.Fprintln(stderr, "Checks the board's CAN interfaces, OBD adapter, audio devices, the store, the model files and the clock;")
		fmt.Fprintln(stderr, "prints a pass/fail table and exits 1 when a check fails.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	s := newSelftest()
	s.run(ctx, *cfgPath, *boardName)
	s.print(stdout)
	if n := s.failed(); n > 0 {
		return fmt.Errorf("%d of %d checks failed", n, len(s.rows))
	}
	return nil
}

func (s *selftest) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL")
	for _, r := range s.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Check, r.Result, r.Detail)
	}
	tw.Flush()
}

// run performs every check; each adds at least one row.
func (s *selftest) run(ctx context.Context, cfgPath, boardName string) {
	cfg, err := config.Load(cfgPath)
	switch {
	case err != nil:
		s.add("config", checkFail, "%v", err)
		cfg = config.Default()
	case cfgPath != "":
		s.add("config", checkPass, "%s", cfgPath)
	}
	if boardName != "" {
		cfg.Agent.Board = boardName
	}
	if cfg.Agent.Board == board.Auto {
		if d, err := board.Detect("/", boardDirs()); err == nil {
			s.add("board detect", checkPass, "%s: %s", d.Profile, d.Reason)
		}
	}
	prof, err := board.Load(cfg.Agent.Board, boardDirs())
	if err != nil {
		s.add("board", checkFail, "%v", err)
	} else {
		s.add("board", checkPass, "%s (%s)", prof.Name, prof.File)
	}

	var db *signals.Database
	if prof != nil && prof.Vehicle.DBC != "" {
		if db, err = loadVehicle(prof.Vehicle.DBC, prof.Vehicle.Map); err != nil {
			s.add("vehicle", checkFail, "%v", err)
		} else {
			s.add("vehicle", checkPass, "%s: %d messages, %d signals", filepath.Base(prof.Vehicle.DBC), len(db.Messages), len(db.Signals))
		}
	}
	if prof != nil {
		for _, c := range prof.CAN {
			s.checkCAN(c)
		}
	}
	s.checkOBD(cfg, prof)
	if prof != nil {
		for i, d := range prof.Audio.Capture {
			s.checkAudio(fmt.Sprintf("audio capture[%d]", i), malgo.CaptureDevice, d)
		}
		for i, d := range prof.Audio.Playback {
			s.checkAudio(fmt.Sprintf("audio playback[%d]", i), malgo.PlaybackDevice, d)
		}
	}
	s.checkStore(ctx, cfg, prof)
	s.checkModel(cfg, db)
	s.checkClock(prof)
	if prof != nil && prof.Watchdog.Device != "" {
		if _, err := os.Stat(prof.Watchdog.Device); err != nil {
			s.add("watchdog", checkFail, "%v", err)
		} else {
			s.add("watchdog", checkPass, "%s present", prof.Watchdog.Device)
		}
	}
}

func (s *selftest) checkCAN(c board.CAN) {
	name := fmt.Sprintf("can %s (bus %d)", c.Interface, c.Bus)
	if c.Driver == board.DriverSim {
		s.add(name, checkPass, "simulated bus")
		return
	}
	l, err := s.linkStatus(c.Interface)
	if err != nil && strings.Contains(err.Error(), "no such network interface") {
		s.add(name, checkFail, "no interface %q (driver not loaded, or a device-tree overlay missing)", c.Interface)
		return
	}
	if err != nil {
		s.add(name, checkFail, "%v", err)
		return
	}
	if !l.Up {
		s.add(name, checkFail, "%s link is down (the agent brings it up when it may: CAP_NET_ADMIN)", l.Kind)
		return
	}
	if l.Kind != "can" {
		s.add(name, checkPass, "up (%s: no bit timing)", l.Kind)
		return
	}
	rate := fmt.Sprintf("%d bit/s", l.Bitrate)
	if l.FD {
		rate += fmt.Sprintf(" CAN FD (data %d bit/s)", l.DataBitrate)
	}
	detail := fmt.Sprintf("up, %s, %s, TEC %d REC %d", rate, l.State, l.TxErrors, l.RxErrors)
	if l.HasStats {
		detail += fmt.Sprintf(", bus-off %d, error-passive %d, restarts %d", l.Stats.BusOff, l.Stats.ErrorPassive, l.Stats.Restarts)
	}
	switch {
	case l.State == socketcan.StateBusOff || l.State == socketcan.StateStopped:
		s.add(name, checkFail, "%s", detail)
	case c.Bitrate > 0 && l.Bitrate != uint32(c.Bitrate):
		s.add(name, checkFail, "%s; the profile asks for %d bit/s", detail, c.Bitrate)
	case c.FD && !l.FD:
		s.add(name, checkFail, "%s; the profile asks for CAN FD (fd = true) but the link runs classical CAN: CAN FD frames on the bus are not received", detail)
	case c.FD && c.DataBitrate > 0 && l.DataBitrate != uint32(c.DataBitrate):
		s.add(name, checkFail, "%s; the profile asks for a data bitrate of %d bit/s", detail, c.DataBitrate)
	default:
		s.add(name, checkPass, "%s", detail)
	}
}

func (s *selftest) checkOBD(cfg config.Config, prof *board.Profile) {
	port := cfg.OBD.Port
	if port == "" && prof != nil {
		port = prof.OBD.Port
	}
	if port == "" {
		s.add("obd", checkSkip, "no adapter in the board or the config")
		return
	}
	f, err := os.OpenFile(port, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		s.add("obd", checkFail, "%v", err)
		return
	}
	f.Close()
	s.add("obd", checkPass, "%s opens", port)
}

func (s *selftest) checkAudio(name string, k malgo.Kind, d board.AudioDevice) {
	devs, err := s.audioDevices(k)
	switch {
	case errors.Is(err, malgo.ErrNoCgo):
		s.add(name, checkSkip, "built without cgo: no audio backend")
		return
	case errors.Is(err, audio.ErrNoDevice):
		s.add(name, checkFail, "%q: no device: %v", d.Device, err)
		return
	case err != nil:
		s.add(name, checkFail, "%v", err)
		return
	}
	// miniaudio's null device is no hardware; BackendAuto can list it
	// (malgo's backend constants are off by one against miniaudio's).
	real := devs[:0:0]
	for _, dev := range devs {
		if !strings.HasPrefix(dev.Name, "Discard all samples") {
			real = append(real, dev)
		}
	}
	if len(real) == 0 {
		s.add(name, checkFail, "%q: no sound hardware (only miniaudio's null device)", d.Device)
		return
	}
	devs = real
	want := d.Device
	for _, dev := range devs {
		if want == "" || want == "default" && dev.Default || dev.ID == want || dev.Name == want || strings.Contains(dev.Name, want) {
			s.add(name, checkPass, "%q: %s (%d channels, zones %s)", want, dev.Name, d.Channels, strings.Join(d.Zones, ","))
			return
		}
	}
	if want == "default" && len(devs) > 0 {
		s.add(name, checkPass, "%q: %s (first of %d devices)", want, devs[0].Name, len(devs))
		return
	}
	names := make([]string, 0, len(devs))
	for _, dev := range devs {
		names = append(names, dev.Name)
	}
	s.add(name, checkFail, "%q not found among %s", want, strings.Join(names, "; "))
}

// checkStore opens the data directory's history read-only and runs
// SQLite's integrity check; without a history yet it opens a new store in
// a temporary directory to check that the store works at all.
func (s *selftest) checkStore(ctx context.Context, cfg config.Config, prof *board.Profile) {
	dir := cfg.Store.Dir
	if dir == "" && prof != nil {
		dir = prof.DataDir
	}
	if dir == "" {
		dir = "var/evedge"
	}
	if _, err := os.Stat(filepath.Join(dir, "evedge.db")); err == nil {
		st, err := store.Open(store.Options{Dir: dir, ReadOnly: true})
		if err != nil {
			s.add("store", checkFail, "%s: %v", dir, err)
			return
		}
		defer st.Close()
		if err := st.IntegrityCheck(ctx); err != nil {
			s.add("store", checkFail, "%s: %v", dir, err)
			return
		}
		n, err := st.CountFrames(ctx)
		if err != nil {
			s.add("store", checkFail, "%s: %v", dir, err)
			return
		}
		s.add("store", checkPass, "%s: integrity ok, %d frames", dir, n)
		return
	}
	tmp, err := os.MkdirTemp("", "evedge-selftest-")
	if err != nil {
		s.add("store", checkFail, "%v", err)
		return
	}
	defer os.RemoveAll(tmp)
	st, err := store.Open(store.Options{Dir: tmp, CommitInterval: -1})
	if err == nil {
		err = st.IntegrityCheck(ctx)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		s.add("store", checkFail, "new store: %v", err)
		return
	}
	s.add("store", checkPass, "no history yet in %s; a new store opens and checks ok", dir)
}

func (s *selftest) checkModel(cfg config.Config, db *signals.Database) {
	var m *int8nn.Model
	var err error
	name := "built-in fault model"
	if cfg.Diag.ModelFile != "" {
		name = cfg.Diag.ModelFile
		m, err = int8nn.Load(cfg.Diag.ModelFile)
	} else {
		m, err = fault.Load()
	}
	if err == nil {
		_, err = detect.New(m, detect.Options{})
	}
	if err != nil {
		s.add("model", checkFail, "%s: %v", name, err)
		return
	}
	detail := fmt.Sprintf("%s %s %s: %d inputs, golden vectors ok", name, m.Name, m.Version, len(m.Inputs))
	if db != nil {
		mapped := map[string]bool{}
		for _, sg := range db.Signals {
			if sg.Mapping != nil {
				mapped[sg.Mapping.VSS] = true
			}
		}
		if miss := detect.Missing(func(p string) bool { return mapped[p] }); len(miss) > 0 {
			detail += fmt.Sprintf("; the vehicle lacks %d inputs, so the model stays off", len(miss))
		}
	}
	s.add("model", checkPass, "%s", detail)
}

func (s *selftest) checkClock(prof *board.Profile) {
	c := board.Clock{RTC: true} // without a board: only the minimum
	if prof != nil {
		c = prof.Clock
	}
	g := wallclock.New(wallclock.Options{Min: wallclock.Minimum(c.MinTime), RTC: c.RTC, Now: s.now, Synced: s.synced})
	now := s.now().UTC().Format(time.RFC3339)
	min := g.Min().UTC().Format(time.RFC3339)
	switch {
	case g.Sane():
		src := "RTC"
		if !c.RTC {
			src = "synchronised"
		}
		s.add("clock", checkPass, "%s (after %s, %s)", now, min, src)
	case s.now().Before(g.Min()):
		s.add("clock", checkFail, "%s is before %s: the clock is not set", now, min)
	default:
		s.add("clock", checkFail, "%s not synchronised yet (no RTC on this board: waiting for NTP)", now)
	}
}
