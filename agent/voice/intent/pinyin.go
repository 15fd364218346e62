package intent

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pronounce returns the pinyin of a zh sentence, syllables with tone
// numbers separated by spaces, for espeak-ng's cmn-latn-pinyin voice;
// in other languages the words of the context's pronounce field
// (SaysAs) are replaced by their first form and the rest is unchanged
// ("Ioniq, charge to 80." "eye on ick, charge to 80."). Spaces in the sentence mark
// word boundaries when present; text without spaces is segmented into
// lexicon words, fewest unknown characters first, then fewest words.
// Characters with no pinyin are kept as they are; punctuation is not
// said. Full-width digits, letters and signs count as ASCII ones.
//
// Digits are read as Mandarin numbers (zhInteger): 1800 "yi4 qian1 ba1
// bai3", 10050 "yi2 wan4 ling2 wu3 shi2", with the tone sandhi of 一 as
// said (hanziNumberPinyin). Besides:
//
//   - A decimal point between digits is 点 and the digits after it are
//     read one by one: 2.45 "er4 dian3 si4 wu3"; 1.2.3 "yi1 dian3 er4
//     dian3 san1". A comma followed by three digits groups thousands
//     (1,800 is 1800).
//   - A minus sign (-, −, －) right before a digit is 负 fu4 (-5 "fu4
//     wu3"), a plus sign 正 zheng4, unless the sign stands between two
//     digits or letters: DC-DC and P0A7F-1B have no sign.
//   - A dash between two numbers (3-5, 3~5, 3～5, 3–5, 3—5, spaces
//     allowed around it) is a range, read 到 dao4: "san1 dao4 wu3"; 3-5%
//     is 百分之三到百分之五. Three or more numbers joined by dashes
//     (2024-05-01, 400-820-8820) are read digit by digit, dashes silent.
//   - % after a number is read before it, 百分之: 80% "bai3 fen1 zhi1 ba1
//     shi2"; ℃ and °C are 摄氏度, ℉ and °F 华氏度, ° alone 度.
//   - A number is a count when the next word is a measure word or unit of
//     zhMeasures (the lexicon's segmentation decides what the next word
//     is; spaces do not matter, punctuation ends the look-ahead): 2 is
//     then 两 liang3 where zhMeasures says so (2个 "liang3 ge4", 2分钟
//     "liang3 fen1 zhong1", but 2度 "er4 du4", 2巴 "er4 ba1"), and 1 takes
//     the sandhi of 一 before the word's tone (1个 "yi2 ge4", 1分钟 "yi4
//     fen1 zhong1"). Only the bare integers 1 and 2 change: 12个, 0.2个,
//     2% and 第2个 keep er4 (after 第 a number is an ordinal). The first
//     number of a range takes the 两 of the measure after the second (2-3个
//     "liang3 dao4 san1 ge4") but keeps yi1.
//   - Latin letters are spelled one by one, lower case, which the voice
//     says as the English letter names (SOC "s o c", DC-DC "d c d c");
//     runs that mix letters and digits are codes, their digits read one by
//     one (1 is yi1, not yao1): P0AA6 "p ling2 a a liu4". After a number, attached or after a
//     space, the unit symbols of latinUnits are read as Chinese units: 12 V
//     "shi2 er4 fu2", 7.4kW "qi1 dian3 si4 qian1 wa3".
func (c *Context) Pronounce(sentence string) string {
	if c.Language != Chinese {
		return c.respell(sentence)
	}
	its := c.zhItems(scanZH(sentence))
	var out []string
	for i := range its {
		switch its[i].kind {
		case spokenWord:
			out = append(out, its[i].py)
		case spokenRange:
			out = append(out, "dao4")
		case spokenNumber:
			out = readNumber(out, its, i)
		}
	}
	return strings.Join(out, " ")
}

// zhMeasure says how a bare 1 or 2 before a measure word is read.
type zhMeasure struct {
	liang  bool // 2 is 两 (two of a count), not 二 (a value read out)
	sandhi bool // 1 takes the tone sandhi of 一 before the word
}

