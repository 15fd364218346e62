// Package config is the schema of the agent's configuration file
// (evedge.toml), its defaults and its validation. Errors name the file, the
// field and what was expected.
package config

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Config is the agent configuration. Command-line flags override it.
type Config struct {
	File string `toml:"-"`

	Agent   Agent   `toml:"agent"`
	Sim     Sim     `toml:"sim"`
	Store   Store   `toml:"store"`
	OBD     OBD     `toml:"obd"`
	Uplink  Uplink  `toml:"uplink"`
	Diag    Diag    `toml:"diag"`
	Service Service `toml:"service"`
}

// Service configures the service centre's HTTPS API (off when Addr is
// empty).
type Service struct {
	// Addr is host:port to listen on, e.g. "127.0.0.1:8443" (loopback) or
	// "0.0.0.0:8443" for the workshop network (run --service sets it).
	Addr string `toml:"addr"`
	// TLSDir holds ca.pem (the OEM CA issuing client certificates),
	// server.pem and server-key.pem: the layout `evedge certs dev` writes
	// (run --tls-dir sets it).
	TLSDir string `toml:"tls_dir"`
	// Tokens are bearer tokens as "name:role:sha256-hex" (role workshop
	// or owner); the configuration holds only their SHA-256.
	Tokens []string `toml:"tokens"`
	// Market selects the privacy profile: default, EU, CN or US.
	Market string `toml:"market"`
	// VIN is reported when the car does not give it over OBD.
	VIN string `toml:"vin"`
}

// Diag configures fault detection.
type Diag struct {
	// Rules turns the GB/T 32960.3 alarm rules on (default).
	Rules bool `toml:"rules"`
	// Model turns the int8 fault model on (default). It runs only when the
	// vehicle's signal map provides every model input (see the README).
	Model bool `toml:"model"`
	// ModelFile replaces the model built into the agent (an .evnn file
	// made by `evedge eval fault --train`).
	ModelFile string `toml:"model_file"`
	// Pin is how much data before and after a model detection the store
	// keeps from eviction (default 10 min), for PinDays (default 30).
	Pin     Duration `toml:"pin"`
	PinDays int      `toml:"pin_days"`
	// Limits override alarm thresholds per item: [level 1, level 2, level 3]
	// in the item's unit, e.g. battery_high_temperature = [45, 50, 55].
	Limits map[string][]float64 `toml:"limits"`
}

// Uplink configures the MQTT link to the manufacturer's cloud. Nothing is
// sent when Broker is empty.
type Uplink struct {
	// Broker is tcp://host:port or ssl://host:port.
	Broker   string `toml:"broker"`
	ClientID string `toml:"client_id"`
	Username string `toml:"username"`
	Password string `toml:"password"`
	// CAFile verifies the broker (default: system roots); CertFile and
	// KeyFile are the car's client certificate.
	CAFile     string `toml:"ca_file"`
	CertFile   string `toml:"cert_file"`
	KeyFile    string `toml:"key_file"`
	ServerName string `toml:"server_name"`
	// KeepAlive is the MQTT keepalive (default 5m).
	KeepAlive Duration `toml:"keepalive"`
	// HealthInterval is the report interval the budget allows stretching
	// up to MaxHealthInterval (defaults 5m and 1h).
	HealthInterval    Duration `toml:"health_interval"`
	MaxHealthInterval Duration `toml:"max_health_interval"`
	// DataBudget is the monthly allowance for everything the uplink sends,
	// overheads included (default 30MB).
	DataBudget Size `toml:"data_budget"`
	// RequestKey is the OEM's ed25519 public key that signs requests
	// (base64, hex or PEM), or RequestKeyFile a file holding it. Without
	// one, remote requests are refused.
	RequestKey     string `toml:"request_key"`
	RequestKeyFile string `toml:"request_key_file"`
	// ClockSkew is the tolerance on request validity windows (default 5m).
	ClockSkew Duration `toml:"clock_skew"`
}

