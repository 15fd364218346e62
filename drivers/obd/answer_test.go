package obd

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// VIN 1G1JC5444R7252367 as a J1979 service 09 answer: 49 02 01 + 17 ASCII
// bytes = 20 bytes, so a first frame "10 14" + 6 bytes and two consecutive
// frames of 7 (ISO 15765-2), worked by hand.
var vinPayload = append([]byte{0x49, 0x02, 0x01}, []byte("1G1JC5444R7252367")...)

func bs(s string) []byte {
	b, ok := hexBytes(s)
	if !ok {
		panic(s)
	}
	return b
}

func TestParseAnswer(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name   string
		text   string
		o      AnswerOptions
		want   []Response
		status error
		probs  int
	}{
		{"headers spaces", "7E8 06 41 00 BE 3F A8 13 00\r\r", AnswerOptions{Headers: true},
			[]Response{{ID: 0x7E8, Data: bs("4100BE3FA813")}}, nil, 0},
		{"echo searching", "0100\rSEARCHING...\r7E8 06 41 00 BE 3F A8 13 00\r", AnswerOptions{Headers: true, Echo: "0100"},
			[]Response{{ID: 0x7E8, Data: bs("4100BE3FA813")}}, nil, 0},
		{"vin raw frames no spaces", "7E81014490201314731\r7E8214A433534343452\r7E8223732353233363700\r", AnswerOptions{Headers: true},
			nil, nil, 2}, // the last line has 9 data bytes (a garbled frame), so the answer is incomplete
		{"vin raw frames", "7E81014490201314731\r7E8214A433534343452\r7E82237323532333637\r", AnswerOptions{Headers: true, IDs29: &no},
			[]Response{{ID: 0x7E8, Data: vinPayload}}, nil, 0},
		{"vin 0: 1: lines", "014\r0: 49 02 01 31 47 31\r1: 4A 43 35 34 34 34 52\r2: 37 32 35 32 33 36 37\r", AnswerOptions{},
			[]Response{{Data: vinPayload}}, nil, 0},
		{"vin 0: lines no spaces, LF", "014\n0:490201314731\n1:4A433534343452\n2:37323532333637\n", AnswerOptions{},
			[]Response{{Data: vinPayload}}, nil, 0},
		{"headers off single", "41 0D 3C \r", AnswerOptions{}, []Response{{Data: bs("410D3C")}}, nil, 0},
		{"29-bit spaces", "18 DA F1 10 03 41 0D 3C AA AA AA AA\r", AnswerOptions{Headers: true},
			[]Response{{ID: 0x18DAF110, Data: bs("410D3C")}}, nil, 0},
		{"29-bit no spaces", "18DAF11003410D3CAAAAAAAA\r", AnswerOptions{Headers: true},
			[]Response{{ID: 0x18DAF110, Data: bs("410D3C")}}, nil, 0},
		{"29-bit forced", "18DAF11003410D3CAAAAAAAA\r", AnswerOptions{Headers: true, IDs29: &yes},
			[]Response{{ID: 0x18DAF110, Data: bs("410D3C")}}, nil, 0},
		{"two ECUs", "7E8 06 41 00 BE 3F A8 13 00\r7E9 06 41 00 98 18 80 13 00\r", AnswerOptions{Headers: true},
			[]Response{{ID: 0x7E8, Data: bs("4100BE3FA813")}, {ID: 0x7E9, Data: bs("410098188013")}}, nil, 0},
		{"interleaved multi-frame", "7E8 10 14 49 02 01 31 47 31\r7E9 03 41 0D 00 00 00 00 00\r7E8 21 4A 43 35 34 34 34 52\r7E8 22 37 32 35 32 33 36 37\r",
			AnswerOptions{Headers: true}, []Response{{ID: 0x7E9, Data: bs("410D00")}, {ID: 0x7E8, Data: vinPayload}}, nil, 0},
		{"no data", "NO DATA\r", AnswerOptions{Headers: true}, nil, ErrNoData, 0},
		{"unable", "SEARCHING...\rUNABLE TO CONNECT\r", AnswerOptions{Headers: true}, nil, ErrUnableToConnect, 0},
		{"can error", "CAN ERROR\r", AnswerOptions{Headers: true}, nil, ErrBus, 0},
		{"question", "?\r", AnswerOptions{Headers: true}, nil, ErrUnknownCommand, 0},
		{"stopped", "7E8 10 14 49 02 01 31 47 31\rSTOPPED\r", AnswerOptions{Headers: true}, nil, ErrStopped, 1},
		{"buffer full", "7E8 10 14 49 02 01 31 47 31\r7E8 21 4A 43 35 34 34 34 52\rBUFFER FULL\r", AnswerOptions{Headers: true}, nil, ErrBufferFull, 1},
		{"garbage kept apart", "7E8 03 41 0D 3C\r##$%\rxyz\r", AnswerOptions{Headers: true},
			[]Response{{ID: 0x7E8, Data: bs("410D3C")}}, nil, 2},
		{"pending then answer", "7EC 03 7F 22 78 AA AA AA AA\r7EC 05 62 01 01 12 34 AA AA\r", AnswerOptions{Headers: true},
			[]Response{{ID: 0x7EC, Data: bs("7F2278")}, {ID: 0x7EC, Data: bs("6201011234")}}, nil, 0},
		{"extended addressing", "607 F1 10 09 62 DD 68 01 02\r607 F1 21 03 04 05 06 AA AA\r", AnswerOptions{Headers: true, ExtAddr: true},
			[]Response{{ID: 0x607, ExtAddr: 0xF1, Data: bs("62DD68010203040506")}}, nil, 0},
		{"NUL bytes from a clone", "\x007E8 03 41 0D 3C\x00\r", AnswerOptions{Headers: true},
			[]Response{{ID: 0x7E8, Data: bs("410D3C")}}, nil, 0},
		{"sequence error", "7E8 10 14 49 02 01 31 47 31\r7E8 22 37 32 35 32 33 36 37\r", AnswerOptions{Headers: true}, nil, nil, 1},
		{"dlc shown", "7E8 8 06 41 00 BE 3F A8 13 00\r", AnswerOptions{Headers: true, DLC: true},
			[]Response{{ID: 0x7E8, Data: bs("4100BE3FA813")}}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := ParseAnswer(tc.text, tc.o)
			if len(a.Messages) != len(tc.want) {
				t.Fatalf("messages %+v, want %+v (problems %v)", a.Messages, tc.want, a.Problems)
			}
			for i := range tc.want {
				g, w := a.Messages[i], tc.want[i]
				if g.ID != w.ID || g.ExtAddr != w.ExtAddr || !bytes.Equal(g.Data, w.Data) {
					t.Errorf("message %d = %03X %02X % X, want %03X %02X % X", i, g.ID, g.ExtAddr, g.Data, w.ID, w.ExtAddr, w.Data)
				}
			}
			if tc.status == nil && a.Status != nil || tc.status != nil && !errors.Is(a.Status, tc.status) {
				t.Errorf("status %v, want %v", a.Status, tc.status)
			}
			if len(a.Problems) != tc.probs {
				t.Errorf("problems %q, want %d", a.Problems, tc.probs)
			}
			if len(a.Messages) == 0 && a.Err() == nil {
				t.Error("no messages and no error")
			}
		})
	}
}

