package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/evedge/evedge/agent/atomicfile"
	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/diag"
	"github.com/evedge/evedge/agent/diag/detect"
	"github.com/evedge/evedge/agent/diag/kb"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/uplink"
	"github.com/evedge/evedge/drivers/obd"
	"github.com/evedge/evedge/models/fault"
	int8nn "github.com/evedge/evedge/models/int8"
)

// liveDiag runs fault detection on the agent's live values: the GB/T
// 32960.3 rules and the int8 fault model, each optional.
type liveDiag struct {
	mu sync.Mutex
	r  *diag.Rules // nil: rules off
	// watch reports inputs that stop arriving while the car drives on
	// (with the rules; nil: off).
	watch *diag.SignalWatch
	lost  []diag.LostSignal
	// checks are the monitor checks (pack voltage against the cells,
	// charging power; with the rules, else none).
	checks []diag.Check
	det    *detect.Detector // nil: model off
	dtcs   *dtcTracker      // trouble codes read over OBD; never nil
	cfg    config.Diag

	table *signals.Table
	st    *store.Store   // nil: not recording
	up    *uplink.Uplink // nil: no uplink
	log   *slog.Logger
	// hold stamps events like the recorder stamps frames: before the wall
	// clock is sane they wait and get their true times (nil: at once).
	hold *storeRecorder

	// memPath and checksPath are the files that keep the model's and the
	// monitor checks' memory across agent restarts ("" none), saved every
	// memEvery of data time and at exit.
	memPath, checksPath string
	memSaved            time.Time
	// held are the memories read at start while the wall clock was not
	// yet sane (a board without RTC before NTP): data stamped then lies
	// before them, would make the model and the checks forget them, and
	// the saves would overwrite the files. They are restored at the first
	// second of trusted data time; nothing is saved before.
	held []heldMemory
}

// heldMemory is a memory file read, waiting for a sane clock.
type heldMemory struct {
	path, what string
	b          []byte
	restore    func([]byte) error
}

// MemoryFile is the fault model's memory across sleeps in the data
// directory (diag.Stream.AppendMemory); ChecksMemoryFile the monitor
// checks' (diag.AppendCheckMemory: the self-discharge check's rest before
// the sleep).
const (
	MemoryFile       = "diag-memory.bin"
	ChecksMemoryFile = "diag-checks.bin"
)

// memEvery is how often (data time) the memories are saved.
const memEvery = 10 * time.Minute

// keepMemory makes the model and the monitor checks remember across agent
// restarts: it restores the memories saved in dir (a missing file is a
// first start; a bad one is logged and ignored) and saves them there from
// now on.
func (l *liveDiag) keepMemory(dir string, log *slog.Logger) {
	if dir == "" {
		return
	}
	if l.log == nil {
		l.log = log
	}
	read := func(path string, max int, what string, restore func([]byte) error) {
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return
		case err == nil && len(b) > max:
			err = fmt.Errorf("%d bytes, more than %d", len(b), max)
		}
		if err != nil {
			log.Warn(what+" not read; starting without", "file", path, "err", err)
			return
		}
		l.held = append(l.held, heldMemory{path, what, b, restore})
	}
	defer func() {
		if len(l.held) == 0 {
			return
		}
		if l.hold.trustedAt(time.Now()) {
			l.mu.Lock()
			l.restoreHeld()
			l.mu.Unlock()
			return
		}
		for _, h := range l.held {
			log.Info(h.what+" kept until the wall clock is sane", "file", h.path)
		}
	}()
	if l.det != nil {
		l.memPath = filepath.Join(dir, MemoryFile)
		read(l.memPath, diag.MaxMemorySize, "fault model memory", l.det.Restore)
	}
	if len(l.checks) > 0 {
		l.checksPath = filepath.Join(dir, ChecksMemoryFile)
		read(l.checksPath, diag.MaxCheckMemorySize, "monitor checks' memory", func(b []byte) error {
			return diag.RestoreCheckMemory(b, l.checks)
		})
	}
}

