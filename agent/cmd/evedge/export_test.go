package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evedge/evedge/drivers/can"
)

func readAll(t *testing.T, path string, f can.Format) []can.Frame {
	t.Helper()
	r, c, err := can.OpenLog(path, f)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []can.Frame
	for r.Receive() {
		out = append(out, r.Frame())
	}
	if err := r.Err(); err != nil || r.Skipped() != 0 {
		t.Fatalf("%s: err %v, %d bad lines: %v", path, err, r.Skipped(), r.LineErrors())
	}
	return out
}

// TestExportRoundTrip records the real Kona ASC log through `evedge run`,
// exports it in every format and reads each export back: the same frames
// as went in, bit for bit (id, flags, length, payload, bus), with the
// recording's time offsets kept to the microsecond.
func TestExportRoundTrip(t *testing.T) {
	dbc := needShared(t, "dbc/hyundai-kona-ev-pcan.dbc")
	log := needShared(t, "canlogs/kona-bms-precharge-relay-on.asc")
	in := readAll(t, log, "")
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--view", "off", "--data", data, "--replay", log, "--speed", "max", "--dbc", dbc}, nil, &out, &errb); code != 0 {
		t.Fatalf("run: %d %s", code, errb.String())
	}
	for _, format := range []string{"candump", "gvret", "asc", "csv"} {
		t.Run(format, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "export."+format)
			errb.Reset()
			if code := run([]string{"logs", "export", "--data", data, "--from", "0", "--format", format, "-o", file}, nil, &out, &errb); code != 0 {
				t.Fatalf("export: %d %s", code, errb.String())
			}
			if !strings.Contains(errb.String(), "exported 879 frames") {
				t.Fatalf("export said %q", errb.String())
			}
			got := readAll(t, file, "")
			if len(got) != len(in) {
				t.Fatalf("%d frames back, %d went in", len(got), len(in))
			}
			shift := got[0].Time - in[0].Time
			for i := range in {
				w, g := in[i], got[i]
				g.Flags &^= can.TX
				w.Flags &^= can.TX
				dt := g.Time - w.Time - shift
				if g.ID != w.ID || g.Flags != w.Flags || g.Len != w.Len || g.Data != w.Data || g.Bus != w.Bus || dt < -1000 || dt > 1000 {
					t.Fatalf("frame %d: got %+v, want %+v (time shift %d)", i, g, w, shift)
				}
			}
		})
	}
	// A bus filter and a time window.
	errb.Reset()
	file := filepath.Join(t.TempDir(), "none.log")
	if code := run([]string{"logs", "export", "--data", data, "--from", "0", "--bus", "1", "-o", file}, nil, &out, &errb); code != 0 || !strings.Contains(errb.String(), "exported 0 frames") {
		t.Fatalf("bus 1: %d %q", code, errb.String())
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"logs"}, 2, "export"},
		{[]string{"logs", "export", "--from", "0"}, 2, "--data is required"},
		{[]string{"logs", "export", "--data", dir, "--from", "yesterday"}, 2, "--from"},
		{[]string{"logs", "export", "--data", dir, "--from", "10", "--to", "5"}, 2, "before"},
		{[]string{"logs", "export", "--data", dir, "--from", "0", "--format", "pcap"}, 2, "pcap"},
		{[]string{"logs", "export", "--data", dir, "--from", "0", "--bus", "300"}, 2, "--bus"},
		{[]string{"logs", "export", "--data", dir, "--from", "0"}, 1, "no evedge history"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, nil, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d containing %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}
