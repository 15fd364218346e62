package main

import (
	"context"
	"fmt"

	"github.com/evedge/evedge/agent/service"
	"github.com/evedge/evedge/agent/voice/dialog"
	"github.com/evedge/evedge/agent/voice/intent"
	"github.com/evedge/evedge/board"
	"github.com/evedge/evedge/drivers/audio"
	"github.com/evedge/evedge/drivers/can"
)

// apiVoice serves the service API's POST /api/v1/voice/ask from the
// agent's dialogue: the same dialogue as the microphone loop, so requests
// share its safety gate, rate limits and repeat/cancel memory, and the
// reply has the fields of an `evedge ask` line. Wire it in run.go with
//
//	o.Voice = newAPIVoice(dlg, prof)
//	if asst != nil { // a running microphone loop
//		o.PushToTalk = asst
//	}
type apiVoice struct {
	d      *dialog.Dialogue
	ifaces map[uint8]string // bus -> interface name, for the frames
}

var _ service.VoiceDialogue = (*apiVoice)(nil)

// newAPIVoice adapts d to service.VoiceDialogue; prof names the buses'
// interfaces in the frames ("can1 351#10...").
func newAPIVoice(d *dialog.Dialogue, prof *board.Profile) *apiVoice {
	v := &apiVoice{d: d, ifaces: map[uint8]string{}}
	if prof != nil {
		for _, c := range prof.CAN {
			v.ifaces[uint8(c.Bus)] = c.Interface
		}
	}
	return v
}

// Ask implements service.VoiceDialogue. The service has checked the
// request; the checks here only keep the adapter safe on its own.
func (v *apiVoice) Ask(ctx context.Context, req service.VoiceRequest) (service.VoiceReply, error) {
	if err := ctx.Err(); err != nil {
		return service.VoiceReply{}, err
	}
	lang := intent.Language(req.Lang)
	if lang != "" && !lang.Supported() {
		return service.VoiceReply{}, fmt.Errorf("voice: language %q not supported", req.Lang)
	}
	zone := audio.ZoneDriver
	if req.Zone != "" {
		z, err := audio.ParseZone(req.Zone)
		if err != nil || z == audio.ZoneUnknown {
			return service.VoiceReply{}, fmt.Errorf("voice: unknown cabin zone %q", req.Zone)
		}
		zone = z
	}
	return apiVoiceReply(v.d.Ask(req.Text, lang, zone), v.ifaces), nil
}

// apiVoiceReply converts a dialogue reply to the API's (and `evedge
// ask`'s) JSON shape; the service sets MS.
func apiVoiceReply(rep dialog.Reply, ifaces map[uint8]string) service.VoiceReply {
	out := service.VoiceReply{
		Text: rep.Text, Lang: string(rep.Lang), Zone: rep.Zone.String(), Understood: rep.Understood,
		Intent: rep.Intent, Slots: make(map[string]any, len(rep.Slots)), Answer: rep.Answer,
		Actions: make([]service.VoiceAction, 0, len(rep.Actions)),
	}
	for k, s := range rep.Slots {
		out.Slots[k] = s
	}
	if rep.Refused != "" {
		r := string(rep.Refused)
		out.Refused = &r
	}
	for _, a := range rep.Actions {
		f := a.Frame
		va := service.VoiceAction{
			Kind: string(a.Kind), Message: a.Message, Cancel: a.Undo, Sent: a.Sent,
			Frame:   ifaceName(ifaces, f.Bus) + " " + string(can.AppendCompact(nil, &f)),
			Signals: make(map[string]any, len(a.Signals)),
		}
		for _, s := range a.Signals {
			if s.Label != "" {
				va.Signals[s.Name] = s.Label
			} else {
				va.Signals[s.Name] = s.Value
			}
		}
		out.Actions = append(out.Actions, va)
	}
	return out
}
