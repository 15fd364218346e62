package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/evedge/evedge/agent"
	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/sdnotify"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/sim"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/uplink"
	"github.com/evedge/evedge/agent/wallclock"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/can"
	"github.com/evedge/evedge/drivers/can/socketcan"
	"github.com/evedge/evedge/drivers/obd"
	"golang.org/x/term"
)

// boardDirs are searched for named board profiles: the working directory's
// board/ (a source checkout), next to the binary (bin/../board), and the
// installed locations.
func boardDirs() []string {
	dirs := []string{"board"}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(exe), "..", "board"))
	}
	return append(dirs, "/etc/evedge/board", "/usr/share/evedge/board")
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "agent configuration `file` (TOML)")
	boardName := fs.String("board", "", "board profile: a name (sim, ...) or a `file`; default from the config, else sim")
	var replay listFlag
	fs.Var(&replay, "replay", "replay CAN log `files` instead of the board's buses (repeatable)")
	dbcPath := fs.String("dbc", "", "DBC `file` (default: the board's vehicle)")
	mapPath := fs.String("map", "", "signal map `file` (default: the board's vehicle)")
	format := fs.String("format", "", "replay log format: candump, gvret or asc (default: detected)")
	speed := fs.String("speed", "1", "replay speed: a factor of the recorded pace, or max")
	loops := fs.Int("loop", 1, "replay each log this many times, times advancing each pass (0 = until stopped)")
	simSpeed := fs.Float64("sim-speed", 0, "simulated time per real time, e.g. 60 = one hour per minute (default from config, else 1)")
	dataDir := fs.String("data", "", "data `directory` for the recorded history (default: config store.dir, else the board's data_dir)")
	view := fs.String("view", "auto", "live view: auto (on a terminal), on, off")
	var inject listFlag
	fs.Var(&inject, "inject", "sim board: inject a fault `KIND[@START][+RAMP][:SEVERITY]` (repeatable), e.g. cooling_loss@10m+20m, hvil@1m")
	obdPort := fs.String("obd", "", "poll the car through an ELM327 adapter on this serial `device` (see config [obd])")
	signalset := fs.String("signalset", "", "OBDb signalset `file` with the car's manufacturer PIDs for --obd")
	mqttURL := fs.String("mqtt", "", "send health reports and events to this MQTT `broker` (tcp://host:1883, ssl://host:8883; see config [uplink])")
	vehicleID := fs.String("vehicle-id", "", "vehicle `id` towards the cloud (default: config agent.vehicle_id)")
	serviceAddr := fs.String("service", "", "serve the service centre's HTTPS API on `ADDR:PORT` (see config [service])")
	tlsDir := fs.String("tls-dir", "", "`directory` with ca.pem, server.pem, server-key.pem for --service (the layout of `evedge certs dev`)")
	runFor := fs.Duration("for", 0, "stop after this `duration` (default: run until SIGINT/SIGTERM or the replay ends)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: evedge run [--board sim|FILE] [--config FILE] [--replay LOG --dbc FILE [--map FILE] [--speed N|max]] [--sim-speed N]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *loops < 0 {
		return usageError{fmt.Errorf("--loop %d: expected 0 (forever) or a number of passes", *loops)}
	}
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if *boardName != "" {
		cfg.Agent.Board = *boardName
	}
	if *simSpeed != 0 {
		if *simSpeed < 0 {
			return usageError{fmt.Errorf("--sim-speed %v: expected a positive factor", *simSpeed)}
		}
		cfg.Sim.Speed = *simSpeed
	}
	if *obdPort != "" {
		cfg.OBD.Port = *obdPort
	}
	if *signalset != "" {
		cfg.OBD.Signalset = *signalset
	}
	if *mqttURL != "" {
		cfg.Uplink.Broker = *mqttURL
	}
	if *vehicleID != "" {
		cfg.Agent.VehicleID = *vehicleID
		if err := cfg.Validate(); err != nil {
			return usageError{fmt.Errorf("--vehicle-id: %w", err)}
		}
	}
	replaySpeed, err := agent.ParseSpeed(*speed)
	if err != nil {
		return usageError{fmt.Errorf("--speed: %w", err)}
	}
	var logFormat can.Format
	if *format != "" {
		if logFormat, err = can.ParseFormat(*format); err != nil {
			return usageError{err}
		}
	}

	useView := false
	switch *view {
	case "on":
		useView = true
	case "off":
	case "auto":
		if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			useView = true
		}
	default:
		return usageError{fmt.Errorf("--view %q: expected auto, on or off", *view)}
	}
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(cfg.Agent.LogLevel))
	if useView && level < slog.LevelWarn {
		level = slog.LevelWarn // the screen shows the state; keep it readable
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if os.Getenv("GOMEMLIMIT") == "" && cfg.Agent.MemoryLimit > 0 {
		debug.SetMemoryLimit(int64(cfg.Agent.MemoryLimit))
	}

	prof, err := board.Load(cfg.Agent.Board, boardDirs())
	if err != nil {
		if len(replay) == 0 || *dbcPath == "" {
			return err
		}
		prof = nil // a replay with its own DBC needs no board
	}
	// Wall time is trusted once the clock is sane (boards without RTC boot
	// in the past); clock.Sane/Ready/Wall gate what stamps wall time.
	clk := board.Clock{RTC: true}
	if prof != nil {
		clk = prof.Clock
	}
	clock := wallclock.New(wallclock.Options{Min: wallclock.Minimum(clk.MinTime), RTC: clk.RTC})
	if !clock.Sane() {
		log.Warn("clock: wall time not trusted yet, waiting for a sane clock", "now", time.Now().UTC(), "min", clock.Min(), "rtc", clk.RTC)
		waitCtx, stopWait := context.WithCancel(ctx)
		defer stopWait()
		go func() {
			if clock.Wait(waitCtx) == nil {
				log.Info("clock: sane", "now", time.Now().UTC())
			}
		}()
	}
	dbcFile, mapFile := *dbcPath, *mapPath
	if dbcFile == "" && prof != nil {
		dbcFile = prof.Vehicle.DBC
		if mapFile == "" {
			mapFile = prof.Vehicle.Map
		}
	}
	if dbcFile == "" {
		return usageError{fmt.Errorf("no DBC: give --dbc or a board profile with vehicle.dbc")}
	}
	db, err := loadVehicle(dbcFile, mapFile)
	if err != nil {
		return err
	}
	for _, w := range db.Warnings {
		log.Warn("dbc", "warning", w)
	}
	var obdp *obdPlan
	if cfg.OBD.Port != "" {
		if obdp, err = planOBD(cfg.OBD, db); err != nil {
			return err
		}
		for _, w := range obdp.warnings {
			log.Info("obd", "note", w)
		}
	}
	var rec agent.Recorder
	var st *store.Store
	if cfg.Store.Record {
		dir := *dataDir
		if dir == "" {
			dir = cfg.Store.Dir
		}
		if dir == "" && prof != nil {
			dir = prof.DataDir
		}
		if dir == "" {
			dir = "var/evedge"
		}
		st, err = store.Open(store.Options{
			Dir:            dir,
			Quotas:         storeQuotas(prof.QuotasWith(cfg.Store.Quotas)),
			CommitInterval: cfg.Store.CommitInterval.Duration,
			OnError: func(err error) {
				log.Error("store: writing the history failed; the agent goes on", "dir", dir, "err", err)
			},
		})
		if err != nil {
			return err
		}
		defer func() {
			if err := st.Close(); err != nil {
				log.Error("store: close", "dir", dir, "err", err)
			}
		}()
		var gate *wallclock.Gate // replays carry their own times
		if len(replay) == 0 && !clock.Sane() {
			gate = clock
			log.Warn("recording waits for a sane clock: frames and values are held with monotonic stamps until then")
		}
		sr := newStoreRecorder(st, db, len(replay) > 0, gate)
		sr.log = log
		rec = sr
		log.Info("recording", "dir", dir, "commit_interval", cfg.Store.CommitInterval.Duration)
	}
	var dg *liveDiag
	var onSecond func(time.Time)
	if cfg.Diag.Rules || cfg.Diag.Model {
		if dg, err = newLiveDiag(cfg.Diag, db, log); err != nil {
			return err
		}
		onSecond = dg.step
	}
	a, err := agent.New(agent.Options{DB: db, Logger: log, Recorder: rec, OnSecond: onSecond})
	if err != nil {
		return err
	}

	title := ""
	var canLinks []canLink // SocketCAN links, for their health counters
	if len(replay) > 0 {
		title = "replay " + strings.Join(replay, ", ")
		for _, p := range replay {
			lr := &loggedReplay{path: p, format: logFormat}
			// Open once now so that a missing or unreadable file fails the start.
			if _, c, err := lr.open(); err != nil {
				return err
			} else if err := c(); err != nil {
				return err
			}
			a.Add(agent.Source{
				Name:    filepath.Base(p),
				Src:     agent.NewPaced(ctx, agent.NewLoop(ctx, *loops, lr.open), replaySpeed, nil, true),
				Skipped: lr.skipped,
			})
		}
	} else {
		title = "board " + prof.Name
		for _, c := range prof.CAN {
			switch c.Driver {
			case board.DriverSim:
				var specs []sim.FaultSpec
				for _, in := range inject {
					spec, err := parseInject(in)
					if err != nil {
						return usageError{err}
					}
					specs = append(specs, spec)
				}
				src, err := simSource(ctx, db, dbcFile, c, cfg.Sim, cfg.File, specs)
				if err != nil {
					return err
				}
				a.Add(src)
			case board.DriverSocketCAN:
				if c.Configures() {
					lc := socketcan.LinkConfig{Bitrate: uint32(c.Bitrate), ListenOnly: c.ListenOnly, RestartMs: uint32(c.RestartMs), FD: c.FD, DataBitrate: uint32(c.DataBitrate)}
					if err := socketcan.Configure(c.Interface, lc); err != nil {
						log.Warn("CAN link not configured, used as it is", "bus", c.Bus, "interface", c.Interface, "err", err)
					} else {
						log.Info("CAN link up", "bus", c.Bus, "interface", c.Interface, "bitrate", c.Bitrate, "listen_only", c.ListenOnly, "restart_ms", c.RestartMs, "fd", c.FD)
					}
				}
				conn, err := socketcan.Open(ctx, c.Interface, uint8(c.Bus))
				if err != nil {
					// Missing hardware degrades the agent, it does not stop it.
					log.Error("CAN interface unavailable", "bus", c.Bus, "interface", c.Interface, "err", err)
					continue
				}
				a.Add(agent.Source{
					Name:    c.Interface,
					Src:     conn,
					Close:   conn.Close,
					Dropped: func() uint64 { st := conn.Stats(); return st.Dropped + st.RxOverflow },
				})
				canLinks = append(canLinks, canLink{bus: c.Bus, iface: c.Interface, conn: conn})
			}
		}
	}
	if obdp != nil {
		var traffic func() time.Time
		if len(replay) == 0 && prof != nil && len(prof.CAN) > 0 {
			traffic = a.DataNow
		}
		a.Add(obdp.source(log, traffic))
		title += " · OBD " + cfg.OBD.Port
	}
	var faults func() []string
	if dg != nil {
		faults = dg.faults
	}
	var up *uplink.Uplink
	if cfg.Uplink.Broker != "" {
		var runUp func(context.Context) error
		runUp, up, err = startUplink(cfg, st, a, obdp, faults, canHealth(canLinks), log)
		if err != nil {
			return err
		}
		a.Add(agent.Source{Name: "uplink " + cfg.Uplink.Broker, Values: func(ctx context.Context, _ func([]signals.Value, int64)) error {
			return runUp(ctx)
		}})
		title += " · MQTT " + cfg.Uplink.Broker
	}
	if *serviceAddr != "" {
		cfg.Service.Addr = *serviceAddr
	}
	if *tlsDir != "" {
		cfg.Service.TLSDir = *tlsDir
	}
	if cfg.Service.Addr != "" || cfg.Service.TLSDir != "" {
		if cfg.Service.Addr == "" && prof != nil {
			cfg.Service.Addr = prof.Service.Addr
		}
		if cfg.Service.Addr == "" {
			cfg.Service.Addr = "127.0.0.1:8443" // loopback unless told
		}
		src, addr, err := startService(cfg, cfg.Agent.Board, dbcFile, db, a, st, obdp, log)
		if err != nil {
			return err
		}
		a.Add(src)
		title += " · API " + addr
	}
	if dg != nil {
		dg.attach(a.Table(), st, up, log)
		if obdp != nil {
			obdp.onDTCs = func(now time.Time, rep *obd.DTCReport) {
				dg.dtcs.record(now, dg.dtcs.update(rep), st, up, log)
			}
		}
	}
	if mapFile != "" {
		title += " · " + filepath.Base(mapFile)
	}
	log.Info("starting", "version", versionString(), "board", cfg.Agent.Board, "dbc", dbcFile, "map", mapFile,
		"messages", len(db.Messages), "signals", len(db.Signals), "replay", len(replay))

	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	// systemd (Type=notify): ready now, keep-alives at WatchdogSec/2,
	// STOPPING=1 when the shutdown begins. No-ops without NOTIFY_SOCKET.
	notify, err := sdnotify.FromEnv(nil, 0)
	if err != nil {
		log.Warn("systemd notify", "err", err)
	}
	if err := notify.Ready(title); err != nil {
		log.Warn("systemd notify READY", "err", err)
	}
	defer context.AfterFunc(ctx, func() {
		if err := notify.Stopping(); err != nil {
			log.Warn("systemd notify STOPPING", "err", err)
		}
	})()
	wdCtx, wdStop := context.WithCancel(ctx)
	defer wdStop()
	go notify.RunWatchdog(wdCtx, nil, func(err error) { log.Warn("systemd watchdog", "err", err) })

	v := agent.NewView(a, title)
	interval := time.Second
	if !useView {
		interval = 30 * time.Second
		if d, err := time.ParseDuration(cfg.Agent.StatsInterval); err == nil && d > 0 {
			interval = d
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if useView {
				w, h := termSize(stdout)
				_ = v.Render(stdout, time.Now(), w, h, true)
			}
			logStats(log, a, slog.LevelInfo, "stopped")
			if st != nil {
				if ferr := st.Flush(); ferr != nil {
					log.Error("store: final commit failed", "err", ferr)
				}
				ss := st.Stats()
				log.Info("store", "frames_committed", ss.FramesCommitted, "dropped", ss.DroppedFrames,
					"commits", ss.Commits, "write_errors", ss.WriteErrors, "disk_full", ss.DiskFull,
					"db_bytes", ss.DBBytes, "wal_bytes", ss.WALBytes)
			}
			return err
		case <-tick.C:
			if useView {
				w, h := termSize(stdout)
				_ = v.Render(stdout, time.Now(), w, h, true)
			} else {
				logStats(log, a, slog.LevelInfo, "stats")
			}
		}
	}
}

