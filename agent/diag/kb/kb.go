// Package kb is the diagnostic knowledge base: for every fault the agent
// can report (the 19 GB/T 32960.3 general alarm items of package diag and
// the fault classes of the models) it holds the text a workshop technician
// reads — title, summary, likely causes, checks, repair steps and safety
// notes — in English, Chinese (simplified), German, Spanish and French,
// plus the language-independent facts: component, severity hint, related
// DTCs and the VSS signals to chart.
//
// The content is data, not code: one file, faults.yaml, embedded in the
// binary, so the structure cannot diverge between languages. Parse
// validates strictly (unknown keys, missing languages, empty fields,
// duplicate ids) and names the file, line and field of every problem.
package kb

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed faults.yaml
var faultsYAML []byte

// languages are the supported language codes; English first, it is the
// fallback.
var languages = []string{"en", "zh", "de", "es", "fr"}

// Languages returns the supported language codes, English (the fallback)
// first.
func Languages() []string { return slices.Clone(languages) }

// Text is one fault's technician-facing text in one language.
type Text struct {
	Title   string   `yaml:"title" json:"title"`
	Summary string   `yaml:"summary" json:"summary"`
	Causes  []string `yaml:"likely_causes" json:"likely_causes"`
	Checks  []string `yaml:"checks" json:"checks"`
	Repair  []string `yaml:"repair" json:"repair"`
	Safety  []string `yaml:"safety" json:"safety,omitempty"`
}

// Entry is one fault: its language-independent facts and its text per
// language code.
type Entry struct {
	ID string `yaml:"id"`
	// Kind is "alarm" for a GB/T 32960.3 general alarm item, "model" for a
	// fault class of the models.
	Kind string `yaml:"kind"`
	// Component is a key of the file's components (traction_battery, ...).
	Component string `yaml:"component"`
	// Severity is a hint in GB/T 32960.3 terms: 1 does not affect driving,
	// 2 limit driving, 3 stop or ask for help.
	Severity int `yaml:"severity"`
	// Evidence are the VSS paths to chart when investigating the fault.
	Evidence []string `yaml:"evidence"`
	// DTCs are related SAE J2012 generic codes; manufacturer codes vary.
	DTCs []string        `yaml:"dtcs"`
	Text map[string]Text `yaml:"text"`
}

// Component describes a component id: whether it carries high voltage
// (then every fault on it needs a safety note) and its name per language.
type Component struct {
	HV   bool              `yaml:"hv"`
	Name map[string]string `yaml:"name"`
}

// KB is a parsed knowledge base. It is read-only after Parse and safe for
// concurrent use.
type KB struct {
	entries    []Entry
	byID       map[string]int
	components map[string]Component
}

type file struct {
	// Notes holds text repeated across faults (safety notes), referenced
	// with YAML anchors and aliases; it is not read otherwise.
	Notes      map[string]string    `yaml:"notes"`
	Components map[string]Component `yaml:"components"`
	Faults     []Entry              `yaml:"faults"`
}

// Load parses the embedded faults.yaml.
func Load() (*KB, error) { return Parse("faults.yaml", faultsYAML) }

// Error is a validation problem at a place in the file.
type Error struct {
	File  string
	Line  int    // 1-based; 0 when unknown
	Field string // e.g. faults[3](insulation).text.zh.summary; may be empty
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxErrors bounds the problems one Parse reports.
const maxErrors = 25

var (
	idRE       = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	dtcRE      = regexp.MustCompile(`^[PCBU][0-9A-F]{4}$`)
	evidenceRE = regexp.MustCompile(`^Vehicle(\.[A-Za-z0-9_]+)+$`)
)

// Parse reads and validates a knowledge base; name is the file name used
// in errors. Every problem found (up to a bound) is returned, joined.
func Parse(name string, b []byte) (*KB, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, yamlError(name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &Error{File: name, Msg: "empty document"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: root.Line, Msg: "top level must be a mapping with components and faults"}
	}

	var f file
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, yamlError(name, err)
	}
	if err := dec.Decode(new(yaml.Node)); err != io.EOF {
		return nil, &Error{File: name, Msg: "more than one YAML document"}
	}

	v := validator{name: name, root: root}
	v.file(&f)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	k := &KB{entries: f.Faults, byID: make(map[string]int, len(f.Faults)), components: f.Components}
	for i, e := range f.Faults {
		k.byID[e.ID] = i
	}
	return k, nil
}

