package signals

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/evedge/evedge/drivers/can"
)

// sharedData is the shared real-data folder, relative to this package.
const sharedData = "../../../shared/data"

func needShared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(sharedData, rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("EVEDGE_REQUIRE_SHARED") != "" {
			t.Fatalf("real vehicle data %s not present (expected beside the repository in ../shared/data): %v", p, err)
		}
		t.Skipf("real vehicle data %s not present (expected beside the repository in ../shared/data): %v", p, err)
	}
	return p
}

func frame(id uint32, data ...byte) can.Frame {
	f := can.Frame{ID: id, Len: uint8(len(data))}
	copy(f.Data[:], data)
	if id > 0x7FF {
		f.Flags |= can.Extended
	}
	return f
}

func decodeMap(t *testing.T, db *Database, f can.Frame) map[string]Value {
	t.Helper()
	m := db.Lookup(&f)
	if m == nil {
		t.Fatalf("frame %v: id not in DBC", f)
	}
	out := map[string]Value{}
	for _, v := range m.Decode(&f, nil) {
		out[v.Signal.Name] = v
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestFrameSize(t *testing.T) {
	if s := unsafe.Sizeof(can.Frame{}); s != 24 {
		t.Fatalf("can.Frame is %d bytes, designed for 24", s)
	}
}

// TestKonaRealFrames decodes frames copied from the real Vector ASC log
// kona-bms-precharge-relay-on.asc with the Kona DBC. Expected values are
// worked out by hand from the bytes and the DBC text.
func TestKonaRealFrames(t *testing.T) {
	db, err := Load(needShared(t, "dbc/hyundai-kona-ev-pcan.dbc"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadMap("../../board/vehicles/hyundai-kona-ev.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(m); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		line  string // the log line the frame comes from
		f     can.Frame
		want  map[string]float64
		label map[string]string
	}{
		{
			line: "0.174160 0  595 Rx d 8 0B 00 B8 B8 00 00 18 0E",
			f:    frame(0x595, 0x0B, 0x00, 0xB8, 0xB8, 0x00, 0x00, 0x18, 0x0E),
			want: map[string]float64{
				// SG_ VBatt : 48|16@1+ (0.1,0): bytes 6,7 little-endian = 0x0E18 = 3608 -> 360.8 V
				"VBatt": 360.8,
				// SG_ IBatt : 32|16@1- (0.1,0): bytes 4,5 = 0x0000 -> 0 A
				"IBatt": 0,
				// SG_ PrechargeRelay : 8|1@0+: byte 1 bit 0 = 0
				"PrechargeRelay": 0,
			},
		},
		{
			line: "0.174420 0  596 Rx d 8 A9 7B 00 00 4C 00 0A 0A",
			f:    frame(0x596, 0xA9, 0x7B, 0x00, 0x00, 0x4C, 0x00, 0x0A, 0x0A),
			want: map[string]float64{
				// SG_ Voltage_12V : 8|8@1+ (0.1,0): byte 1 = 0x7B = 123 -> 12.3 V
				"Voltage_12V": 12.3,
				// SG_ uwe596_4_remainingChTDC : 32|8@1+: byte 4 = 0x4C = 76 min
				"uwe596_4_remainingChTDC": 76,
				// SG_ uwe596_6_TAkkuL : 48|8@1+: byte 6 = 0x0A = 10 degC; TAkkuH byte 7 = 10
				"uwe596_6_TAkkuL": 10,
				"uwe596_7_TAkkuH": 10,
			},
		},
		{
			line: "0.173910 0  542 Rx d 8 65 0A 00 00 00 00 FF FF",
			f:    frame(0x542, 0x65, 0x0A, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF),
			want: map[string]float64{
				// SG_ SocDisp : 0|8@1+ (0.5,0): 0x65 = 101 -> 50.5 %
				"SocDisp": 50.5,
				// SG_ uwe542_12_Backcounter : 8|16@1+: bytes 1,2 = 0x000A = 10
				"uwe542_12_Backcounter": 10,
				// SG_ uwe542_78_UCCS : 48|16@1+ (0.1,0): 0xFFFF = 65535 -> 6553.5
				"uwe542_78_UCCS": 6553.5,
			},
		},
		{
			line: "0.075860 0  5A3 Rx d 8 0F 00 00 00 34 71 34 71",
			f:    frame(0x5A3, 0x0F, 0x00, 0x00, 0x00, 0x34, 0x71, 0x34, 0x71),
			want: map[string]float64{
				// SG_ UnkStatus : 0|4@1+: low nibble of 0x0F = 15
				"UnkStatus": 15,
				// SG_ ContactorClosed : 6|1@0+: 0x0F = 0b00001111, bit 6 = 0
				"ContactorClosed": 0,
				// SG_ ACChargeLimit : 32|16@1+ (0.003,0): bytes 4,5 = 0x7134 = 28980 -> 86.94 %
				"ACChargeLimit": 86.94,
				"DCChargeLimit": 86.94,
			},
		},
		{
			line: "0.175100 0  599 Rx d 8 08 00 00 00 00 00 00 00",
			f:    frame(0x599, 0x08, 0, 0, 0, 0, 0, 0, 0),
			want: map[string]float64{
				// SG_ UNK : 7|16@0+: big-endian from byte 0 bit 7: bytes 0,1 = 0x0800 = 2048
				"UNK": 2048,
				// SG_ STATE_OF_CHARGE : 16|8@1+: byte 2 = 0
				"STATE_OF_CHARGE": 0,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			got := decodeMap(t, db, c.f)
			for name, want := range c.want {
				v, ok := got[name]
				if !ok {
					t.Errorf("%s: not decoded", name)
					continue
				}
				if !near(v.Value, want) {
					t.Errorf("%s = %v, want %v", name, v.Value, want)
				}
			}
		})
	}
	// Mapped VSS values of the same frames, with the map's scale.
	f := frame(0x200, 0, 0, 0xAB, 0, 0xFE, 0, 0, 0)
	got := decodeMap(t, db, f)
	// SG_ Range : 16|8@1+ (2,0) "km": 0xAB = 171 -> 342 km; map scale 1000 -> 342000 m
	if v := got["Range"]; !near(v.Value, 342000) || v.Signal.OutUnit() != "m" || v.Signal.VSS() != "Vehicle.Powertrain.Range" {
		t.Errorf("Range = %v %s (%s), want 342000 m Vehicle.Powertrain.Range", v.Value, v.Signal.OutUnit(), v.Signal.VSS())
	}
	// The BMS's main contactor bit is VSS IsPowerConnected (the monitor
	// checks judge the current sensor's zero while it reads 0, as the real
	// log's 0x5A3 and 0x595 frames above do: contactors open, IBatt 0 A).
	cont := decodeMap(t, db, frame(0x5A3, 0x0F, 0x00, 0x00, 0x00, 0x34, 0x71, 0x34, 0x71))["ContactorClosed"]
	if cont.Signal == nil || cont.Signal.VSS() != "Vehicle.Powertrain.TractionBattery.IsPowerConnected" || cont.Value != 0 {
		t.Errorf("ContactorClosed = %+v, want 0 on Vehicle.Powertrain.TractionBattery.IsPowerConnected", cont)
	}
	// Accel_Pedal_Pos2 32|8: 0xFE = 254 -> 254 * 100/254 = 100 %
	if v := got["Accel_Pedal_Pos2"]; !near(v.Value, 100) {
		t.Errorf("Accel_Pedal_Pos2 = %v %%, want 100", v.Value)
	}
}

// TestOBDMultiplexedRealFrames uses a small DBC (testdata/obd-7ec.dbc)
// whose multiplexer is the OBD PID byte, on answers copied from the real
// capture kona-2021-dcan-elm327-scanner.gvret.csv.
func TestOBDMultiplexedRealFrames(t *testing.T) {
	db, err := Load("testdata/obd-7ec.dbc")
	if err != nil {
		t.Fatal(err)
	}
	// "7254446200,000007EC,false,1,8,06,41,00,80,00,00,01,AA"
	got := decodeMap(t, db, frame(0x7EC, 0x06, 0x41, 0x00, 0x80, 0x00, 0x00, 0x01, 0xAA))
	// PID byte 2 = 0x00 selects m0; bytes 3..6 big-endian 0x80000001 = 2147483649
	if v := got["SupportedPIDs_01_20"]; !near(v.Value, 2147483649) {
		t.Errorf("SupportedPIDs_01_20 = %v, want 2147483649", v.Value)
	}
	if _, ok := got["SupportedPIDs_21_40"]; ok {
		t.Error("m32 signal decoded while the PID is 0")
	}
	if v := got["Service"]; v.Raw != 0x41 {
		t.Errorf("Service raw = %#x, want 0x41", v.Raw)
	} else if l, ok := v.Label(); !ok || l != "ShowCurrentData" {
		t.Errorf("Service label = %q %v, want ShowCurrentData", l, ok)
	}
	// "06 41 20 80 01 80 01 AA": PID 0x20 = 32 selects m32; 0x80018001 = 2147581953
	got = decodeMap(t, db, frame(0x7EC, 0x06, 0x41, 0x20, 0x80, 0x01, 0x80, 0x01, 0xAA))
	if v := got["SupportedPIDs_21_40"]; !near(v.Value, 2147581953) {
		t.Errorf("SupportedPIDs_21_40 = %v, want 2147581953", v.Value)
	}
	if _, ok := got["SupportedPIDs_01_20"]; ok {
		t.Error("m0 signal decoded while the PID is 0x20")
	}
	// Hand-made: PID 0x0C engine speed (A*256+B)/4: 0x1A,0xF8 -> 6904/4 = 1726 rpm
	got = decodeMap(t, db, frame(0x7EC, 0x04, 0x41, 0x0C, 0x1A, 0xF8, 0, 0, 0))
	if v := got["EngineSpeed"]; !near(v.Value, 1726) {
		t.Errorf("EngineSpeed = %v, want 1726", v.Value)
	}
	// PID 0x05 coolant A-40: 0x7B = 123 -> 83 degC
	got = decodeMap(t, db, frame(0x7EC, 0x03, 0x41, 0x05, 0x7B, 0, 0, 0, 0))
	if v := got["CoolantTemp"]; !near(v.Value, 83) {
		t.Errorf("CoolantTemp = %v, want 83", v.Value)
	}
}

func TestKinds(t *testing.T) {
	db, err := Load("testdata/kinds.dbc")
	if err != nil {
		t.Fatal(err)
	}
	got := decodeMap(t, db, frame(0x100, 0x06, 0xF8, 0xFF, 0x38, 0x00, 0x00, 0xC0, 0x3F))
	want := map[string]float64{
		// 0|12@1- : 0x806 = 2054 -> 2054-4096 = -2042 -> *0.5+10 = -1011
		"S12LE": -1011,
		// 12|4@1+ : high nibble of 0xF8 = 15
		"U4": 15,
		// 23|16@0- : bytes 2,3 big-endian 0xFF38 = -200 -> *0.1 = -20
		"S16BE": -20,
		// 32|32 float32 little-endian 0x3FC00000 = 1.5
		"F32": 1.5,
	}
	for k, w := range want {
		if v := got[k]; !near(v.Value, w) {
			t.Errorf("%s = %v, want %v", k, v.Value, w)
		}
	}
	// Extended id 0x18FEF100, float64 2.5 = 0x4004000000000000 little-endian.
	got = decodeMap(t, db, frame(0x18FEF100, 0, 0, 0, 0, 0, 0, 0x04, 0x40))
	if v := got["D64"]; !near(v.Value, 2.5) {
		t.Errorf("D64 = %v, want 2.5", v.Value)
	}
	// The same id as a standard frame is not the extended message.
	std := frame(0x100, 0, 0, 0, 0, 0, 0, 0x04, 0x40)
	if m := db.Lookup(&std); m == nil || m.Name != "Kinds" {
		t.Errorf("standard 0x100 looked up as %v", m)
	}
	// Short message: Len 2 -> B0, B1, Gear; Len 1 -> B1 left out.
	got = decodeMap(t, db, frame(0x101, 0x03, 0x07))
	if got["B0"].Value != 3 || got["B1"].Value != 7 {
		t.Errorf("B0,B1 = %v,%v want 3,7", got["B0"].Value, got["B1"].Value)
	}
	if v := got["Gear"]; v.Value != 3 {
		t.Errorf("Gear = %v, want 3", v.Value)
	} else if l, _ := v.Label(); l != "D" {
		t.Errorf("Gear label %q, want D", l)
	}
	got = decodeMap(t, db, frame(0x101, 0x03))
	if _, ok := got["B1"]; ok {
		t.Error("B1 decoded from a 1-byte frame")
	}
}

// TestEncodeRoundTrip encodes random raw values into every signal of the
// Tesla DBC (multiplexed, both byte orders) and decodes them back.
func TestEncodeRoundTrip(t *testing.T) {
	db, err := Load(needShared(t, "dbc/tesla-model3.dbc"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(db.Signals); n < 3000 {
		t.Fatalf("tesla-model3.dbc compiled %d signals, expected about 3,172 (warnings: %v)", n, db.Warnings)
	}
	rng := rand.New(rand.NewSource(1))
	checked := 0
	for _, s := range db.Signals {
		f := s.Message.NewFrame()
		f.Len = 8
		raw := rng.Uint64() & s.mask
		if mux := s.Message.Multiplexer(); s.Multiplexed {
			mux.EncodeRaw(&f, s.MuxValue)
			if s.overlaps(mux) {
				continue
			}
		}
		s.EncodeRaw(&f, raw)
		var got *Value
		vals := s.Message.Decode(&f, nil)
		for i := range vals {
			if vals[i].Signal == s {
				got = &vals[i]
			}
		}
		if got == nil {
			t.Fatalf("%s: not decoded after encoding", s.FullName())
		}
		want := raw
		if s.Kind == Signed && s.Size < 64 && raw&(1<<(s.Size-1)) != 0 {
			want |= ^s.mask
		}
		if got.Raw != want {
			t.Fatalf("%s: raw %#x decoded as %#x", s.FullName(), want, got.Raw)
		}
		checked++
	}
	if checked < 3000 {
		t.Fatalf("only %d signals checked", checked)
	}
}

// overlaps reports whether two signals share payload bits.
func (s *Signal) overlaps(o *Signal) bool {
	a := s.mask << s.shift
	b := o.mask << o.shift
	if s.BigEndian != o.BigEndian {
		// compare in the same byte order: convert b to the other order
		var f can.Frame
		o.EncodeRaw(&f, o.mask)
		var g can.Frame
		s.EncodeRaw(&g, s.mask)
		for i := range f.Data {
			if f.Data[i]&g.Data[i] != 0 {
				return true
			}
		}
		return false
	}
	return a&b != 0
}

func TestEncodePhysical(t *testing.T) {
	db, err := Load("testdata/kinds.dbc")
	if err != nil {
		t.Fatal(err)
	}
	m := db.Message("Kinds")
	f := m.NewFrame()
	m.Signal("S12LE").Encode(&f, -1011)
	m.Signal("U4").Encode(&f, 99) // saturates at 15
	m.Signal("S16BE").Encode(&f, -20)
	m.Signal("F32").Encode(&f, 1.5)
	want := [8]byte{0x06, 0xF8, 0xFF, 0x38, 0x00, 0x00, 0xC0, 0x3F}
	if f.Data != want {
		t.Fatalf("encoded % X, want % X", f.Data, want)
	}
}

func TestTeslaFuzzedPayloads(t *testing.T) {
	db, err := Load(needShared(t, "dbc/tesla-model3.dbc"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	var out []Value
	n := 0
	for i := 0; i < 200000; i++ {
		m := db.Messages[rng.Intn(len(db.Messages))]
		f := m.NewFrame()
		f.Len = uint8(rng.Intn(9))
		rng.Read(f.Data[:f.Len])
		out = m.Decode(&f, out[:0])
		n += len(out)
		for _, v := range out {
			if v.Signal.Message != m {
				t.Fatal("value from another message")
			}
		}
	}
	if n == 0 {
		t.Fatal("no values decoded")
	}
}

func TestDBCSyntaxErrorNamesFileAndLine(t *testing.T) {
	_, err := Load("testdata/syntax-error.dbc")
	if err == nil {
		t.Fatal("no error for a DBC with a syntax error")
	}
	// The missing ')' is on line 11.
	if !strings.Contains(err.Error(), "testdata/syntax-error.dbc:11:") {
		t.Fatalf("error %q does not name file and line 11", err)
	}
}

func TestDBCErrors(t *testing.T) {
	for name, text := range map[string]string{
		"empty":       "",
		"no messages": "VERSION \"\"\nNS_ :\nBU_: A\n",
		"dup id":      "BO_ 256 A: 8 X\n SG_ a : 0|8@1+ (1,0) [0|0] \"\" X\n\nBO_ 256 B: 8 X\n SG_ b : 0|8@1+ (1,0) [0|0] \"\" X\n",
		"bad id":      "BO_ 4096 A: 8 X\n SG_ a : 0|8@1+ (1,0) [0|0] \"\" X\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse("x.dbc", []byte(text)); err == nil {
				t.Fatal("no error")
			} else if !strings.Contains(err.Error(), "x.dbc") {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
	// A signal that runs past 64 bits is skipped with a warning naming its line.
	db, err := Parse("w.dbc", []byte("BO_ 256 A: 8 X\n SG_ ok : 0|8@1+ (1,0) [0|0] \"\" X\n SG_ bad : 60|8@1+ (1,0) [0|0] \"\" X\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Warnings) != 1 || !strings.Contains(db.Warnings[0], "w.dbc:3:") {
		t.Fatalf("warnings %q, want one naming w.dbc:3", db.Warnings)
	}
	if db.Signal("A", "ok") == nil || db.Signal("A", "bad") != nil {
		t.Fatal("wrong signals kept")
	}
}

func TestAllSharedDBCsLoad(t *testing.T) {
	dir := needShared(t, "dbc")
	files, _ := filepath.Glob(filepath.Join(dir, "*.dbc"))
	if len(files) < 3 {
		t.Fatalf("found %d DBC files", len(files))
	}
	for _, f := range files {
		db, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		t.Logf("%s: %d messages, %d signals, %d warnings", filepath.Base(f), len(db.Messages), len(db.Signals), len(db.Warnings))
	}
}

func FuzzLoadDBC(f *testing.F) {
	for _, p := range []string{"testdata/kinds.dbc", "testdata/obd-7ec.dbc", "testdata/syntax-error.dbc"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("BO_ 1 A: 8 X\n SG_ s M : 7|64@0- (1,0) [0|0] \"\" X\n SG_ t m3 : 63|1@1+ (1,0) [0|0] \"\" X\nSIG_VALTYPE_ 1 s : 2;\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := Parse("fuzz.dbc", data)
		if err != nil {
			return
		}
		// Whatever loaded must decode any payload without panicking.
		var fr can.Frame
		for i := range fr.Data {
			fr.Data[i] = byte(i * 37)
		}
		var out []Value
		for _, m := range db.Messages {
			for l := 0; l <= 8; l++ {
				fr.Len = uint8(l)
				out = m.Decode(&fr, out[:0])
			}
		}
	})
}

func FuzzParseMap(f *testing.F) {
	b, err := os.ReadFile("../../board/vehicles/hyundai-kona-ev.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("[[signal]]\nmessage = \"A\"\nsignal = \"a\"\nvss = \"Vehicle.X\"\nrate = \"1s\"\nscale = 2.0\n"))
	f.Add([]byte("[[signal]]\nmessage = \"A\"\nsignal = \"a\"\nvss = \"Vehicle.X\"\nvalues = { open = 0, \"2\" = 1 }\n"))
	f.Add([]byte("[[signal]]\nmessage = \"A\"\nsignal = \"b\"\nvss = \"Vehicle.X\"\nvalues = { \"-3\" = 1.5, ON = 2 }\n"))
	db, err := Parse("f.dbc", []byte("BO_ 256 A: 8 X\n SG_ a : 0|8@1+ (1,0) [0|0] \"\" X\n SG_ b : 8|3@1- (1,0) [0|0] \"\" X\n\nVAL_ 256 a 0 \"open\" 2 \"closed\" ;\nVAL_ 256 b 1 \"on\" ;\n"))
	if err != nil {
		f.Fatal(err)
	}
	msg := db.Message("A")
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMap("f.toml", data)
		if err != nil {
			if !strings.Contains(err.Error(), "f.toml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for i := range db.Signals {
			db.Signals[i].Mapping = nil
		}
		if db.Apply(m) != nil {
			return
		}
		for raw := 0; raw < 256; raw++ {
			fr := frame(256, byte(raw), byte(raw), 0, 0, 0, 0, 0, 0)
			for _, v := range msg.Decode(&fr, nil) {
				if mp := v.Signal.Mapping; mp != nil && mp.Values != nil {
					if _, ok := mp.lookup(int64(v.Raw)); !ok {
						t.Fatalf("raw %d of %s decoded though the map lists no such state", v.Raw, v.Signal.Name)
					}
				}
			}
		}
	})
}

// mapError parses the map text under name and applies it to db, returning
// the first error; db's signals are left unmapped.
func mapError(db *Database, name, text string) error {
	m, err := ParseMap(name, []byte(text))
	if err != nil {
		return err
	}
	err = db.Apply(m)
	for _, s := range db.Signals {
		s.Mapping = nil
	}
	return err
}

func TestMapErrors(t *testing.T) {
	db, err := Load("testdata/kinds.dbc")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ text, want string }{
		{"[[signal]]\nmessage = \"Kinds\"\nsignal = \"U4\"\nvss = \"Speed\"\n", `m.toml:1: signal[0]: field "vss": "Speed": expected a path starting with "Vehicle."`},
		{"[[signal]]\nmessage = \"Kinds\"\nsignal = \"U4\"\nvss = \"Vehicle.A\"\n\n[[signal]]\nmessage = \"Kinds\"\nsignal = \"F32\"\nvss = \"Vehicle.A\"\n", "m.toml:6: signal[1]: field \"vss\": Vehicle.A is already mapped by m.toml:1: signal[0]"},
		{"[[signal]]\nmessage = \"Kinds\"\nsignal = \"U4\"\nvss = \"Vehicle.A\"\nrate = \"often\"\n", "m.toml:5"},
		{"[[signal]]\nmessage = \"Kinds\"\nsignal = \"U4\"\nvss = \"Vehicle.A\"\nunits = \"V\"\n", `m.toml:5: unknown field "signal.units"`},
		{"[[signal]]\nsignal = \"U4\"\nvss = \"Vehicle.A\"\n", `field "message" is missing`},
		{"[[signal]]\nmessage = \"Nope\"\nsignal = \"U4\"\nvss = \"Vehicle.A\"\n", `field "message": "Nope" is not a message of testdata/kinds.dbc`},
		{"\n\n[[signal]]\nmessage = \"Kinds\"\nsignal = \"U5\"\nvss = \"Vehicle.A\"\n", `m.toml:3: signal[0]: field "signal": "U5" is not a signal of message Kinds`},
	} {
		if err := mapError(db, "m.toml", tc.text); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// valuesDBC has a contactor state with a value table (as the other
// simulator's BMS_PackElec.HvContState: 0 open, 1 precharge, 2 closed,
// 3 fault), a signed 4-bit state and a float.
const valuesDBC = `BO_ 500 Pack: 8 BMS
 SG_ Cont : 8|2@1+ (1,0) [0|3] "" X
 SG_ Mode : 16|4@1- (1,0) [-8|7] "" X
 SG_ Amps : 32|32@1- (0.5,0) [0|0] "A" X
 SG_ F : 32|32@1+ (1,0) [0|0] "" X

SIG_VALTYPE_ 500 F : 1;
VAL_ 500 Cont 0 "open" 1 "precharge" 2 "closed" 3 "fault" ;
`

func TestMapValues(t *testing.T) {
	db, err := Parse("v.dbc", []byte(valuesDBC))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMap("v.toml", []byte(`[[signal]]
message = "Pack"
signal = "Cont"
vss = "Vehicle.Powertrain.TractionBattery.IsPowerConnected"
values = { open = 0, Precharge = 1, "2" = 1 }

[[signal]]
message = "Pack"
signal = "Mode"
vss = "Vehicle.Private.Test.Mode"
values = { "-1" = 10, "0x3" = 30 }

[[signal]]
message = "Pack"
signal = "Amps"
vss = "Vehicle.Private.Test.Amps"
scale = -1.0
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(m); err != nil {
		t.Fatal(err)
	}
	// Byte 1 carries Cont in bits 0-1, byte 2 Mode in bits 0-3 (two's
	// complement: 0xF is -1), bytes 4-7 Amps (little-endian, 0.5 A a bit).
	for _, tc := range []struct {
		cont, mode byte
		wantCont   float64 // NaN: left out
		wantMode   float64
	}{
		{0, 0xF, 0, 10},
		{1, 0x3, 1, 30},
		{2, 0x0, 1, math.NaN()},
		{3, 0x8, math.NaN(), math.NaN()}, // fault: not listed; -8 not listed
	} {
		got := decodeMap(t, db, frame(500, 0, tc.cont, tc.mode, 0, 20, 0, 0, 0))
		for name, want := range map[string]float64{"Cont": tc.wantCont, "Mode": tc.wantMode} {
			v, ok := got[name]
			switch {
			case math.IsNaN(want) && ok:
				t.Errorf("cont %d mode %#x: %s = %v, want no value (state not in the map)", tc.cont, tc.mode, name, v.Value)
			case !math.IsNaN(want) && (!ok || v.Value != want):
				t.Errorf("cont %d mode %#x: %s = %v (present %v), want %v", tc.cont, tc.mode, name, v.Value, ok, want)
			}
		}
		if a := got["Amps"]; a.Value != -10 { // 20 * 0.5 A, scale -1
			t.Errorf("Amps = %v, want -10 (the other signals of the message still decode)", a.Value)
		}
	}
	f := frame(500, 0, 2, 0, 0, 20, 0, 0, 0)
	msg := db.Lookup(&f)
	out := make([]Value, 0, len(msg.Signals))
	if n := testing.AllocsPerRun(100, func() { out = msg.Decode(&f, out[:0]) }); n != 0 {
		t.Errorf("Decode with a values table allocates %v times per frame", n)
	}
}

func TestMapValuesErrors(t *testing.T) {
	db, err := Parse("v.dbc", []byte(valuesDBC))
	if err != nil {
		t.Fatal(err)
	}
	entry := func(sig, extra string) string {
		return "\n[[signal]]\nmessage = \"Pack\"\nsignal = \"" + sig + "\"\nvss = \"Vehicle.A\"\n" + extra + "\n"
	}
	for _, tc := range []struct{ text, want string }{
		{entry("Cont", "values = { closed = 1 }\nscale = 2.0"), `v.toml:2: signal[0]: field "values" cannot be combined with scale or add`},
		{entry("Cont", "values = { closed = 1 }\nadd = 1.0"), `cannot be combined with scale or add`},
		{entry("Cont", "values = {}"), `v.toml:2: signal[0]: field "values" is empty`},
		{entry("Cont", "values = { shut = 0 }"), `v.toml:2: signal[0]: field "values": "shut" is neither an integer nor a state of Pack.Cont (its value table: "closed", "fault", "open", "precharge")`},
		{entry("Mode", "values = { off = 0 }"), `"off" is not an integer and Pack.Mode has no value table (VAL_) to name states`},
		{entry("Cont", "values = { \"4\" = 1 }"), `"4" is outside the raw range 0..3 of the 2-bit signal Pack.Cont`},
		{entry("Mode", "values = { \"8\" = 1 }"), `"8" is outside the raw range -8..7 of the 4-bit signal Pack.Mode`},
		{entry("Cont", "values = { closed = 1, \"2\" = 1 }"), `"2" and "closed" name the same raw value 2`},
		{entry("F", "values = { \"1\" = 1 }"), `Pack.F is a floating-point signal, not a state`},
		{entry("Cont", "values = { closed = nan }"), `"closed": NaN is not a value`},
		{entry("Cont", "values = { closed = \"yes\" }"), `v.toml:6`},
	} {
		if err := mapError(db, "v.toml", tc.text); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
}
