package board

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/config"
)

// The shipped profiles load and say what the issue asks of each board.
func TestShippedProfiles(t *testing.T) {
	dirs := []string{"."}
	load := func(name string) *Profile {
		t.Helper()
		p, err := Load(name, dirs)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != name {
			t.Fatalf("%s: name %q", name, p.Name)
		}
		return p
	}
	for _, n := range Names(dirs) {
		load(n)
	}
	sim := load("sim")
	if !sim.Clock.RTC || sim.DataDir != "var/sim" {
		t.Errorf("sim: %+v", sim)
	}
	// The sim car obeys its cabin commands: each is allowed by name, rate-limited.
	for i, w := range sim.Writes {
		if w.Message == "" || w.MaxRate <= 0 {
			t.Errorf("sim can_write[%d]: %+v", i, w)
		}
	}
	pi := load("rpi4-pican2")
	if len(pi.CAN) != 1 || pi.CAN[0].Interface != "can0" || pi.CAN[0].Bitrate != 500000 || !pi.CAN[0].Configures() ||
		pi.CAN[0].RestartMs != 100 || pi.CAN[0].FD {
		t.Errorf("rpi4 can: %+v", pi.CAN)
	}
	if pi.OBD.Port != "/dev/ttyUSB0" || pi.OBD.Baud != 38400 || pi.Clock.RTC ||
		len(pi.Audio.Capture) != 1 || pi.Audio.Capture[0].Device != "default" || pi.Audio.Capture[0].SampleRate != 16000 {
		t.Errorf("rpi4: %+v", pi)
	}
	if !pi.Clock.MinTime.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) || pi.Watchdog.Timeout.Duration != 15*time.Second {
		t.Errorf("rpi4 clock/watchdog: %+v %+v", pi.Clock, pi.Watchdog)
	}
	imx := load("imx8mp-evk")
	if len(imx.CAN) != 2 {
		t.Fatalf("imx8mp can: %+v", imx.CAN)
	}
	for i, c := range imx.CAN {
		if !c.FD || c.DataBitrate != 2000000 || c.Bitrate != 500000 || c.Bus != i {
			t.Errorf("imx8mp can[%d]: %+v", i, c)
		}
	}
	g := load("generic-arm64")
	if len(g.CAN) != 1 || g.CAN[0].Configures() {
		t.Errorf("generic-arm64 must use can0 as configured: %+v", g.CAN)
	}
}

func TestDetect(t *testing.T) {
	dirs := []string{"."}
	for _, tc := range []struct{ root, want, model string }{
		{"rpi4", "rpi4-pican2", "Raspberry Pi 4 Model B Rev 1.4"},
		{"imx8mp-evk", "imx8mp-evk", "NXP i.MX8MPlus EVK board"},
		{"rockpro64", UnknownBoard, "Pine64 RockPro64 v2.1"},
		{"cm4-sysfs", "rpi4-pican2", "Raspberry Pi Compute Module 4 Rev 1.0"},
		{"x86", NoDeviceTree, ""},
		{"no-such-root", NoDeviceTree, ""},
	} {
		t.Run(tc.root, func(t *testing.T) {
			d, err := Detect(filepath.Join("testdata", tc.root), dirs)
			if err != nil {
				t.Fatal(err)
			}
			if d.Profile != tc.want || d.Model != tc.model || d.Reason == "" {
				t.Fatalf("got %+v, want profile %s model %q", d, tc.want, tc.model)
			}
			if _, err := Load(d.Profile, dirs); err != nil {
				t.Fatalf("detected profile does not load: %v", err)
			}
		})
	}
	// Compatible strings alone select a profile too.
	root := t.TempDir()
	dt := filepath.Join(root, "proc", "device-tree")
	os.MkdirAll(dt, 0o755)
	os.WriteFile(filepath.Join(dt, "model"), []byte("Custom carrier\x00"), 0o644)
	os.WriteFile(filepath.Join(dt, "compatible"), []byte("acme,carrier\x00fsl,imx8mp-evk\x00fsl,imx8mp\x00"), 0o644)
	if d, _ := Detect(root, dirs); d.Profile != "imx8mp-evk" || !strings.Contains(d.Reason, "fsl,imx8mp-evk") {
		t.Errorf("compatible match: %+v", d)
	}
	// A profile in an earlier directory wins over a shipped one.
	over := t.TempDir()
	os.WriteFile(filepath.Join(over, "my-pi.toml"), []byte("name = \"my-pi\"\n[detect]\nmodel = [\"Raspberry Pi 4*\"]\n"), 0o644)
	if d, _ := Detect(filepath.Join("testdata", "rpi4"), []string{over, "."}); d.Profile != "my-pi" {
		t.Errorf("local profile: %+v", d)
	}
}

