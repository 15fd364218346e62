package service

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/diag/kb"
	"github.com/evedge/evedge/agent/store"
)

func getReport(t *testing.T, e *env, lang string) []byte {
	t.Helper()
	c := e.client(t, RoleWorkshop, "")
	q := url.Values{"from": {e.event.Add(-time.Hour).Format(time.RFC3339)}, "to": {e.event.Add(time.Hour).Format(time.RFC3339)}, "lang": {lang}}
	resp, err := c.Do(context.Background(), "GET", "/api/v1/report", q, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("content type %q", ct)
	}
	return b
}

var external = regexp.MustCompile(`(?i)<script|<link|<img|<iframe|\bsrc=|url\(|@import|https?://(?:[^w]|w[^w]|ww[^w])`)

// TestReportContent: the report is one self-contained page (no script, no
// external asset) with the vehicle, the trouble code, the diagnosis with
// charts of its evidence, and the knowledge base's text in the language.
func TestReportContent(t *testing.T) {
	e := newEnv(t)
	for _, lang := range Languages {
		b := getReport(t, e, lang)
		s := string(b)
		if m := external.FindString(strings.ReplaceAll(s, `xmlns="http://www.w3.org/2000/svg"`, "")); m != "" {
			t.Errorf("%s: external reference %q", lang, m)
		}
		if n := strings.Count(s, "<svg"); n != 2 {
			t.Errorf("%s: %d charts, want 2 (battery temperature and coolant inlet)", lang, n)
		}
		if !strings.Contains(s, "P0A7E") || !strings.Contains(s, "KNDC4DLC0R5000001") || !strings.Contains(s, "<polyline") {
			t.Errorf("%s: trouble code, VIN or chart line missing", lang)
		}
		if !strings.Contains(s, `<html lang="`+lang+`">`) {
			t.Errorf("%s: html lang", lang)
		}
	}
	zh := string(getReport(t, e, "zh"))
	for _, want := range []string{"车辆诊断报告", "故障码", "冷却"} {
		if !strings.Contains(zh, want) {
			t.Errorf("zh report lacks %q", want)
		}
	}
	de := string(getReport(t, e, "de"))
	if !strings.Contains(de, "Fahrzeug-Diagnosebericht") || !strings.Contains(de, "Hochvolt") {
		t.Errorf("de report lacks German text")
	}
}

// TestReportChromium renders the English and Chinese reports in headless
// Chromium (Debian chromium, fonts-noto-cjk) and checks the screenshots
// are not blank: drawn chart colours and dark text are present. Skipped
// when chromium is not installed unless EVEDGE_REQUIRE_CHROMIUM is set
// (CI sets it).
func TestReportChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium (the full suite runs it)")
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("EVEDGE_REQUIRE_CHROMIUM") != "" {
			t.Fatal("chromium not installed")
		}
		t.Skip("chromium not installed")
	}
	e := newEnv(t)
	for _, lang := range []string{"en", "zh"} {
		dir := t.TempDir()
		page := filepath.Join(dir, "report.html")
		if err := os.WriteFile(page, getReport(t, e, lang), 0o644); err != nil {
			t.Fatal(err)
		}
		shot := filepath.Join(dir, "shot.png")
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+filepath.Join(dir, "profile"),
			"--hide-scrollbars", "--window-size=1000,2600", "--screenshot="+shot, "file://"+page)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s: chromium: %v\n%s", lang, err, out)
		}
		f, err := os.Open(shot)
		if err != nil {
			t.Fatalf("%s: no screenshot: %v\n%s", lang, err, out)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if keep := os.Getenv("EVEDGE_KEEP_SCREENSHOTS"); keep != "" {
			b, _ := os.ReadFile(shot)
			os.WriteFile(filepath.Join(keep, "report-"+lang+".png"), b, 0o644)
		}
		dark, blue, red := countPixels(img)
		t.Logf("%s: %v screenshot: %d dark, %d chart-blue, %d event-red pixels", lang, img.Bounds().Size(), dark, blue, red)
		if dark < 5000 || blue < 2000 || red < 50 {
			t.Errorf("%s: screenshot looks blank or chartless: %d dark, %d blue, %d red pixels", lang, dark, blue, red)
		}
		if lang == "zh" {
			// The DOM Chromium builds holds the Chinese text.
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			dom, err := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+filepath.Join(dir, "profile2"),
				"--dump-dom", "file://"+page).Output()
			cancel()
			if err != nil || !bytes.Contains(dom, []byte("车辆诊断报告")) {
				t.Errorf("zh: Chromium's DOM lacks the Chinese title (%v)", err)
			}
		}
	}
}

