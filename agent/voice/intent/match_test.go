package intent

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t testing.TB, src string) *Context {
	t.Helper()
	c, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const enGrammar = `language: en
intents:
  GetRange:
    templates: ["what's my range", "how (far|much further) can I (drive|go)"]
    response: "Battery at {soc} percent, about {range} kilometres of range"
  OpenWindow:
    templates: ["open [the] {window} window", "open my window", "open {all:window} windows"]
    response: "Opening {window}"
  SetTemperature:
    templates: ["set [the] temperature to {temperature} [degrees]", "make it {temperature:target} degrees"]
  SeatHeatingOn:
    templates: ["heat [the] {seat} seat [(to|at) level {level}]"]
slots:
  window: [front left, front right, rear left, rear right]
  all: [{in: [all, all the], out: all}]
  seat: [{in: "driver's", out: driver}, {in: [passenger, co-driver's], out: passenger}]
  level: {from: 1, to: 3}
  temperature: {from: 16, to: 28, step: 1}
`

type matchCase struct {
	text   string
	intent string
	slots  map[string]any
}

func checkMatches(t *testing.T, c *Context, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		r, ok := c.Match(tc.text)
		if tc.intent == "" {
			if ok {
				t.Errorf("Match(%q) = %v, want no match", tc.text, r)
			}
			continue
		}
		if !ok || r.Intent != tc.intent || !reflect.DeepEqual(r.Slots, tc.slots) {
			t.Errorf("Match(%q) = %v %v, want %s %v", tc.text, r, ok, tc.intent, tc.slots)
		}
	}
}

type m = map[string]any

func TestMatchEnglish(t *testing.T) {
	c := mustParse(t, enGrammar)
	checkMatches(t, c, []matchCase{
		{"what's my range", "GetRange", nil},
		{"What's my range?", "GetRange", nil},
		{"  WHAT’S   my range!! ", "GetRange", nil},
		{"whats my range", "GetRange", nil},
		{"how much further can I go", "GetRange", nil},
		{"how far can i drive", "GetRange", nil},
		{"open the front left window", "OpenWindow", m{"window": "front left"}},
		{"Open rear-right window.", "OpenWindow", m{"window": "rear right"}},
		{"open all the windows", "OpenWindow", m{"window": "all"}},
		{"open all windows", "OpenWindow", m{"window": "all"}},
		{"open my window", "OpenWindow", nil},
		{"set the temperature to twenty-one degrees", "SetTemperature", m{"temperature": 21}},
		{"set temperature to twenty one", "SetTemperature", m{"temperature": 21}},
		{"set temperature to 28 degrees", "SetTemperature", m{"temperature": 28}},
		{"make it sixteen degrees", "SetTemperature", m{"target": 16}},
		{"make it 17 degrees", "SetTemperature", m{"target": 17}},
		{"heat the driver's seat", "SeatHeatingOn", m{"seat": "driver"}},
		{"heat the drivers seat to level two", "SeatHeatingOn", m{"seat": "driver", "level": 2}},
		{"heat the co-driver's seat at level 3", "SeatHeatingOn", m{"seat": "passenger", "level": 3}},
		{"heat passenger seat", "SeatHeatingOn", m{"seat": "passenger"}},
		// Negative cases.
		{"", "", nil},
		{"   ?! ", "", nil},
		{"what's my", "", nil},                              // prefix only
		{"what's my range please", "", nil},                 // extra word
		{"open the window", "", nil},                        // slot missing
		{"open the front window", "", nil},                  // partial slot phrase
		{"open the front left right window", "", nil},       // two values
		{"set the temperature to fifteen degrees", "", nil}, // out of range
		{"set the temperature to 29", "", nil},
		{"set the temperature to 1234", "", nil},
		{"make it twenty one", "", nil}, // "degrees" is not optional here
		{"open the trunk", "", nil},
		{"heat the driver's seat to level four", "", nil},
	})
}

