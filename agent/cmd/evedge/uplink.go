package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/evedge/evedge/agent"
	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/agent/uplink"
	"github.com/evedge/evedge/drivers/obd"
)

// tlsConfig builds the broker TLS settings from the config.
func tlsConfig(c config.Uplink) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("uplink.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("uplink.ca_file %s: no PEM certificate in it", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("uplink.cert_file/key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// startUplink wires the uplink and the health reporter to the agent.
func startUplink(cfg config.Config, st *store.Store, a *agent.Agent, obdp *obdPlan, faults func() []string, can func() []map[string]any, log *slog.Logger) (run func(context.Context) error, up *uplink.Uplink, err error) {
	c := cfg.Uplink
	if st == nil {
		return nil, nil, fmt.Errorf("uplink: needs the store (store.record = true): every message goes through its outbox")
	}
	tc, err := tlsConfig(c)
	if err != nil {
		return nil, nil, err
	}
	var key []byte
	switch {
	case c.RequestKey != "":
		k, err := uplink.ParsePublicKey(c.RequestKey)
		if err != nil {
			return nil, nil, fmt.Errorf("uplink.request_key: %w", err)
		}
		key = k
	case c.RequestKeyFile != "":
		b, err := os.ReadFile(c.RequestKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("uplink.request_key_file: %w", err)
		}
		k, err := uplink.ParsePublicKey(string(b))
		if err != nil {
			return nil, nil, fmt.Errorf("uplink.request_key_file %s: %w", c.RequestKeyFile, err)
		}
		key = k
	}
	handlers := map[string]uplink.Handler{"logs": uplink.LogsHandler(st)}
	up, err = uplink.New(uplink.Options{
		Broker: c.Broker, Vehicle: cfg.Agent.VehicleID, ClientID: c.ClientID,
		Username: c.Username, Password: c.Password, TLS: tc,
		KeepAlive: c.KeepAlive.Duration, Store: st, RequestKey: key, Skew: c.ClockSkew.Duration,
		Handlers: handlers, Version: versionString(), Logger: log,
	})
	if err != nil {
		return nil, nil, err
	}
	table := a.Table()
	rep := uplink.NewReporter(up, uplink.ReporterOptions{
		Read: func(path string) (float64, time.Time, bool) {
			s, ok := table.Get(path)
			if !ok || s.Count == 0 {
				return 0, time.Time{}, false
			}
			return s.Value, s.Time, true
		},
		Clock: func() time.Time {
			// The data clock: the sim's time in accelerated runs.
			if t := a.DataNow(); t.Unix() > 0 {
				return t
			}
			return time.Now()
		},
		Budget: uplink.Budget{Monthly: int64(c.DataBudget), Interval: c.HealthInterval.Duration, MaxInterval: c.MaxHealthInterval.Duration},
		Faults: faults,
		Agent: func() map[string]any {
			m := map[string]any{"uptime_s": int64(time.Since(a.Started()).Seconds())}
			var frames, values uint64
			for _, b := range a.Stats() {
				frames += b.Frames
				values += b.Values
			}
			m["frames"], m["values"] = frames, values+a.ExternalValues()
			ss := st.Stats()
			m["store_bytes"] = ss.DBBytes + ss.WALBytes
			m["outbox"] = ss.Outbox.Rows
			us := up.Stats()
			m["uplink_bytes"] = us.Bytes
			m["budget_bytes"] = int64(c.DataBudget)
			if links := can(); len(links) > 0 {
				m["can"] = links
			}
			return m
		},
	})
	handlers["health"] = uplink.HealthHandler(rep)
	handlers["dtc"] = uplink.DTCHandler(nil)
	if obdp != nil {
		handlers["dtc"] = uplink.DTCHandler(func(ctx context.Context) (any, error) {
			elm := obdp.adapter()
			if elm == nil {
				return nil, fmt.Errorf("OBD adapter %s not connected", obdp.cfg.Port)
			}
			return (&obd.Client{T: elm}).DTCs(ctx)
		})
	}
	run = func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- rep.Run(ctx) }()
		err := up.Run(ctx)
		if e := <-errc; err == nil {
			err = e
		}
		return err
	}
	log.Info("uplink", "broker", c.Broker, "vehicle", cfg.Agent.VehicleID, "tls", up.TLS(),
		"requests", map[bool]string{true: "signed", false: "disabled (no request_key)"}[key != nil],
		"budget", strings.TrimSpace(fmt.Sprintf("%d bytes/month", int64(c.DataBudget))))
	return run, up, nil
}
