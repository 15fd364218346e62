package contexts_test

import (
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/evedge/evedge/agent/diag/kb"
	"github.com/evedge/evedge/agent/voice/intent"
)

// zhSpoken are the texts the dialogue says in Chinese, each with where it
// comes from: every shared response and every intent response, filled
// with the values the dialogue puts in (numbers in digits as
// dialog.FormatNumber writes them, slot phrases, fault titles of the
// knowledge base, the refusal reasons). Each placeholder takes each of
// its typical values once, the others their first.
func zhSpoken(t *testing.T, c *intent.Context) map[string]string {
	t.Helper()
	know, err := kb.Load()
	if err != nil {
		t.Fatal(err)
	}
	// The faults as the dialogue reads them out: diagnoses by their KB
	// title, trouble codes with the title of the fault that lists them.
	var titles []string
	for _, id := range know.IDs() {
		_, tx, ok := know.Lookup(id, string(intent.Chinese))
		if !ok || tx.Title == "" {
			t.Fatalf("kb: no zh title for %s", id)
		}
		titles = append(titles, tx.Title)
	}
	fill := func(name string, vals map[string]any) string {
		s, err := intent.Fill(c.Responses[name], vals)
		if err != nil {
			t.Fatalf("responses.%s: %v", name, err)
		}
		return s
	}
	var faults []string
	for _, title := range titles {
		faults = append(faults, title, fill("fault", map[string]any{"code": "P0AA6", "meaning": title}))
	}
	sep := c.Responses["fault_separator"]
	faults = append(faults, strings.Join(titles[:3], sep)+sep+fill("more_faults", map[string]any{"count": "2"}))

	var reasons []string
	for _, k := range slices.Sorted(maps.Keys(c.Responses)) {
		if strings.HasPrefix(k, "reason_") {
			reasons = append(reasons, fill(k, map[string]any{"limit": "80"}))
		}
	}

	typical := map[string][]string{
		"soc":               {"76", "100", "0"},
		"range":             {"310", "5", "995"},
		"power":             {"49", "7.4", "150"},
		"minutes":           {"35", "1", "480"},
		"count":             {"2", "3", "12"},
		"cabin_temperature": {"22", "9", "35"},
		"temperature":       {"21", "16", "28"},
		"level":             {"1", "2", "3"},
		"pressure":          {"2.4", "3"},
		"front_left":        {"2.4"},
		"front_right":       {"2.4"},
		"rear_left":         {"2.5"},
		"rear_right":        {"2.6"},
		"limit":             {"80", "30", "5"},
		"code":              {"P0AA6", "P0A7F-1B"},
		"meaning":           titles,
		"faults":            faults,
		"reason":            reasons,
		"last":              {fill("cancel", nil), fill("not_understood", nil)},
	}
	// Slot phrases as responses say them, from every sentence of every
	// intent (the dialogue also fills "my window" and "my seat" with the
	// phrase of the zone's value, one of these).
	slotSay := map[string]map[string]bool{}
	for _, in := range c.Intents {
		for _, s := range c.IntentSentences(in.Name, 0) {
			for k, v := range s.Slots {
				if _, ok := v.(int); ok {
					continue // numbers: the dialogue fills digits (typical above)
				}
				if slotSay[k] == nil {
					slotSay[k] = map[string]bool{}
				}
				slotSay[k][c.Say(in.Name, k, v)] = true
			}
		}
	}
	for k, set := range slotSay {
		typical[k] = slices.Sorted(maps.Keys(set))
	}

	out := map[string]string{}
	expand := func(where, tmpl string) {
		names, err := intent.Placeholders(tmpl)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		base := map[string]any{}
		for _, n := range names {
			vs := typical[n]
			if len(vs) == 0 {
				t.Fatalf("%s: placeholder {%s} has no typical values in this test: add some", where, n)
			}
			base[n] = vs[0]
		}
		add := func(vals map[string]any) {
			s, err := intent.Fill(tmpl, vals)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			out[s] = where
		}
		add(base)
		for _, n := range names {
			for _, v := range typical[n][1:] {
				vals := maps.Clone(base)
				vals[n] = v
				add(vals)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Responses)) {
		expand("responses."+k, c.Responses[k])
	}
	for _, in := range c.Intents {
		expand("intents."+in.Name+".response", in.Response)
	}
	for _, f := range faults {
		out[f] = "fault titles of agent/diag/kb/faults.yaml"
	}
	return out
}

// spokenToken is what may stand in a pinyin reading: a syllable with its
// tone, or letters and digits that espeak-ng's cmn-latn-pinyin voice
// spells out (trouble codes, "SOC", "DC-DC", "12 V").
var spokenToken = regexp.MustCompile(`^([a-zü]+[1-5]|[a-z0-9]+)$`)

// TestCarZhSpeakable: every Chinese answer the dialogue can give reads
// fully as pinyin through Context.Pronounce, which is what the speaker
// says (package tts, voice cmn-latn-pinyin): a hanzi without a lexicon
// entry would reach espeak-ng as is and be read wrongly or not at all.
func TestCarZhSpeakable(t *testing.T) {
	c := loadCar(t)[intent.Chinese]
	spoken := zhSpoken(t, c)
	if len(spoken) < 100 {
		t.Fatalf("only %d texts: the test lost its inputs", len(spoken))
	}
	missing := map[rune][]string{}
	for _, text := range slices.Sorted(maps.Keys(spoken)) {
		py := c.Pronounce(text)
		for _, tok := range strings.Fields(py) {
			if spokenToken.MatchString(tok) {
				continue
			}
			han := false
			for _, r := range tok {
				if unicode.Is(unicode.Han, r) {
					han = true
					if len(missing[r]) < 2 {
						missing[r] = append(missing[r], text)
					}
				}
			}
			if !han {
				t.Errorf("%s: %q reads %q: token %q is neither pinyin nor letters and digits", spoken[text], text, py, tok)
			}
		}
	}
	if len(missing) > 0 {
		var rs []string
		for r := range missing {
			rs = append(rs, string(r))
		}
		sort.Strings(rs)
		for _, r := range rs {
			t.Errorf("%s has no pinyin (add the word to the lexicon of car.zh.yaml): in %q", r, missing[[]rune(r)[0]])
		}
		t.Errorf("%d characters without pinyin: %s", len(rs), strings.Join(rs, ""))
	}
}

// TestCarZhReadings pins the readings of answers whose characters have
// more than one reading, or whose segmentation matters.
func TestCarZhReadings(t *testing.T) {
	c := loadCar(t)[intent.Chinese]
	for _, tc := range []struct{ in, want string }{
		{"电量百分之76，大约还能行驶310公里。", "dian4 liang4 bai3 fen1 zhi1 qi1 shi2 liu4 da4 yue1 hai2 neng2 xing2 shi3 san1 bai3 yi1 shi2 gong1 li3"},
		{"大约还要35分钟充满。", "da4 yue1 hai2 yao4 san1 shi2 wu3 fen1 zhong1 chong1 man3"},
		{"我还没有说过什么。", "wo3 hai2 mei2 you3 shuo1 guo5 shen2 me5"},
		{"暂时无法估算充满所需时间。", "zan4 shi2 wu2 fa3 gu1 suan4 chong1 man3 suo3 xu1 shi2 jian1"},
		{"现在无法执行：操作过于频繁，请稍后再试。", "xian4 zai4 wu2 fa3 zhi2 xing2 cao1 zuo4 guo4 yu2 pin2 fan2 qing3 shao1 hou4 zai4 shi4"},
		{"这辆车不允许我控制空调。", "zhe4 liang4 che1 bu4 yun3 xu3 wo3 kong4 zhi4 kong1 tiao2"},
		{"左前轮胎压2巴。", "zuo3 qian2 lun2 tai1 ya1 er4 ba1"},
		{"没有故障，一切正常。", "mei2 you3 gu4 zhang4 yi2 qie4 zheng4 chang2"},
		{"有3个故障：电池温度差异过大；单体电压过低。", "you3 san1 ge4 gu4 zhang4 dian4 chi2 wen1 du4 cha1 yi4 guo4 da4 dan1 ti3 dian4 ya1 guo4 di1"},
		{"驱动电机控制器温度过高", "qu1 dong4 dian4 ji1 kong4 zhi4 qi4 wen1 du4 guo4 gao1"},
	} {
		if got := c.Pronounce(tc.in); got != tc.want {
			t.Errorf("Pronounce(%q)\n  = %q\n want %q", tc.in, got, tc.want)
		}
	}
}