// zhMeasures are the measure words and units that make a number before
// them a count. Classifiers, time and the units of distance, mass, volume,
// power and energy take 两 (两个, 两次, 两分钟, 两小时, 两公里, 两千瓦);
// the units of readings said as values take 二: degrees (二度, 零下二度),
// pressure (二巴), voltage and current (二伏, 二安). 点 (o'clock) takes 两
// but 一点 keeps yi1, as an hour is a name; ordinal words (档, 号, 楼, 级,
// 月) are not listed: 二档, 一档 yi1 dang4. 百, 千, 万 and 亿 written
// after digits make them a multiplier: 2万 两万, 1万 yi2 wan4.
var zhMeasures = func() map[string]zhMeasure {
	m := map[string]zhMeasure{}
	for _, w := range strings.Fields(`个 次 条 项 位 名 人 辆 台 种 处 件 只 张 块 节 组 份
		遍 回 下 倍 排 扇 盏 根 段 套 声 分钟 小时 秒 秒钟 天 周 星期 个月 年
		公里 千米 米 厘米 毫米 公斤 千克 克 吨 升 毫升 千瓦 千瓦时 瓦 瓦时 公里每小时
		百 千 万 亿`) {
		m[w] = zhMeasure{liang: true, sandhi: true}
	}
	for _, w := range strings.Fields(`度 摄氏度 华氏度 巴 千帕 帕 伏 毫伏 千伏 安 毫安 安时 毫安时`) {
		m[w] = zhMeasure{sandhi: true}
	}
	m["点"] = zhMeasure{liang: true}
	m["点钟"] = zhMeasure{liang: true}
	return m
}()

// latinUnit is a unit symbol said after a number: han is the Chinese
// unit (its zhMeasures entry applies), py its reading.
type latinUnit struct{ han, py string }

// latinUnits are the unit symbols read after a number (12 V, 7.4kW), by
// exact spelling; latinUnitsFold by lower-case spelling where that is
// not ambiguous (12v, 7.4KW). Elsewhere their letters are spelled.
var latinUnits = map[string]latinUnit{
	"V": {"伏", "fu2"}, "mV": {"毫伏", "hao2 fu2"}, "kV": {"千伏", "qian1 fu2"},
	"A": {"安", "an1"}, "mA": {"毫安", "hao2 an1"}, "Ah": {"安时", "an1 shi2"}, "mAh": {"毫安时", "hao2 an1 shi2"},
	"W": {"瓦", "wa3"}, "kW": {"千瓦", "qian1 wa3"}, "Wh": {"瓦时", "wa3 shi2"}, "kWh": {"千瓦时", "qian1 wa3 shi2"},
	"km": {"公里", "gong1 li3"}, "km/h": {"公里每小时", "gong1 li3 mei3 xiao3 shi2"},
	"m": {"米", "mi3"}, "cm": {"厘米", "li2 mi3"}, "mm": {"毫米", "hao2 mi3"},
	"kg": {"公斤", "gong1 jin1"}, "L": {"升", "sheng1"},
	"h": {"小时", "xiao3 shi2"}, "min": {"分钟", "fen1 zhong1"}, "s": {"秒", "miao3"},
	"bar": {"巴", "ba1"}, "kPa": {"千帕", "qian1 pa4"}, "Pa": {"帕", "pa4"},
}

var latinUnitsFold = map[string]latinUnit{
	"v": latinUnits["V"], "ah": latinUnits["Ah"], "w": latinUnits["W"],
	"kw": latinUnits["kW"], "wh": latinUnits["Wh"], "kwh": latinUnits["kWh"], "km": latinUnits["km"],
	"km/h": latinUnits["km/h"], "kg": latinUnits["kg"], "l": latinUnits["L"], "min": latinUnits["min"],
	"bar": latinUnits["bar"], "kpa": latinUnits["kPa"],
}

func lookupUnit(s string) (latinUnit, bool) {
	if u, ok := latinUnits[s]; ok {
		return u, true
	}
	u, ok := latinUnitsFold[strings.ToLower(s)]
	return u, ok
}

// symbolUnits are the symbols read after a number as units.
var symbolUnits = map[string]latinUnit{
	"℃": {"摄氏度", "she4 shi4 du4"}, "°C": {"摄氏度", "she4 shi4 du4"},
	"℉": {"华氏度", "hua2 shi4 du4"}, "°F": {"华氏度", "hua2 shi4 du4"},
	"°": {"度", "du4"},
}

// The atoms of a zh sentence, as scanZH cuts it.
type atomKind uint8

const (
	atomHan     atomKind = iota // a run of hanzi
	atomOther                   // a run of other letters and digits, kept as is
	atomDigits                  // a run of ASCII digits
	atomLetters                 // a run of ASCII letters
	atomSpace                   // a run of spaces
	atomPunct                   // one punctuation or symbol character
)

type atom struct {
	kind atomKind
	s    string
}

