package service

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/evedge/evedge/agent/diag/kb"
	"github.com/evedge/evedge/agent/store"
	"github.com/evedge/evedge/drivers/obd"
)

//go:embed labels.yaml
var labelsYAML []byte

var labels = sync.OnceValues(func() (map[string]map[string]string, error) {
	var m map[string]map[string]string
	if err := yaml.Unmarshal(labelsYAML, &m); err != nil {
		return nil, fmt.Errorf("labels.yaml: %w", err)
	}
	for k, tr := range m {
		for _, l := range Languages {
			if tr[l] == "" {
				return nil, fmt.Errorf("labels.yaml: %s: no %s text", k, l)
			}
		}
	}
	return m, nil
})

// ReportData is what a report shows.
type ReportData struct {
	Lang      string
	From, To  time.Time
	Generated time.Time
	Vehicle   VehicleInfo
	DTCs      []obd.ECUDTC
	DTCStatus map[string]string // code -> stored/pending/permanent
	DTCLive   bool
	Diagnoses []ReportDiagnosis
}

// ReportDiagnosis is one detection or alarm with its text and charts.
type ReportDiagnosis struct {
	Time       time.Time
	Source     string // model or rule
	Fault      string
	Severity   int
	Confidence float64
	Detail     string // rule: value and threshold; signal_lost: the path and its silence; monitor: the check and its evidence
	Component  string
	Text       kb.Text
	Evidence   []Chart
}

// Chart is one evidence signal around an event, 1 s summaries.
type Chart struct {
	Path   string
	Unit   string
	Points []store.Summary
	Event  time.Time
}

// chartSpan is the data charted around an event.
const (
	chartBefore = 10 * time.Minute
	chartAfter  = 5 * time.Minute
	maxCharts   = 4
	maxDiag     = 50
)