// restoreHeld restores the memories read at start (l.mu held).
func (l *liveDiag) restoreHeld() {
	for _, h := range l.held {
		if err := h.restore(h.b); err != nil {
			l.log.Warn(h.what+" not read; starting without", "file", h.path, "err", err)
		} else {
			l.log.Info(h.what+" restored", "file", h.path)
		}
	}
	l.held = nil
}

// saveMemory writes the model's and the checks' memories (atomically: a
// power cut leaves the old or the new file). While the memories read at
// start still wait for a sane clock (an agent stopped before NTP set it)
// the files are the newest true memories and are left as they are.
func (l *liveDiag) saveMemory() error {
	var b, c []byte
	l.mu.Lock()
	if len(l.held) > 0 {
		l.mu.Unlock()
		return nil
	}
	if l.memPath != "" {
		b = l.det.AppendMemory(nil)
	}
	if l.checksPath != "" {
		c = diag.AppendCheckMemory(nil, l.checks)
	}
	l.mu.Unlock()
	var errs []error
	if b != nil {
		errs = append(errs, atomicfile.Write(l.memPath, b, 0o644))
	}
	if c != nil {
		errs = append(errs, atomicfile.Write(l.checksPath, c, 0o644))
	}
	return errors.Join(errs...)
}

// newLiveDiag builds the rules and the detector the configuration asks
// for. The model needs every input in the vehicle's signal map; without
// them it stays off with a warning naming what is missing.
func newLiveDiag(cfg config.Diag, db *signals.Database, log *slog.Logger) (*liveDiag, error) {
	l := &liveDiag{cfg: cfg, dtcs: &dtcTracker{}}
	if cfg.Rules {
		over, err := diag.ParseLimits(cfg.Limits)
		if err != nil {
			return nil, fmt.Errorf("config: [diag] limits: %w", err)
		}
		l.r = diag.NewRules(over)
		l.watch = newSignalWatch(db)
		l.checks = diag.NewChecks()
	}
	if cfg.Model {
		det, missing, err := newDetector(cfg.ModelFile, db)
		switch {
		case err != nil:
			// A bad model file costs the model, not the agent: the rules
			// and everything else keep running.
			log.Error("fault model off: it cannot be loaded", "err", err)
		case len(missing) > 0:
			log.Warn("fault model off: the signal map lacks model inputs", "missing", missing)
		default:
			l.det = det
			log.Info("fault model on", "inputs", diag.NumModelInputs)
		}
	}
	return l, nil
}

// newDetector loads the model (the built-in one when file is empty) and
// lists the model inputs db's signal map does not provide.
func newDetector(file string, db *signals.Database) (*detect.Detector, []string, error) {
	var m *int8nn.Model
	var err error
	if file == "" {
		m, err = fault.Load()
	} else {
		m, err = int8nn.Load(file)
	}
	if err != nil {
		return nil, nil, err
	}
	det, err := detect.New(m, detect.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", modelName(file), err)
	}
	mapped := map[string]bool{}
	for _, s := range db.Signals {
		if s.Mapping != nil {
			mapped[s.Mapping.VSS] = true
		}
	}
	return det, detect.Missing(func(p string) bool { return mapped[p] }), nil
}

func modelName(file string) string {
	if file == "" {
		return "built-in fault model"
	}
	return file
}

// faults lists the active alarms and detections for health reports
// ("insulation:L2", "model:cooling_loss").
func (l *liveDiag) faults() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	if l.r != nil {
		for _, a := range l.r.Active() {
			out = append(out, fmt.Sprintf("%s:L%d", a.Name, a.Level))
		}
	}
	if l.det != nil {
		if c, ok := l.det.Active(); ok {
			out = append(out, "model:"+detectClassName(c))
		}
	}
	if l.watch != nil {
		for _, p := range l.watch.Lost() {
			out = append(out, "lost:"+p)
		}
	}
	for _, c := range l.checks {
		if c.Active() {
			out = append(out, "monitor:"+c.Name())
		}
	}
	return out
}