// scanZH cuts s into atoms. Full-width ASCII forms (U+FF01..U+FF5E) are
// read as ASCII except the full-width comma, a list separator in Chinese;
// combining marks are dropped.
func scanZH(s string) []atom {
	var norm strings.Builder
	norm.Grow(len(s))
	var kinds []atomKind
	var ends []int
	for _, r := range s {
		if r >= 0xff01 && r <= 0xff5e && r != '，' {
			r -= 0xfee0
		}
		var k atomKind
		switch {
		case r >= '0' && r <= '9':
			k = atomDigits
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			k = atomLetters
		case unicode.Is(unicode.Mn, r):
			continue
		case isHan(r):
			k = atomHan
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			k = atomOther
		case unicode.IsSpace(r):
			k = atomSpace
		default:
			k = atomPunct
		}
		norm.WriteRune(r)
		if k != atomPunct && len(kinds) > 0 && kinds[len(kinds)-1] == k {
			ends[len(ends)-1] = norm.Len()
			continue
		}
		kinds = append(kinds, k)
		ends = append(ends, norm.Len())
	}
	text := norm.String()
	out := make([]atom, len(kinds))
	start := 0
	for i, k := range kinds {
		out[i] = atom{k, text[start:ends[i]]}
		start = ends[i]
	}
	return out
}

// The items of a zh sentence: words said as they are, and numbers whose
// reading depends on the words around them.
type spokenKind uint8

const (
	spokenWord   spokenKind = iota // py is said; text is its hanzi (a unit's Chinese name)
	spokenNumber                   // num, read by readNumber
	spokenRange                    // 到 between the two numbers of a range
	spokenBreak                    // punctuation: nothing said, ends a look-ahead
)

type spoken struct {
	kind     spokenKind
	text, py string
	num      zhNumber
}

// zhNumber is a number written in digits.
type zhNumber struct {
	sign      string   // "fu4", "zheng4" or ""
	integer   string   // the digits before the point
	frac      []string // the digits after each point
	percent   bool     // 百分之
	digitwise bool     // a code: every digit alone
}

func isAlnum(a atom) bool { return a.kind == atomDigits || a.kind == atomLetters }

// sign returns the reading of a sign character, or "".
func sign(s string) string {
	switch s {
	case "-", "−":
		return "fu4"
	case "+":
		return "zheng4"
	}
	return ""
}

func isDash(s string) bool {
	switch s {
	case "-", "−", "~", "～", "–", "—":
		return true
	}
	return false
}

// zhItems turns atoms into what is said.
func (c *Context) zhItems(as []atom) []spoken {
	var its []spoken
	for i := 0; i < len(as); {
		a := as[i]
		switch a.kind {
		case atomSpace:
			i++
		case atomHan:
			its = c.segment(its, []rune(a.s))
			i++
		case atomOther:
			for _, r := range a.s {
				its = append(its, spoken{kind: spokenWord, text: string(r), py: string(r)})
			}
			i++
		case atomPunct:
			// A sign before a digit, not between two digits or letters.
			if sg := sign(a.s); sg != "" && i+1 < len(as) && as[i+1].kind == atomDigits &&
				(i == 0 || !isAlnum(as[i-1])) && !isCode(as, i+1) {
				its, i = numbers(its, as, i+1, sg)
				continue
			}
			its = append(its, spoken{kind: spokenBreak})
			i++
		case atomDigits:
			if isCode(as, i) {
				its, i = code(its, as, i)
				continue
			}
			its, i = numbers(its, as, i, "")
		case atomLetters:
			if i+1 < len(as) && as[i+1].kind == atomDigits {
				its, i = code(its, as, i)
				continue
			}
			its = spell(its, a.s)
			i++
		}
	}
	return its
}

// isCode reports whether the alphanumeric run at as[i] (digits) mixes
// digits and letters other than a unit after a number.
func isCode(as []atom, i int) bool {
	if i > 0 && isAlnum(as[i-1]) {
		return true
	}
	j := i + 1
	for j < len(as) && isAlnum(as[j]) {
		j++
	}
	switch j - i {
	case 1:
		return false
	case 2:
		_, k := unitAt(as, i+1)
		return k == 0
	}
	return true
}

// unitAt returns the unit symbol spelled by the letters at as[i] (with
// "/h" after "km"), and the index after it; not when a digit follows.
func unitAt(as []atom, i int) (latinUnit, int) {
	if i >= len(as) || as[i].kind != atomLetters {
		return latinUnit{}, 0
	}
	s, j := as[i].s, i+1
	if j+1 < len(as) && as[j].s == "/" && as[j+1].kind == atomLetters {
		if u, ok := lookupUnit(s + "/" + as[j+1].s); ok && (j+2 >= len(as) || as[j+2].kind != atomDigits) {
			return u, j + 2
		}
	}
	if u, ok := lookupUnit(s); ok && (j >= len(as) || as[j].kind != atomDigits) {
		return u, j
	}
	return latinUnit{}, 0
}