// BuildReport gathers the report's data from the store (and the car's
// trouble codes when dtcs is not nil).
func BuildReport(ctx context.Context, st *store.Store, k *kb.KB, v VehicleInfo, dtcs func(context.Context) (*obd.DTCReport, error), p Profile, lang string, from, to, now time.Time) (*ReportData, error) {
	d := &ReportData{Lang: lang, From: from, To: to, Generated: now, Vehicle: v, DTCStatus: map[string]string{}}
	if dtcs != nil {
		c, cancel := context.WithTimeout(ctx, 15*time.Second)
		rep, err := dtcs(c)
		cancel()
		if err == nil {
			d.DTCLive = true
			for _, g := range []struct {
				s string
				l []obd.ECUDTC
			}{{"stored", rep.Stored}, {"pending", rep.Pending}, {"permanent", rep.Permanent}} {
				for _, x := range g.l {
					d.DTCs = append(d.DTCs, x)
					d.DTCStatus[x.ECU+x.Code] = g.s
				}
			}
		}
	}
	if !d.DTCLive {
		// The codes set at the end of the period, from the dtc events.
		type key struct{ status, ecu, code string }
		cur := map[key]string{}
		it := st.Events(ctx, time.Time{}, to, "dtc")
		for it.Next() {
			var e struct{ State, Status, ECU, Code, Description string }
			if json.Unmarshal(it.Event().Body, &e) != nil {
				continue
			}
			kk := key{e.Status, e.ECU, e.Code}
			if e.State == "set" {
				cur[kk] = e.Description
			} else {
				delete(cur, kk)
			}
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		for kk, desc := range cur {
			d.DTCs = append(d.DTCs, obd.ECUDTC{ECU: kk.ecu, Code: kk.code, Description: desc})
			d.DTCStatus[kk.ecu+kk.code] = kk.status
		}
		slices.SortFunc(d.DTCs, func(a, b obd.ECUDTC) int { return strings.Compare(a.Code+a.ECU, b.Code+b.ECU) })
	}
	for _, kind := range []string{"diagnosis", "gbt32960", "signal_lost", "monitor"} {
		it := st.Events(ctx, from, to, kind)
		for it.Next() && len(d.Diagnoses) < maxDiag {
			ev := it.Event()
			if ev.Severity <= 0 {
				continue // cleared
			}
			var body struct {
				Fault      string             `json:"fault"`
				Name       string             `json:"name"`
				Level      int                `json:"level"`
				Value      float64            `json:"value"`
				Threshold  float64            `json:"threshold"`
				Confidence float64            `json:"confidence"`
				State      string             `json:"state"`
				Path       string             `json:"path"`
				Silent     float64            `json:"silent_s"`
				Check      string             `json:"check"`
				Values     map[string]float64 `json:"evidence"`
			}
			if json.Unmarshal(ev.Body, &body) != nil {
				continue
			}
			rd := ReportDiagnosis{Time: ev.Time, Severity: ev.Severity, Source: "model", Fault: body.Fault, Confidence: body.Confidence}
			if kind == "gbt32960" {
				rd.Source, rd.Fault, rd.Confidence = "rule", body.Name, 1
				rd.Detail = fmt.Sprintf("%g / %g", body.Value, body.Threshold)
			}
			if kind == "signal_lost" {
				rd.Source, rd.Fault, rd.Confidence = "rule", kind, 1
				rd.Detail = fmt.Sprintf("%s: silent %.0f s", body.Path, body.Silent)
			}
			if kind == "monitor" {
				rd.Source, rd.Confidence = "rule", 1
				rd.Detail = body.Check + ": " + fmtEvidence(body.Values)
			}
			var evidence []string
			if k != nil {
				if e, t, ok := k.Lookup(rd.Fault, lang); ok {
					rd.Text, evidence = t, e.Evidence
					if kind == "signal_lost" && body.Path != "" {
						evidence = []string{body.Path} // the signal that stopped
					}
					if _, name, ok := k.Component(e.Component, lang); ok {
						rd.Component = name
					}
				}
			}
			if rd.Text.Title == "" {
				rd.Text.Title = rd.Fault
			}
			for _, path := range evidence {
				if len(rd.Evidence) >= maxCharts {
					break
				}
				if _, keep := p.Value(path, 0); !keep || IsLocation(path) {
					continue
				}
				c := Chart{Path: path, Event: ev.Time}
				sit := st.Signals(ctx, path, ev.Time.Add(-chartBefore), ev.Time.Add(chartAfter), time.Second)
				for sit.Next() {
					c.Points = append(c.Points, sit.Summary())
				}
				if err := sit.Err(); err != nil {
					return nil, err
				}
				if len(c.Points) > 1 {
					rd.Evidence = append(rd.Evidence, c)
				}
			}
			d.Diagnoses = append(d.Diagnoses, rd)
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(d.Diagnoses, func(a, b ReportDiagnosis) int { return a.Time.Compare(b.Time) })
	return d, nil
}

// fmtEvidence writes a monitor check's values as "k=v, ..." in key order.
func fmtEvidence(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + fmtNum(m[k])
	}
	return strings.Join(parts, ", ")
}

// SVG draws a chart: the 1 s mean as a line, min..max as a band, the
// event as a vertical line. Self-contained, no script.
func (c Chart) SVG(eventLabel string) template.HTML {
	const W, H, L, R, T, B = 640.0, 170.0, 56.0, 12.0, 10.0, 26.0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range c.Points {
		lo, hi = math.Min(lo, p.Min), math.Max(hi, p.Max)
	}
	if hi-lo < 1e-9 {
		lo, hi = lo-1, hi+1
	}
	pad := (hi - lo) * 0.08
	lo, hi = lo-pad, hi+pad
	t0, t1 := c.Points[0].Time, c.Points[len(c.Points)-1].Time
	if c.Event.Before(t0) {
		t0 = c.Event
	}
	if c.Event.After(t1) {
		t1 = c.Event
	}
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(t time.Time) float64 { return L + (W-L-R)*t.Sub(t0).Seconds()/span }
	y := func(v float64) float64 { return T + (H-T-B)*(1-(v-lo)/(hi-lo)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" width="%g" height="%g" role="img" xmlns="http://www.w3.org/2000/svg">`, W, H, W, H)
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="#fafafa" stroke="#999"/>`, L, T, W-L-R, H-T-B)
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%g" y="%.1f" font-size="10" text-anchor="end">%s</text>`,
			L, W-R, y(v), y(v), L-4, y(v)+3, html.EscapeString(fmtNum(v)))
	}
	for i := 0; i <= 3; i++ {
		t := t0.Add(time.Duration(float64(i) / 3 * span * float64(time.Second)))
		anchor := [4]string{"start", "middle", "middle", "end"}[i]
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" font-size="10" text-anchor="%s">%s</text>`, x(t), H-8, anchor, t.UTC().Format("15:04:05"))
	}
	// Band min..max, then the mean.
	b.WriteString(`<polygon fill="#9ecae1" fill-opacity="0.5" stroke="none" points="`)
	for _, p := range c.Points {
		fmt.Fprintf(&b, "%.1f,%.1f ", x(p.Time), y(p.Max))
	}
	for i := len(c.Points) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "%.1f,%.1f ", x(c.Points[i].Time), y(c.Points[i].Min))
	}
	b.WriteString(`"/><polyline fill="none" stroke="#08519c" stroke-width="1.5" points="`)
	for _, p := range c.Points {
		fmt.Fprintf(&b, "%.1f,%.1f ", x(p.Time), y(p.Mean))
	}
	ex := x(c.Event)
	fmt.Fprintf(&b, `"/><line x1="%.1f" x2="%.1f" y1="%g" y2="%g" stroke="#d62728" stroke-width="1.5" stroke-dasharray="4 2"/><text x="%.1f" y="%g" font-size="10" fill="#d62728">%s</text></svg>`,
		ex, ex, T, H-B, ex+3, T+10, html.EscapeString(eventLabel))
	return template.HTML(b.String())
}

