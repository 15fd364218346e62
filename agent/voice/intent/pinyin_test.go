package intent

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// speechGrammar is a zh context whose lexicon has the words of the
// assistant's answers that numbers stand next to.
const speechGrammar = `language: zh
intents:
  SetTemperature:
    templates: ["把 温度 调到 {temperature} 度"]
slots:
  temperature: {from: 16, to: 28}
lexicon:
  把: ba3
  温度: wen1 du4
  调到: tiao2 dao4
  度: du4
  有: you3
  还有: hai2 you3
  个: ge4
  故障: gu4 zhang4
  巴: ba1
  胎压: tai1 ya1
  左前: zuo3 qian2
  分钟: fen1 zhong1
  小时: xiao3 shi2
  每小时: mei3 xiao3 shi2
  公里: gong1 li3
  千瓦: qian1 wa3
  次: ci4
  辆: liang4
  车: che1
  年: nian2
  天: tian1
  档: dang4
  号: hao4
  第: di4
  车内: che1 nei4
  现在: xian4 zai4
  大约: da4 yue1
  还能: hai2 neng2
  行驶: xing2 shi3
  还要: hai2 yao4
  充满: chong1 man3
  电量: dian4 liang4
  百分之: bai3 fen1 zhi1
  以: yi3
  充电: chong1 dian4
  正在: zheng4 zai4
  变换器: bian4 huan4 qi4
  过高: guo4 gao1
  超过: chao1 guo4
  车速: che1 su4
  一切: yi2 qie4
  正常: zheng4 chang2
  没有: mei2 you3
`