// countPixels counts dark (text), chart-blue (the band and line) and red
// (event marker) pixels.
func countPixels(img image.Image) (dark, blue, red int) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			switch {
			case r < 80 && g < 80 && bl < 80:
				dark++
			case bl > 150 && r < 170 && bl > r+30:
				blue++
			case r > 180 && g < 80 && bl < 80:
				red++
			}
		}
	}
	return
}

// TestReportSignalLost: a lost signal appears in the report as a rule
// finding with the knowledge base's text in the report's language, the
// path and its silence, and the lost signal's own data as the chart (it
// stops where the signal stopped); a monitor finding (the pack voltage
// check) as a sensor fault with the check and its evidence (no chart: the
// store has no pack voltage here).
func TestReportSignalLost(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	const path = "Vehicle.Private.EvedgeSim.InsulationResistance"
	for s := -600; s <= -31; s += 2 {
		st.AddValue(path, at.Add(time.Duration(s)*time.Second).UnixNano(), 2500)
	}
	body, _ := json.Marshal(map[string]any{"path": path, "lost": true, "silent_s": 31, "period_s": 2, "timeout_s": 30, "severity": 2})
	st.AddEvent(store.Event{Time: at, Kind: "signal_lost", Severity: 2, Source: "rules", Body: body})
	pl, _ := json.Marshal(map[string]any{"check": "pack_voltage", "raised": true, "evidence": map[string]float64{"deviation_pct": -1.84, "cells_in_series": 96}, "fault": "sensor_fault", "severity": 2})
	st.AddEvent(store.Event{Time: at.Add(time.Minute), Kind: "monitor", Severity: 2, Source: "rules", Body: pl})
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	k, err := kb.Load()
	if err != nil {
		t.Fatal(err)
	}
	d, err := BuildReport(context.Background(), st, k, VehicleInfo{ID: "test-car"}, nil, Profiles["EU"], "de", at.Add(-time.Hour), at.Add(time.Hour), at)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Diagnoses) != 2 {
		t.Fatalf("%d findings, want 2", len(d.Diagnoses))
	}
	if p := d.Diagnoses[1]; p.Source != "rule" || p.Fault != "sensor_fault" || p.Detail != "pack_voltage: cells_in_series=96.0, deviation_pct=-1.84" || !strings.Contains(p.Text.Title, "Sensorfehler") {
		t.Errorf("plausibility finding %+v", p)
	}
	f := d.Diagnoses[0]
	if f.Source != "rule" || f.Fault != "signal_lost" || f.Severity != 2 || !strings.Contains(f.Detail, path) || !strings.Contains(f.Detail, "31 s") ||
		!strings.Contains(f.Text.Title, "Signal verloren") || len(f.Evidence) != 1 || f.Evidence[0].Path != path {
		t.Errorf("finding %+v", f)
	}
	html, err := RenderReport(d)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(html); !strings.Contains(s, "signal_lost, "+path+": silent 31 s") || !strings.Contains(s, "sensor_fault, pack_voltage: cells_in_series=96.0, deviation_pct=-1.84") || strings.Count(s, "<svg") != 1 {
		t.Errorf("report does not show the lost signal with its chart and the plausibility fault")
	}
}