// yamlError rewrites yaml.v3's "line N: msg" into file:line: msg.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, 0, len(te.Errors))
		for _, s := range te.Errors {
			errs = append(errs, lineError(name, s))
		}
		return errors.Join(errs...)
	}
	return lineError(name, strings.TrimPrefix(err.Error(), "yaml: "))
}

func lineError(name, s string) error {
	if rest, ok := strings.CutPrefix(s, "line "); ok {
		if n, msg, ok := strings.Cut(rest, ":"); ok {
			if line, err := strconv.Atoi(n); err == nil {
				return &Error{File: name, Line: line, Msg: strings.TrimSpace(msg)}
			}
		}
	}
	return &Error{File: name, Msg: s}
}

type validator struct {
	name string
	root *yaml.Node
	errs []error
}

// errorf records a problem at the node reached from the root by path (keys
// of mappings, indexes of sequences); when the path ends early the deepest
// node found gives the line.
func (v *validator) errorf(field string, path []string, format string, args ...any) {
	if len(v.errs) == maxErrors {
		v.errs = append(v.errs, &Error{File: v.name, Msg: "too many errors"})
	}
	if len(v.errs) > maxErrors {
		return
	}
	v.errs = append(v.errs, &Error{File: v.name, Line: lineOf(v.root, path), Field: field, Msg: fmt.Sprintf(format, args...)})
}

