package elmsim

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// pipeRW is an in-memory connection: input from a reader, output to a
// buffer.
type pipeRW struct {
	r io.Reader
	w bytes.Buffer
}

func (p *pipeRW) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeRW) Write(b []byte) (int, error) { return p.w.Write(b) }

// FuzzCommand feeds arbitrary command lines to an adapter: it must never
// panic, and every line ends with a prompt.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{
		"ATZ", "ATE0", "ATH1", "ATS0", "ATSP6", "0100", "010C0D", "0902", "ATCAF0", "100A220101020304",
		"ATSH7E4", "ATCRA7EX", "ATCEA12", "ATFCSM1", "ATFCSD30", "ATMA", "ATD1", "ATSPA9", "03", "04",
		"ATSH18DA10F1", "ATCF18DAF100", "ATCM1FFFFF00", "ATSTFF", "0100 1", "22F190", "ATL1", "",
		"at sp 7\r0902", "ATCAF0\r300000", "ATCFC0\r020902\r300000", "\x00\n", strings.Repeat("0", 300),
		// A flow control that is itself a request: the ECU answers forever.
		"ATFCSM2\rATFCSD020902\r0902",
	} {
		f.Add(s)
	}
	car := testCar()
	car.Nodes = append(car.Nodes,
		Node{ReqID: 0x18DA10F1, RespID: 0x18DAF110, OBD: true, ECU: &OBDECU{VIN: testVIN}},
		Node{ReqID: 0x7E4, RespID: 0x7EC, ECU: &UDSECU{DIDs: map[uint16][]byte{0xF190: []byte(testVIN)}, Pending: 1}},
		Node{ReqID: 0x6F1, RespID: 0x612, ExtAddr: true, ReqAddr: 0x12, RespAddr: 0xF1, ECU: &UDSECU{}},
	)
	car.Traffic = Loop(Frame{ID: 0x5B3, Data: []byte{1, 2, 3}}, Frame{ID: 0x18DAF110, Extended: true, Data: []byte{0x10}})
	f.Fuzz(func(t *testing.T, line string) {
		rw := &pipeRW{r: strings.NewReader(line + "\r")}
		if err := New(car).Serve(rw); err != nil {
			t.Fatalf("Serve: %v", err)
		}
		out := rw.w.String()
		if !strings.HasSuffix(out, ">") {
			t.Fatalf("input %q: output does not end with a prompt: %q", line, out)
		}
	})
}
