// Package board loads board profiles: data files (board/<name>.toml) that
// describe a head unit — its CAN interfaces, the vehicle definition it
// decodes with, where it keeps data. Nothing here opens a device; the agent
// reads the profile and brings the hardware up.
package board

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/evedge/evedge/agent/config"
	"github.com/evedge/evedge/drivers/audio"
)

// Profile is one board profile.
type Profile struct {
	// File is the path the profile was read from.
	File string `toml:"-"`

	Name        string `toml:"name"`
	Description string `toml:"description"`
	// DataDir is where the agent keeps its state; relative paths are
	// relative to the working directory.
	DataDir string  `toml:"data_dir"`
	Vehicle Vehicle `toml:"vehicle"`
	CAN     []CAN   `toml:"can"`
	// Service is where the service API listens on this board when the
	// agent's configuration does not say (default loopback).
	Service Service `toml:"service"`

	// Detect says which device-tree models this profile is for (see Detect).
	Detect Match `toml:"detect"`
	// OBD is the diagnostic adapter wired to the board, if any.
	OBD OBD `toml:"obd"`
	// Audio lists the cabin microphones and speakers.
	Audio Audio `toml:"audio"`
	// Quotas are the store's byte budgets on this board's flash; the
	// agent configuration's [store.quotas] overrides them field by field.
	Quotas config.Quotas `toml:"quotas"`
	// Writes are the CAN messages the agent may transmit (vehicle
	// actions). None by default: writing is off unless listed here.
	Writes []Write `toml:"can_write"`
	// Voice is the cabin voice assistant.
	Voice Voice `toml:"voice"`
	// Watchdog is the board's hardware watchdog.
	Watchdog Watchdog `toml:"watchdog"`
	// Clock says whether the board keeps time across power cuts.
	Clock Clock `toml:"clock"`
}

// Match selects a profile from the device tree: a glob (path.Match syntax)
// against /proc/device-tree/model, or against any of the strings of
// /proc/device-tree/compatible.
type Match struct {
	Model      []string `toml:"model"`
	Compatible []string `toml:"compatible"`
}

// OBD is the board's OBD-II adapter (ELM327 on a serial port).
type OBD struct {
	// Port is the serial device, e.g. /dev/ttyUSB0; the agent
	// configuration's obd.port overrides it.
	Port string `toml:"port"`
	// Baud is the adapter's serial speed (0: the configuration's, 38400).
	Baud int `toml:"baud"`
}

// Audio lists the board's audio devices.
type Audio struct {
	Capture  []AudioDevice `toml:"capture"`
	Playback []AudioDevice `toml:"playback"`
}

// AudioDevice is one capture or playback device.
type AudioDevice struct {
	// Device is the device name or id as the audio backend lists it
	// ("default", "hw:0,0", "plughw:CARD=sndrpihifiberry"); "" or
	// "default" is the system default.
	Device string `toml:"device"`
	// Channels is the number of interleaved channels (default 1).
	Channels int `toml:"channels"`
	// SampleRate in Hz (default 16000).
	SampleRate int `toml:"sample_rate"`
	// Zones names the cabin zone of each channel, in channel order:
	// driver, passenger, rear-left, rear-right, rear-center. Empty: the
	// whole cabin on every channel.
	Zones []string `toml:"zones"`
}

// Write allows the agent to transmit one CAN message, within limits.
type Write struct {
	// Bus is the bus index of one of the profile's CAN interfaces.
	Bus int `toml:"bus"`
	// ID is the CAN identifier (11-bit up to 0x7FF, else 29-bit), and/or
	// Message its DBC name; at least one is required.
	ID      *uint32 `toml:"id"`
	Message string  `toml:"message"`
	// MaxRate is the most frames per second the agent may send (required).
	MaxRate float64 `toml:"max_rate"`
	// MaxSpeedKmh refuses the write while the vehicle is faster (0: no
	// speed gate).
	MaxSpeedKmh float64 `toml:"max_speed_kmh"`
}