// pronounceCases are written by hand from standard Mandarin: numbers in
// four-digit sections with 万 and 亿, one 零 for inner zeros, 十 for 一十
// only at the start; 两 for a count of 2 and before 百/千/万/亿 at the
// start; the sandhi of 一 (yi4 before tones 1-3, yi2 before tone 4, yi1
// alone, at the end of a number, in 十一 and in digits read one by one).
var pronounceCases = []struct{ in, want string }{
	// Words as before: lexicon segmentation, range numbers in hanzi.
	{"把温度调到二十一度", "ba3 wen1 du4 tiao2 dao4 er4 shi2 yi1 du4"},
	{"把 温度 调到 21 度", "ba3 wen1 du4 tiao2 dao4 er4 shi2 yi1 du4"},
	{"没有故障，一切正常。", "mei2 you3 gu4 zhang4 yi2 qie4 zheng4 chang2"},
	{"电量百分之76，大约还能行驶310公里。", "dian4 liang4 bai3 fen1 zhi1 qi1 shi2 liu4 da4 yue1 hai2 neng2 xing2 shi3 san1 bai3 yi1 shi2 gong1 li3"},
	{"大约还要35分钟充满。", "da4 yue1 hai2 yao4 san1 shi2 wu3 fen1 zhong1 chong1 man3"},
	{"左前胎压2巴", "zuo3 qian2 tai1 ya1 er4 ba1"},
	{"有3个故障", "you3 san1 ge4 gu4 zhang4"},
	{"车内现在22度", "che1 nei4 xian4 zai4 er4 shi2 er4 du4"},
	{"大约还要９分钟", "da4 yue1 hai2 yao4 jiu3 fen1 zhong1"}, // full-width digit
	{"有故障吗", "you3 gu4 zhang4 吗"},                      // no pinyin: kept
	{"", ""},
	{"，。", ""},

	// 1. Decimals: 点, then the digits one by one.
	{"2.4巴", "er4 dian3 si4 ba1"},
	{"左前胎压2.4巴。", "zuo3 qian2 tai1 ya1 er4 dian3 si4 ba1"},
	{"2.45", "er4 dian3 si4 wu3"},
	{"0.2", "ling2 dian3 er4"},
	{"10.05", "shi2 dian3 ling2 wu3"},
	{"2.40", "er4 dian3 si4 ling2"},
	{"正在以7.4千瓦充电", "zheng4 zai4 yi3 qi1 dian3 si4 qian1 wa3 chong1 dian4"},
	{"1.5万公里", "yi1 dian3 wu3 wan4 gong1 li3"},
	{"100.5", "yi4 bai3 dian3 wu3"},
	{"1.2.3", "yi1 dian3 er4 dian3 san1"},
	{"5.", "wu3"},
	{".5", "wu3"},
	{"胎压2.4，2.5巴", "tai1 ya1 er4 dian3 si4 er4 dian3 wu3 ba1"},
	{"1,800公里", "yi4 qian1 ba1 bai3 gong1 li3"},
	{"1,2", "yi1 er4"}, // not a thousands group

	// 2. Signs and ranges.
	{"-5度", "fu4 wu3 du4"},
	{"车内现在-5度。", "che1 nei4 xian4 zai4 fu4 wu3 du4"},
	{"－5度", "fu4 wu3 du4"},
	{"−2.5度", "fu4 er4 dian3 wu3 du4"},
	{"-2度", "fu4 er4 du4"},
	{"-1度", "fu4 yi2 du4"},
	{"-0.5", "fu4 ling2 dian3 wu3"},
	{"+5", "zheng4 wu3"},
	{"-", ""},
	{"DC-DC", "d c d c"},
	{"P0A7F-1B", "p ling2 a qi1 f yi1 b"},
	{"a-5", "a wu3"},
	{"3-5", "san1 dao4 wu3"},
	{"3~5个", "san1 dao4 wu3 ge4"},
	{"3～5", "san1 dao4 wu3"},
	{"3—5", "san1 dao4 wu3"},
	{"3 - 5", "san1 dao4 wu3"},
	{"3 -5", "san1 fu4 wu3"},
	{"-5-3度", "fu4 wu3 dao4 san1 du4"},
	{"-3--5", "fu4 san1 dao4 fu4 wu3"},
	{"3-5%", "bai3 fen1 zhi1 san1 dao4 bai3 fen1 zhi1 wu3"},
	{"2-3个", "liang3 dao4 san1 ge4"},
	{"1-2个", "yi1 dao4 liang3 ge4"},
	{"2024-05-01", "er4 ling2 er4 si4 ling2 wu3 ling2 yi1"},

	// 3. Numbers above 999.
	{"1800分钟", "yi4 qian1 ba1 bai3 fen1 zhong1"},
	{"1000", "yi4 qian1"},
	{"1005", "yi4 qian1 ling2 wu3"},
	{"1050", "yi4 qian1 ling2 wu3 shi2"},
	{"1015", "yi4 qian1 ling2 yi1 shi2 wu3"},
	{"1100", "yi4 qian1 yi4 bai3"},
	{"1200", "yi4 qian1 er4 bai3"},
	{"2200", "liang3 qian1 er4 bai3"},
	{"9999", "jiu3 qian1 jiu3 bai3 jiu3 shi2 jiu3"},
	{"10000", "yi2 wan4"},
	{"10050", "yi2 wan4 ling2 wu3 shi2"},
	{"10500", "yi2 wan4 ling2 wu3 bai3"},
	{"15000", "yi2 wan4 wu3 qian1"},
	{"20000", "liang3 wan4"},
	{"22000", "liang3 wan4 er4 qian1"},
	{"100000", "shi2 wan4"},
	{"105000", "shi2 wan4 wu3 qian1"},
	{"110000", "shi2 yi1 wan4"},
	{"120000", "shi2 er4 wan4"},
	{"1000000", "yi4 bai3 wan4"},
	{"1010000", "yi4 bai3 ling2 yi1 wan4"},
	{"10000000", "yi4 qian1 wan4"},
	{"10005000", "yi4 qian1 wan4 wu3 qian1"},
	{"100000000", "yi2 yi4"},
	{"100005000", "yi2 yi4 ling2 wu3 qian1"},
	{"100010000", "yi2 yi4 ling2 yi2 wan4"},
	{"200000000", "liang3 yi4"},
	{"123456789", "yi2 yi4 er4 qian1 san1 bai3 si4 shi2 wu3 wan4 liu4 qian1 qi1 bai3 ba1 shi2 jiu3"},
	{"1000000000000", "yi2 wan4 yi4"},
	{"10000000000000000", "yi1 ling2 ling2 ling2 ling2 ling2 ling2 ling2 ling2 ling2 ling2 ling2 ling2 ling2 ling2 ling2 ling2"},
	{"05", "ling2 wu3"},
	{"007", "ling2 ling2 qi1"},
	// ... and below 1000, as Number writes them.
	{"0", "ling2"},
	{"1", "yi1"},
	{"10", "shi2"},
	{"15", "shi2 wu3"},
	{"21", "er4 shi2 yi1"},
	{"100", "yi4 bai3"},
	{"101", "yi4 bai3 ling2 yi1"},
	{"110", "yi4 bai3 yi1 shi2"},
	{"115", "yi4 bai3 yi1 shi2 wu3"},
	{"310", "san1 bai3 yi1 shi2"},
	{"999", "jiu3 bai3 jiu3 shi2 jiu3"},

	// 4. Counts: 两 and the sandhi of 一 before measure words.
	{"2个故障", "liang3 ge4 gu4 zhang4"},
	{"有2 个故障", "you3 liang3 ge4 gu4 zhang4"},
	{"有1个故障", "you3 yi2 ge4 gu4 zhang4"},
	{"还有2个", "hai2 you3 liang3 ge4"},
	{"12个", "shi2 er4 ge4"},
	{"20个", "er4 shi2 ge4"},
	{"22个", "er4 shi2 er4 ge4"},
	{"11个", "shi2 yi1 ge4"},
	{"200个", "liang3 bai3 ge4"},
	{"102个", "yi4 bai3 ling2 er4 ge4"},
	{"0个", "ling2 ge4"},
	{"200", "liang3 bai3"},
	{"2000", "liang3 qian1"},
	{"2", "er4"},
	{"12", "shi2 er4"},
	{"20", "er4 shi2"},
	{"2分钟", "liang3 fen1 zhong1"},
	{"1分钟", "yi4 fen1 zhong1"},
	{"2小时", "liang3 xiao3 shi2"},
	{"2公里", "liang3 gong1 li3"},
	{"1公里", "yi4 gong1 li3"},
	{"2千瓦", "liang3 qian1 wa3"},
	{"1千瓦", "yi4 qian1 wa3"},
	{"2次", "liang3 ci4"},
	{"1次", "yi2 ci4"},
	{"2辆车", "liang3 liang4 che1"},
	{"1年", "yi4 nian2"},
	{"1天", "yi4 tian1"},
	{"2度", "er4 du4"},
	{"1度", "yi2 du4"},
	{"2巴", "er4 ba1"},
	{"1巴", "yi4 ba1"},
	{"2档", "er4 dang4"},
	{"1档", "yi1 dang4"},
	{"1号", "yi1 hao4"},
	{"第2个", "di4 er4 ge4"},
	{"第1个", "di4 yi1 ge4"},
	{"2，个", "er4 ge4"},
	{"2.0个", "er4 dian3 ling2 ge4"},
	{"0.2个", "ling2 dian3 er4 ge4"},
	{"2万", "liang3 wan4"},
	{"1万", "yi2 wan4"},
	{"12万", "shi2 er4 wan4"},
	{"1千", "yi4 qian1"},
	{"2亿", "liang3 yi4"},
	{"1亿", "yi2 yi4"},
	{"2点", "liang3 dian3"},
	{"1点", "yi1 dian3"},
	{"电量百分之2", "dian4 liang4 bai3 fen1 zhi1 er4"},
	{"电量百分之1", "dian4 liang4 bai3 fen1 zhi1 yi1"},
	{"2%", "bai3 fen1 zhi1 er4"},

	// 5. Latin letters, codes and units.
	{"P0AA6", "p ling2 a a liu4"},
	{"p0aa6", "p ling2 a a liu4"},
	{"Ｐ０ＡＡ６", "p ling2 a a liu4"},
	{"P0AA6：电量", "p ling2 a a liu4 dian4 liang4"},
	{"DC-DC变换器温度过高", "d c d c bian4 huan4 qi4 wen1 du4 guo4 gao1"},
	{"SOC", "s o c"},
	{"SOC 80%", "s o c bai3 fen1 zhi1 ba1 shi2"},
	{"V", "v"},
	{"V12", "v yi1 er4"},
	{"12AB", "yi1 er4 a b"},
	{"12 V", "shi2 er4 fu2"},
	{"12V", "shi2 er4 fu2"},
	{"12v", "shi2 er4 fu2"},
	{"2 V", "er4 fu2"},
	{"1 V", "yi4 fu2"},
	{"12 VW", "shi2 er4 v w"},
	{"3-5V", "san1 dao4 wu3 fu2"},
	{"7.4kW", "qi1 dian3 si4 qian1 wa3"},
	{"2 kW", "liang3 qian1 wa3"},
	{"60 km/h", "liu4 shi2 gong1 li3 mei3 xiao3 shi2"},
	{"-5℃", "fu4 wu3 she4 shi4 du4"},
	{"20°C", "er4 shi2 she4 shi4 du4"},
	{"2°", "er4 du4"},
	{"80%", "bai3 fen1 zhi1 ba1 shi2"},
	{"-5%", "fu4 bai3 fen1 zhi1 wu3"},
	{"车速超过每小时80公里", "che1 su4 chao1 guo4 mei3 xiao3 shi2 ba1 shi2 gong1 li3"},
}

