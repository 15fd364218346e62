package intent

import "testing"

func BenchmarkMatch(b *testing.B) {
	c := mustParse(b, enGrammar)
	for _, text := range []string{"What's my range?", "heat the driver's seat to level two", "open the trunk please"} {
		b.Run(text, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Match(text)
			}
		})
	}
	z := mustParse(b, zhGrammar)
	b.Run("zh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			z.Match("把空调调到二十一度")
		}
	})
}

// BenchmarkCompile parses, validates and compiles a context (Parse does
// all three).
func BenchmarkCompile(b *testing.B) {
	data := []byte(enGrammar)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bench.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
