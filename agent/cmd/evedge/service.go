package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/evedge/evedge/agent"
	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/service"
	"github.com/evedge/evedge/agent/signals"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/can/socketcan"
	"github.com/evedge/evedge/drivers/obd"
)

// startService builds the service centre's HTTPS API on the agent's
// table and store, and returns it as an agent source (it serves until the
// agent stops).
func startService(cfg config.Config, boardName, dbcFile string, db *signals.Database, a *agent.Agent, st *store.Store, sr *storeRecorder, obdp *obdPlan, voice *voiceRuntime, prof *board.Profile, log *slog.Logger) (agent.Source, string, error) {
	c := cfg.Service
	if st == nil {
		return agent.Source{}, "", fmt.Errorf("service: --service needs the store (store.record = true)")
	}
	if c.TLSDir == "" {
		return agent.Source{}, "", fmt.Errorf("service: --service %s needs --tls-dir (or service.tls_dir): the API only speaks TLS; `evedge certs dev --out DIR` makes trial certificates", c.Addr)
	}
	var tokens []service.Token
	for _, s := range c.Tokens {
		t, err := service.ParseToken(s)
		if err != nil {
			return agent.Source{}, "", fmt.Errorf("config: service.tokens: %w", err)
		}
		tokens = append(tokens, t)
	}
	p, ok := service.Profiles[c.Market]
	if !ok {
		p = service.Profiles["default"]
	}
	o := service.Options{
		Addr: c.Addr, TLSDir: c.TLSDir, Tokens: tokens, Store: st, Table: a.Table(),
		Privacy: p.Bind(db), KB: kbOrNil(), Log: log,
		Vehicle: func() service.VehicleInfo {
			return service.VehicleInfo{VIN: c.VIN, ID: cfg.Agent.VehicleID, Board: boardName, DBC: filepath.Base(dbcFile),
				Versions: map[string]string{"evedge": versionString()}}
		},
		Speed: func() (float64, bool) {
			now := a.DataNow()
			s, ok := a.Table().Get("Vehicle.Speed")
			if !ok || s.Count == 0 || now.Sub(s.Time) > 10*time.Second {
				return 0, false
			}
			return s.Value, true
		},
	}
	if sr != nil {
		o.Stamp = sr.Stamped // audit events wait for a sane clock with the frames
	}
	if voice != nil {
		o.Voice = newAPIVoice(voice.dl, prof)
		if voice.ptt != nil {
			o.PushToTalk = voice.ptt
		}
	}
	if obdp != nil {
		client := func() (*obd.Client, error) {
			elm := obdp.adapter()
			if elm == nil {
				return nil, fmt.Errorf("OBD adapter %s not connected", obdp.cfg.Port)
			}
			return &obd.Client{T: elm}, nil
		}
		o.DTCs = func(ctx context.Context) (*obd.DTCReport, error) {
			cl, err := client()
			if err != nil {
				return nil, err
			}
			return cl.DTCs(ctx)
		}
		o.ClearDTCs = func(ctx context.Context) error {
			cl, err := client()
			if err != nil {
				return err
			}
			// The server checked the role and the CAN speed; the gate reads
			// the speed over OBD again before service 04.
			gate := &obd.StandstillGate{Client: cl, Authorised: func(context.Context) error { return nil }}
			return cl.ClearDTCs(ctx, gate)
		}
	}
	srv, err := service.New(o)
	if err != nil {
		return agent.Source{}, "", err
	}
	if err := srv.Listen(); err != nil {
		return agent.Source{}, "", err
	}
	log.Info("service API", "addr", srv.Addr(), "tls_dir", c.TLSDir, "tokens", len(tokens), "market", p.Name)
	return agent.Source{Name: "service " + srv.Addr(), Values: func(ctx context.Context, _ func([]signals.Value, int64)) error {
		return srv.Serve(ctx)
	}}, srv.Addr(), nil
}

// canLink is a SocketCAN link the agent reads.
type canLink struct {
	bus   int
	iface string
	conn  *socketcan.Conn
}

// canHealth returns the health counters of the links for health reports:
// error frames, bus-off, error-passive and error-warning events seen on
// the agent's socket, and the controller's state and error counters from
// the kernel (netlink) where it has them.
func canHealth(links []canLink) func() []map[string]any {
	return func() []map[string]any {
		var out []map[string]any
		for _, l := range links {
			st := l.conn.Stats()
			m := map[string]any{"bus": l.bus, "interface": l.iface, "error_frames": st.ErrorFrames,
				"bus_off": st.BusOff, "error_passive": st.ErrorPassive, "error_warning": st.ErrorWarning,
				"rx_overflow": st.RxOverflow, "dropped": st.Dropped}
			if ln, err := l.conn.Link(); err == nil {
				m["state"] = fmt.Sprint(ln.State)
				m["tx_errors"], m["rx_errors"] = ln.TxErrors, ln.RxErrors
				m["restarts"] = ln.Stats.Restarts
			}
			out = append(out, m)
		}
		return out
	}
}