// faultIDs lists the knowledge-base ids of the active alarms and
// detection, for the voice dialogue ("any faults?").
func (l *liveDiag) faultIDs() []string {
	k := kbOrNil()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	add := func(id string) {
		if k != nil {
			if _, _, ok := k.Lookup(id, "en"); ok && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	if l.r != nil {
		for _, a := range l.r.Active() {
			add(a.Name)
		}
	}
	if l.det != nil {
		if c, ok := l.det.Active(); ok {
			add(detectClassName(c))
		}
	}
	if l.watch != nil && len(l.watch.Lost()) > 0 {
		add(diag.SignalLostID)
	}
	for _, c := range l.checks {
		if c.Active() {
			add(c.Fault())
		}
	}
	return out
}

// newSignalWatch watches the rule and model inputs db's signal map
// provides.
func newSignalWatch(db *signals.Database) *diag.SignalWatch {
	mapped := map[string]bool{}
	for _, s := range db.Signals {
		if s.Mapping != nil {
			mapped[s.Mapping.VSS] = true
		}
	}
	return diag.NewSignalWatch(diag.WatchedPaths(func(p string) bool { return mapped[p] }), diag.ModelInputPaths[diag.InSpeed])
}

// heardFrom tells when a path's value last arrived in t.
func heardFrom(t *signals.Table) diag.Heard {
	return func(p string) (time.Time, uint64, bool) {
		s, ok := t.Get(p)
		if !ok || s.Count == 0 {
			return time.Time{}, 0, false
		}
		return s.Time, s.Count, true
	}
}

// kbFacts are the knowledge base's facts an event carries (English).
type kbFacts struct {
	Severity  int      `json:"severity"` // the entry's hint while active, 0 when over
	Component string   `json:"component,omitempty"`
	Title     string   `json:"title,omitempty"`
	Summary   string   `json:"summary,omitempty"`
	DTCs      []string `json:"dtcs,omitempty"`
}

// factsOf looks id up (severity 2 when the knowledge base is missing).
func factsOf(id string, active bool) kbFacts {
	f := kbFacts{Severity: 2}
	if k := kbOrNil(); k != nil {
		if e, t, ok := k.Lookup(id, "en"); ok {
			f = kbFacts{e.Severity, e.Component, t.Title, t.Summary, e.DTCs}
		}
	}
	if !active {
		f.Severity = 0
	}
	return f
}

// signalLostEvent is the body of a "signal_lost" event: a watched input
// stopped arriving (Lost) or came back.
type signalLostEvent struct {
	diag.LostSignal
	kbFacts
}

// lostEvent describes c from the knowledge base.
func lostEvent(c diag.LostSignal) signalLostEvent {
	return signalLostEvent{c, factsOf(diag.SignalLostID, c.Lost)}
}

// monitorEvent is the body of a "monitor" event: a monitor check found a
// fault (Raised) or passes again.
type monitorEvent struct {
	diag.CheckChange
	kbFacts
}

// monitorEventOf describes c from the knowledge base.
func monitorEventOf(c diag.CheckChange) monitorEvent {
	return monitorEvent{c, factsOf(c.Fault, c.Raised)}
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

// kbOrNil returns the knowledge base, or nil when it failed to load.
func kbOrNil() *kb.KB {
	k, err := knowledge()
	if err != nil {
		return nil
	}
	return k
}

// attach sets where detections go and how they are stamped (hold: see
// storeRecorder.Stamped; nil when not recording); call before the agent
// runs.
func (l *liveDiag) attach(table *signals.Table, st *store.Store, up *uplink.Uplink, hold *storeRecorder, log *slog.Logger) {
	l.table, l.st, l.up, l.hold, l.log = table, st, up, hold, log
}

// shifted returns t moved by shift, leaving a zero time zero.
func shifted(t time.Time, shift time.Duration) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Add(shift)
}

// step evaluates the rules and the model at now, a whole second of data
// time (agent.Options.OnSecond: every second of the data, in order, also
// in replays faster than real time); each alarm level change and each
// detection becomes an event in the store and, with an uplink, on the
// events topic.
func (l *liveDiag) step(now time.Time) {
	if l.table == nil {
		return
	}
	read := freshReader(l.table, now)
	trusted := l.hold.trustedAt(now)
	l.mu.Lock()
	if len(l.held) > 0 && trusted {
		l.restoreHeld()
	}
	remember := trusted && len(l.held) == 0
	var changes []diag.Alarm
	var flags uint32
	var hi int
	if l.r != nil {
		changes = l.r.Step(now, read)
		flags, hi = l.r.Flags()
	}
	var det *detect.Change
	var derr error
	if l.det != nil {
		det, derr = l.det.Step(now, read)
	}
	var mons []monitorEvent
	for _, c := range l.checks {
		if ch := c.Step(now, read); ch != nil {
			mons = append(mons, monitorEventOf(*ch))
		}
	}
	var lost []signalLostEvent
	if l.watch != nil {
		l.lost = l.watch.Step(now, heardFrom(l.table), read, l.lost)
		for _, c := range l.lost {
			lost = append(lost, lostEvent(c))
		}
	}
	l.mu.Unlock()
	if derr != nil {
		l.log.Error("fault model", "err", derr)
	}
	for _, c := range changes {
		l.alarm(now, c, flags, hi, l.st, l.up, l.log)
	}
	if det != nil {
		l.detection(det, read, l.st, l.up, l.log)
	}
	for _, ev := range lost {
		l.signalLost(ev)
	}
	for _, ev := range mons {
		l.monitor(ev)
	}
	if remember && (l.memPath != "" || l.checksPath != "") && (l.memSaved.IsZero() || now.Sub(l.memSaved) >= memEvery || now.Before(l.memSaved)) {
		l.memSaved = now
		if err := l.saveMemory(); err != nil {
			l.log.Error("saving the diagnosis memory", "err", err)
		}
	}
}

func (l *liveDiag) alarm(now time.Time, c diag.Alarm, flags uint32, hi int, st *store.Store, up *uplink.Uplink, log *slog.Logger) {
	ev := alarmEvent{Alarm: c, Flags: flags, Highest: hi}
	describe(&ev)
	if c.Level > 0 {
		log.Warn("alarm", "item", c.Name, "level", c.Level, "value", c.Value, "threshold", c.Threshold)
	} else {
		log.Info("alarm cleared", "item", c.Name, "value", c.Value)
	}
	l.hold.Stamped(now, func(shift time.Duration) {
		ev.Since = shifted(ev.Since, shift)
		if st != nil {
			body, _ := json.Marshal(ev)
			if _, err := st.AddEvent(store.Event{Time: now.Add(shift), Kind: "gbt32960", Severity: c.Level, Source: "rules", Body: body}); err != nil {
				log.Error("recording an alarm", "err", err)
			}
		}
		if up != nil {
			if _, err := up.PublishEvent("gbt32960", max(c.Level, 1), "rules", ev); err != nil {
				log.Error("queueing an alarm for the uplink", "err", err)
			}
		}
	})
}

// signalLost records a watched input lost or back as a "signal_lost"
// event in the store and on the uplink.
func (l *liveDiag) signalLost(ev signalLostEvent) {
	if ev.Lost {
		l.log.Warn("signal lost", "path", ev.Path, "silent_s", ev.Silent, "period_s", ev.Period)
	} else {
		l.log.Info("signal back", "path", ev.Path)
	}
	l.publish(diag.SignalLostID, "a lost signal", ev.Time, ev.Severity, &ev, func(shift time.Duration) {
		ev.Time, ev.LastHeard = shifted(ev.Time, shift), shifted(ev.LastHeard, shift)
	})
}

// monitor records a monitor check's finding (or its end) as a "monitor"
// event in the store and on the uplink.
func (l *liveDiag) monitor(ev monitorEvent) {
	if ev.Raised {
		l.log.Warn("monitor check failed", "check", ev.Check, "fault", ev.Fault, "evidence", ev.Evidence)
	} else {
		l.log.Info("monitor check passes again", "check", ev.Check)
	}
	l.publish("monitor", "a monitor finding", ev.Time, ev.Severity, &ev, func(shift time.Duration) {
		ev.Time, ev.Since = shifted(ev.Time, shift), shifted(ev.Since, shift)
	})
}

// publish stores body as an event of kind at (source "rules") and queues
// it for the uplink, once hold trusts the clock; fix moves body's own
// times by the correction first. what names it in error logs.
func (l *liveDiag) publish(kind, what string, at time.Time, sev int, body any, fix func(shift time.Duration)) {
	l.hold.Stamped(at, func(shift time.Duration) {
		fix(shift)
		if l.st != nil {
			b, _ := json.Marshal(body)
			if _, err := l.st.AddEvent(store.Event{Time: at.Add(shift), Kind: kind, Severity: sev, Source: "rules", Body: b}); err != nil {
				l.log.Error("recording "+what, "err", err)
			}
		}
		if l.up != nil {
			if _, err := l.up.PublishEvent(kind, max(sev, 1), "rules", body); err != nil {
				l.log.Error("queueing "+what+" for the uplink", "err", err)
			}
		}
	})
}

// detection records a model detection: a pin that keeps the data around
// it, a "diagnosis" event with the raw window in the store, and the same
// diagnosis without the window on the uplink.
func (l *liveDiag) detection(c *detect.Change, read diag.Read, st *store.Store, up *uplink.Uplink, log *slog.Logger) {
	k := kbOrNil()
	codes := l.dtcs.codes()
	d := detect.Describe(c, k, read, codes, true)
	if c.Raised {
		log.Warn("fault detected", "fault", c.Fault, "confidence", d.Confidence, "score", d.Score, "threshold", d.Threshold, "dtcs", codes)
	} else {
		log.Info("fault detection cleared", "fault", c.Fault, "score", d.Score)
	}
	// Described now (it reads the live values); stored and sent with its
	// times corrected once the wall clock is trusted.
	l.hold.Stamped(c.Time, func(shift time.Duration) {
		at := c.Time.Add(shift)
		d.Time = shifted(d.Time, shift)
		if d.Window != nil {
			d.Window.From, d.Window.To = shifted(d.Window.From, shift), shifted(d.Window.To, shift)
		}
		if st != nil {
			if c.Raised && l.cfg.Pin.Duration > 0 && d.Window != nil {
				var expires time.Time
				if l.cfg.PinDays > 0 {
					expires = at.Add(time.Duration(l.cfg.PinDays) * 24 * time.Hour)
				}
				from, to := d.Window.From.Add(-l.cfg.Pin.Duration), at.Add(l.cfg.Pin.Duration)
				if id, err := st.Pin(from, to, "diagnosis "+c.Fault, expires); err != nil {
					log.Error("pinning the data of a detection", "err", err)
				} else {
					d.Window.Pin, d.Window.PinFrom, d.Window.PinTo = id, from, to
				}
			}
			body, err := json.Marshal(d)
			if err == nil {
				_, err = st.AddEvent(store.Event{Time: at, Kind: "diagnosis", Severity: severityOf(c, d), Source: "model", Body: body})
			}
			if err != nil {
				log.Error("recording a diagnosis", "err", err)
			}
		}
		if up != nil {
			d.Window, d.Features = nil, nil // the cloud asks for logs when it wants them
			d.Text = map[string]kb.Text{"en": d.Text["en"]}
			if _, err := up.PublishEvent("diagnosis", severityOf(c, d), "model", d); err != nil {
				log.Error("queueing a diagnosis for the uplink", "err", err)
			}
		}
	})
}

func severityOf(c *detect.Change, d detect.Diagnosis) int {
	if !c.Raised {
		return 0
	}
	return d.Severity
}

func detectClassName(c int) string {
	if n := detect.ClassName(c); n != "" {
		return n
	}
	return fmt.Sprint(c)
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

// dtcTracker keeps the trouble codes last read from the car and reports
// what changed between two reads.
type dtcTracker struct {
	mu  sync.Mutex
	cur map[dtcKey]string // description
}

type dtcKey struct{ Status, ECU, Code string }

// dtcEvent is the body of a "dtc" event.
type dtcEvent struct {
	State       string `json:"state"`  // "set" or "cleared"
	Status      string `json:"status"` // stored, pending, permanent (OBD services 03, 07, 0A) or uds (19 02)
	ECU         string `json:"ecu"`
	Code        string `json:"code"`
	Description string `json:"description,omitempty"`
}

// update replaces the codes with rep's and returns the changes, set codes
// first, each group in a stable order.
func (t *dtcTracker) update(rep *obd.DTCReport) []dtcEvent {
	next := map[dtcKey]string{}
	for _, g := range []struct {
		status string
		list   []obd.ECUDTC
	}{{"stored", rep.Stored}, {"pending", rep.Pending}, {"permanent", rep.Permanent}, {"uds", rep.UDS}} {
		for _, d := range g.list {
			next[dtcKey{g.status, d.ECU, d.Code}] = d.Description
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var set, cleared []dtcEvent
	for k, desc := range next {
		if _, ok := t.cur[k]; !ok {
			set = append(set, dtcEvent{"set", k.Status, k.ECU, k.Code, desc})
		}
	}
	for k, desc := range t.cur {
		if _, ok := next[k]; !ok {
			cleared = append(cleared, dtcEvent{"cleared", k.Status, k.ECU, k.Code, desc})
		}
	}
	t.cur = next
	order := func(a, b dtcEvent) int {
		if c := cmpStr(a.Code, b.Code); c != 0 {
			return c
		}
		if c := cmpStr(a.Status, b.Status); c != 0 {
			return c
		}
		return cmpStr(a.ECU, b.ECU)
	}
	slices.SortFunc(set, order)
	slices.SortFunc(cleared, order)
	return append(set, cleared...)
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// codes returns the distinct codes now set (any status), sorted.
func (t *dtcTracker) codes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.cur))
	for k := range t.cur {
		if !slices.Contains(out, k.Code) {
			out = append(out, k.Code)
		}
	}
	slices.Sort(out)
	return out
}

// active returns the codes now set, parsed (codes that do not parse are
// left out; the trackers' codes come from the OBD parsers).
func (t *dtcTracker) active() []obd.DTC {
	var out []obd.DTC
	for _, c := range t.codes() {
		if d, err := obd.ParseDTC(c); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// record files trouble-code changes read at now as "dtc" events in the
// store and on the uplink (set codes severity 1, cleared 0), stamped
// through hold (see storeRecorder.Stamped; nil: at once).
func (t *dtcTracker) record(now time.Time, evs []dtcEvent, st *store.Store, up *uplink.Uplink, hold *storeRecorder, log *slog.Logger) {
	for _, ev := range evs {
		sev := 0
		if ev.State == "set" {
			sev = 1
			log.Warn("trouble code set", "code", ev.Code, "status", ev.Status, "ecu", ev.ECU, "description", ev.Description)
		} else {
			log.Info("trouble code cleared", "code", ev.Code, "status", ev.Status, "ecu", ev.ECU)
		}
		hold.Stamped(now, func(shift time.Duration) {
			if st != nil {
				body, _ := json.Marshal(ev)
				if _, err := st.AddEvent(store.Event{Time: now.Add(shift), Kind: "dtc", Severity: sev, Source: "obd", Body: body}); err != nil {
					log.Error("recording a trouble code", "err", err)
				}
			}
			if up != nil {
				if _, err := up.PublishEvent("dtc", sev, "obd", ev); err != nil {
					log.Error("queueing a trouble code for the uplink", "err", err)
				}
			}
		})
	}
}