// OBD configures polling the car's diagnostic port through an ELM327
// adapter. Nothing is polled when Port is empty.
type OBD struct {
	// Port is the adapter's serial device (/dev/ttyUSB0, /dev/rfcomm0).
	Port string `toml:"port"`
	// Baud is the serial speed (default 38400; other speeds are probed).
	Baud int `toml:"baud"`
	// Protocol is the ELM327 protocol number: "0" automatic (default), "6"
	// CAN 11-bit 500k, "7" 29-bit 500k, "8"/"9" at 250k.
	Protocol string `toml:"protocol"`
	// Signalset is an OBDb signalset (JSON) with the car's manufacturer PIDs.
	Signalset string `toml:"signalset"`
	// ModelYear selects the signalset's commands for one model year (0: all).
	ModelYear int `toml:"model_year"`
	// PIDs are SAE J1979 service 01 PIDs to poll (hex, e.g. "0D", "5B").
	PIDs []string `toml:"pids"`
	// PIDPeriod is how often the PIDs are polled (default 1s).
	PIDPeriod Duration `toml:"pid_period"`
	// DTCPeriod is how often the trouble codes (services 03, 07, 0A) are
	// read while the car is awake (default 1m, 0 off); changes become
	// "dtc" events.
	DTCPeriod Duration `toml:"dtc_period"`
	// UDSECUs are ECU request ids ("7E4", "18DA10F1") whose UDS trouble
	// codes (19 02, all statuses) are read with the others.
	UDSECUs []string `toml:"uds_ecus"`
	// Rates override polling periods by signal or command id.
	Rates map[string]Duration `toml:"rates"`
	// Guard decides when the car may be polled: "auto" (default: the 12 V
	// level read by the adapter, and CAN traffic when a CAN bus is read),
	// "voltage", "traffic" or "none" (bench use only: keeps ECUs awake).
	Guard string `toml:"guard"`
	// WakeVoltage and SleepVoltage are the 12 V thresholds of the voltage
	// guard (defaults 13.2 and 12.9 V).
	WakeVoltage  float64 `toml:"wake_voltage"`
	SleepVoltage float64 `toml:"sleep_voltage"`
}

// Store holds the local history's settings.
type Store struct {
	// Record turns recording under the data directory on (default) or off.
	Record bool `toml:"record"`
	// Dir overrides the board's data directory.
	Dir string `toml:"dir"`
	// CommitInterval bounds what a power cut can lose (default "1s").
	CommitInterval Duration `toml:"commit_interval"`
	// Quotas per class of data, as sizes ("768MiB", "2GB", "1048576").
	Quotas Quotas `toml:"quotas"`
}

// Quotas are the byte budgets of the store's classes; empty = default.
type Quotas struct {
	Frames  Size `toml:"frames"`
	Signals Size `toml:"signals"`
	Rollups Size `toml:"rollups"`
	Events  Size `toml:"events"`
	Outbox  Size `toml:"outbox"`
}