func TestMatchGerman(t *testing.T) {
	c := mustParse(t, `language: de
intents:
  SetTemperature:
    templates: ["(stell|stelle) die temperatur auf {t} [grad]", "{t} grad"]
  Faults:
    templates: ["gibt es störungen", "fehlerspeicher auslesen"]
slots:
  t: {from: 16, to: 100}
`)
	checkMatches(t, c, []matchCase{
		{"Stell die Temperatur auf einundzwanzig Grad", "SetTemperature", m{"t": 21}},
		{"stelle die temperatur auf dreißig", "SetTemperature", m{"t": 30}},
		{"stelle die temperatur auf dreissig", "SetTemperature", m{"t": 30}}, // ß folded
		{"Zweiundzwanzig Grad", "SetTemperature", m{"t": 22}},
		{"hundert Grad", "SetTemperature", m{"t": 100}},
		{"einhundert Grad", "SetTemperature", m{"t": 100}},
		{"Gibt es Störungen?", "Faults", nil},
		{"gibt es storungen", "Faults", nil}, // accents folded
		{"einundzwanzig", "", nil},
		{"zwei und zwanzig grad", "", nil},
	})
}

func TestMatchSpanish(t *testing.T) {
	c := mustParse(t, `language: es
intents:
  SetTemperature:
    templates: ["pon la temperatura a {t} [grados]"]
  Cancel:
    templates: ["(cancela|olvídalo)"]
slots:
  t: {from: 16, to: 31}
`)
	checkMatches(t, c, []matchCase{
		{"Pon la temperatura a veintiún grados.", "SetTemperature", m{"t": 21}},
		{"pon la temperatura a veintiuno", "SetTemperature", m{"t": 21}},
		{"pon la temperatura a veintiun grados", "SetTemperature", m{"t": 21}},
		{"pon la temperatura a treinta y un grados", "SetTemperature", m{"t": 31}},
		{"pon la temperatura a dieciséis", "SetTemperature", m{"t": 16}},
		{"¡Olvídalo!", "Cancel", nil},
		{"olvidalo", "Cancel", nil},
		{"pon la temperatura a quince", "", nil},
	})
}

func TestMatchFrench(t *testing.T) {
	c := mustParse(t, `language: fr
intents:
  GetRange:
    templates: ["quelle est l'autonomie", "jusqu'où puis-je aller"]
  SetTemperature:
    templates: ["mets la température à {t} [degrés]"]
slots:
  t: {from: 16, to: 99}
`)
	checkMatches(t, c, []matchCase{
		{"Quelle est l'autonomie ?", "GetRange", nil},
		{"quelle est l’autonomie", "GetRange", nil},
		{"quelle est l' autonomie", "GetRange", nil},
		{"Jusqu'où puis-je aller ?", "GetRange", nil},
		{"jusqu ou puis je aller", "GetRange", nil},
		{"mets la température à vingt et un degrés", "SetTemperature", m{"t": 21}},
		{"mets la température à vingt-et-un", "SetTemperature", m{"t": 21}},
		{"mets la temperature a soixante-dix-sept", "SetTemperature", m{"t": 77}},
		{"mets la température à quatre-vingt-dix", "SetTemperature", m{"t": 90}},
		{"mets la température à quatre-vingts", "SetTemperature", m{"t": 80}},
		{"mets la température à 71 degrés", "SetTemperature", m{"t": 71}},
		{"quelle est lautonomie", "", nil},
	})
	if got := strings.Join(c.Vocabulary(), " "); !strings.Contains(got, "l' ") || !strings.Contains(got, "jusqu' ") {
		t.Errorf("Vocabulary lacks elided words: %s", got)
	}
	ss := c.IntentSentences("GetRange", 0)
	if len(ss) != 2 || ss[0].Text != "quelle est l'autonomie" || strings.Join(ss[0].Words, "|") != "quelle|est|l'|autonomie" {
		t.Errorf("sentences %+v", ss)
	}
}

const zhGrammar = `language: zh
intents:
  OpenWindow:
    templates: ["(打开|开) {window} 车窗", "打开 我 的 车窗"]
  SetTemperature:
    templates: ["把 (温度|空调) 调到 {temperature} 度"]
slots:
  window: [{in: 左前, out: front_left}, {in: 右后, out: rear_right}]
  temperature: {from: 16, to: 28}
lexicon:
  打开: da3 kai1
  开: kai1
  车窗: che1 chuang1
  左前: zuo3 qian2
  右后: you4 hou4
  我: wo3
  的: de5
  把: ba3
  温度: wen1 du4
  空调: kong1 tiao2
  调到: tiao2 dao4
  度: du4
`