func TestSplitLines(t *testing.T) {
	got := SplitLines("ATZ\r\r\rELM327 v1.5\r\n\r\n>")
	if strings.Join(got, "|") != "ATZ|ELM327 v1.5" {
		t.Errorf("got %q", got)
	}
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		"7E8 06 41 00 BE 3F A8 13 00\r", "014\r0: 49 02 01 31 47 31\r1: 4A 43 35 34 34 34 52\r2: 37 32 35 32 33 36 37\r",
		"18DAF11003410D3CAAAAAAAA\r", "SEARCHING...\rUNABLE TO CONNECT\r", "7E8 10 14 49 02 01\rSTOPPED", "0:\r1:", "FFF\r0: 00",
		"7E8 1F FF 00\r7E8 21\r", "607 F1 10 09 62 DD 68 01 02\r",
	} {
		f.Add(s, true, false)
		f.Add(s, false, true)
	}
	f.Fuzz(func(t *testing.T, text string, headers, ext bool) {
		a := ParseAnswer(text, AnswerOptions{Headers: headers, ExtAddr: ext, Echo: "0100"})
		for _, fr := range a.Frames {
			if len(fr.Data) > 8 || fr.ID > 0x1FFFFFFF {
				t.Fatalf("impossible frame %+v", fr)
			}
		}
		for _, m := range a.Messages {
			if len(m.Data) == 0 {
				t.Fatalf("empty message from %q", text)
			}
		}
		if len(a.Messages) == 0 && a.Err() == nil {
			t.Fatalf("no messages and no error for %q", text)
		}
	})
}

// ev9Answer is a real 9-frame answer of a Kia EV9 BMS to 22 0101 (from the
// OBDb recordings), as an ELM327 prints it with ATH1 ATS0.
const ev9Answer = "7EC103E620101EFFBE7\r7EC21EF300000000000\r7EC22000014E1121012\r7EC2311111110003AB0\r7EC2401AF1700007D00\r7EC2502071E0001FF08\r7EC2600013440000127\r7EC27E600B533340000\r7EC2837000000000BB8\r\r"

func BenchmarkParseAnswer(b *testing.B) {
	no := false
	o := AnswerOptions{Headers: true, IDs29: &no, Echo: "220101"}
	b.ReportAllocs()
	b.SetBytes(int64(len(ev9Answer)))
	for b.Loop() {
		a := ParseAnswer(ev9Answer, o)
		if len(a.Messages) != 1 || len(a.Messages[0].Data) != 62 {
			b.Fatal(a.Problems)
		}
	}
}
