package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
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
	fs.Var(&inject, "inject", "sim board: inject a fault `KIND[=SIGNAL][@START][+RAMP][:SEVERITY]` (repeatable), e.g. cooling_loss@10m+20m, hvil@1m, sensor_dropout=IMD_Status@2m")
	obdPort := fs.String("obd", "", "poll the car through an ELM327 adapter on this serial `device` (see config [obd])")
	signalset := fs.String("signalset", "", "OBDb signalset `file` with the car's manufacturer PIDs for --obd")
	mqttURL := fs.String("mqtt", "", "send health reports and events to this MQTT `broker` (tcp://host:1883, ssl://host:8883; see config [uplink])")
	vehicleID := fs.String("vehicle-id", "", "vehicle `id` towards the cloud (default: config agent.vehicle_id)")
	serviceAddr := fs.String("service", "", "serve the service centre's HTTPS API on `ADDR:PORT` (see config [service])")
	tlsDir := fs.String("tls-dir", "", "`directory` with ca.pem, server.pem, server-key.pem for --service (the layout of `evedge certs dev`)")
	voiceWAV := fs.String("voice-wav", "", "voice assistant: listen to this WAV `file` instead of the board's microphone (tests, demos)")
	voiceLang := fs.String("voice-lang", "", "voice assistant `language`: en, zh, de, es, fr (default: the board's [voice], else en)")
	voiceTrigger := fs.String("voice-trigger", "", "voice assistant trigger: push-to-talk, always or wake (default: the board's [voice])")
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
	if os.Getenv("GOGC") == "" && cfg.Agent.GCPercent > 0 {
		debug.SetGCPercent(cfg.Agent.GCPercent)
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
	// The board says where the adapter is; the configuration says what to
	// poll (obd.signalset or obd.pids) and may name another port.
	if cfg.OBD.Port == "" && (cfg.OBD.Signalset != "" || len(cfg.OBD.PIDs) > 0) && prof != nil && prof.OBD.Port != "" && len(replay) == 0 {
		cfg.OBD.Port = prof.OBD.Port
		if prof.OBD.Baud != 0 {
			cfg.OBD.Baud = prof.OBD.Baud
		}
	}
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
	var sr *storeRecorder    // nil when not recording
	var gate *wallclock.Gate // set while wall time is not trusted (live buses only)
	if len(replay) == 0 && !clock.Sane() {
		gate = clock // replays carry their own times
	}
	if cfg.Store.Record {
		dir := dataDirOf(*dataDir, cfg, prof)
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
		if gate != nil {
			log.Warn("recording waits for a sane clock: frames, values and events are held with monotonic stamps until then")
		}
		sr = newStoreRecorder(st, db, len(replay) > 0, gate)
		sr.log = log
		rec = sr
		go sr.releaseWhenSane(ctx) // also on a silent bus
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
	// systemd (Type=notify): ready once started, keep-alives at
	// WatchdogSec/2 while the agent is healthy, STOPPING=1 when the
	// shutdown begins. No-ops without NOTIFY_SOCKET.
	notify, err := sdnotify.FromEnv(nil, 0)
	if err != nil {
		log.Warn("systemd notify", "err", err)
	}
	// With a watchdog, frame sources are counted on their way in, so that
	// the health check tells frames waiting from a quiet bus.
	var counted []*countedSource
	addSource := func(src agent.Source) {
		if src.Src != nil && notify.WatchdogInterval() > 0 {
			c := &countedSource{Source: src.Src}
			src.Src = c
			counted = append(counted, c)
		}
		a.Add(src)
	}

	title := ""
	var canLinks []canLink // SocketCAN links, for their health counters
	sinks := busSink{}     // where the agent may transmit (vehicle actions)
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
			addSource(agent.Source{
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
				src, sink, err := simSource(ctx, db, dbcFile, c, cfg.Sim, cfg.File, specs)
				if err != nil {
					return err
				}
				addSource(src)
				sinks[uint8(c.Bus)] = sink
			case board.DriverSocketCAN:
				if c.Configures() {
					lc := socketcan.LinkConfig{Bitrate: uint32(c.Bitrate), ListenOnly: c.ListenOnly, RestartMs: uint32(c.RestartMs), FD: c.FD, DataBitrate: uint32(c.DataBitrate)}
					if err := socketcan.Configure(c.Interface, lc); err != nil {
						log.Warn("CAN link not configured, used as it is", "bus", c.Bus, "interface", c.Interface, "err", err)
					} else {
						log.Info("CAN link up", "bus", c.Bus, "interface", c.Interface, "bitrate", c.Bitrate, "listen_only", c.ListenOnly, "restart_ms", c.RestartMs, "fd", c.FD)
					}
				}
				var opts []socketcan.Option
				if c.FD {
					opts = append(opts, socketcan.WithFD(true)) // else: FD when the link's MTU says so
				}
				conn, err := socketcan.Open(ctx, c.Interface, uint8(c.Bus), opts...)
				if err != nil {
					// Missing hardware degrades the agent, it does not stop it.
					log.Error("CAN interface unavailable", "bus", c.Bus, "interface", c.Interface, "err", err)
					continue
				}
				if conn.FD() {
					log.Info("CAN FD frames received: up to 8 data bytes decoded, longer ones counted (fd_oversize)", "bus", c.Bus, "interface", c.Interface)
				}
				addSource(agent.Source{
					Name:    c.Interface,
					Src:     conn,
					Close:   conn.Close,
					Dropped: func() uint64 { st := conn.Stats(); return st.Dropped + st.RxOverflow },
				})
				canLinks = append(canLinks, canLink{bus: c.Bus, iface: c.Interface, conn: conn})
				if !c.ListenOnly {
					sinks[uint8(c.Bus)] = conn
				}
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
		runUp, up, err = startUplink(cfg, st, a, obdp, faults, linkHealth(canLinks), log)
		if err != nil {
			return err
		}
		up.SetClock(gate) // nothing leaves with a wall time the agent does not trust
		a.Add(agent.Source{Name: "uplink " + cfg.Uplink.Broker, Values: func(ctx context.Context, _ func([]signals.Value, int64)) error {
			return runUp(ctx)
		}})
		title += " · MQTT " + cfg.Uplink.Broker
	}
	// The voice dialogue answers the API's /voice/ask and the microphone
	// loop (board [voice] enabled, or --voice-wav); actions go out through
	// the board's allowed writes only, after the dialogue's safety gate.
	var voice *voiceRuntime
	if len(replay) == 0 && prof != nil {
		vo, err := voiceSettings(prof, *voiceWAV, *voiceLang, *voiceTrigger)
		if err != nil {
			return err
		}
		if dg == nil && vo.listen {
			log.Warn("voice: fault detection is off (diag.rules and diag.model): \"any faults?\" cannot be answered")
		}
		var srcs []agent.Source
		if vo.model == "" {
			vo.model = filepath.Join(dataDirOf(*dataDir, cfg, prof), "voice", string(vo.lang))
		}
		voice, srcs, err = startVoice(ctx, vo, a, db, sinks, dg, st, sr, log)
		if err != nil {
			return err
		}
		for _, s := range srcs {
			a.Add(s)
		}
		if voice.ptt != nil {
			title += " · voice " + string(vo.lang)
		}
	} else if *voiceWAV != "" {
		return usageError{errors.New("--voice-wav needs a board (not --replay)")}
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
		src, addr, err := startService(cfg, cfg.Agent.Board, dbcFile, db, a, st, sr, obdp, voice, prof, log)
		if err != nil {
			return err
		}
		a.Add(src)
		title += " · API " + addr
	}
	if dg != nil {
		dg.attach(a.Table(), st, up, sr, log)
		if st != nil && len(replay) == 0 {
			dg.keepMemory(dataDirOf(*dataDir, cfg, prof), log)
		}
		if obdp != nil {
			obdp.onDTCs = func(now time.Time, rep *obd.DTCReport) {
				dg.dtcs.record(now, dg.dtcs.update(rep), st, up, sr, log)
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
	if wd := notify.WatchdogInterval(); wd > 0 {
		h := newPipelineHealth(wd, time.Now, counted, a, st)
		log.Info("systemd watchdog", "interval", wd, "decode_stall", h.decodeStall, "commit_stall", h.commitStall)
		go notify.RunWatchdog(wdCtx, sdnotify.WatchdogOptions{
			Healthy: h.check,
			Status:  title,
			OnChange: func(err error) {
				if err != nil {
					log.Error("systemd watchdog: unhealthy, keep-alives withheld: systemd restarts the agent unless it recovers", "err", err)
				} else {
					log.Warn("systemd watchdog: healthy again, keep-alives resumed")
				}
			},
			OnError: func(err error) { log.Warn("systemd watchdog", "err", err) },
		})
	}
	fdLog := newFDOversizeLog(len(canLinks))

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
			if dg != nil {
				if merr := dg.saveMemory(); merr != nil {
					log.Error("saving the diagnosis memory", "err", merr)
				}
			}
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
			now := time.Now()
			for i, l := range canLinks {
				fdLog.observe(now, i, l.bus, l.iface, l.conn.Stats(), log)
			}
		}
	}
}

// dataDirOf is where the agent keeps its state: --data, else the
// configuration's store.dir, else the board's data_dir.
func dataDirOf(flagDir string, cfg config.Config, prof *board.Profile) string {
	dir := flagDir
	if dir == "" {
		dir = cfg.Store.Dir
	}
	if dir == "" && prof != nil {
		dir = prof.DataDir
	}
	if dir == "" {
		dir = "var/evedge"
	}
	return dir
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

// linkHealth is canHealth with the CAN FD counters of each link:
// fd_frames (CAN FD frames of up to 8 bytes, decoded) and fd_oversize
// (longer ones, which evedge cannot carry and skips).
func linkHealth(links []canLink) func() []map[string]any {
	base := canHealth(links)
	return func() []map[string]any {
		out := base()
		for i, m := range out {
			if i < len(links) {
				st := links[i].conn.Stats()
				m["fd_frames"], m["fd_oversize"] = st.FDFrames, st.FDOversize
			}
		}
		return out
	}
}

// fdOversizeEvery is how often at most the agent logs CAN FD frames it had
// to skip, per link.
const fdOversizeEvery = time.Minute

// fdOversizeLog logs the CAN FD frames longer than 8 bytes a link skipped,
// rate-limited: the first at once, then at most one line per link every
// fdOversizeEvery with the count since the last line and the last id.
type fdOversizeLog struct {
	every  time.Duration
	logged []uint64    // per link: FDOversize at the last line
	at     []time.Time // per link: when that line was written
}

func newFDOversizeLog(links int) *fdOversizeLog {
	return &fdOversizeLog{every: fdOversizeEvery, logged: make([]uint64, links), at: make([]time.Time, links)}
}

// observe looks at link i's counters at now and logs when due.
func (l *fdOversizeLog) observe(now time.Time, i, bus int, iface string, st socketcan.Stats, log *slog.Logger) {
	if i >= len(l.logged) || st.FDOversize <= l.logged[i] {
		return
	}
	if !l.at[i].IsZero() && now.Sub(l.at[i]) < l.every {
		return
	}
	id := st.FDOversizeKey &^ can.KeyExtended
	idText := fmt.Sprintf("0x%03X", id)
	if st.FDOversizeKey&can.KeyExtended != 0 {
		idText = fmt.Sprintf("0x%08X", id)
	}
	log.Warn("CAN FD frames with more than 8 data bytes skipped: evedge records and decodes at most 8 bytes per frame",
		"bus", bus, "interface", iface, "last_id", idText, "count", st.FDOversize-l.logged[i], "fd_oversize", st.FDOversize)
	l.logged[i], l.at[i] = st.FDOversize, now
}

// countedSource counts the frames a source delivers (one atomic add per
// frame), for the watchdog's health check.
type countedSource struct {
	can.Source
	n atomic.Uint64
}

func (s *countedSource) Receive() bool {
	if !s.Source.Receive() {
		return false
	}
	s.n.Add(1)
	return true
}

// pipelineHealth is the systemd watchdog's health check. The agent is
// healthy while
//
//   - the decode stage makes progress: frames the sources delivered do not
//     wait longer than decodeStall without the decode stage taking one (a
//     quiet bus, a parked car, is healthy: nothing waits), and
//   - the store's writer is not stuck: no commit has been writing for
//     longer than commitStall (a hung eMMC). A commit that fails fast, as
//     on a full disk, is not stuck: restarting would not help.
//
// check runs on the watchdog goroutine only.
type pipelineHealth struct {
	now                      func() time.Time // with a monotonic reading
	decodeStall, commitStall time.Duration

	received func() uint64                     // frames delivered by the sources (nil: not counted)
	decoded  func() uint64                     // frames the decode stage took
	commit   func() (since time.Time, ok bool) // the store's running commit (nil: no store)

	lastDecoded uint64
	progress    time.Time // when the decode stage last moved, or had nothing waiting
}

// The least stalls the check tolerates, whatever WatchdogSec says: a
// loaded head unit may starve the decode stage for a moment.
const (
	minDecodeStall = 5 * time.Second
	minCommitStall = 4 * time.Second
)

// newPipelineHealth derives the bounds from the unit's WatchdogSec wd:
// frames may wait wd and a commit may write 2 wd (at least minDecodeStall
// and minCommitStall) before the agent is unhealthy, so that systemd
// restarts it within about 2 wd (3 wd for the store) of the stall.
func newPipelineHealth(wd time.Duration, now func() time.Time, counted []*countedSource, a *agent.Agent, st *store.Store) *pipelineHealth {
	h := &pipelineHealth{now: now, decodeStall: max(wd, minDecodeStall), commitStall: max(2*wd, minCommitStall)}
	if len(counted) > 0 {
		h.received = func() uint64 {
			var n uint64
			for _, c := range counted {
				n += c.n.Load()
			}
			return n
		}
		h.decoded = func() uint64 {
			var n uint64
			for _, b := range a.Stats() {
				n += b.Frames
			}
			return n
		}
	}
	if st != nil {
		h.commit = st.CommitRunning
	}
	h.progress = now()
	return h
}

func (h *pipelineHealth) check() error {
	now := h.now()
	var errs []error
	if h.received != nil {
		// Decoded first: a frame is counted in received before the decode
		// stage can take it, so received read later is never behind.
		d := h.decoded()
		r := h.received()
		if d != h.lastDecoded || r <= d {
			h.lastDecoded, h.progress = d, now
		} else if wait := now.Sub(h.progress); wait > h.decodeStall {
			errs = append(errs, fmt.Errorf("decode stage stalled: %d frames waiting, none decoded for %v", r-d, wait.Round(time.Second)))
		}
	}
	if h.commit != nil {
		if since, ok := h.commit(); ok {
			if d := now.Sub(since); d > h.commitStall {
				errs = append(errs, fmt.Errorf("store commit writing for %v (storage hung?)", d.Round(time.Second)))
			}
		}
	}
	return errors.Join(errs...)
}