func TestMatchChinese(t *testing.T) {
	c := mustParse(t, zhGrammar)
	checkMatches(t, c, []matchCase{
		{"打开 左前 车窗", "OpenWindow", m{"window": "front_left"}},
		{"打开左前车窗", "OpenWindow", m{"window": "front_left"}},
		{"打 开左 前车窗。", "OpenWindow", m{"window": "front_left"}},
		{"开右后车窗", "OpenWindow", m{"window": "rear_right"}},
		{"打开我的车窗", "OpenWindow", nil},
		{"把空调调到二十一度", "SetTemperature", m{"temperature": 21}},
		{"把 温度 调到 二十八 度", "SetTemperature", m{"temperature": 28}},
		{"把温度调到16度", "SetTemperature", m{"temperature": 16}},
		{"把温度调到１８度", "SetTemperature", m{"temperature": 18}},
		{"把温度调到十五度", "", nil},
		{"把温度调到二十一", "", nil},
		{"打开车窗", "", nil},
		{"打开左前车窗吧", "", nil},
	})
	for _, tc := range []struct{ in, want string }{
		{"打开 左前 车窗", "da3 kai1 zuo3 qian2 che1 chuang1"},
		{"打开左前车窗", "da3 kai1 zuo3 qian2 che1 chuang1"},
		{"把空调调到二十一度", "ba3 kong1 tiao2 tiao2 dao4 er4 shi2 yi1 du4"},
		{"把空调调到 21 度", "ba3 kong1 tiao2 tiao2 dao4 er4 shi2 yi1 du4"},
		{"打开天窗", "da3 kai1 天 窗"},
	} {
		if got := c.Pronounce(tc.in); got != tc.want {
			t.Errorf("Pronounce(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	en := mustParse(t, enGrammar)
	if got := en.Pronounce("open my window"); got != "open my window" {
		t.Errorf("en Pronounce = %q", got)
	}
	ss := c.IntentSentences("OpenWindow", 0)
	if len(ss) != 5 || ss[0].Text != "打开左前车窗" || strings.Join(ss[0].Words, " ") != "打开 左前 车窗" {
		t.Errorf("zh sentences %+v", ss)
	}
}

// TestGraph walks the graph by hand: every path from Start to a final node
// spells a sentence, and its Out arcs give the slots.
func TestGraph(t *testing.T) {
	c := mustParse(t, enGrammar)
	g := c.Graph()
	finals := g.Finals()
	if len(finals) != len(c.Intents) {
		t.Fatalf("%d finals for %d intents", len(finals), len(c.Intents))
	}
	for i, f := range finals {
		if g.Nodes[f].Intent != c.Intents[i].Name {
			t.Errorf("final %d: %q, want %q", f, g.Nodes[f].Intent, c.Intents[i].Name)
		}
	}
	// Enumerate every path; compare with Sentences.
	var got []string
	var walk func(n int, ws []string, outs []string)
	walk = func(n int, ws []string, outs []string) {
		if in := g.Nodes[n].Intent; in != "" {
			got = append(got, in+": "+strings.Join(ws, " ")+" "+strings.Join(outs, ","))
		}
		for _, a := range g.Nodes[n].Arcs {
			switch {
			case a.Word != "" && a.Out != nil:
				t.Fatalf("arc with both word and output")
			case a.Word != "":
				walk(a.To, append(ws[:len(ws):len(ws)], a.Word), outs)
			case a.Out != nil:
				walk(a.To, ws, append(outs[:len(outs):len(outs)], a.Out.Slot+"="+format(a.Out.Value)))
			default:
				walk(a.To, ws, outs)
			}
		}
	}
	walk(g.Start, nil, nil)
	var want []string
	for _, s := range c.Sentences(0) {
		var outs []string
		for _, k := range sortedKeys(s.Slots) {
			outs = append(outs, k+"="+format(s.Slots[k]))
		}
		want = append(want, s.Intent+": "+s.Text+" "+strings.Join(outs, ","))
	}
	// Path slot order follows the sentence; sort both for comparison.
	norm := func(xs []string) map[string]int {
		r := map[string]int{}
		for _, x := range xs {
			i := strings.LastIndexByte(x, ' ')
			parts := strings.Split(x[i+1:], ",")
			sortStrings(parts)
			r[x[:i]+" "+strings.Join(parts, ",")]++
		}
		return r
	}
	if !reflect.DeepEqual(norm(got), norm(want)) {
		t.Errorf("graph paths and sentences differ:\n%v\n%v", got, want)
	}
	if len(got) != c.Count() {
		t.Errorf("%d paths, Count %d", len(got), c.Count())
	}
	voc := c.Vocabulary()
	for _, w := range []string{"what's", "driver's", "co", "twenty", "one", "sixteen", "three"} {
		if !contains(voc, w) {
			t.Errorf("Vocabulary lacks %q: %v", w, voc)
		}
	}
	if contains(voc, "") || contains(voc, "Open") {
		t.Errorf("Vocabulary %v", voc)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func sortStrings(xs []string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// TestExpansionCounts checks Count and Sentences against counts and
// expansions worked by hand.
func TestExpansionCounts(t *testing.T) {
	for _, tc := range []struct {
		template string
		count    int
		want     []string // all sentences, in order; nil to skip
	}{
		{"a", 1, []string{"a"}},
		{"a b c", 1, []string{"a b c"}},
		{"a (b|c)", 2, []string{"a b", "a c"}},
		{"a [b]", 2, []string{"a", "a b"}},
		{"a (b|c) [d]", 4, []string{"a b", "a b d", "a c", "a c d"}},
		{"[a|b] c", 3, []string{"c", "a c", "b c"}},
		{"((a|b) (c|d)|e) f", 5, []string{"a c f", "a d f", "b c f", "b d f", "e f"}},
		{"[a [b]] c", 3, []string{"c", "a c", "a b c"}},
		{"{s}", 3, []string{"x", "y z", "w"}},             // 2 phrases of one value + 1
		{"go {s} [now]", 6, nil},                          // 3 × 2
		{"{n} [{s}]", 3 * 4, nil},                         // 3 numbers × (1 + 3)
		{"(a|b) (c|d) (e|f) [g|h]", 2 * 2 * 2 * 3, nil},   // 24
		{"{n:first} (and|or) {n:second}", 3 * 2 * 3, nil}, // renamed twice in one template is fine: different names
		{"[(a|b)] [(c|d)] e", 3 * 3, nil},
	} {
		c := mustParse(t, `language: en
intents:
  A:
    templates: ["`+tc.template+`"]
slots:
  s: [{in: [x, y-z], out: one}, w]
  n: {from: 1, to: 3}
`)
		if got := c.Count(); got != tc.count {
			t.Errorf("%q: Count %d, want %d", tc.template, got, tc.count)
		}
		ss := c.Sentences(0)
		if len(ss) != tc.count {
			t.Errorf("%q: %d sentences, want %d", tc.template, len(ss), tc.count)
		}
		if tc.want != nil {
			var got []string
			for _, s := range ss {
				got = append(got, s.Text)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%q: sentences %q, want %q", tc.template, got, tc.want)
			}
		}
		for _, s := range ss {
			r, ok := c.Match(s.Text)
			if !ok || r.Intent != "A" || !reflect.DeepEqual(r.Slots, s.Slots) {
				t.Errorf("%q: Match(%q) = %v %v, want %v", tc.template, s.Text, r, ok, s.Slots)
			}
		}
	}
}

// TestSentencesLimit: a limit takes sentences round-robin across intents.
func TestSentencesLimit(t *testing.T) {
	c := mustParse(t, enGrammar)
	ss := c.Sentences(8)
	if len(ss) != 8 {
		t.Fatalf("%d sentences", len(ss))
	}
	var intents []string
	for _, s := range ss {
		intents = append(intents, s.Intent)
	}
	want := "GetRange OpenWindow SetTemperature SeatHeatingOn GetRange OpenWindow SetTemperature SeatHeatingOn"
	if got := strings.Join(intents, " "); got != want {
		t.Errorf("intents %s, want %s", got, want)
	}
	if s := ss[2]; s.Text != "set temperature to sixteen" || !reflect.DeepEqual(s.Slots, map[string]any{"temperature": 16}) {
		t.Errorf("sentence %+v", s)
	}
	if n := len(c.IntentSentences("GetRange", 0)); n != 5 {
		t.Errorf("GetRange: %d sentences, want 5", n)
	}
	if c.IntentSentences("Nope", 0) != nil || c.IntentCount("Nope") != 0 {
		t.Error("unknown intent has sentences")
	}
	// GetRange 1 + 2·2; OpenWindow 2·4 + 1 + 2; SetTemperature 2·13·2 + 13;
	// SeatHeatingOn [the] · 3 seat phrases · (1 + 2·3 levels).
	if want := (1 + 2*2) + (2*4 + 1 + 2) + (2*13*2 + 13) + 2*3*(1+2*3); c.Count() != want {
		t.Errorf("Count %d, want %d", c.Count(), want)
	}
}

func TestMatchConcurrent(t *testing.T) {
	c := mustParse(t, enGrammar)
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- true }()
			for i := 0; i < 200; i++ {
				r, ok := c.Match("heat the driver's seat to level two")
				if !ok || r.Slots["level"] != 2 {
					t.Errorf("Match = %v %v", r, ok)
					return
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

func TestMatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts do not hold under the race detector")
	}
	c := mustParse(t, enGrammar)
	c.Match("what's my range")
	if n := testing.AllocsPerRun(100, func() { c.Match("What's my range?") }); n != 0 {
		t.Errorf("Match without slots: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { c.Match("heat the driver's seat to level two") }); n > 2 {
		t.Errorf("Match with slots: %v allocs, want <= 2 (the map)", n)
	}
}

// TestRandomSentence: random sentences of a context whose templates have
// optional slots in several orders are sentences of it (Match, a separate
// path through the graph, gives back their intent and slots), every
// intent and every slot, optional or not, is drawn, and the draw is
// reproducible.
func TestRandomSentence(t *testing.T) {
	c, err := Parse("coffee.en.yaml", []byte(`language: en
intents:
  Order:
    templates:
      - "[can i have] [a] [{size}] [{roast}] {drink} [with ({milk} [and {sugar}]|{sugar} [and {milk}])]"
      - "[can i have] [a] {roast} {size} {drink}"
  Cancel:
    templates: ["cancel [my order]"]
slots:
  size: [small, large, twelve ounce]
  roast: [light roast, dark roast]
  drink: [latte, iced coffee]
  milk: [milk, a bit of milk, soy milk]
  sugar: [sugar, some brown sugar]
`))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	intents := map[string]int{}
	slots := map[string]int{}
	var first []string
	for i := range 400 {
		s, ok := c.RandomSentence(rng)
		if !ok {
			t.Fatal("no sentence")
		}
		if i < 5 {
			first = append(first, s.Text)
		}
		r, ok := c.Match(s.Text)
		if !ok {
			t.Fatalf("%q does not match", s.Text)
		}
		if r.Intent != s.Intent || !reflect.DeepEqual(r.Slots, s.Slots) && len(r.Slots)+len(s.Slots) > 0 {
			t.Errorf("%q: drawn as %s %v, matches as %s %v", s.Text, s.Intent, s.Slots, r.Intent, r.Slots)
		}
		intents[s.Intent]++
		for k := range s.Slots {
			slots[k]++
		}
	}
	if intents["Order"] < 150 || intents["Cancel"] < 150 {
		t.Errorf("intents drawn %v, want about 200 each", intents)
	}
	// Order is drawn ~200 times, half through the first template where
	// milk and sugar are optional: each appears in roughly 1/4..1/2 of them.
	for _, k := range []string{"size", "roast", "drink", "milk", "sugar"} {
		if slots[k] < 20 {
			t.Errorf("slot %s drawn %d times in 400 sentences", k, slots[k])
		}
	}
	rng = rand.New(rand.NewPCG(1, 2))
	for i, want := range first {
		if s, _ := c.RandomSentence(rng); s.Text != want {
			t.Errorf("draw %d with the same seed: %q, first time %q", i, s.Text, want)
		}
	}
}