// Every bad field gives an error naming the file and the field.
func TestValidateFields(t *testing.T) {
	const can0 = "name = \"x\"\n[[can]]\ninterface = \"can0\"\nbus = 0\n"
	for _, tc := range []struct{ name, text, want string }{
		{"restart_ms", can0 + "restart_ms = -1\n", "can[0].restart_ms -1"},
		{"data_bitrate without fd", can0 + "bitrate = 500000\ndata_bitrate = 2000000\n", "can[0].data_bitrate 2000000: needs fd = true"},
		{"fd data_bitrate too high", can0 + "bitrate = 500000\nfd = true\ndata_bitrate = 9000000\n", "can[0].data_bitrate 9000000"},
		{"fd without bitrate", can0 + "fd = true\ndata_bitrate = 2000000\n", "can[0].bitrate is missing"},
		{"listen_only type", can0 + "listen_only = \"yes\"\n", `field "can.listen_only"`},
		{"obd.port relative", "name = \"x\"\n[obd]\nport = \"ttyUSB0\"\n", "obd.port \"ttyUSB0\""},
		{"obd.baud", "name = \"x\"\n[obd]\nport = \"/dev/ttyUSB0\"\nbaud = 9\n", "obd.baud 9"},
		{"audio channels", "name = \"x\"\n[[audio.capture]]\nchannels = 64\n", "audio.capture[0].channels 64"},
		{"audio zones count", "name = \"x\"\n[[audio.playback]]\nchannels = 2\nzones = [\"driver\"]\n", "audio.playback[0].zones: 1 zones for 2 channels"},
		{"audio zone name", "name = \"x\"\n[[audio.capture]]\nzones = [\"boot\"]\n", `audio.capture[0].zones: "boot"`},
		{"audio sample_rate", "name = \"x\"\n[[audio.capture]]\nsample_rate = 100\n", "audio.capture[0].sample_rate 100"},
		{"write bus", can0 + "[[can_write]]\nbus = 3\nid = 0x3F0\nmax_rate = 1\n", "can_write[0].bus 3"},
		{"write id", can0 + "[[can_write]]\nid = 0x20000000\nmax_rate = 1\n", "can_write[0].id 0x20000000"},
		{"write neither", can0 + "[[can_write]]\nmax_rate = 1\n", "can_write[0]: expected id or message"},
		{"write rate", can0 + "[[can_write]]\nmessage = \"Window\"\n", "can_write[0].max_rate 0"},
		{"write speed", can0 + "[[can_write]]\nmessage = \"Window\"\nmax_rate = 2\nmax_speed_kmh = 500\n", "can_write[0].max_speed_kmh 500"},
		{"write unknown field", can0 + "[[can_write]]\nmessage = \"Window\"\nmax_rate = 2\nspeed = 5\n", `unknown field "can_write.speed"`},
		{"watchdog device", "name = \"x\"\n[watchdog]\ndevice = \"watchdog0\"\n", "watchdog.device"},
		{"watchdog timeout", "name = \"x\"\n[watchdog]\ntimeout = \"1h\"\n", "watchdog.timeout 1h0m0s"},
		{"watchdog timeout syntax", "name = \"x\"\n[watchdog]\ntimeout = \"soon\"\n", `field "watchdog.timeout"`},
		{"quota", "name = \"x\"\n[quotas]\nframes = \"10KiB\"\n", "quotas.frames 10240"},
		{"quota syntax", "name = \"x\"\n[quotas]\nframes = \"lots\"\n", `field "quotas.frames"`},
		{"clock", "name = \"x\"\n[clock]\nmin_time = 1970-01-02T00:00:00Z\n", "clock.min_time 1970-01-02T00:00:00Z"},
		{"voice language", "name = \"x\"\n[voice]\nlanguage = \"n \"\n", `voice.language "n "`},
		{"voice trigger", "name = \"x\"\n[voice]\ntrigger = \"wakeword\"\n", `voice.trigger "wakeword"`},
		{"voice early end", "name = \"x\"\n[voice]\ntrigger = \"wake\"\nearly_end = \"10ms\"\n", "voice.early_end 10ms"},
		{"voice ptt", "name = \"x\"\n[voice]\nptt = \"SWC_VoiceButton\"\n", `voice.ptt "SWC_VoiceButton"`},
		{"voice without capture", "name = \"x\"\n[voice]\nenabled = true\n", "voice.enabled: no [[audio.capture]]"},
		{"detect glob", "name = \"x\"\n[detect]\nmodel = [\"Pi[\"]\n", "detect.model[0]: pattern \"Pi[\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("b.toml", []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), "b.toml") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want b.toml and %q", err, tc.want)
			}
		})
	}
	ok := can0 + "bitrate = 500000\nlisten_only = true\nrestart_ms = 100\n[[can_write]]\nid = 0x3F0\nmessage = \"BCM_Window\"\nmax_rate = 2\nmax_speed_kmh = 5\n"
	p, err := Parse("ok.toml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	if w := p.Writes[0]; *w.ID != 0x3F0 || w.Message != "BCM_Window" || w.MaxRate != 2 || w.MaxSpeedKmh != 5 {
		t.Errorf("write %+v", w)
	}
	if _, err := Load(filepath.Join("testdata", "bad", "bad-bitrate.toml"), nil); err == nil ||
		!strings.Contains(err.Error(), "bad-bitrate.toml") || !strings.Contains(err.Error(), "can[0].bitrate 5000000") {
		t.Errorf("bad-bitrate.toml: %v", err)
	}
}

// The configuration's quotas override the board's field by field.
func TestQuotasWith(t *testing.T) {
	p, err := Load("rpi4-pican2", []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	q := p.QuotasWith(config.Quotas{Frames: 100 << 20})
	if q.Frames != 100<<20 || q.Signals != 256<<20 || q.Outbox != 64<<20 {
		t.Errorf("merged %+v", q)
	}
	var none *Profile
	if q := none.QuotasWith(config.Quotas{Events: 5 << 20}); q != (config.Quotas{Events: 5 << 20}) {
		t.Errorf("nil profile: %+v", q)
	}
}