// Voice configures the cabin voice assistant (agent/voice/assistant).
type Voice struct {
	// Enabled runs the assistant inside the agent; it needs an
	// audio.capture device (the first one is used).
	Enabled bool `toml:"enabled"`
	// Language is the car context's language: en, zh, de, es or fr
	// (default en).
	Language string `toml:"language"`
	// Trigger is "push-to-talk" (default), "always" or "wake" (the
	// language's wake phrase starts a request).
	Trigger string `toml:"trigger"`
	// PTT is the VSS path, from the vehicle's signal map, of the
	// steering-wheel voice button: a press is its value turning non-zero.
	// Without it, push-to-talk comes only from the service API.
	PTT string `toml:"ptt"`
	// Model is the recogniser folder written by `evedge voice build`
	// (default <data_dir>/voice/<language>, built at start when missing,
	// which needs espeak-ng).
	Model string `toml:"model"`
	// Dialog is the dialogue configuration (TOML, see agent/voice/dialog:
	// VSS paths, gate thresholds, command messages), relative to the
	// profile file; default the built-in one, made for the sim car's DBC.
	Dialog string `toml:"dialog"`
	// EarlyEnd is the pause that ends a complete, understood sentence
	// (assistant Config.EarlyEnd): default 80ms; "-1s" turns it off (the
	// VAD's 300 ms hangover ends every utterance, and the recogniser
	// runs once per utterance instead of at each pause: for slow CPUs).
	EarlyEnd config.Duration `toml:"early_end"`
}

// Watchdog is the board's hardware watchdog. The agent's own liveness
// goes to systemd (WatchdogSec in the unit); a hardware watchdog is for
// systemd itself (RuntimeWatchdogSec), so this is what selftest checks and
// what an image builder configures.
type Watchdog struct {
	// Device is the watchdog device, e.g. /dev/watchdog0 ("" none).
	Device string `toml:"device"`
	// Timeout is the hardware timeout to configure (1s..10m).
	Timeout config.Duration `toml:"timeout"`
}

// Clock describes the board's time keeping.
type Clock struct {
	// RTC is true when a battery-backed real-time clock keeps the time
	// across power cuts. Without one the agent waits for a sane clock
	// (NTP, GNSS) before stamping wall time.
	RTC bool `toml:"rtc"`
	// MinTime is the earliest wall time taken as sane; the agent's build
	// time is used when it is later.
	MinTime time.Time `toml:"min_time"`
}

// Service is the board's service API placement.
type Service struct {
	// Addr is host:port, e.g. "192.168.50.1:8443" for the head unit's
	// workshop Wi-Fi (default "127.0.0.1:8443").
	Addr string `toml:"addr"`
}

// Vehicle names the vehicle definition files, relative to the profile file.
type Vehicle struct {
	DBC string `toml:"dbc"`
	Map string `toml:"map"`
}

// Driver kinds for a CAN interface.
const (
	DriverSocketCAN = "socketcan"
	DriverSim       = "sim"
)

// CAN is one CAN interface of the board.
type CAN struct {
	// Interface is the OS interface name (can0) or, for the sim driver, a label.
	Interface string `toml:"interface"`
	// Bus is the bus index stamped on its frames (0..255).
	Bus int `toml:"bus"`
	// Driver is "socketcan" (default) or "sim".
	Driver string `toml:"driver"`
	// Bitrate is the nominal (arbitration) bitrate in bit/s; 0 leaves the
	// link as the system configured it.
	Bitrate int `toml:"bitrate"`
	// ListenOnly puts the controller in listen-only mode: it never
	// acknowledges or transmits, so it cannot disturb the vehicle's bus.
	ListenOnly bool `toml:"listen_only"`
	// RestartMs is the automatic restart delay after bus-off in ms (0: no
	// automatic restart).
	RestartMs int `toml:"restart_ms"`
	// FD enables CAN FD with DataBitrate for the data phase.
	FD          bool `toml:"fd"`
	DataBitrate int  `toml:"data_bitrate"`
}

// Configures reports whether the agent brings this link up itself
// (a bitrate is given): otherwise it uses the link as it finds it.
func (c CAN) Configures() bool { return c.Driver == DriverSocketCAN && c.Bitrate > 0 }