func lineOf(n *yaml.Node, path []string) int {
	line := n.Line
	for _, p := range path {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next, line = n.Content[i+1], n.Content[i].Line
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(p); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

func (v *validator) file(f *file) {
	if len(f.Components) == 0 {
		v.errorf("components", []string{"components"}, "missing or empty")
	}
	for _, id := range sortedKeys(f.Components) {
		c := f.Components[id]
		p := []string{"components", id}
		field := "components." + id
		if !idRE.MatchString(id) {
			v.errorf(field, p, "component id must match %s", idRE)
		}
		for _, l := range languages {
			if strings.TrimSpace(c.Name[l]) == "" {
				v.errorf(field+".name."+l, append(p, "name", l), "missing or empty")
			}
		}
		for _, l := range sortedKeys(c.Name) {
			if !slices.Contains(languages, l) {
				v.errorf(field+".name."+l, append(p, "name", l), "unknown language %q (want one of %s)", l, strings.Join(languages, ", "))
			}
		}
	}
	if len(f.Faults) == 0 {
		v.errorf("faults", []string{"faults"}, "missing or empty")
	}
	seen := map[string]int{}
	for i := range f.Faults {
		v.entry(f, i, seen)
	}
}

func (v *validator) entry(f *file, i int, seen map[string]int) {
	e := &f.Faults[i]
	p := []string{"faults", strconv.Itoa(i)}
	field := fmt.Sprintf("faults[%d]", i)
	if e.ID != "" {
		field += "(" + e.ID + ")"
	}
	at := func(keys ...string) []string { return append(slices.Clone(p), keys...) }

	switch {
	case e.ID == "":
		v.errorf(field+".id", at("id"), "missing")
	case !idRE.MatchString(e.ID):
		v.errorf(field+".id", at("id"), "id %q must match %s", e.ID, idRE)
	}
	if j, dup := seen[e.ID]; dup && e.ID != "" {
		v.errorf(field+".id", at("id"), "duplicate id %q (first at line %d)", e.ID, lineOf(v.root, []string{"faults", strconv.Itoa(j), "id"}))
	} else {
		seen[e.ID] = i
	}
	if e.Kind != "alarm" && e.Kind != "model" && e.Kind != "monitor" {
		v.errorf(field+".kind", at("kind"), "kind %q: want alarm, model or monitor", e.Kind)
	}
	comp, ok := f.Components[e.Component]
	if !ok {
		v.errorf(field+".component", at("component"), "unknown component %q", e.Component)
	}
	if e.Severity < 1 || e.Severity > 3 {
		v.errorf(field+".severity", at("severity"), "severity %d: want 1, 2 or 3", e.Severity)
	}
	if len(e.Evidence) == 0 {
		v.errorf(field+".evidence", at("evidence"), "missing or empty")
	}
	for j, s := range e.Evidence {
		if !evidenceRE.MatchString(s) {
			v.errorf(fmt.Sprintf("%s.evidence[%d]", field, j), at("evidence", strconv.Itoa(j)), "%q is not a VSS path", s)
		}
	}
	for j, s := range e.DTCs {
		if !dtcRE.MatchString(s) {
			v.errorf(fmt.Sprintf("%s.dtcs[%d]", field, j), at("dtcs", strconv.Itoa(j)), "%q is not a DTC (like P0AA6)", s)
		}
	}
	for _, l := range sortedKeys(e.Text) {
		if !slices.Contains(languages, l) {
			v.errorf(field+".text."+l, at("text", l), "unknown language %q (want one of %s)", l, strings.Join(languages, ", "))
		}
	}
	for _, l := range languages {
		t, ok := e.Text[l]
		tf := field + ".text." + l
		if !ok {
			v.errorf(tf, at("text"), "missing language %q", l)
			continue
		}
		if strings.TrimSpace(t.Title) == "" {
			v.errorf(tf+".title", at("text", l, "title"), "missing or empty")
		}
		if strings.TrimSpace(t.Summary) == "" {
			v.errorf(tf+".summary", at("text", l, "summary"), "missing or empty")
		}
		lists := []struct {
			key  string
			list []string
			min  int
		}{
			{"likely_causes", t.Causes, 2},
			{"checks", t.Checks, 2},
			{"repair", t.Repair, 1},
			{"safety", t.Safety, 0},
		}
		if comp.HV {
			lists[3].min = 1
		}
		for _, x := range lists {
			if len(x.list) < x.min {
				what := ""
				if x.key == "safety" {
					what = " (component " + e.Component + " carries high voltage)"
				}
				v.errorf(tf+"."+x.key, at("text", l, x.key), "want at least %d, have %d%s", x.min, len(x.list), what)
			}
			for j, s := range x.list {
				if strings.TrimSpace(s) == "" {
					v.errorf(fmt.Sprintf("%s.%s[%d]", tf, x.key, j), at("text", l, x.key, strconv.Itoa(j)), "empty")
				}
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// lang reduces a language tag (zh-CN, de_DE, FR) to a supported code, or
// "" when none fits.
func lang(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
	base, _, _ = strings.Cut(base, "_")
	if slices.Contains(languages, base) {
		return base
	}
	return ""
}

// Lookup returns the entry for a fault id and its text in lang (a code of
// Languages, or a tag like zh-CN or de_DE); an unsupported language falls
// back to English. ok is false for an unknown id. The slices in the
// result are shared: treat them as read-only.
func (k *KB) Lookup(id, lang string) (e Entry, t Text, ok bool) {
	i, ok := k.byID[id]
	if !ok {
		return Entry{}, Text{}, false
	}
	e = k.entries[i]
	e.Text = maps.Clone(e.Text)
	return e, e.Text[langOrEN(lang)], true
}

func langOrEN(tag string) string {
	if l := lang(tag); l != "" {
		return l
	}
	return "en"
}

// IDs returns the fault ids in file order.
func (k *KB) IDs() []string {
	ids := make([]string, len(k.entries))
	for i, e := range k.entries {
		ids[i] = e.ID
	}
	return ids
}

// Component returns a component's description and its name in lang (with
// the same fallback as Lookup).
func (k *KB) Component(id, lang string) (c Component, name string, ok bool) {
	c, ok = k.components[id]
	if !ok {
		return Component{}, "", false
	}
	return c, c.Name[langOrEN(lang)], true
}
