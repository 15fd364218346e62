package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evedge/evedge/agent/sim"
)

const askBoard = "../../../board/sim.toml"

// askRun runs evedge ask and decodes its JSON lines.
func askRun(t *testing.T, stdin string, args ...string) []askLine {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(append([]string{"ask", "--board", askBoard}, args...), strings.NewReader(stdin), &out, &errb); code != 0 {
		t.Fatalf("evedge ask %q: exit %d: %s", args, code, errb.String())
	}
	var lines []askLine
	dec := json.NewDecoder(&out)
	for dec.More() {
		var l askLine
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("output not JSON lines: %v\n%s", err, out.String())
		}
		lines = append(lines, l)
	}
	return lines
}

// writeState writes a state file: values (VSS path to number or bool),
// faults and trouble codes.
func writeState(t *testing.T, values map[string]any, faults, dtcs []string) string {
	t.Helper()
	doc := map[string]any{"values": values}
	if faults != nil {
		doc["faults"] = faults
	}
	if dtcs != nil {
		doc["dtcs"] = dtcs
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// parkedCharging is a car parked in P and DC charging. The expected
// answers below are worked out by hand from these numbers: SOC 76.4 -> 76;
// 312.4 km -> 310 (spoken to 5 km); 48.7 kW -> 49; 2090 s -> 35 min
// (rounded up); 21.6 °C -> 22; 238/244/251/262 kPa -> 2.4/2.4/2.5/2.6 bar.
func parkedCharging() map[string]any {
	return map[string]any{
		"Vehicle.Speed": 0,
		"Vehicle.Powertrain.Transmission.SelectedGear":               126,
		"Vehicle.Powertrain.TractionBattery.StateOfCharge.Displayed": 76.4,
		"Vehicle.Powertrain.Range":                                   312400,
		"Vehicle.Powertrain.TractionBattery.Charging.IsCharging":     true,
		"Vehicle.Powertrain.TractionBattery.CurrentPower":            48700,
		"Vehicle.Powertrain.TractionBattery.Charging.TimeToComplete": 2090,
		"Vehicle.Cabin.HVAC.AmbientAirTemperature":                   21.6,
		"Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature":         20,
		"Vehicle.Cabin.IsWindowChildLockEngaged":                     false,
		"Vehicle.Cabin.Door.Row2.DriverSide.IsChildLockActive":       false,
		"Vehicle.Cabin.Door.Row2.PassengerSide.IsChildLockActive":    false,
		"Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure":         238,
		"Vehicle.Chassis.Axle.Row1.Wheel.Right.Tire.Pressure":        244,
		"Vehicle.Chassis.Axle.Row2.Wheel.Left.Tire.Pressure":         251,
		"Vehicle.Chassis.Axle.Row2.Wheel.Right.Tire.Pressure":        262,
		"Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling":          100,
		"Vehicle.Cabin.Light.IsDomeOn":                               true,
		"Vehicle.Body.Lights.Beam.Low.IsOn":                          false,
	}
}

// askCase is one turn and what must come out: the answer and, for an
// action, the frame in candump syntax, worked out by hand from the DBC's
// bit layout (board/sim/sim-ev.dbc):
//
//	350#2A01...: HVAC_Cmd SetpointReq 21 °C / 0.5 = 42, HVACOnReq (bits 8-9) 1 On
//	350#2C01...: the same at 22 °C (44)
//	351#10...:   BCM_WindowCmd WindowCmdRL (bits 4-5) 1 Open
//	351#AA...:   all four windows 2 Close
//	352#D70F...: SeatHeatCmd passenger (bits 3-5) 2, the others 7 NoChange: 7|2<<3|7<<6|7<<9
//	352#DF0F...: passenger 3: 7|3<<3|7<<6|7<<9
//	352#F80F...: driver (bits 0-2) 0: 7<<3|7<<6|7<<9
//	352#3F0E...: rear left (bits 6-8) 0: 7|7<<3|7<<9
//	353#FD...:   LightCmd LowBeamReq (bits 0-1) 1 On, the others 3 NoChange
//	353#CF...:   DomeLightReq (bits 4-5) 0 Off
//	353#DF...:   DomeLightReq 1 On (cancel: the dome light was on)
type askCase struct {
	lang, text, intent, answer, frame string
}

const (
	fSet21    = "sim0 350#2A01000000000000"
	fSet22    = "sim0 350#2C01000000000000"
	fOpenRL   = "sim0 351#1000000000000000"
	fCloseAll = "sim0 351#AA00000000000000"
	fSeatP2   = "sim0 352#D70F000000000000"
	fSeatP3   = "sim0 352#DF0F000000000000"
	fSeatDOff = "sim0 352#F80F000000000000"
	fSeatRL0  = "sim0 352#3F0E000000000000"
	fLowOn    = "sim0 353#FD00000000000000"
	fDomeOff  = "sim0 353#CF00000000000000"
	fDomeOn   = "sim0 353#DF00000000000000"
)

var everyIntent = []askCase{
	{"en", "What's my range?", "GetRange", "Battery at 76 percent, about 310 kilometres of range.", ""},
	{"en", "how full is the battery", "GetBatteryLevel", "The battery is at 76 percent.", ""},
	{"en", "Is the car still charging?", "GetChargingStatus", "Charging at 49 kilowatts, battery at 76 percent.", ""},
	{"en", "when will it be full", "GetTimeToFull", "About 35 minutes until the battery is full.", ""},
	{"en", "Are there any fault codes?", "GetFaults", "2 faults: Insulation resistance too low; P0AA6: Hybrid/EV Battery Voltage System Isolation Fault.", ""},
	{"en", "what are the tyre pressures", "GetTyrePressure", "Tyre pressures in bar: front left 2.4, front right 2.4, rear left 2.5, rear right 2.6.", ""},
	{"en", "how much air is in the back right tyre", "GetTyrePressure", "The rear right tyre is at 2.6 bar.", ""},
	{"en", "what's the cabin temperature", "GetCabinTemperature", "It's 22 degrees inside.", ""},
	{"en", "Set the temperature to twenty-one degrees.", "SetTemperature", "Setting the temperature to 21 degrees.", fSet21},
	{"en", "open the rear left window", "OpenWindow", "Opening the rear left window.", fOpenRL},
	{"en", "roll all windows up", "CloseWindow", "Closing all windows.", fCloseAll},
	{"en", "Switch on the passenger seat heater to level 2", "SeatHeatingOn", "Seat heating on for the passenger seat, level 2.", fSeatP2},
	{"en", "switch my seat heater off", "SeatHeatingOff", "Seat heating off for the driver's seat.", fSeatDOff},
	{"en", "turn on the headlights", "LightsOn", "Turning on the headlights.", fLowOn},
	{"en", "turn off the interior lights", "LightsOff", "Turning off the interior lights.", fDomeOff},
	{"en", "say that again", "Repeat", "I said: Turning off the interior lights.", ""},
	{"en", "never mind", "Cancel", "OK, cancelled.", fDomeOn},
	{"en", "Hey car!", "Wake", "Yes?", ""},

	{"de", "Wie weit komme ich noch?", "GetRange", "Akku bei 76 Prozent, etwa 310 Kilometer Reichweite.", ""},
	{"de", "Wie voll ist der Akku?", "GetBatteryLevel", "Der Akku ist bei 76 Prozent.", ""},
	{"de", "Lädt das Auto gerade?", "GetChargingStatus", "Ladeleistung 49 Kilowatt, Akku bei 76 Prozent.", ""},
	{"de", "wann ist die Batterie voll geladen", "GetTimeToFull", "Noch etwa 35 Minuten, bis der Akku voll ist.", ""},
	{"de", "Gibt es Fehlermeldungen?", "GetFaults", "2 Fehler: Isolationswiderstand zu niedrig; P0AA6: Isolationswiderstand zu niedrig.", ""},
	{"de", "wie ist der Reifendruck", "GetTyrePressure", "Reifendruck in bar: vorne links 2,4, vorne rechts 2,4, hinten links 2,5, hinten rechts 2,6.", ""},
	{"de", "wie viel Luft hat der Reifen vorne rechts", "GetTyrePressure", "Der Reifen vorne rechts hat 2,4 bar.", ""},
	{"de", "Wie warm ist es im Auto?", "GetCabinTemperature", "Im Innenraum sind es 22 Grad.", ""},
	{"de", "Stell die Temperatur auf einundzwanzig Grad.", "SetTemperature", "Ich stelle die Temperatur auf 21 Grad.", fSet21},
	{"de", "öffne das Fenster hinten links", "OpenWindow", "Ich öffne das Fenster hinten links.", fOpenRL},
	{"de", "alle Fenster zu", "CloseWindow", "Ich schließe alle Fenster.", fCloseAll},
	{"de", "Sitzheizung Beifahrer Stufe drei", "SeatHeatingOn", "Sitzheizung für den Beifahrersitz an, Stufe 3.", fSeatP3},
	{"de", "Sitzheizung hinten links aus", "SeatHeatingOff", "Sitzheizung für den Sitz hinten links aus.", fSeatRL0},
	{"de", "Licht an", "LightsOn", "Ich schalte die Scheinwerfer ein.", fLowOn},
	{"de", "schalte die Innenbeleuchtung aus", "LightsOff", "Ich schalte die Innenbeleuchtung aus.", fDomeOff},
	{"de", "Wie bitte?", "Repeat", "Ich sagte: Ich schalte die Innenbeleuchtung aus.", ""},
	{"de", "Vergiss es.", "Cancel", "Okay, abgebrochen.", fDomeOn},
	{"de", "Hallo Auto", "Wake", "Ja?", ""},

	{"es", "¿Cuánta autonomía me queda?", "GetRange", "Batería al 76 por ciento, unos 310 kilómetros de autonomía.", ""},
	{"es", "¿Cuál es el nivel de batería?", "GetBatteryLevel", "La batería está al 76 por ciento.", ""},
	{"es", "¿Se está cargando el coche?", "GetChargingStatus", "Cargando a 49 kilovatios, batería al 76 por ciento.", ""},
	{"es", "¿Cuánto falta para la carga completa?", "GetTimeToFull", "Faltan unos 35 minutos para que la batería esté llena.", ""},
	{"es", "¿Hay algún error?", "GetFaults", "2 fallos: Resistencia de aislamiento demasiado baja; P0AA6: Resistencia de aislamiento demasiado baja.", ""},
	{"es", "¿Cuál es la presión de los neumáticos?", "GetTyrePressure", "Presión de los neumáticos en bar: delantero izquierdo 2,4, delantero derecho 2,4, trasero izquierdo 2,5, trasero derecho 2,6.", ""},
	{"es", "presión del neumático delantero derecho", "GetTyrePressure", "El neumático delantero derecho está a 2,4 bar.", ""},
	{"es", "cuál es la temperatura interior", "GetCabinTemperature", "Dentro hace 22 grados.", ""},
	{"es", "Pon la temperatura a veintiún grados", "SetTemperature", "Pongo la temperatura a 21 grados.", fSet21},
	{"es", "abre la ventanilla trasera izquierda", "OpenWindow", "Abro la ventanilla trasera izquierda.", fOpenRL},
	{"es", "sube todas las ventanas", "CloseWindow", "Cierro todas las ventanillas.", fCloseAll},
	{"es", "pon la calefacción del asiento del copiloto a nivel dos", "SeatHeatingOn", "Calefacción del asiento del acompañante encendida, nivel 2.", fSeatP2},
	{"es", "Apaga la calefacción del asiento trasero izquierdo", "SeatHeatingOff", "Calefacción del asiento trasero izquierdo apagada.", fSeatRL0},
	{"es", "Enciende las luces", "LightsOn", "Enciendo las luces.", fLowOn},
	{"es", "Apaga la luz interior", "LightsOff", "Apago la luz interior.", fDomeOff},
	{"es", "dilo otra vez", "Repeat", "He dicho: Apago la luz interior.", ""},
	{"es", "Cancela.", "Cancel", "Vale, cancelado.", fDomeOn},
	{"es", "Oye, coche.", "Wake", "¿Sí?", ""},

	{"fr", "Quelle est mon autonomie ?", "GetRange", "Batterie à 76 pour cent, environ 310 kilomètres d'autonomie.", ""},
	{"fr", "Quel est le niveau de la batterie ?", "GetBatteryLevel", "La batterie est à 76 pour cent.", ""},
	{"fr", "Est-ce que la voiture est en charge ?", "GetChargingStatus", "Charge à 49 kilowatts, batterie à 76 pour cent.", ""},
	{"fr", "Dans combien de temps la batterie sera pleine ?", "GetTimeToFull", "Encore environ 35 minutes avant que la batterie soit pleine.", ""},
	{"fr", "Y a-t-il des défauts ?", "GetFaults", "2 défauts : Résistance d'isolement trop faible ; P0AA6 : Résistance d'isolement trop faible.", ""},
	{"fr", "Quelle est la pression des pneus ?", "GetTyrePressure", "Pression des pneus en bar : avant gauche 2,4, avant droit 2,4, arrière gauche 2,5, arrière droit 2,6.", ""},
	{"fr", "quelle est la pression du pneu arrière droit", "GetTyrePressure", "Le pneu arrière droit est à 2,6 bar.", ""},
	{"fr", "quelle est la température de l'habitacle", "GetCabinTemperature", "Il fait 22 degrés à l'intérieur.", ""},
	{"fr", "Mets la température à vingt et un degrés", "SetTemperature", "Je règle la température à 21 degrés.", fSet21},
	{"fr", "ouvre la vitre arrière gauche", "OpenWindow", "J'ouvre la vitre arrière gauche.", fOpenRL},
	{"fr", "remonte toutes les vitres", "CloseWindow", "Je ferme toutes les vitres.", fCloseAll},
	{"fr", "active le siège chauffant du passager au niveau deux", "SeatHeatingOn", "Chauffage du siège passager allumé, niveau 2.", fSeatP2},
	{"fr", "coupe mon siège chauffant", "SeatHeatingOff", "Chauffage du siège conducteur éteint.", fSeatDOff},
	{"fr", "Allume les phares", "LightsOn", "J'allume les phares.", fLowOn},
	{"fr", "Éteins le plafonnier", "LightsOff", "J'éteins l'éclairage intérieur.", fDomeOff},
	{"fr", "Tu peux répéter ?", "Repeat", "J'ai dit : J'éteins l'éclairage intérieur.", ""},
	{"fr", "Annule.", "Cancel", "D'accord, c'est annulé.", fDomeOn},
	{"fr", "Dis voiture", "Wake", "Oui ?", ""},

	{"zh", "还能开多远？", "GetRange", "电量百分之76，大约还能行驶310公里。", ""},
	{"zh", "电池还有多少电", "GetBatteryLevel", "电池电量百分之76。", ""},
	{"zh", "车在充电吗？", "GetChargingStatus", "正在以49千瓦充电，电量百分之76。", ""},
	{"zh", "还要多久充满", "GetTimeToFull", "大约还要35分钟充满。", ""},
	{"zh", "车有没有故障", "GetFaults", "有2个故障：绝缘电阻过低；P0AA6：绝缘电阻过低。", ""},
	{"zh", "胎压是多少", "GetTyrePressure", "胎压，左前2.4，右前2.4，左后2.5，右后2.6巴。", ""},
	{"zh", "左前轮胎压是多少", "GetTyrePressure", "左前轮胎压2.4巴。", ""},
	{"zh", "车内温度是多少", "GetCabinTemperature", "车内现在22度。", ""},
	{"zh", "把空调调到二十二度", "SetTemperature", "好的，温度调到22度。", fSet22},
	{"zh", "打开左后车窗", "OpenWindow", "正在打开左后车窗。", fOpenRL},
	{"zh", "关闭全部车窗", "CloseWindow", "正在关闭所有车窗。", fCloseAll},
	{"zh", "把副驾驶座椅加热调到三档", "SeatHeatingOn", "副驾座椅加热已打开，3档。", fSeatP3},
	{"zh", "关闭后排左侧座椅加热", "SeatHeatingOff", "左后座椅加热已关闭。", fSeatRL0},
	{"zh", "打开大灯", "LightsOn", "正在打开大灯。", fLowOn},
	{"zh", "关掉室内灯", "LightsOff", "正在关闭车内灯。", fDomeOff},
	{"zh", "请再说一遍", "Repeat", "我刚才说：正在关闭车内灯。", ""},
	{"zh", "取消", "Cancel", "好的，已取消。", fDomeOn},
	{"zh", "你好汽车", "Wake", "我在", ""},
}

// checkTurns compares the JSON lines with the cases.
func checkTurns(t *testing.T, lines []askLine, cases []askCase) {
	t.Helper()
	if len(lines) != len(cases) {
		t.Fatalf("%d lines for %d turns", len(lines), len(cases))
	}
	for i, c := range cases {
		l := lines[i]
		if l.Text != c.text || l.Lang != c.lang || l.Intent != c.intent || !l.Understood {
			t.Errorf("%s %q: lang %s intent %q understood %v, want %s %s", c.lang, c.text, l.Lang, l.Intent, l.Understood, c.lang, c.intent)
		}
		if l.Answer != c.answer {
			t.Errorf("%s %q:\n  answer %q\n  want   %q", c.lang, c.text, l.Answer, c.answer)
		}
		var frames []string
		for _, a := range l.Actions {
			frames = append(frames, a.Frame)
			if !a.Sent {
				t.Errorf("%s %q: action not sent", c.lang, c.text)
			}
		}
		want := []string(nil)
		if c.frame != "" {
			want = []string{c.frame}
		}
		if strings.Join(frames, " ") != strings.Join(want, " ") {
			t.Errorf("%s %q: frames %v, want %v", c.lang, c.text, frames, want)
		}
		if l.Refused != nil {
			t.Errorf("%s %q: refused %s", c.lang, c.text, *l.Refused)
		}
		if c.intent == "Cancel" && (len(l.Actions) != 1 || !l.Actions[0].Cancel) {
			t.Errorf("%s %q: no cancelling action", c.lang, c.text)
		}
	}
}

// TestAskEveryIntentEveryLanguage: every intent of the car context in
// every language, from a state file, with the language found from the
// text, the numbers from the file and the frames from the DBC.
func TestAskEveryIntentEveryLanguage(t *testing.T) {
	state := writeState(t, parkedCharging(), []string{"insulation"}, []string{"P0AA6"})
	var texts []string
	for _, c := range everyIntent {
		texts = append(texts, c.text)
	}
	lines := askRun(t, "", append([]string{"--state", state, "--settle", "1s"}, texts...)...)
	checkTurns(t, lines, everyIntent)
	for _, l := range lines {
		if l.Zone != "driver" || l.MS < 0 || l.Slots == nil || l.Actions == nil {
			t.Errorf("%q: zone %q ms %v slots %v actions %v", l.Text, l.Zone, l.MS, l.Slots, l.Actions)
		}
		for _, a := range l.Actions {
			if a.Applied || a.State != nil {
				t.Errorf("%q: state file, but the action was applied: %+v", l.Text, a)
			}
		}
	}
}

// Per language: "open my window", "open the rear left window", "turn on
// the headlights", an unknown request.
var gateTexts = map[string][4]string{
	"en": {"open my window", "open the rear left window", "turn on the headlights", "open the boot"},
	"de": {"mach mein Fenster auf", "öffne das Fenster hinten links", "Licht an", "öffne den Kofferraum"},
	"es": {"abre mi ventana", "abre la ventanilla trasera izquierda", "Enciende las luces", "abre el maletero"},
	"fr": {"ouvre ma fenêtre", "ouvre la vitre arrière gauche", "Allume les phares", "ouvre le coffre"},
	"zh": {"打开我的车窗", "打开左后车窗", "打开大灯", "打开后备箱"},
}

var langs = []string{"en", "de", "es", "fr", "zh"}

// refusals are the answers for each gate, written out per language.
var refusals = map[string]map[string]string{
	"speed": {
		"en": "I can't do that now: the car is faster than 80 kilometres per hour.",
		"de": "Das geht gerade nicht: das Auto fährt schneller als 80 Kilometer pro Stunde.",
		"es": "Ahora no puedo hacerlo: el coche va a más de 80 kilómetros por hora.",
		"fr": "Je ne peux pas le faire maintenant : la voiture roule à plus de 80 kilomètres par heure.",
		"zh": "现在无法执行：车速超过每小时80公里。",
	},
	"child_lock": {
		"en": "I can't do that now: the child lock is on.",
		"de": "Das geht gerade nicht: die Kindersicherung ist aktiv.",
		"es": "Ahora no puedo hacerlo: el seguro para niños está activado.",
		"fr": "Je ne peux pas le faire maintenant : la sécurité enfants est activée.",
		"zh": "现在无法执行：儿童锁已开启。",
	},
	"child_lock_unknown": {
		"en": "I can't do that now: I can't tell whether the child lock is on.",
		"de": "Das geht gerade nicht: ich weiß nicht, ob die Kindersicherung aktiv ist.",
		"es": "Ahora no puedo hacerlo: no sé si el seguro para niños está activado.",
		"fr": "Je ne peux pas le faire maintenant : je ne sais pas si la sécurité enfants est activée.",
		"zh": "现在无法执行：无法确认儿童锁状态。",
	},
	"reverse": {
		"en": "I can't do that now: the car is in reverse.",
		"de": "Das geht gerade nicht: der Rückwärtsgang ist eingelegt.",
		"es": "Ahora no puedo hacerlo: el coche va marcha atrás.",
		"fr": "Je ne peux pas le faire maintenant : la marche arrière est engagée.",
		"zh": "现在无法执行：车辆正在倒车。",
	},
	"speed_unknown": {
		"en": "I can't do that now: I don't know how fast the car is going.",
		"de": "Das geht gerade nicht: ich kenne die Geschwindigkeit nicht.",
		"es": "Ahora no puedo hacerlo: no sé a qué velocidad va el coche.",
		"fr": "Je ne peux pas le faire maintenant : je ne connais pas la vitesse de la voiture.",
		"zh": "现在无法执行：无法获取车速。",
	},
	"gear_unknown": {
		"en": "I can't do that now: I don't know which gear is selected.",
		"de": "Das geht gerade nicht: ich weiß nicht, welcher Gang eingelegt ist.",
		"es": "Ahora no puedo hacerlo: no sé qué marcha está puesta.",
		"fr": "Je ne peux pas le faire maintenant : je ne sais pas quel rapport est engagé.",
		"zh": "现在无法执行：无法获取当前档位。",
	},
	"board_speed": {
		"en": "I can't do that now: this is only allowed below 30 kilometres per hour.",
		"de": "Das geht gerade nicht: das geht nur unter 30 Kilometer pro Stunde.",
		"es": "Ahora no puedo hacerlo: solo se puede por debajo de 30 kilómetros por hora.",
		"fr": "Je ne peux pas le faire maintenant : ce n'est possible qu'en dessous de 30 kilomètres par heure.",
		"zh": "现在无法执行：仅在车速低于每小时30公里时可用。",
	},
	"not_allowed": {
		"en": "This car doesn't let me control the windows.",
		"de": "Bei diesem Auto kann ich die Fenster nicht steuern.",
		"es": "Este coche no me deja controlar las ventanillas.",
		"fr": "Cette voiture ne me laisse pas commander les vitres.",
		"zh": "这辆车不允许我控制车窗。",
	},
	"rate_limit": {
		"en": "I can't do that now: that came too soon after the last command, please try again.",
		"de": "Das geht gerade nicht: das kam zu schnell nach dem letzten Befehl, bitte noch einmal.",
		"es": "Ahora no puedo hacerlo: ha sido demasiado seguido, inténtalo otra vez.",
		"fr": "Je ne peux pas le faire maintenant : c'était trop rapide après la dernière commande, réessayez.",
		"zh": "现在无法执行：操作过于频繁，请稍后再试。",
	},
	// Not refusals: what the car does not report, and what is not understood.
	"unknown_range": {
		"en": "I don't have the range right now.",
		"de": "Die Reichweite kenne ich gerade nicht.",
		"es": "Ahora mismo no sé la autonomía.",
		"fr": "Je n'ai pas l'autonomie pour le moment.",
		"zh": "暂时无法获取续航里程。",
	},
	"not_understood": {
		"en": "Sorry, I didn't catch that.",
		"de": "Entschuldigung, das habe ich nicht verstanden.",
		"es": "Perdona, no te he entendido.",
		"fr": "Pardon, je n'ai pas compris.",
		"zh": "抱歉，我没听清。",
	},
}

// driving is a car at 50 km/h in D with the child locks off.
func driving() map[string]any {
	v := parkedCharging()
	v["Vehicle.Speed"] = 50
	v["Vehicle.Powertrain.Transmission.SelectedGear"] = 127
	v["Vehicle.Powertrain.TractionBattery.Charging.IsCharging"] = false
	return v
}

// writeBoard writes a copy of the sim board with its [[can_write]]
// entries changed by edit (message name -> extra TOML lines, "" to drop).
func writeBoard(t *testing.T, edit map[string]string) string {
	t.Helper()
	abs, err := filepath.Abs("../../../board/sim")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("name = \"sim-test\"\n[vehicle]\ndbc = \"" + filepath.ToSlash(filepath.Join(abs, "sim-ev.dbc")) + "\"\nmap = \"" +
		filepath.ToSlash(filepath.Join(abs, "sim-ev.toml")) + "\"\n[[can]]\ninterface = \"sim0\"\nbus = 0\ndriver = \"sim\"\n")
	for _, m := range []string{"HVAC_Cmd", "BCM_WindowCmd", "SeatHeatCmd", "LightCmd"} {
		extra, ok := edit[m]
		if ok && extra == "" {
			continue
		}
		b.WriteString("[[can_write]]\nbus = 0\nmessage = \"" + m + "\"\nmax_rate = 5\n" + extra)
	}
	p := filepath.Join(t.TempDir(), "board.toml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAskGates: each safety gate refuses with its reason, in every
// language, and sends nothing.
func TestAskGates(t *testing.T) {
	type gate struct {
		reason string
		which  int // index into gateTexts
		values func(v map[string]any)
		args   []string
	}
	gates := []gate{
		{"speed", 0, func(v map[string]any) { v["Vehicle.Speed"] = 95 }, nil},
		{"child_lock", 1, func(v map[string]any) { v["Vehicle.Cabin.IsWindowChildLockEngaged"] = true }, nil},
		{"child_lock_unknown", 1, func(v map[string]any) { delete(v, "Vehicle.Cabin.Door.Row2.DriverSide.IsChildLockActive") }, nil},
		{"reverse", 0, func(v map[string]any) { v["Vehicle.Speed"] = 4; v["Vehicle.Powertrain.Transmission.SelectedGear"] = -1 }, nil},
		{"speed_unknown", 0, func(v map[string]any) { v["Vehicle.Speed"] = nil }, nil},
		{"gear_unknown", 2, func(v map[string]any) {
			v["Vehicle.Powertrain.Transmission.SelectedGear"] = map[string]any{"value": 127, "age_s": 5}
		}, nil},
		{"board_speed", 2, nil, []string{"--board", writeBoard(t, map[string]string{"LightCmd": "max_speed_kmh = 30\n"})}},
		{"not_allowed", 0, func(v map[string]any) { v["Vehicle.Speed"] = 95 }, []string{"--board", writeBoard(t, map[string]string{"BCM_WindowCmd": ""})}},
	}
	for _, g := range gates {
		t.Run(g.reason, func(t *testing.T) {
			v := driving()
			if g.values != nil {
				g.values(v)
			}
			args := append([]string{"--state", writeState(t, v, nil, nil)}, g.args...)
			var cases []askCase
			for _, l := range langs {
				args = append(args, gateTexts[l][g.which])
				cases = append(cases, askCase{lang: l, answer: refusals[g.reason][l]})
			}
			lines := askRun(t, "", args...)
			if len(lines) != len(cases) {
				t.Fatalf("%d lines", len(lines))
			}
			for i, c := range cases {
				l := lines[i]
				if l.Lang != c.lang || !l.Understood || l.Answer != c.answer || l.Refused == nil || *l.Refused != g.reason || len(l.Actions) != 0 {
					t.Errorf("%s %q: lang %s refused %v actions %d\n  answer %q\n  want   %q", c.lang, l.Text, l.Lang, ptr(l.Refused), len(l.Actions), l.Answer, c.answer)
				}
			}
		})
	}
	// The same requests pass when nothing stands in the way.
	t.Run("allowed", func(t *testing.T) {
		args := []string{"--state", writeState(t, driving(), nil, nil)}
		for _, l := range langs {
			args = append(args, gateTexts[l][0], gateTexts[l][1], gateTexts[l][2])
		}
		for _, l := range askRun(t, "", args...) {
			if l.Refused != nil || len(l.Actions) != 1 || !l.Actions[0].Sent {
				t.Errorf("%s %q: refused %v, actions %+v", l.Lang, l.Text, ptr(l.Refused), l.Actions)
			}
		}
	})
	// Two window requests with no time between: the board's max_rate.
	t.Run("rate_limit", func(t *testing.T) {
		state := writeState(t, driving(), nil, nil)
		for _, lang := range langs {
			lines := askRun(t, "", "--state", state, "--settle", "0s", "--lang", lang, gateTexts[lang][0], gateTexts[lang][0])
			if len(lines) != 2 || lines[0].Refused != nil || lines[1].Refused == nil || *lines[1].Refused != "rate_limit" ||
				lines[1].Answer != refusals["rate_limit"][lang] {
				t.Errorf("%s: %+v", lang, lines)
			}
		}
	})
	// Values the car does not report, and requests nobody understands.
	t.Run("unknown", func(t *testing.T) {
		v := driving()
		delete(v, "Vehicle.Powertrain.Range")
		ranges := map[string]string{"en": "what's my range", "de": "wie weit komme ich noch", "es": "cuánta autonomía me queda",
			"fr": "quelle est mon autonomie", "zh": "还能开多远"}
		for _, lang := range langs {
			lines := askRun(t, "", "--state", writeState(t, v, nil, nil), "--lang", lang, ranges[lang], gateTexts[lang][3])
			if len(lines) != 2 || lines[0].Answer != refusals["unknown_range"][lang] || lines[1].Understood ||
				lines[1].Intent != "" || lines[1].Answer != refusals["not_understood"][lang] {
				t.Errorf("%s: %+v", lang, lines)
			}
		}
	})
}

func ptr(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// TestAskSim drives the board's simulated car through the real decode
// path: actions are applied and their effect read back; the gates see the
// car's own speed, gear and child locks.
func TestAskSim(t *testing.T) {
	t.Run("actions", func(t *testing.T) {
		lines := askRun(t, "", "--settle", "2s", "open the rear left window", "cancel", "set the temperature to 25 degrees",
			"heat my seat", "turn on the fog lights")
		if len(lines) != 5 {
			t.Fatalf("%d lines", len(lines))
		}
		// 2 s at 25 %/s: about half open when cancelled (the status frame
		// read back is up to 200 ms old), and it stays there.
		var pos [2]float64
		for i := range pos {
			a := lines[i].Actions
			if len(a) != 1 || !a[0].Applied || a[0].State["Vehicle.Cabin.Door.Row2.DriverSide.Window.Position"] == nil {
				t.Fatalf("turn %d: %+v", i, a)
			}
			pos[i] = *a[0].State["Vehicle.Cabin.Door.Row2.DriverSide.Window.Position"]
		}
		if pos[0] < 44 || pos[0] > 50 || pos[1] < pos[0] || pos[1] > 55 {
			t.Errorf("window at %v %% 2 s after opening, %v %% 2 s after cancelling: want about 50 both", pos[0], pos[1])
		}
		if !lines[1].Actions[0].Cancel || lines[1].Actions[0].Signals["WindowCmdRL"] != "Stop" {
			t.Errorf("cancel: %+v", lines[1].Actions[0])
		}
		for _, c := range []struct {
			turn  int
			path  string
			want  float64
			field string
		}{
			{2, "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature", 25, "set point"},
			{3, "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", 66.667, "driver's seat level 2"},
			{4, "Vehicle.Body.Lights.Fog.Front.IsOn", 1, "fog lights"},
		} {
			a := lines[c.turn].Actions
			if len(a) != 1 || !a[0].Applied || a[0].State[c.path] == nil || *a[0].State[c.path] != c.want {
				t.Errorf("%s: %+v", c.field, a)
			}
		}
	})

	t.Run("answers", func(t *testing.T) {
		// The same car, run on its own: the answers must match its state.
		db, cycles, err := sim.LoadDBC("../../../board/sim/sim-ev.dbc")
		if err != nil {
			t.Fatal(err)
		}
		cfg := sim.DefaultConfig()
		cfg.DBC, cfg.Cycles, cfg.Seed, cfg.Start = db, cycles, 1, time.Unix(1700000000, 0)
		car, err := sim.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		car.Step(2 * time.Minute)
		st := car.State()
		lines := askRun(t, "", "--lang", "en", "what's my range", "what's the cabin temperature", "what are the tyre pressures", "any faults")
		m := regexp.MustCompile(`^Battery at (\d+) percent, about (\d+) kilometres of range\.$`).FindStringSubmatch(lines[0].Answer)
		if m == nil {
			t.Fatalf("range: %q", lines[0].Answer)
		}
		soc, _ := strconv.Atoi(m[1])
		km, _ := strconv.Atoi(m[2])
		if math.Abs(float64(soc)-st.SOCDisplayed) > 1 || math.Abs(float64(km)-st.Range) > 3 || km%5 != 0 {
			t.Errorf("range answer %q; the car: SOC %.1f %%, %.1f km", lines[0].Answer, st.SOCDisplayed, st.Range)
		}
		m = regexp.MustCompile(`^It's (-?\d+) degrees inside\.$`).FindStringSubmatch(lines[1].Answer)
		if m == nil {
			t.Fatalf("cabin: %q", lines[1].Answer)
		}
		if n, _ := strconv.Atoi(m[1]); math.Abs(float64(n)-st.Body.CabinTemp) > 1 {
			t.Errorf("cabin answer %q; the car: %.2f °C", lines[1].Answer, st.Body.CabinTemp)
		}
		m = regexp.MustCompile(`front left (\d\.\d), front right (\d\.\d), rear left (\d\.\d), rear right (\d\.\d)\.$`).FindStringSubmatch(lines[2].Answer)
		for i := range 4 {
			if m == nil {
				t.Fatalf("tyres: %q", lines[2].Answer)
			}
			if bar, _ := strconv.ParseFloat(m[i+1], 64); math.Abs(bar-st.Body.TyrePressure[i]/100) > 0.051 {
				t.Errorf("tyre %d: answer %q, the car %.1f kPa", i, lines[2].Answer, st.Body.TyrePressure[i])
			}
		}
		if lines[3].Answer != "No faults. Everything looks fine." {
			t.Errorf("faults: %q", lines[3].Answer)
		}
	})

	t.Run("gates", func(t *testing.T) {
		// The urban drive starts by reversing out of a parking space.
		rev := askRun(t, "", "--scenario", "urban", "--sim-time", "12s", "open my window", "what's my range")
		if ptr(rev[0].Refused) != "reverse" || len(rev[0].Actions) != 0 || rev[1].Refused != nil || !strings.HasPrefix(rev[1].Answer, "Battery at") {
			t.Errorf("reversing: %+v", rev)
		}
		// Three minutes into the motorway: 120 km/h.
		hw := askRun(t, "", "--scenario", "highway", "--sim-time", "3m", "open my window", "close my window")
		if ptr(hw[0].Refused) != "speed" || hw[1].Refused != nil || len(hw[1].Actions) != 1 || !hw[1].Actions[0].Applied {
			t.Errorf("highway: %+v", hw)
		}
		cl := askRun(t, "", "--child-lock", "--zone", "rear-left", "open my window", "open the front right window")
		if ptr(cl[0].Refused) != "child_lock" || cl[1].Refused != nil {
			t.Errorf("child lock: %+v", cl)
		}
	})
}

// TestAskStdin: without text arguments, one turn per line of input.
func TestAskStdin(t *testing.T) {
	state := writeState(t, driving(), nil, nil)
	lines := askRun(t, "what's my range\n\n  heat my seat  \nwie voll ist der akku\n", "--state", state, "--zone", "passenger")
	if len(lines) != 3 || lines[0].Intent != "GetRange" || lines[2].Lang != "de" ||
		lines[1].Answer != "Seat heating on for the passenger seat, level 2." || lines[1].Zone != "passenger" {
		t.Errorf("%+v", lines)
	}
}

// TestAskErrors: bad input is refused with a message naming the flag,
// file and field.
func TestAskErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noSim := write("nosim.toml", "name = \"x\"\n[vehicle]\ndbc = \""+filepath.ToSlash(mustAbs(t, "../../../board/sim/sim-ev.dbc"))+"\"\n[[can]]\ninterface = \"can0\"\nbus = 0\n")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--lang", "it", "ciao"}, 2, `--lang "it": expected en, zh, de, es or fr`},
		{[]string{"--zone", "boot", "x"}, 2, `--zone "boot": expected driver, passenger, rear-left, rear-right or rear-center`},
		{[]string{"--settle", "-1s", "x"}, 2, "--settle -1s"},
		{[]string{"--state", write("a.json", "{\"values\": {\n \"Vehicle.Speed\": \"fast\"}}"), "x"}, 1, `a.json:2:19: values["Vehicle.Speed"]: want a number`},
		{[]string{"--state", write("b.json", `{"faults": ["no_such_fault"]}`), "x"}, 1, `b.json: faults[0]: unknown fault id "no_such_fault"`},
		{[]string{"--state", write("c.json", `{"dtcs": ["X1234"]}`), "x"}, 1, `c.json:1:11: dtcs[0]: "X1234": expected an SAE J2012 trouble code`},
		{[]string{"--state", filepath.Join(dir, "missing.json"), "x"}, 1, "missing.json"},
		{[]string{"--dialog", write("d.toml", "[gates]\nwindow_open_max_kmh = 900\n"), "x"}, 1, "d.toml: gates.window_open_max_kmh 900"},
		{[]string{"--board", noSim, "x"}, 2, `board x has no simulated car (no [[can]] with driver = "sim"): give the car's state with --state FILE.json`},
		{[]string{"--scenario", "moon", "x"}, 2, `phase "moon" unknown`},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"ask"}, c.args...)
		if !slices.Contains(c.args, "--board") {
			args = append([]string{"ask", "--board", askBoard}, c.args...)
		}
		code := run(args, strings.NewReader(""), &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, %q\n  want exit %d with %q", c.args, code, errb.String(), c.code, c.want)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