// Load reads the profile at path, or the named profile ("sim") from the
// search directories. Relative vehicle paths are resolved against the
// profile's directory.
//
// The name Auto picks the profile with Detect on the running system.
func Load(nameOrPath string, searchDirs []string) (*Profile, error) {
	if nameOrPath == Auto {
		d, err := Detect("/", searchDirs)
		if err != nil {
			return nil, err
		}
		nameOrPath = d.Profile
	}
	path := nameOrPath
	if !strings.ContainsAny(nameOrPath, "/\\") && !strings.HasSuffix(nameOrPath, ".toml") {
		path = ""
		for _, d := range searchDirs {
			p := filepath.Join(d, nameOrPath+".toml")
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
		if path == "" {
			return nil, fmt.Errorf("board: profile %q not found in %s", nameOrPath, strings.Join(searchDirs, ", "))
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("board: %w", err)
	}
	return Parse(path, data)
}

// Parse parses profile TOML; name is the file name for errors.
func Parse(name string, data []byte) (*Profile, error) {
	p := &Profile{File: name}
	if err := config.DecodeStrict(name, data, p); err != nil {
		return nil, fmt.Errorf("board: %w", err)
	}
	if p.Name == "" {
		return nil, fmt.Errorf("board: %s: field \"name\" is missing (expected the profile name)", name)
	}
	dir := filepath.Dir(name)
	for _, f := range []*string{&p.Vehicle.DBC, &p.Vehicle.Map, &p.Voice.Dialog} {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(dir, *f)
		}
	}
	seen := map[int]bool{}
	for i := range p.CAN {
		c := &p.CAN[i]
		if c.Driver == "" {
			c.Driver = DriverSocketCAN
		}
		switch {
		case c.Driver != DriverSocketCAN && c.Driver != DriverSim:
			return nil, fmt.Errorf("board: %s: can[%d].driver %q: expected \"socketcan\" or \"sim\"", name, i, c.Driver)
		case c.Interface == "":
			return nil, fmt.Errorf("board: %s: can[%d].interface is missing (expected an interface name such as can0)", name, i)
		case c.Bus < 0 || c.Bus > 255:
			return nil, fmt.Errorf("board: %s: can[%d].bus %d: expected 0..255", name, i, c.Bus)
		case seen[c.Bus]:
			return nil, fmt.Errorf("board: %s: can[%d].bus %d: used by another interface", name, i, c.Bus)
		case c.Bitrate < 0 || c.Bitrate > 1000000:
			return nil, fmt.Errorf("board: %s: can[%d].bitrate %d: expected 0 (leave as configured) up to 1000000", name, i, c.Bitrate)
		case c.RestartMs < 0 || c.RestartMs > 60000:
			return nil, fmt.Errorf("board: %s: can[%d].restart_ms %d: expected 0 (no automatic restart) up to 60000", name, i, c.RestartMs)
		case c.DataBitrate != 0 && !c.FD:
			return nil, fmt.Errorf("board: %s: can[%d].data_bitrate %d: needs fd = true", name, i, c.DataBitrate)
		case c.FD && (c.DataBitrate < c.Bitrate || c.DataBitrate > 8000000):
			return nil, fmt.Errorf("board: %s: can[%d].data_bitrate %d: expected the bitrate (%d) up to 8000000 for CAN FD", name, i, c.DataBitrate, c.Bitrate)
		case c.FD && c.Bitrate == 0:
			return nil, fmt.Errorf("board: %s: can[%d].bitrate is missing: fd = true needs the nominal bitrate too", name, i)
		}
		seen[c.Bus] = true
	}
	if a := p.Service.Addr; a != "" {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return nil, fmt.Errorf("board: %s: service.addr %q: expected host:port, e.g. 127.0.0.1:8443", name, a)
		}
	}
	if err := p.validate(seen); err != nil {
		return nil, fmt.Errorf("board: %s: %w", name, err)
	}
	return p, nil
}