func TestPronounceNumbers(t *testing.T) {
	c := mustParse(t, speechGrammar)
	for _, tc := range pronounceCases {
		if got := c.Pronounce(tc.in); got != tc.want {
			t.Errorf("Pronounce(%q)\n  = %q\n want %q", tc.in, got, tc.want)
		}
	}
}

// TestPronounceNumberWords: a number in digits reads as the number words
// of the grammar (Number, NumberPinyin) for 0..MaxNumber, except 两 for
// the 2 of 200..299.
func TestPronounceNumberWords(t *testing.T) {
	c := mustParse(t, speechGrammar)
	for n := 0; n <= MaxNumber; n++ {
		want, err := NumberPinyin(n)
		if err != nil {
			t.Fatal(err)
		}
		if n >= 200 && n < 300 {
			want = "liang3" + strings.TrimPrefix(want, "er4")
		}
		digits := strconv.Itoa(n)
		if got := c.Pronounce(digits); got != want {
			t.Errorf("Pronounce(%q) = %q, want %q", digits, got, want)
		}
	}
}

// speechPieces are what FuzzPronounce writes zh sentences from: digits,
// signs, dashes, points, ASCII and full-width letters, unit symbols,
// punctuation and the words of speechGrammar's lexicon.
var speechPieces = func() []string {
	p := strings.Fields(`0 1 2 3 4 5 6 7 8 9 ０ ５ - − － + . , % ％ ~ ～ — – / ° ℃ ℉ ， 。 ： ；
		a b c P V v k W h m A C F D O S Ｐ km kW kWh bar 百 千 万 亿 点 负 两 一 二 十 零`)
	p = append(p, " ", "  ")
	c, err := Parse("speech.yaml", []byte(speechGrammar))
	if err != nil {
		panic(err)
	}
	for w := range c.Lexicon {
		p = append(p, w)
	}
	return p
}()