func termSize(w io.Writer) (int, int) {
	if f, ok := w.(*os.File); ok {
		if cw, ch, err := term.GetSize(int(f.Fd())); err == nil {
			return cw, ch
		}
	}
	return 100, 40
}

func logStats(log *slog.Logger, a *agent.Agent, level slog.Level, msg string) {
	for _, s := range a.Stats() {
		log.Log(context.Background(), level, msg, "bus", s.Bus, "frames", s.Frames, "unknown", s.Unknown, "errors", s.Errors, "values", s.Values)
	}
	for _, s := range a.SourceStats() {
		if s.Dropped > 0 || s.Skipped > 0 {
			log.Log(context.Background(), slog.LevelWarn, msg, "source", s.Name, "dropped", s.Dropped, "bad_lines", s.Skipped)
		}
	}
}

// loggedReplay opens a log for each replay pass and adds up the bad lines
// of all passes for the live view.
type loggedReplay struct {
	path   string
	format can.Format

	mu    sync.Mutex
	cur   can.LogReader
	total int
}

func (l *loggedReplay) open() (can.Source, func() error, error) {
	r, closer, err := can.OpenLog(l.path, l.format)
	if err != nil {
		return nil, nil, err
	}
	l.mu.Lock()
	l.cur = r
	l.mu.Unlock()
	return r, func() error {
		l.mu.Lock()
		l.total += r.Skipped()
		if l.cur == r {
			l.cur = nil
		}
		l.mu.Unlock()
		return closer.Close()
	}, nil
}

func (l *loggedReplay) skipped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.total
	if l.cur != nil {
		n += l.cur.Skipped()
	}
	return n
}
