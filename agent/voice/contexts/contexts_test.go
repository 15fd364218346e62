package contexts_test

import (
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/evedge/evedge/agent/voice/contexts"
	"github.com/evedge/evedge/agent/voice/intent"
)

func loadCar(t testing.TB) map[intent.Language]*intent.Context {
	t.Helper()
	cs, err := intent.LoadAll(contexts.FS, "car.*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := map[intent.Language]*intent.Context{}
	for _, c := range cs {
		if want := "car." + string(c.Language) + ".yaml"; c.Name != want {
			t.Errorf("%s declares language %s", c.Name, c.Language)
		}
		m[c.Language] = c
	}
	if len(m) != len(intent.Languages) {
		t.Fatalf("car contexts for %d languages, want %d", len(m), len(intent.Languages))
	}
	return m
}

// The intents issue 7 asks for, in every language.
var carIntents = []string{
	"GetRange", "GetBatteryLevel", "GetChargingStatus", "GetTimeToFull", "GetFaults",
	"GetTyrePressure", "GetCabinTemperature", "SetTemperature", "OpenWindow", "CloseWindow",
	"SeatHeatingOn", "SeatHeatingOff", "LightsOn", "LightsOff", "Repeat", "Cancel",
}

// TestCarRoundTrip matches every sentence of every car context back to its
// intent and slots: no sentence is ambiguous between intents or values.
func TestCarRoundTrip(t *testing.T) {
	for lang, c := range loadCar(t) {
		t.Run(string(lang), func(t *testing.T) {
			ss := c.Sentences(0)
			if len(ss) != c.Count() {
				t.Errorf("Sentences: %d, Count: %d", len(ss), c.Count())
			}
			bad := 0
			for _, s := range ss {
				for _, text := range []string{s.Text, strings.Join(s.Words, " ")} {
					r, ok := c.Match(text)
					if !ok || r.Intent != s.Intent || !reflect.DeepEqual(r.Slots, s.Slots) {
						if bad++; bad <= 20 {
							t.Errorf("Match(%q) = %v %v, want %s %v", text, r, ok, s.Intent, s.Slots)
						}
					}
				}
			}
			t.Logf("%s: %d sentences, %d words, graph %d nodes %d arcs", c.Name, len(ss), len(c.Vocabulary()), len(c.Graph().Nodes), c.Graph().NumArcs())
		})
	}
}

// TestCarSameAcrossLanguages checks that every language has the same
// intents, each filling the same slot names with the same values, and the
// same shared responses.
func TestCarSameAcrossLanguages(t *testing.T) {
	cs := loadCar(t)
	type shape struct {
		intents   []string
		slots     map[string][]string // intent → slot names
		values    map[string][]string // intent.slot → values
		responses []string
	}
	shapeOf := func(c *intent.Context) shape {
		s := shape{slots: map[string][]string{}, values: map[string][]string{}}
		for _, in := range c.Intents {
			s.intents = append(s.intents, in.Name)
			s.slots[in.Name] = in.SlotNames
			if in.Response == "" {
				t.Errorf("%s: %s has no response", c.Name, in.Name)
			}
		}
		sort.Strings(s.intents)
		set := map[string]map[string]bool{}
		for _, snt := range c.Sentences(0) {
			for k, v := range snt.Slots {
				key := snt.Intent + "." + k
				if set[key] == nil {
					set[key] = map[string]bool{}
				}
				set[key][intentValue(v)] = true
			}
		}
		for k, vs := range set {
			for v := range vs {
				s.values[k] = append(s.values[k], v)
			}
			sort.Strings(s.values[k])
		}
		for k := range c.Responses {
			s.responses = append(s.responses, k)
		}
		sort.Strings(s.responses)
		return s
	}
	en := shapeOf(cs[intent.English])
	want := append([]string(nil), carIntents...)
	sort.Strings(want)
	if !reflect.DeepEqual(en.intents, want) {
		t.Errorf("en intents %v, want %v", en.intents, want)
	}
	for _, k := range []string{"OpenWindow.window", "CloseWindow.window"} {
		if got := strings.Join(en.values[k], " "); got != "all front_left front_right rear_left rear_right" {
			t.Errorf("en %s values: %s", k, got)
		}
	}
	for lang, c := range cs {
		s := shapeOf(c)
		if !reflect.DeepEqual(s.intents, en.intents) {
			t.Errorf("%s intents %v, en %v", lang, s.intents, en.intents)
		}
		if !reflect.DeepEqual(s.slots, en.slots) {
			t.Errorf("%s slots %v, en %v", lang, s.slots, en.slots)
		}
		if !reflect.DeepEqual(s.values, en.values) {
			t.Errorf("%s slot values %v, en %v", lang, s.values, en.values)
		}
		if !reflect.DeepEqual(s.responses, en.responses) {
			t.Errorf("%s responses %v, en %v", lang, s.responses, en.responses)
		}
		// Responses of the same intent use the same placeholders.
		for _, in := range c.Intents {
			got, _ := intent.Placeholders(in.Response)
			ref, _ := intent.Placeholders(cs[intent.English].Intent(in.Name).Response)
			sort.Strings(got)
			sort.Strings(ref)
			if !reflect.DeepEqual(got, ref) {
				t.Errorf("%s %s response placeholders %v, en %v", lang, in.Name, got, ref)
			}
		}
	}
}

func intentValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strings.Repeat("#", x) // ints sort apart from strings
	}
	return "?"
}

