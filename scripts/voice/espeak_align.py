#!/usr/bin/python3
"""Synthesise sentences with libespeak-ng and write their phoneme alignment.

Reads jobs from stdin, one per line, tab-separated:
    id  voice  rate  pitch  text
and writes into OUTDIR (argv[1]) for each job:
    id.raw  mono int16 little-endian samples at the rate printed first on stdout
    id.ali  one line per phoneme event: "sample<TAB>ipa" (start sample, IPA
            of the phoneme; an empty ipa is a pause)
Uses only the standard library (ctypes) and Debian's libespeak-ng.so.1, so
that the phoneme timings are espeak's own, exact to the sample. Prints
"rate <hz>" then "ok <id>" or "err <id> <reason>" per job.
"""
import ctypes
import os
import sys

AUDIO_OUTPUT_SYNCHRONOUS = 2
INIT_PHONEME_EVENTS = 0x0001
INIT_PHONEME_IPA = 0x0002
EV_LIST_TERMINATED, EV_PHONEME = 0, 7
RATE, PITCH, RANGE = 1, 3, 4
CHARS_UTF8 = 1


class _ID(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("uid", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _ID)]


_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lib = ctypes.CDLL("libespeak-ng.so.1")
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, INIT_PHONEME_EVENTS | INIT_PHONEME_IPA)
    print("rate", rate, flush=True)
    cur = {"pcm": bytearray(), "ev": []}

    def cb(wav, n, ev):
        if wav and n > 0:
            cur["pcm"] += ctypes.string_at(wav, 2 * n)
        i = 0
        while ev[i].type != EV_LIST_TERMINATED:
            e = ev[i]
            if e.type == EV_PHONEME:
                cur["ev"].append((e.sample, e.id.string.decode("utf-8", "replace")))
            i += 1
        return 0

    keep = _CB(cb)
    lib.espeak_SetSynthCallback(keep)
    for line in sys.stdin:
        f = line.rstrip("\n").split("\t")
        if len(f) != 5:
            continue
        jid, voice, spd, pitch, text = f
        cur["pcm"], cur["ev"] = bytearray(), []
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            print("err", jid, "voice", voice, flush=True)
            continue
        lib.espeak_SetParameter(RATE, int(spd), 0)
        lib.espeak_SetParameter(PITCH, int(pitch), 0)
        t = text.encode()
        lib.espeak_Synth(t, len(t) + 1, 0, 0, 0, CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        with open(os.path.join(out, jid + ".raw"), "wb") as w:
            w.write(cur["pcm"])
        with open(os.path.join(out, jid + ".ali"), "w") as w:
            for s, p in cur["ev"]:
                w.write("%d\t%s\n" % (s, p))
        print("ok", jid, flush=True)


if __name__ == "__main__":
    main()