// spell appends the letters of s, one by one, in lower case.
func spell(its []spoken, s string) []spoken {
	for i := range len(s) {
		l := s[i] | 0x20
		its = append(its, spoken{kind: spokenWord, py: string(l)})
	}
	return its
}

// code appends the alphanumeric run starting at as[i]: letters spelled,
// digits one by one.
func code(its []spoken, as []atom, i int) ([]spoken, int) {
	for ; i < len(as) && isAlnum(as[i]); i++ {
		if as[i].kind == atomLetters {
			its = spell(its, as[i].s)
			continue
		}
		for j := range len(as[i].s) {
			its = append(its, spoken{kind: spokenWord, py: digitPinyin[as[i].s[j]-'0']})
		}
	}
	return its, i
}

// numbers appends the number whose digits start at as[i], with its
// unit, and the numbers joined to it by dashes: a range of two, or a
// chain of codes.
func numbers(its []spoken, as []atom, i int, sg string) ([]spoken, int) {
	var group [][]spoken
	for {
		g, j := number(as, i, sg)
		group = append(group, g)
		i = j
		// A dash, maybe with spaces around it, then a number; a minus
		// after a space and right before the digits is that number's
		// sign instead ("3 -5").
		k := i
		spaceBefore := k < len(as) && as[k].kind == atomSpace
		if spaceBefore {
			k++
		}
		if k >= len(as) || as[k].kind != atomPunct || !isDash(as[k].s) {
			break
		}
		dash := as[k].s
		k++
		spaceAfter := k < len(as) && as[k].kind == atomSpace
		if spaceAfter {
			k++
		}
		if spaceBefore && !spaceAfter && sign(dash) != "" {
			break
		}
		sg = ""
		if k+1 < len(as) && as[k].kind == atomPunct && sign(as[k].s) == "fu4" && as[k+1].kind == atomDigits {
			sg = "fu4"
			k++
		}
		if k >= len(as) || as[k].kind != atomDigits || isCode(as, k) {
			break
		}
		i = k
	}
	switch len(group) {
	case 1:
		return append(its, group[0]...), i
	case 2:
		// 3-5%: 百分之三到百分之五.
		if group[1][0].num.percent {
			group[0][0].num.percent = true
		}
		its = append(its, group[0]...)
		its = append(its, spoken{kind: spokenRange})
		return append(its, group[1]...), i
	}
	for _, g := range group {
		g[0].num.digitwise = true
		its = append(its, g...)
	}
	return its, i
}

// number reads the number whose digits start at as[i] (a run that is
// not a code), with its percent sign or unit: the number, maybe a unit
// word after it, and the index after them.
func number(as []atom, i int, sg string) ([]spoken, int) {
	n := zhNumber{sign: sg, integer: as[i].s}
	i++
	// 1,800: a comma grouping thousands, three digits after it.
	if len(n.integer) <= 3 && n.integer[0] != '0' {
		for i+1 < len(as) && as[i].s == "," && as[i+1].kind == atomDigits && len(as[i+1].s) == 3 && !isCode(as, i+1) {
			n.integer += as[i+1].s
			i += 2
		}
	}
	for i+1 < len(as) && as[i].s == "." && as[i+1].kind == atomDigits && !isCode(as, i+1) {
		n.frac = append(n.frac, as[i+1].s)
		i += 2
	}
	its := []spoken{{kind: spokenNumber, num: n}}
	if i < len(as) && as[i].s == "%" {
		its[0].num.percent = true
		return its, i + 1
	}
	if i < len(as) && as[i].kind == atomPunct {
		s := as[i].s
		if s == "°" && i+1 < len(as) && (as[i+1].s == "C" || as[i+1].s == "F") {
			s += as[i+1].s
		}
		if u, ok := symbolUnits[s]; ok {
			if s != as[i].s {
				i++ // °C
			}
			return append(its, spoken{kind: spokenWord, text: u.han, py: u.py}), i + 1
		}
	}
	j := i
	if j < len(as) && as[j].kind == atomSpace {
		j++
	}
	if u, k := unitAt(as, j); k > 0 {
		return append(its, spoken{kind: spokenWord, text: u.han, py: u.py}), k
	}
	return its, i
}