// TestCarEveryIntentHasSentences: every intent has at least 3 sentences
// that match back (the round trip checks the matching).
func TestCarEveryIntentHasSentences(t *testing.T) {
	for lang, c := range loadCar(t) {
		for _, name := range carIntents {
			if n := c.IntentCount(name); n < 3 {
				t.Errorf("%s %s: %d sentences, want >= 3", lang, name, n)
			}
		}
	}
}

type utt struct {
	text   string
	intent string // "" for no match
	slots  map[string]any
}

type slots = map[string]any

// carUtterances are phrasings written by hand, as a driver would say them
// (with the case, punctuation and spacing a recogniser or a person may
// produce), not generated from the grammar.
var carUtterances = map[intent.Language][]utt{
	intent.English: {
		{"What's my range?", "GetRange", nil},
		{"how much further can I go", "GetRange", nil},
		{"How far will we get on this charge", "GetRange", nil},
		{"how many miles can I drive", "GetRange", nil},
		{"What's the battery level?", "GetBatteryLevel", nil},
		{"how much charge do I have left", "GetBatteryLevel", nil},
		{"how full is the battery", "GetBatteryLevel", nil},
		{"Is the car still charging?", "GetChargingStatus", nil},
		{"how's the charging going", "GetChargingStatus", nil},
		{"what is the charging power", "GetChargingStatus", nil},
		{"How long until the battery is fully charged?", "GetTimeToFull", nil},
		{"when will it be full", "GetTimeToFull", nil},
		{"how long will charging take", "GetTimeToFull", nil},
		{"Are there any fault codes?", "GetFaults", nil},
		{"read out the trouble codes", "GetFaults", nil},
		{"what's wrong with the car", "GetFaults", nil},
		{"what are the tyre pressures", "GetTyrePressure", nil},
		{"What's the pressure in the front left tire?", "GetTyrePressure", slots{"wheel": "front_left"}},
		{"how much air is in the back right tyre", "GetTyrePressure", slots{"wheel": "rear_right"}},
		{"what's the temperature in here", "GetCabinTemperature", nil},
		{"how cold is it inside", "GetCabinTemperature", nil},
		{"what's the cabin temperature", "GetCabinTemperature", nil},
		{"Set the temperature to twenty-one degrees.", "SetTemperature", slots{"temperature": 21}},
		{"make it 19", "SetTemperature", slots{"temperature": 19}},
		{"I'd like twenty eight degrees", "SetTemperature", slots{"temperature": 28}},
		{"turn the AC to sixteen", "SetTemperature", slots{"temperature": 16}},
		{"open the rear left window", "OpenWindow", slots{"window": "rear_left"}},
		{"roll down the front right window", "OpenWindow", slots{"window": "front_right"}},
		{"Open all the windows", "OpenWindow", slots{"window": "all"}},
		{"open my window", "OpenWindow", nil},
		{"close the back left window", "CloseWindow", slots{"window": "rear_left"}},
		{"roll all windows up", "CloseWindow", slots{"window": "all"}},
		{"shut my window", "CloseWindow", nil},
		{"turn on the driver's seat heating", "SeatHeatingOn", slots{"seat": "driver"}},
		{"Switch on the passenger seat heater to level 2", "SeatHeatingOn", slots{"seat": "passenger", "level": 2}},
		{"turn on the seat heating for the driver", "SeatHeatingOn", slots{"seat": "driver"}},
		{"heat my seat", "SeatHeatingOn", nil},
		{"turn off the rear right seat heating", "SeatHeatingOff", slots{"seat": "rear_right"}},
		{"switch my seat heater off", "SeatHeatingOff", nil},
		{"stop heating the passenger seat", "SeatHeatingOff", slots{"seat": "passenger"}},
		{"turn on the headlights", "LightsOn", slots{"lights": "headlights"}},
		{"fog lights on", "LightsOn", slots{"lights": "fog"}},
		{"switch on the ambient lighting", "LightsOn", slots{"lights": "ambient"}},
		{"turn off the interior lights", "LightsOff", slots{"lights": "interior"}},
		{"switch the dome light off", "LightsOff", slots{"lights": "interior"}},
		{"lights off", "LightsOff", slots{"lights": "headlights"}},
		{"say that again", "Repeat", nil},
		{"could you repeat that please", "Repeat", nil},
		{"pardon?", "Repeat", nil},
		{"never mind", "Cancel", nil},
		{"Cancel that.", "Cancel", nil},
		{"forget it", "Cancel", nil},
		{"open the boot", "", nil},
		{"set the temperature to thirty degrees", "", nil},
		{"what's my range and battery level", "", nil},
		{"", "", nil},
	},
	intent.German: {
		{"Wie weit komme ich noch?", "GetRange", nil},
		{"wie viele Kilometer kann ich noch fahren", "GetRange", nil},
		{"Wie hoch ist die restliche Reichweite?", "GetRange", nil},
		{"Wie voll ist der Akku?", "GetBatteryLevel", nil},
		{"wie ist der Ladestand", "GetBatteryLevel", nil},
		{"wie viel Prozent habe ich noch", "GetBatteryLevel", nil},
		{"Lädt das Auto gerade?", "GetChargingStatus", nil},
		{"wie läuft das Laden", "GetChargingStatus", nil},
		{"ist das Ladekabel eingesteckt", "GetChargingStatus", nil},
		{"Wie lange dauert es noch, bis der Akku voll ist?", "GetTimeToFull", nil},
		{"wann ist die Batterie voll geladen", "GetTimeToFull", nil},
		{"wie lange muss ich noch laden", "GetTimeToFull", nil},
		{"Gibt es Fehlermeldungen?", "GetFaults", nil},
		{"lies mir die Fehlercodes vor", "GetFaults", nil},
		{"was ist mit dem Auto los", "GetFaults", nil},
		{"wie ist der Reifendruck", "GetTyrePressure", nil},
		{"Wie hoch ist der Luftdruck hinten links?", "GetTyrePressure", slots{"wheel": "rear_left"}},
		{"wie viel Luft hat der Reifen vorne rechts", "GetTyrePressure", slots{"wheel": "front_right"}},
		{"Wie warm ist es im Auto?", "GetCabinTemperature", nil},
		{"wie viel Grad hat es hier drin", "GetCabinTemperature", nil},
		{"welche Temperatur herrscht im Innenraum", "GetCabinTemperature", nil},
		{"Stell die Temperatur auf einundzwanzig Grad.", "SetTemperature", slots{"temperature": 21}},
		{"Klimaanlage auf 22 Grad bitte", "SetTemperature", slots{"temperature": 22}},
		{"ich hätte gern achtzehn Grad", "SetTemperature", slots{"temperature": 18}},
		{"Öffne das Fenster vorne links", "OpenWindow", slots{"window": "front_left"}},
		{"mach alle Fenster auf", "OpenWindow", slots{"window": "all"}},
		{"fahr das Fenster hinten rechts runter", "OpenWindow", slots{"window": "rear_right"}},
		{"mach mein Fenster auf", "OpenWindow", nil},
		{"Schließe das Fenster rechts hinten", "CloseWindow", slots{"window": "rear_right"}},
		{"alle Fenster zu", "CloseWindow", slots{"window": "all"}},
		{"Fenster schließen", "CloseWindow", nil},
		{"Schalte die Sitzheizung für den Fahrer ein", "SeatHeatingOn", slots{"seat": "driver"}},
		{"Sitzheizung Beifahrer Stufe drei", "SeatHeatingOn", slots{"seat": "passenger", "level": 3}},
		{"mach meine Sitzheizung an", "SeatHeatingOn", nil},
		{"Sitzheizung hinten links aus", "SeatHeatingOff", slots{"seat": "rear_left"}},
		{"schalte die Sitzheizung aus", "SeatHeatingOff", nil},
		{"mach die Sitzheizung auf der Fahrerseite aus", "SeatHeatingOff", slots{"seat": "driver"}},
		{"Licht an", "LightsOn", slots{"lights": "headlights"}},
		{"schalte die Nebelscheinwerfer ein", "LightsOn", slots{"lights": "fog"}},
		{"mach das Innenlicht an", "LightsOn", slots{"lights": "interior"}},
		{"Schalte die Ambientebeleuchtung aus", "LightsOff", slots{"lights": "ambient"}},
		{"Scheinwerfer aus", "LightsOff", slots{"lights": "headlights"}},
		{"mach das Licht aus", "LightsOff", slots{"lights": "headlights"}},
		{"Wie bitte?", "Repeat", nil},
		{"kannst du das bitte wiederholen", "Repeat", nil},
		{"sag das noch mal", "Repeat", nil},
		{"Vergiss es.", "Cancel", nil},
		{"abbrechen", "Cancel", nil},
		{"nein danke", "Cancel", nil},
		{"öffne den Kofferraum", "", nil},
		{"stell die Temperatur auf dreißig Grad", "", nil},
	},
	intent.Spanish: {
		{"¿Cuánta autonomía me queda?", "GetRange", nil},
		{"cuantos kilometros puedo recorrer todavia", "GetRange", nil},
		{"hasta dónde puedo llegar con esta carga", "GetRange", nil},
		{"¿Cuál es el nivel de batería?", "GetBatteryLevel", nil},
		{"cuánta carga me queda", "GetBatteryLevel", nil},
		{"a cuánto está la batería", "GetBatteryLevel", nil},
		{"¿Se está cargando el coche?", "GetChargingStatus", nil},
		{"cómo va la carga", "GetChargingStatus", nil},
		{"está enchufado el cable", "GetChargingStatus", nil},
		{"¿Cuánto falta para la carga completa?", "GetTimeToFull", nil},
		{"cuándo estará la batería llena", "GetTimeToFull", nil},
		{"cuánto tarda en cargarse del todo", "GetTimeToFull", nil},
		{"¿Hay algún error?", "GetFaults", nil},
		{"léeme los códigos de avería", "GetFaults", nil},
		{"qué le pasa al coche", "GetFaults", nil},
		{"¿Cuál es la presión de los neumáticos?", "GetTyrePressure", nil},
		{"qué presión tiene la rueda trasera izquierda", "GetTyrePressure", slots{"wheel": "rear_left"}},
		{"presión del neumático delantero derecho", "GetTyrePressure", slots{"wheel": "front_right"}},
		{"¿Qué temperatura hace dentro?", "GetCabinTemperature", nil},
		{"cuántos grados hace en el coche", "GetCabinTemperature", nil},
		{"cuál es la temperatura interior", "GetCabinTemperature", nil},
		{"Pon la temperatura a veintiún grados", "SetTemperature", slots{"temperature": 21}},
		{"pon el aire a veintidós", "SetTemperature", slots{"temperature": 22}},
		{"quiero 20 grados", "SetTemperature", slots{"temperature": 20}},
		{"Abre la ventanilla delantera izquierda", "OpenWindow", slots{"window": "front_left"}},
		{"baja todas las ventanillas", "OpenWindow", slots{"window": "all"}},
		{"abre mi ventana", "OpenWindow", nil},
		{"Cierra la ventanilla de atrás a la derecha", "CloseWindow", slots{"window": "rear_right"}},
		{"sube todas las ventanas", "CloseWindow", slots{"window": "all"}},
		{"cierra la ventanilla", "CloseWindow", nil},
		{"Enciende la calefacción del asiento del conductor", "SeatHeatingOn", slots{"seat": "driver"}},
		{"pon la calefacción del asiento del copiloto a nivel dos", "SeatHeatingOn", slots{"seat": "passenger", "level": 2}},
		{"calienta mi asiento", "SeatHeatingOn", nil},
		{"Apaga la calefacción del asiento trasero izquierdo", "SeatHeatingOff", slots{"seat": "rear_left"}},
		{"desactiva la calefacción de mi asiento", "SeatHeatingOff", nil},
		{"apaga el asiento calefactado del acompañante", "SeatHeatingOff", slots{"seat": "passenger"}},
		{"Enciende las luces", "LightsOn", slots{"lights": "headlights"}},
		{"prende las luces antiniebla", "LightsOn", slots{"lights": "fog"}},
		{"pon la luz ambiental", "LightsOn", slots{"lights": "ambient"}},
		{"Apaga la luz interior", "LightsOff", slots{"lights": "interior"}},
		{"apaga los faros", "LightsOff", slots{"lights": "headlights"}},
		{"quita la luz de lectura", "LightsOff", slots{"lights": "interior"}},
		{"¿Puedes repetirlo?", "Repeat", nil},
		{"qué has dicho", "Repeat", nil},
		{"dilo otra vez", "Repeat", nil},
		{"Cancela.", "Cancel", nil},
		{"olvídalo", "Cancel", nil},
		{"no, gracias", "Cancel", nil},
		{"abre el maletero", "", nil},
		{"pon la temperatura a treinta grados", "", nil},
	},
	intent.French: {
		{"Quelle est mon autonomie ?", "GetRange", nil},
		{"combien de kilomètres je peux encore faire", "GetRange", nil},
		{"Jusqu'où puis-je aller ?", "GetRange", nil},
		{"quelle est l'autonomie restante", "GetRange", nil},
		{"Quel est le niveau de la batterie ?", "GetBatteryLevel", nil},
		{"combien de batterie il me reste", "GetBatteryLevel", nil},
		{"quel est l’état de charge", "GetBatteryLevel", nil},
		{"Est-ce que la voiture est en charge ?", "GetChargingStatus", nil},
		{"où en est la recharge", "GetChargingStatus", nil},
		{"à quelle puissance ça charge", "GetChargingStatus", nil},
		{"Dans combien de temps la batterie sera pleine ?", "GetTimeToFull", nil},
		{"combien de temps avant la charge complète", "GetTimeToFull", nil},
		{"quand la charge sera-t-elle terminée", "GetTimeToFull", nil},
		{"Y a-t-il des défauts ?", "GetFaults", nil},
		{"lis-moi les codes d'erreur", "GetFaults", nil},
		{"qu'est-ce qui ne va pas avec la voiture", "GetFaults", nil},
		{"Quelle est la pression des pneus ?", "GetTyrePressure", nil},
		{"quelle est la pression du pneu arrière droit", "GetTyrePressure", slots{"wheel": "rear_right"}},
		{"quelle est la pression de la roue avant droite", "GetTyrePressure", slots{"wheel": "front_right"}},
		{"Quelle température fait-il dans la voiture ?", "GetCabinTemperature", nil},
		{"il fait combien à l'intérieur", "GetCabinTemperature", nil},
		{"quelle est la température de l'habitacle", "GetCabinTemperature", nil},
		{"Mets la température à vingt et un degrés", "SetTemperature", slots{"temperature": 21}},
		{"règle la clim à vingt-deux", "SetTemperature", slots{"temperature": 22}},
		{"je voudrais 19 degrés", "SetTemperature", slots{"temperature": 19}},
		{"Ouvre la vitre avant gauche", "OpenWindow", slots{"window": "front_left"}},
		{"baisse toutes les fenêtres", "OpenWindow", slots{"window": "all"}},
		{"ouvre ma fenêtre", "OpenWindow", nil},
		{"Ferme la vitre arrière droite", "CloseWindow", slots{"window": "rear_right"}},
		{"remonte toutes les vitres", "CloseWindow", slots{"window": "all"}},
		{"ferme ma vitre", "CloseWindow", nil},
		{"Allume le chauffage du siège conducteur", "SeatHeatingOn", slots{"seat": "driver"}},
		{"active le siège chauffant du passager au niveau deux", "SeatHeatingOn", slots{"seat": "passenger", "level": 2}},
		{"chauffe mon siège", "SeatHeatingOn", nil},
		{"Éteins le chauffage du siège arrière gauche", "SeatHeatingOff", slots{"seat": "rear_left"}},
		{"coupe mon siège chauffant", "SeatHeatingOff", nil},
		{"désactive le siège chauffant du passager", "SeatHeatingOff", slots{"seat": "passenger"}},
		{"Allume les phares", "LightsOn", slots{"lights": "headlights"}},
		{"mets les antibrouillards", "LightsOn", slots{"lights": "fog"}},
		{"allume l'éclairage d'ambiance", "LightsOn", slots{"lights": "ambient"}},
		{"Éteins le plafonnier", "LightsOff", slots{"lights": "interior"}},
		{"coupe les feux", "LightsOff", slots{"lights": "headlights"}},
		{"éteins la liseuse", "LightsOff", slots{"lights": "interior"}},
		{"Tu peux répéter ?", "Repeat", nil},
		{"qu'est-ce que tu as dit", "Repeat", nil},
		{"encore une fois", "Repeat", nil},
		{"Annule.", "Cancel", nil},
		{"laisse tomber", "Cancel", nil},
		{"non merci", "Cancel", nil},
		{"ouvre le coffre", "", nil},
		{"mets la température à trente degrés", "", nil},
	},
	intent.Chinese: {
		{"还能开多远？", "GetRange", nil},
		{"续航 还有 多少", "GetRange", nil},
		{"我还能跑多少公里", "GetRange", nil},
		{"剩余电量还有多少", "GetBatteryLevel", nil},
		{"电池还有多少电", "GetBatteryLevel", nil},
		{"还剩多少电", "GetBatteryLevel", nil},
		{"车在充电吗？", "GetChargingStatus", nil},
		{"充电状态怎么样", "GetChargingStatus", nil},
		{"充电功率是多少", "GetChargingStatus", nil},
		{"还要多久充满", "GetTimeToFull", nil},
		{"什么时候能充满电", "GetTimeToFull", nil},
		{"离充满还有多久", "GetTimeToFull", nil},
		{"车有没有故障", "GetFaults", nil},
		{"读取故障码", "GetFaults", nil},
		{"检查一下车辆", "GetFaults", nil},
		{"胎压是多少", "GetTyrePressure", nil},
		{"左前轮胎压是多少", "GetTyrePressure", slots{"wheel": "front_left"}},
		{"查看右后轮胎的胎压", "GetTyrePressure", slots{"wheel": "rear_right"}},
		{"车内温度是多少", "GetCabinTemperature", nil},
		{"车里现在几度", "GetCabinTemperature", nil},
		{"查看车内温度", "GetCabinTemperature", nil},
		{"把空调调到二十二度", "SetTemperature", slots{"temperature": 22}},
		{"温度设置为 18 度", "SetTemperature", slots{"temperature": 18}},
		{"我要二十度", "SetTemperature", slots{"temperature": 20}},
		{"打开左前车窗", "OpenWindow", slots{"window": "front_left"}},
		{"把所有车窗打开", "OpenWindow", slots{"window": "all"}},
		{"打开我的车窗", "OpenWindow", nil},
		{"开窗", "OpenWindow", nil},
		{"关上右后车窗", "CloseWindow", slots{"window": "rear_right"}},
		{"关闭全部车窗", "CloseWindow", slots{"window": "all"}},
		{"关窗", "CloseWindow", nil},
		{"打开主驾座椅加热", "SeatHeatingOn", slots{"seat": "driver"}},
		{"把副驾驶座椅加热调到三档", "SeatHeatingOn", slots{"seat": "passenger", "level": 3}},
		{"打开座椅加热", "SeatHeatingOn", nil},
		{"关闭后排左侧座椅加热", "SeatHeatingOff", slots{"seat": "rear_left"}},
		{"关掉座椅加热", "SeatHeatingOff", nil},
		{"副驾座椅加热关闭", "SeatHeatingOff", slots{"seat": "passenger"}},
		{"打开大灯", "LightsOn", slots{"lights": "headlights"}},
		{"开雾灯", "LightsOn", slots{"lights": "fog"}},
		{"打开氛围灯", "LightsOn", slots{"lights": "ambient"}},
		{"关闭阅读灯", "LightsOff", slots{"lights": "interior"}},
		{"把车灯关掉", "LightsOff", slots{"lights": "headlights"}},
		{"关掉室内灯", "LightsOff", slots{"lights": "interior"}},
		{"请再说一遍", "Repeat", nil},
		{"你刚才说什么", "Repeat", nil},
		{"重复一下", "Repeat", nil},
		{"取消", "Cancel", nil},
		{"算了", "Cancel", nil},
		{"不用了", "Cancel", nil},
		{"打开后备箱", "", nil},
		{"把空调调到三十度", "", nil},
	},
}

