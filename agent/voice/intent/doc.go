// Package intent is the grammar layer of the cabin voice assistant: it
// reads contexts (one YAML file per language listing intents, sentence
// templates and slot lists), compiles each into a word graph that a
// constrained speech decoder can walk, enumerates its sentences for
// synthesising speech, and matches recognised text to an intent and its
// slot values. A new context is data only: no code changes.
//
// # Context files
//
//	language: en            # en, zh, de, es or fr
//	intents:
//	  GetRange:
//	    templates: ["what's my range", "how (far|much further) can I (drive|go)"]
//	    response: "Battery at {soc} percent, about {range} kilometres of range"
//	  OpenWindow:
//	    templates: ["open [the] {window} window", "open my window"]
//	    response: "Opening {window}"
//	  SetTemperature:
//	    templates: ["set [the] temperature to {temperature} [degrees]"]
//	slots:
//	  window: [front left, front right]               # phrase; value = the phrase
//	  seat:                                           # phrases → value
//	    - {in: "driver", out: driver}
//	    - {in: ["passenger", "co-driver"], out: passenger, say: "the passenger"}
//	  temperature: {from: 16, to: 28, step: 1}        # numbers, spoken as words
//	responses: {cancel: "OK", not_understood: "Sorry?", refused: "I can't do that now: {reason}"}
//	lexicon: {打开: da3 kai1}                          # zh only: every word → pinyin
//	pronounce: {ioniq: eye on ick, latte: [lah tay, la tay]}  # not zh: words as the synthesiser should read them
//
// Templates: words separated by spaces; (a|b) one of the alternatives;
// [a] or [a|b] optional; {list} a value of a slot list, filling the slot
// of the same name; {list:name} fills slot name instead (two lists can
// fill one slot: "{window}" and "{all_windows:window}"). Groups nest. A
// template must not match the empty sentence nor fill a slot twice.
//
// Slot lists are lists of phrases or of {in, out, say} entries (in: one
// phrase or a list; out: the value, a string or an integer, the same in
// every language; say: the phrase for responses, default the first in),
// or a range {from, to, step} of integers 0..999 spoken as words in the
// context's language (see Number). A phrase may not mean two values.
//
// Responses (per intent, and shared ones under responses:) are text with
// {placeholders}: slot names, said with the value's phrase, and live
// values the agent supplies (Respond, Fill).
//
// Chinese (zh) templates are written in hanzi with words separated by
// spaces (the author's segmentation); the lexicon maps every word used in
// a template or slot phrase to pinyin with tone numbers, one syllable per
// character ("空调: kong1 tiao2"). Number words need no entry.
//
// Pronounce entries (Context.SaysAs) give words the speech synthesiser
// reads wrongly (brands, place names, loanwords) as text it reads right,
// up to 4 forms a word; the key must be a word of the context.
//
// Every problem found by Parse is an *Error naming file, line, column and
// field (unknown slot list, unbalanced brackets, empty alternative,
// duplicate intent, bad range, unsupported language, missing pinyin...).
//
// # Words and matching
//
// Graph words are lower case; punctuation and hyphens separate words
// ("soixante-dix" is two words); apostrophes inside a word are kept
// ("what's"), and in French an elided word ends at its apostrophe ("l'"
// "autonomie"). Match also ignores accents and apostrophes, reads digits as
// the number they spell, and reads Chinese character by character, so
// spaces in Chinese text are optional.
//
// Match walks the precompiled graph with a set of active states, one per
// node; it allocates only the result's slot map.
package intent