// validate checks the sections after can and service; errors name the
// field (the caller adds the file).
func (p *Profile) validate(buses map[int]bool) error {
	for i, pat := range p.Detect.Model {
		if err := checkGlob(pat); err != nil {
			return fmt.Errorf("detect.model[%d]: %w", i, err)
		}
	}
	for i, pat := range p.Detect.Compatible {
		if err := checkGlob(pat); err != nil {
			return fmt.Errorf("detect.compatible[%d]: %w", i, err)
		}
	}
	if o := p.OBD; o.Port != "" && !filepath.IsAbs(o.Port) {
		return fmt.Errorf("obd.port %q: expected an absolute device path such as /dev/ttyUSB0", o.Port)
	}
	if b := p.OBD.Baud; b != 0 && (b < 1200 || b > 4000000) {
		return fmt.Errorf("obd.baud %d: expected 1200..4000000", b)
	}
	for _, dir := range []struct {
		name string
		devs []AudioDevice
	}{{"audio.capture", p.Audio.Capture}, {"audio.playback", p.Audio.Playback}} {
		for i := range dir.devs {
			d := &dir.devs[i]
			if d.Channels == 0 {
				d.Channels = 1
			}
			if d.SampleRate == 0 {
				d.SampleRate = 16000
			}
			switch {
			case d.Channels < 1 || d.Channels > 32:
				return fmt.Errorf("%s[%d].channels %d: expected 1..32", dir.name, i, d.Channels)
			case d.SampleRate < 8000 || d.SampleRate > 192000:
				return fmt.Errorf("%s[%d].sample_rate %d: expected 8000..192000", dir.name, i, d.SampleRate)
			case len(d.Zones) != 0 && len(d.Zones) != d.Channels:
				return fmt.Errorf("%s[%d].zones: %d zones for %d channels: expected one zone per channel", dir.name, i, len(d.Zones), d.Channels)
			}
			for _, z := range d.Zones {
				if zz, err := audio.ParseZone(z); err != nil || zz == audio.ZoneUnknown {
					return fmt.Errorf("%s[%d].zones: %q: expected driver, passenger, rear-left, rear-right or rear-center", dir.name, i, z)
				}
			}
		}
	}
	for i, w := range p.Writes {
		switch {
		case !buses[w.Bus]:
			return fmt.Errorf("can_write[%d].bus %d: no [[can]] interface has this bus", i, w.Bus)
		case w.ID == nil && w.Message == "":
			return fmt.Errorf("can_write[%d]: expected id or message (or both)", i)
		case w.ID != nil && *w.ID > 0x1FFFFFFF:
			return fmt.Errorf("can_write[%d].id %#x: expected up to 0x7FF (11-bit) or 0x1FFFFFFF (29-bit)", i, *w.ID)
		case w.MaxRate <= 0 || w.MaxRate > 100:
			return fmt.Errorf("can_write[%d].max_rate %v: expected frames per second above 0 and at most 100", i, w.MaxRate)
		case w.MaxSpeedKmh < 0 || w.MaxSpeedKmh > 300:
			return fmt.Errorf("can_write[%d].max_speed_kmh %v: expected 0 (no speed gate) up to 300", i, w.MaxSpeedKmh)
		}
	}
	if v := &p.Voice; v.Enabled || v.Language != "" || v.Trigger != "" || v.PTT != "" {
		if v.Language == "" {
			v.Language = "en"
		}
		if v.Trigger == "" {
			v.Trigger = "push-to-talk"
		}
		switch {
		case v.Language != "en" && v.Language != "zh" && v.Language != "de" && v.Language != "es" && v.Language != "fr":
			return fmt.Errorf("voice.language %q: expected en, zh, de, es or fr", v.Language)
		case v.Trigger != "push-to-talk" && v.Trigger != "always" && v.Trigger != "wake":
			return fmt.Errorf("voice.trigger %q: expected \"push-to-talk\", \"always\" or \"wake\"", v.Trigger)
		case v.PTT != "" && (!strings.HasPrefix(v.PTT, "Vehicle.") || strings.ContainsAny(v.PTT, " \t/")):
			return fmt.Errorf("voice.ptt %q: expected a VSS path such as Vehicle.Private.SteeringWheel.VoiceButton", v.PTT)
		case v.Enabled && len(p.Audio.Capture) == 0:
			return fmt.Errorf("voice.enabled: no [[audio.capture]] device to listen with")
		case v.EarlyEnd.Duration > 0 && (v.EarlyEnd.Duration < 40*time.Millisecond || v.EarlyEnd.Duration > 300*time.Millisecond):
			return fmt.Errorf("voice.early_end %v: expected 40ms..300ms, or negative to turn it off", v.EarlyEnd.Duration)
		}
	}
	if d := p.Watchdog.Device; d != "" && !filepath.IsAbs(d) {
		return fmt.Errorf("watchdog.device %q: expected an absolute path such as /dev/watchdog0", d)
	}
	if t := p.Watchdog.Timeout.Duration; t != 0 && (t < time.Second || t > 10*time.Minute) {
		return fmt.Errorf("watchdog.timeout %v: expected 1s..10m", t)
	}
	for _, q := range []struct {
		name string
		v    config.Size
	}{{"frames", p.Quotas.Frames}, {"signals", p.Quotas.Signals}, {"rollups", p.Quotas.Rollups}, {"events", p.Quotas.Events}, {"outbox", p.Quotas.Outbox}} {
		if q.v != 0 && q.v < 1<<20 {
			return fmt.Errorf("quotas.%s %d: expected at least 1MiB (or nothing for the default)", q.name, q.v)
		}
	}
	if m := p.Clock.MinTime; !m.IsZero() && m.Year() < 2000 {
		return fmt.Errorf("clock.min_time %v: expected a date after 2000", m.Format(time.RFC3339))
	}
	return nil
}

// QuotasWith returns the store quotas: over's fields where set (the agent
// configuration), else the profile's (nil-safe: over alone).
func (p *Profile) QuotasWith(over config.Quotas) config.Quotas {
	if p == nil {
		return over
	}
	q := p.Quotas
	for _, f := range []struct{ dst, src *config.Size }{
		{&q.Frames, &over.Frames}, {&q.Signals, &over.Signals}, {&q.Rollups, &over.Rollups},
		{&q.Events, &over.Events}, {&q.Outbox, &over.Outbox},
	} {
		if *f.src != 0 {
			*f.dst = *f.src
		}
	}
	return q
}