// readNumber appends the reading of the number its[i].
func readNumber(out []string, its []spoken, i int) []string {
	n := its[i].num
	if n.sign != "" {
		out = append(out, n.sign)
	}
	if n.percent {
		out = append(out, "bai3", "fen1", "zhi1")
	}
	if n.digitwise {
		out = appendDigits(out, n.integer)
		for _, f := range n.frac {
			out = appendDigits(append(out, "dian3"), f)
		}
		return out
	}
	h := zhInteger(n.integer)
	if (h == "一" || h == "二") && len(n.frac) == 0 && !n.percent {
		// A count: the word after the number, or after the second
		// number of a range.
		next, first := i+1, false
		if next < len(its) && its[next].kind == spokenRange {
			next, first = i+3, true
		}
		ordinal := i > 0 && its[i-1].kind == spokenWord && strings.HasSuffix(its[i-1].text, "第")
		if next < len(its) && its[next].kind == spokenWord && !ordinal {
			m := zhMeasures[its[next].text]
			switch {
			case h == "二" && m.liang:
				return append(out, "liang3")
			case h == "一" && m.sandhi && !first:
				switch tone(its[next].py) {
				case '4':
					return append(out, "yi2")
				case '1', '2', '3':
					return append(out, "yi4")
				}
			}
		}
	}
	out = append(out, strings.Fields(hanziNumberPinyin(h))...)
	for _, f := range n.frac {
		out = appendDigits(append(out, "dian3"), f)
	}
	return out
}

// tone returns the tone digit of the first syllable of py, or 0.
func tone(py string) byte {
	if i := strings.IndexByte(py, ' '); i >= 0 {
		py = py[:i]
	}
	if py == "" {
		return 0
	}
	if t := py[len(py)-1]; t >= '1' && t <= '5' {
		return t
	}
	return 0
}

func appendDigits(out []string, s string) []string {
	for i := range len(s) {
		out = append(out, digitPinyin[s[i]-'0'])
	}
	return out
}

// segment appends the words of a run of hanzi, by dynamic programming
// over lexicon words.
func (c *Context) segment(its []spoken, rs []rune) []spoken {
	type cell struct {
		unknown, words, from int
		py                   string
	}
	best := make([]cell, len(rs)+1)
	for i := 1; i <= len(rs); i++ {
		// An unknown character (or a single numeral).
		py, ok := zhDigitPinyin[rs[i-1]]
		unk := 0
		if !ok {
			py, unk = string(rs[i-1]), 1
		}
		if p, ok := c.pinyin[string(rs[i-1])]; ok {
			py, unk = p, 0
		}
		best[i] = cell{best[i-1].unknown + unk, best[i-1].words + 1, i - 1, py}
		for n := 2; n <= c.maxWord && n <= i; n++ {
			p, ok := c.pinyin[string(rs[i-n:i])]
			if !ok {
				continue
			}
			b := best[i-n]
			if b.unknown < best[i].unknown || b.unknown == best[i].unknown && b.words+1 < best[i].words {
				best[i] = cell{b.unknown, b.words + 1, i - n, p}
			}
		}
	}
	start := len(its)
	for i := len(rs); i > 0; i = best[i].from {
		its = append(its, spoken{kind: spokenWord, text: string(rs[best[i].from:i]), py: best[i].py})
	}
	for l, r := start, len(its)-1; l < r; l, r = l+1, r-1 {
		its[l], its[r] = its[r], its[l]
	}
	return its
}

// respell replaces the words of sentence that SaysAs has by their first
// form. Words are found as the grammar finds them (runs of letters and
// digits with apostrophes inside; in French an elided word ends at its
// apostrophe, "l'autonomie"); everything else is kept as it is.
func (c *Context) respell(sentence string) string {
	if len(c.SaysAs) == 0 {
		return sentence
	}
	var b strings.Builder
	start := -1 // of the current word
	last := 0   // sentence[last:] is not yet written
	end := func(i int) {
		if start < 0 {
			return
		}
		if ws := words(c.Language, sentence[start:i]); len(ws) == 1 {
			if says, ok := c.SaysAs[ws[0]]; ok {
				b.WriteString(sentence[last:start])
				b.WriteString(says[0])
				last = i
			}
		}
		start = -1
	}
	for i, r := range sentence {
		switch {
		case isWordRune(r):
			if start < 0 {
				start = i
			}
		case isApostrophe(r) && start >= 0:
			if c.Language == French {
				end(i + utf8.RuneLen(r)) // "l'" is a word of its own
			}
		default:
			end(i)
		}
	}
	end(len(sentence))
	if last == 0 {
		return sentence
	}
	b.WriteString(sentence[last:])
	return b.String()
}
