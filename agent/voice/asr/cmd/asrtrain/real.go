package main

import (
	"context"
	"strings"

	"github.com/evedge/evedge/agent/voice/asr"
	"github.com/evedge/evedge/agent/voice/asr/adapt"
	"github.com/evedge/evedge/agent/voice/intent"
)

// Real speech in training: FSDD recordings of the listed speakers (the
// others stay held out for evaluation). Their words are known from the
// file names; frame labels come from a forced alignment of the word's
// espeak pronunciation against the audio with an existing acoustic model
// (models/voice), the classic bootstrap of HMM training.

func speakerSet(list string) map[string]bool {
	set := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			set[s] = true
		}
	}
	return set
}

// loadReal aligns the FSDD recordings of speakers with model m.
func loadReal(dir string, speakers map[string]bool, m *asr.Model) ([]utt, error) {
	rus, names, err := adapt.LoadFSDD(context.Background(), asr.Espeak{}, dir, speakers, m)
	if err != nil {
		return nil, err
	}
	us := make([]utt, len(rus))
	for i, u := range rus {
		d, _, _ := adapt.FSDDFile(names[i])
		us[i] = utt{job: job{ID: names[i], Lang: intent.English, Text: adapt.DigitWords[d]}, Utt: u}
	}
	return us, nil
}