func TestCarUtterances(t *testing.T) {
	cs := loadCar(t)
	for lang, us := range carUtterances {
		c := cs[lang]
		per := map[string]int{}
		for _, u := range us {
			r, ok := c.Match(u.text)
			if u.intent == "" {
				if ok {
					t.Errorf("%s: Match(%q) = %v, want no match", lang, u.text, r)
				}
				continue
			}
			if !ok || r.Intent != u.intent || !reflect.DeepEqual(r.Slots, u.slots) {
				t.Errorf("%s: Match(%q) = %v %v, want %s %v", lang, u.text, r, ok, u.intent, u.slots)
			}
			per[u.intent]++
		}
		for _, name := range carIntents {
			if per[name] < 3 {
				t.Errorf("%s: %d hand-written utterances for %s, want >= 3", lang, per[name], name)
			}
		}
	}
}

var pinyinRE = regexp.MustCompile(`^([a-zü]+[1-5])( [a-zü]+[1-5])*$`)

// TestCarPinyin: every zh sentence has a full pinyin reading, and the
// readings of a few are as written by hand (the answers:
// TestCarZhSpeakable).
func TestCarPinyin(t *testing.T) {
	c := loadCar(t)[intent.Chinese]
	for _, s := range c.Sentences(0) {
		for _, text := range []string{s.Text, strings.Join(s.Words, " ")} {
			if py := c.Pronounce(text); !pinyinRE.MatchString(py) {
				t.Fatalf("Pronounce(%q) = %q", text, py)
			}
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"把 空调 调到 二十一 度", "ba3 kong1 tiao2 tiao2 dao4 er4 shi2 yi1 du4"},
		{"打开主驾座椅加热", "da3 kai1 zhu3 jia4 zuo4 yi3 jia1 re4"},
		{"温度调到 22 度", "wen1 du4 tiao2 dao4 er4 shi2 er4 du4"},
		{"车内现在十八度", "che1 nei4 xian4 zai4 shi2 ba1 du4"},
	} {
		if got := c.Pronounce(tc.in); got != tc.want {
			t.Errorf("Pronounce(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCarResponses fills each intent's response in every language.
func TestCarResponses(t *testing.T) {
	live := map[string]any{
		"soc": 80, "range": 320, "power": 50, "minutes": 35, "count": 1, "faults": "P0A80",
		"front_left": 2.4, "front_right": 2.4, "rear_left": 2.5, "rear_right": 2.5,
		"cabin_temperature": 22, "last": "…", "level": 2, "seat": "driver",
		"wheel": "front_left", "lights": "headlights", "window": "front_left",
	}
	for lang, c := range loadCar(t) {
		for _, in := range c.Intents {
			ss := c.IntentSentences(in.Name, 1)
			if _, err := c.Respond(intent.Result{Intent: in.Name, Slots: ss[0].Slots}, live); err != nil {
				t.Errorf("%s %s: %v", lang, in.Name, err)
			}
		}
	}
	en := loadCar(t)[intent.English]
	r, _ := en.Match("open all the windows")
	if got, _ := en.Respond(r, nil); got != "Opening all windows." {
		t.Errorf("Respond = %q", got)
	}
	de := loadCar(t)[intent.German]
	r, _ = de.Match("öffne das Fenster vorne links")
	if got, _ := de.Respond(r, nil); got != "Ich öffne das Fenster vorne links." {
		t.Errorf("Respond = %q", got)
	}
}

func BenchmarkMatchCar(b *testing.B) {
	cs := loadCar(b)
	for _, lang := range intent.Languages {
		c := cs[lang]
		var texts []string
		for _, u := range carUtterances[lang] {
			texts = append(texts, u.text)
		}
		b.Run(string(lang), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				c.Match(texts[i%len(texts)])
			}
		})
	}
}

func BenchmarkLoadCar(b *testing.B) {
	for _, lang := range intent.Languages {
		data, err := contexts.FS.ReadFile("car." + string(lang) + ".yaml")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(lang), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := intent.Parse("car.yaml", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