// spokenTokenRE: a pinyin syllable with its tone, or a letter spelled.
var spokenTokenRE = regexp.MustCompile(`^([a-z]+[1-5]|[a-z])$`)

// FuzzPronounce: no panic on any text; the reading is words separated by
// single spaces; a zh sentence made of digits, signs, letters, unit
// symbols, punctuation and lexicon words reads as ASCII pinyin syllables
// and spelled letters only.
func FuzzPronounce(f *testing.F) {
	for _, tc := range pronounceCases {
		f.Add(tc.in)
	}
	f.Add("\xff\xfe-1\u0301.5")
	c := mustParse(f, speechGrammar)
	f.Fuzz(func(t *testing.T, s string) {
		check := func(in string) string {
			out := c.Pronounce(in)
			if out != strings.Join(strings.Fields(out), " ") {
				t.Fatalf("Pronounce(%q) = %q: not single-spaced words", in, out)
			}
			return out
		}
		check(s)
		// The same bytes choose pieces of a sentence.
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			b.WriteString(speechPieces[int(s[i])%len(speechPieces)])
		}
		in := b.String()
		out := check(in)
		for _, tok := range strings.Fields(out) {
			if !spokenTokenRE.MatchString(tok) {
				t.Fatalf("Pronounce(%q) = %q: token %q is neither pinyin nor a letter", in, out, tok)
			}
		}
		if !utf8.ValidString(out) {
			t.Fatalf("Pronounce(%q) = %q: invalid UTF-8", in, out)
		}
	})
}