func fmtNum(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"t":    func(lbl map[string]string, l string) string { return lbl[l] },
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"pct":  func(v float64) string { return fmt.Sprintf("%.0f %%", 100*v) },
}).Parse(`<!DOCTYPE html>
<html lang="{{.D.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{index .L "title"}} {{.D.Vehicle.ID}}</title>
<style>
body{font-family:"Noto Sans","Noto Sans CJK SC","DejaVu Sans",Arial,sans-serif;margin:24px;color:#111;max-width:900px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;border-bottom:2px solid #08519c;padding-bottom:2px;margin-top:28px}
h3{font-size:16px;margin:18px 0 4px}table{border-collapse:collapse;width:100%;font-size:13px}
td,th{border:1px solid #bbb;padding:4px 6px;text-align:left;vertical-align:top}th{background:#eef3f8}
.meta td:first-child{width:30%;font-weight:bold}.sev{display:inline-block;padding:1px 8px;border-radius:8px;color:#fff;font-size:12px}
.sev1{background:#e6a700}.sev2{background:#e6550d}.sev3{background:#b30000}.diag{page-break-inside:avoid;break-inside:avoid;border:1px solid #ccc;padding:8px 12px;margin:12px 0;border-radius:4px}
.chart{max-width:100%;height:auto;display:block;margin:4px 0 10px}.small{font-size:12px;color:#555}ul{margin:4px 0 8px;padding-left:22px}
.safety{background:#fff4e5;border-left:4px solid #e6550d;padding:4px 8px}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}.diag{break-inside:avoid}a{color:inherit}}
</style></head><body>
<h1>{{index .L "title"}}</h1>
<p class="small">{{index .L "window"}}: {{time .D.From}} – {{time .D.To}} · {{index .L "generated"}}: {{time .D.Generated}}</p>
<h2>{{index .L "vehicle"}}</h2>
<table class="meta">
{{with .D.Vehicle.VIN}}<tr><td>{{index $.L "vin"}}</td><td>{{.}}</td></tr>{{end}}
<tr><td>{{index .L "vehicle_id"}}</td><td>{{.D.Vehicle.ID}}</td></tr>
<tr><td>{{index .L "board"}}</td><td>{{.D.Vehicle.Board}}</td></tr>
<tr><td>{{index .L "versions"}}</td><td>{{range $k, $v := .D.Vehicle.Versions}}{{$k}} {{$v}}<br>{{end}}</td></tr>
<tr><td>{{index .L "market"}}</td><td>{{.D.Vehicle.Market}}</td></tr>
</table>
<h2>{{index .L "dtcs"}}</h2>
{{if .D.DTCs}}<p class="small">{{if .D.DTCLive}}{{index .L "dtc_source_live"}}{{else}}{{index .L "dtc_source_log"}}{{end}}</p>
<table><tr><th>{{index .L "code"}}</th><th>{{index .L "status"}}</th><th>{{index .L "ecu"}}</th><th>{{index .L "description"}}</th></tr>
{{range .D.DTCs}}<tr><td><b>{{.Code}}</b></td><td>{{index $.D.DTCStatus (print .ECU .Code)}}</td><td>{{.ECU}}</td><td>{{.Description}}</td></tr>{{end}}
</table>{{else}}<p>{{index .L "no_dtcs"}}</p>{{end}}
<h2>{{index .L "diagnoses"}}</h2>
{{if not .D.Diagnoses}}<p>{{index .L "no_diagnoses"}}</p>{{end}}
{{range .D.Diagnoses}}<div class="diag">
<h3><span class="sev sev{{.Severity}}">{{index $.L "severity"}} {{.Severity}}</span> {{.Text.Title}}</h3>
<p class="small">{{index $.L "detected"}}: {{time .Time}} · {{if eq .Source "model"}}{{index $.L "source_model"}} · {{index $.L "confidence"}} {{pct .Confidence}}{{else}}{{index $.L "source_rule"}} ({{.Fault}}, {{if or (eq .Fault "signal_lost") (eq .Fault "sensor_fault") (eq .Fault "charger_fault")}}{{.Detail}}{{else}}{{index $.L "value"}}/{{index $.L "threshold"}} {{.Detail}}{{end}}){{end}}{{with .Component}} · {{index $.L "component"}}: {{.}}{{end}}</p>
{{with .Text.Summary}}<p>{{.}}</p>{{end}}
{{if .Evidence}}<h4>{{index $.L "evidence"}}</h4>{{range .Evidence}}<div class="small">{{.Path}}</div>{{.SVG (index $.L "event_marker")}}{{end}}{{end}}
{{with .Text.Causes}}<h4>{{index $.L "causes"}}</h4><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{with .Text.Checks}}<h4>{{index $.L "checks"}}</h4><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{with .Text.Repair}}<h4>{{index $.L "repair"}}</h4><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{with .Text.Safety}}<div class="safety"><b>{{index $.L "safety"}}</b><ul>{{range .}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
</div>{{end}}
<p class="small">{{index .L "footer"}}</p>
</body></html>
`))

// RenderReport writes the report as one self-contained HTML page.
func RenderReport(d *ReportData) ([]byte, error) {
	all, err := labels()
	if err != nil {
		return nil, err
	}
	l := map[string]string{}
	for k, tr := range all {
		l[k] = tr[d.Lang]
	}
	var b bytes.Buffer
	if err := reportTmpl.Execute(&b, map[string]any{"D": d, "L": l}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	win, ok := s.window(w, r, "lang")
	if !ok {
		return
	}
	v := s.o.Vehicle()
	v.Market = s.o.Privacy.Name
	if s.o.Privacy.HashVINExport && v.VIN != "" {
		v.VIN = HashVIN(v.VIN, v.ID)
	}
	d, err := BuildReport(r.Context(), s.o.Store, s.o.KB, v, s.o.DTCs, s.o.Privacy, win.Lang, win.From, win.To, s.o.Now())
	if err != nil {
		fail(w, http.StatusInternalServerError, "building the report: "+err.Error())
		return
	}
	b, err := RenderReport(d)
	if err != nil {
		fail(w, http.StatusInternalServerError, "rendering the report: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.Write(b)
}
