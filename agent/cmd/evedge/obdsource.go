package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/evedge/evedge/agent"
	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/drivers/obd"
)

// obdGroup is the pseudo-message OBD values are filed under ("OBD.VSS").
const obdGroup = "OBD"

// obdPlan is what the OBD source polls and where values go.
type obdPlan struct {
	cfg   config.OBD
	set   *obd.Signalset
	cmds  []*obd.Command
	pids  []byte
	sigs  map[*obd.Signal]*signals.Signal
	conv  map[*obd.Signal]obd.VSSMapping
	rates map[string]time.Duration
	// warnings: signals left unmapped because the DBC maps their VSS path.
	warnings []string
	elm      atomic.Pointer[obd.ELM327]
	// onDTCs receives each trouble-code read (every cfg.DTCPeriod while
	// the car is awake); set before the agent runs.
	onDTCs func(time.Time, *obd.DTCReport)
}

// adapter returns the connected adapter, or nil.
func (p *obdPlan) adapter() *obd.ELM327 { return p.elm.Load() }

// planOBD loads the signalset and registers every polled signal in db, so
// that the table and the store know them. Call before the table and the
// recorder are built.
func planOBD(cfg config.OBD, db *signals.Database) (*obdPlan, error) {
	p := &obdPlan{cfg: cfg, sigs: map[*obd.Signal]*signals.Signal{}, conv: map[*obd.Signal]obd.VSSMapping{}, rates: map[string]time.Duration{}}
	if cfg.Signalset != "" {
		set, err := obd.LoadSignalset(cfg.Signalset)
		if err != nil {
			return nil, err
		}
		p.set = set
		p.cmds = set.CommandsFor(cfg.ModelYear)
	}
	for _, s := range cfg.PIDs {
		v, err := strconv.ParseUint(s, 16, 8)
		if err != nil {
			return nil, fmt.Errorf("obd.pids: %q: %w", s, err)
		}
		if obd.J1979Command(byte(v)) == nil {
			return nil, fmt.Errorf("obd.pids: PID %s is not in the SAE J1979 table", s)
		}
		p.pids = append(p.pids, byte(v))
	}
	if len(p.cmds) == 0 && len(p.pids) == 0 {
		return nil, fmt.Errorf("obd: port %s set but nothing to poll: give obd.signalset or obd.pids", cfg.Port)
	}
	for k, d := range cfg.Rates {
		p.rates[k] = d.Duration
	}
	taken := map[string]bool{}
	for _, s := range db.Signals {
		if s.Mapping != nil {
			taken[s.Mapping.VSS] = true
		}
	}
	add := func(s *obd.Signal) error {
		if _, ok := p.sigs[s]; ok {
			return nil
		}
		var m *signals.Mapping
		unit := s.Fmt.Unit
		if v, ok := s.VSS(); ok && taken[v.Path] {
			p.warnings = append(p.warnings, fmt.Sprintf("OBD signal %s stays %s.%s: the vehicle's signal map already gives %s", s.ID, obdGroup, s.ID, v.Path))
		} else if ok {
			taken[v.Path] = true
			m = &signals.Mapping{Message: obdGroup, Signal: s.ID, VSS: v.Path, Unit: v.Unit, Scale: v.Scale, Add: v.Add}
			p.conv[s] = v
			unit = v.Unit
		}
		sig, err := db.AddExternal(obdGroup, s.ID, unit, m)
		if err != nil {
			return err
		}
		p.sigs[s] = sig
		return nil
	}
	for _, c := range p.cmds {
		for _, s := range c.Signals {
			if err := add(s); err != nil {
				return nil, err
			}
		}
	}
	for _, pid := range p.pids {
		for _, s := range obd.J1979Command(pid).Signals {
			if err := add(s); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// source returns the agent source that polls the car. A missing adapter
// does not stop the agent: it is looked for again every few seconds.
func (p *obdPlan) source(log *slog.Logger, traffic func() time.Time) agent.Source {
	var poller *obd.Poller
	return agent.Source{
		Name: "obd " + p.cfg.Port,
		Values: func(ctx context.Context, emit func([]signals.Value, int64)) error {
			var elm *obd.ELM327
			for {
				var err error
				elm, err = obd.OpenELM327(ctx, p.cfg.Port, obd.ELMOptions{Baud: p.cfg.Baud, Protocol: p.cfg.Protocol, Logger: log})
				if err == nil {
					break
				}
				log.Warn("OBD adapter unavailable; retrying", "port", p.cfg.Port, "err", err)
				if sleepOrDone(ctx, 5*time.Second) {
					return nil
				}
			}
			defer elm.Close()
			p.elm.Store(elm)
			defer p.elm.Store(nil)
			var err error
			poller, err = obd.NewPoller(obd.PollerConfig{
				Transport: elm, Set: p.set, Commands: p.cmds, PIDs: p.pids,
				PIDPeriod: p.cfg.PIDPeriod.Duration, Rates: p.rates,
				Guard:  p.guard(elm, traffic),
				Logger: log,
				OnValues: func(at time.Time, _ string, d *obd.Decoded) {
					out := make([]signals.Value, 0, len(d.Values))
					for _, v := range d.Values {
						sig := p.sigs[v.Signal]
						if sig == nil || v.Null {
							continue // not planned (another ECU's PID) or "not available"
						}
						x := v.Num
						if c, ok := p.conv[v.Signal]; ok {
							x = x*c.Scale + c.Add
						}
						out = append(out, signals.Value{Signal: sig, Value: x, Raw: uint64(int64(v.Num))})
					}
					emit(out, at.UnixNano())
				},
			})
			if err != nil {
				return err
			}
			if p.onDTCs != nil && p.cfg.DTCPeriod.Duration > 0 {
				dctx, cancel := context.WithCancel(ctx)
				defer cancel()
				go p.readDTCs(dctx, elm, poller, log)
			}
			return poller.Run(ctx)
		},
	}
}

// readDTCs reads the trouble codes every DTCPeriod while the poller finds
// the car awake (the adapter serialises these requests with the poller's).
func (p *obdPlan) readDTCs(ctx context.Context, elm *obd.ELM327, poller *obd.Poller, log *slog.Logger) {
	c := &obd.Client{T: elm}
	wait := 2 * time.Second // first read soon after the adapter answers
	for !sleepOrDone(ctx, wait) {
		wait = p.cfg.DTCPeriod.Duration
		if st := poller.Stats(); st.Asleep || st.Answers == 0 {
			continue
		}
		rep, err := c.DTCs(ctx)
		if err != nil {
			log.Debug("reading trouble codes", "err", err)
			continue
		}
		for _, id := range p.cfg.UDSECUs {
			tx, _ := strconv.ParseUint(id, 16, 32) // validated with the config
			ext := len(id) == 8
			ds, err := obd.ReadUDSDTCs(ctx, elm, uint32(tx), obd.ResponseID(uint32(tx), ext), ext, 0xFF)
			if err != nil {
				if !errors.Is(err, obd.ErrNoData) {
					rep.Problems = append(rep.Problems, fmt.Sprintf("UDS 19 02 to %s: %v", id, err))
				}
				continue
			}
			for _, d := range ds {
				rep.UDS = append(rep.UDS, obd.ECUDTC{ECU: strings.ToUpper(id), Code: d.String(), Description: d.Description()})
			}
		}
		p.onDTCs(time.Now(), rep)
	}
}

func (p *obdPlan) guard(elm *obd.ELM327, traffic func() time.Time) obd.Guard {
	volts := &obd.VoltageGuard{Read: elm.Voltage, Wake: p.cfg.WakeVoltage, Sleep: p.cfg.SleepVoltage}
	bus := &obd.ActivityGuard{Last: traffic}
	switch p.cfg.Guard {
	case "none":
		return nil
	case "voltage":
		return volts
	case "traffic":
		return bus
	}
	// auto: traffic on a CAN bus the agent reads says awake at once; else
	// the 12 V level decides.
	return obd.GuardFunc(func(ctx context.Context) (bool, string) {
		if traffic != nil {
			if ok, why := bus.Awake(ctx); ok {
				return true, why
			}
		}
		return volts.Awake(ctx)
	})
}

func sleepOrDone(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false
	case <-ctx.Done():
		return true
	}
}