// Agent holds daemon-wide settings.
type Agent struct {
	// Board is a profile name ("sim") or path.
	Board string `toml:"board"`
	// VehicleID identifies the car towards the cloud; default "sim-0001".
	VehicleID string `toml:"vehicle_id"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `toml:"log_level"`
	// StatsInterval is how often counters are logged without a terminal.
	StatsInterval string `toml:"stats_interval"`
	// MemoryLimit is the Go runtime's soft memory limit (GOMEMLIMIT):
	// the garbage collector works harder near it, keeping the agent's RSS
	// bounded on a head unit that shares its RAM. Default 128MiB; 0 = none.
	// The GOMEMLIMIT environment variable takes precedence.
	MemoryLimit Size `toml:"memory_limit"`
	// GCPercent is the garbage collector's target (GOGC): a new cycle
	// starts when the heap has grown this many percent over the live
	// heap. Default 50 (Go's is 100): the agent allocates little, and
	// the voice loop's recogniser turns over a few MiB an utterance, so
	// collecting twice as often costs little CPU and keeps the steady RSS
	// about 8 MiB lower. The GOGC environment variable takes precedence.
	GCPercent int `toml:"gc_percent"`
}

// Sim holds the simulated car's settings.
type Sim struct {
	// Speed is the time-scale factor: 60 = one simulated hour per minute.
	Speed float64 `toml:"speed"`
	// Seed makes the simulated car and its faults reproducible.
	Seed int64 `toml:"seed"`
	// Scenario is "loop" or a comma-separated list of phases: urban, highway, wltp, idle, park, ac, dc.
	Scenario string `toml:"scenario"`
}

// Default returns the built-in configuration.
func Default() Config {
	return Config{
		Agent:   Agent{Board: "sim", VehicleID: "sim-0001", LogLevel: "info", StatsInterval: "30s", MemoryLimit: 128 << 20, GCPercent: 50},
		Sim:     Sim{Speed: 1, Seed: 1, Scenario: "loop"},
		Store:   Store{Record: true, CommitInterval: Duration{time.Second}},
		OBD:     OBD{Baud: 38400, Protocol: "0", PIDPeriod: Duration{time.Second}, DTCPeriod: Duration{time.Minute}, Guard: "auto"},
		Service: Service{Market: "default"},
		Diag:    Diag{Rules: true, Model: true, Pin: Duration{10 * time.Minute}, PinDays: 30},
		Uplink: Uplink{KeepAlive: Duration{5 * time.Minute}, HealthInterval: Duration{5 * time.Minute},
			MaxHealthInterval: Duration{time.Hour}, DataBudget: 30_000_000, ClockSkew: Duration{5 * time.Minute}},
	}
}

// Load reads path over the defaults. An empty path returns the defaults.
func Load(path string) (Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse reads TOML over the defaults; name is used in errors.
func Parse(name string, data []byte) (Config, error) {
	c := Default()
	c.File = name
	if err := DecodeStrict(name, data, &c); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

// Validate checks field values.
func (c *Config) Validate() error {
	switch c.Agent.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: %s: agent.log_level %q: expected debug, info, warn or error", c.File, c.Agent.LogLevel)
	}
	if g := c.Agent.GCPercent; g != 0 && (g < 10 || g > 1000) {
		return fmt.Errorf("config: %s: agent.gc_percent %d: expected 10..1000 (0: Go's default)", c.File, g)
	}
	if c.Sim.Speed <= 0 || c.Sim.Speed > 100000 {
		return fmt.Errorf("config: %s: sim.speed %v: expected a factor above 0 and at most 100000", c.File, c.Sim.Speed)
	}
	for _, ph := range strings.Split(c.Sim.Scenario, ",") {
		switch strings.TrimSpace(ph) {
		case "loop", "urban", "highway", "wltp", "ac", "dc", "idle", "park":
		default:
			return fmt.Errorf("config: %s: sim.scenario %q: expected loop or a comma-separated list of urban, highway, wltp, idle, park, ac, dc", c.File, c.Sim.Scenario)
		}
	}
	if d := c.Store.CommitInterval.Duration; d < 10*time.Millisecond || d > time.Minute {
		return fmt.Errorf("config: %s: store.commit_interval %v: expected 10ms..1m", c.File, d)
	}
	if err := c.OBD.validate(c.File); err != nil {
		return err
	}
	if d := c.Diag.Pin.Duration; d < 0 || d > 24*time.Hour {
		return fmt.Errorf("config: %s: diag.pin %v: expected 0..24h", c.File, d)
	}
	if c.Diag.PinDays < 0 || c.Diag.PinDays > 3650 {
		return fmt.Errorf("config: %s: diag.pin_days %d: expected 0 (never expires)..3650", c.File, c.Diag.PinDays)
	}
	if d := c.OBD.DTCPeriod.Duration; d != 0 && d < 5*time.Second {
		return fmt.Errorf("config: %s: obd.dtc_period %v: expected 0 (off) or at least 5s", c.File, d)
	}
	switch c.Service.Market {
	case "default", "EU", "CN", "US":
	default:
		return fmt.Errorf("config: %s: service.market %q: expected default, EU, CN or US", c.File, c.Service.Market)
	}
	if err := c.Uplink.validate(c.File); err != nil {
		return err
	}
	if c.Agent.VehicleID == "" || strings.ContainsAny(c.Agent.VehicleID, "/#+ ") {
		return fmt.Errorf("config: %s: agent.vehicle_id %q: expected a non-empty id without /, #, + or spaces", c.File, c.Agent.VehicleID)
	}
	return nil
}

func (o *OBD) validate(file string) error {
	switch o.Guard {
	case "auto", "voltage", "traffic", "none":
	default:
		return fmt.Errorf("config: %s: obd.guard %q: expected auto, voltage, traffic or none", file, o.Guard)
	}
	switch o.Protocol {
	case "0", "6", "7", "8", "9":
	default:
		return fmt.Errorf("config: %s: obd.protocol %q: expected 0 (automatic), 6, 7, 8 or 9", file, o.Protocol)
	}
	if o.Baud < 1200 || o.Baud > 4000000 {
		return fmt.Errorf("config: %s: obd.baud %d: expected 1200..4000000", file, o.Baud)
	}
	for _, p := range o.PIDs {
		if len(p) != 2 || strings.Trim(strings.ToUpper(p), "0123456789ABCDEF") != "" {
			return fmt.Errorf("config: %s: obd.pids: %q is not a 2-digit hex PID", file, p)
		}
	}
	if d := o.PIDPeriod.Duration; d < 100*time.Millisecond {
		return fmt.Errorf("config: %s: obd.pid_period %v: expected at least 100ms", file, d)
	}
	for _, id := range o.UDSECUs {
		if (len(id) != 3 && len(id) != 8) || strings.Trim(strings.ToUpper(id), "0123456789ABCDEF") != "" {
			return fmt.Errorf("config: %s: obd.uds_ecus: %q is not a 3- or 8-digit hex request id", file, id)
		}
	}
	for k, d := range o.Rates {
		if d.Duration < 100*time.Millisecond {
			return fmt.Errorf("config: %s: obd.rates.%s %v: expected at least 100ms", file, k, d.Duration)
		}
	}
	if o.WakeVoltage != 0 && o.SleepVoltage != 0 && o.SleepVoltage >= o.WakeVoltage {
		return fmt.Errorf("config: %s: obd.sleep_voltage %v must be below obd.wake_voltage %v", file, o.SleepVoltage, o.WakeVoltage)
	}
	return nil
}

func (u *Uplink) validate(file string) error {
	if u.Broker != "" && !strings.Contains(u.Broker, "://") {
		return fmt.Errorf("config: %s: uplink.broker %q: expected tcp://host:port or ssl://host:port", file, u.Broker)
	}
	if (u.CertFile == "") != (u.KeyFile == "") {
		return fmt.Errorf("config: %s: uplink.cert_file and uplink.key_file go together", file)
	}
	if d := u.KeepAlive.Duration; d < 10*time.Second || d > time.Hour {
		return fmt.Errorf("config: %s: uplink.keepalive %v: expected 10s..1h", file, d)
	}
	if d := u.HealthInterval.Duration; d < time.Second {
		return fmt.Errorf("config: %s: uplink.health_interval %v: expected at least 1s", file, d)
	}
	if u.MaxHealthInterval.Duration < u.HealthInterval.Duration {
		return fmt.Errorf("config: %s: uplink.max_health_interval %v is below health_interval %v", file, u.MaxHealthInterval.Duration, u.HealthInterval.Duration)
	}
	if u.RequestKey != "" && u.RequestKeyFile != "" {
		return fmt.Errorf("config: %s: uplink.request_key and uplink.request_key_file: give one", file)
	}
	return nil
}
