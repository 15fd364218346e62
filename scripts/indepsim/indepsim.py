#!/usr/bin/env python3
"""indepsim - an independent EV simulator that writes CAN logs for checking
evedge's fault model against physics it was not trained on.

Python 3 standard library only.  Written without reading evedge's own
simulator, diagnosis code or training code: the physics below is a generic
battery-electric crossover (96s NMC pack, liquid-cooled, PMSM drive, 12 V
lead-acid battery with a DC-DC converter, insulation monitor).

  indepsim.py gen    --out DIR [--jobs N] [--only NAME,...] [--scale F]
  indepsim.py list                    scenario names, one a line
  indepsim.py report --out DIR        table from DIR/results/*.jsonl

gen writes DIR/indepsim.dbc, DIR/indepsim.toml (evedge signal map) and
DIR/logs/<scenario>.log (candump) + .json (metadata: start time, fault,
onset, healthy twin).
"""

import argparse
import bisect
import json
import math
import os
import random
import sys
import time as _time

# =====================================================================
# CAN database (own names, IDs, layouts and scales)
# =====================================================================


def _fmt(x):
    if float(x).is_integer():
        return str(int(x))
    return repr(float(x))


class Sig:
    """One DBC signal.  order 'le' = Intel (@1), 'be' = Motorola (@0,
    start bit = MSB in the usual DBC sawtooth numbering)."""

    def __init__(self, name, start, length, order, signed, factor, offset, unit, comment=""):
        self.name, self.start, self.length = name, start, length
        self.le = order == "le"
        self.signed = signed
        self.factor, self.offset, self.unit, self.comment = factor, offset, unit, comment
        self.mask = (1 << length) - 1
        if signed:
            self.rmin, self.rmax = -(1 << (length - 1)), (1 << (length - 1)) - 1
        else:
            self.rmin, self.rmax = 0, self.mask
        if self.le:
            self.shift = start
            self.bits = [start + i for i in range(length)]
        else:
            msb_lin = (start // 8) * 8 + (7 - start % 8)
            self.shift = 64 - msb_lin - length
            assert self.shift >= 0, name
            self.bits = []
            for lin in range(msb_lin, msb_lin + length):
                self.bits.append((lin // 8) * 8 + 7 - lin % 8)

    def dbc(self, receiver):
        lo = self.rmin * self.factor + self.offset
        hi = self.rmax * self.factor + self.offset
        return ' SG_ %s : %d|%d@%d%s (%s,%s) [%s|%s] "%s" %s' % (
            self.name, self.start, self.length, 1 if self.le else 0, "-" if self.signed else "+",
            _fmt(self.factor), _fmt(self.offset), _fmt(round(lo, 6)), _fmt(round(hi, 6)), self.unit, receiver)


class Msg:
    def __init__(self, name, mid, sender, period, sigs, comment="", dlc=8):
        self.name, self.mid, self.sender, self.period = name, mid, sender, period
        self.sigs, self.comment, self.dlc = sigs, comment, dlc
        used = set()
        for s in sigs:
            for b in s.bits:
                assert 0 <= b < dlc * 8, (name, s.name, b)
                assert b not in used, ("overlap", name, s.name, b)
                used.add(b)
        self._enc = [(s.le, s.shift, s.mask, s.factor, s.offset, s.rmin, s.rmax) for s in sigs]
        self.idhex = "%03X" % mid

    def encode(self, vals):
        le = 0
        be = 0
        for (isle, shift, mask, fac, off, rmin, rmax), v in zip(self._enc, vals):
            raw = math.floor((v - off) / fac + 0.5)
            if raw < rmin:
                raw = rmin
            elif raw > rmax:
                raw = rmax
            raw &= mask
            if isle:
                le |= raw << shift
            else:
                be |= raw << shift
        if be:
            le |= int.from_bytes(be.to_bytes(8, "big"), "little")
        return le.to_bytes(8, "little")[: self.dlc].hex().upper()


def S(*a, **k):
    return Sig(*a, **k)


MESSAGES = [
    Msg("BMS_CellSumry", 0x2B1, "BMS", 0.1, [
        S("CellVmax", 0, 13, "le", False, 0.0005, 1.0, "V", "highest cell (parallel group) voltage"),
        S("CellVmin", 13, 13, "le", False, 0.0005, 1.0, "V", "lowest cell voltage"),
        S("CellVavg", 26, 13, "le", False, 0.0005, 1.0, "V", "mean of the 96 cell voltages"),
        S("CellVmaxNo", 39, 7, "le", False, 1, 0, "", "number (1-96) of the highest cell"),
        S("CellVminNo", 46, 7, "le", False, 1, 0, "", "number (1-96) of the lowest cell"),
        S("CellSumCtr", 56, 4, "le", False, 1, 0, ""),
    ], "Cell voltage summary from the battery management system"),
    Msg("BMS_PackElec", 0x1F4, "BMS", 0.1, [
        S("PackVolt", 7, 16, "be", False, 0.02, 0, "V", "pack terminal voltage"),
        S("PackCurr", 23, 16, "be", True, 0.05, 0, "A", "pack current, positive = DISCHARGE (out of the battery)"),
        S("BmsSoc", 39, 10, "be", False, 0.1, 0, "%", "BMS state of charge estimate"),
        S("HvContState", 41, 2, "be", False, 1, 0, "", "0 open 1 precharge 2 closed 3 fault"),
        S("PackElecCtr", 55, 4, "be", False, 1, 0, ""),
    ], "Pack electrical status"),
    Msg("BMS_Thermal", 0x3C2, "BMS", 1.0, [
        S("ModTMax", 0, 8, "le", False, 1, -40, "degC", "hottest module thermistor"),
        S("ModTMin", 8, 8, "le", False, 1, -40, "degC", "coolest module thermistor"),
        S("ModTMaxNo", 16, 5, "le", False, 1, 1, "", "thermistor number 1-16"),
        S("ModTMinNo", 21, 5, "le", False, 1, 1, "", "thermistor number 1-16"),
        S("CoolInT", 26, 10, "le", False, 0.125, -50, "degC", "battery coolant at pack inlet"),
        S("CoolOutT", 36, 10, "le", False, 0.125, -50, "degC", "battery coolant at pack outlet"),
        S("BalActive", 46, 1, "le", False, 1, 0, ""),
    ], "Pack temperatures"),
    Msg("TMS_Cmd", 0x3D0, "TMS", 1.0, [
        S("BattPumpDuty", 7, 8, "be", False, 0.4, 0, "%", "battery loop pump duty commanded"),
        S("DrvPumpDuty", 15, 8, "be", False, 0.4, 0, "%", "drive-unit loop pump duty commanded"),
        S("ChillerReq", 23, 1, "be", False, 1, 0, ""),
        S("PtcPwr", 22, 7, "be", False, 50, 0, "W", "battery coolant heater power"),
        S("ChillerPwr", 31, 8, "be", False, 40, 0, "W", "heat taken by the chiller"),
        S("RadFanDuty", 39, 8, "be", False, 0.4, 0, "%"),
    ], "Thermal management commands"),
    Msg("IMD_Status", 0x37A, "IMD", 2.0, [
        S("IsoRes", 7, 16, "be", False, 1000, 0, "Ohm", "HV-to-chassis insulation resistance"),
        S("IsoState", 17, 2, "be", False, 1, 0, "", "0 ok 1 warning 2 fault 3 measuring"),
        S("IsoMeasCnt", 31, 8, "be", False, 1, 0, ""),
        S("IsoHvVolt", 39, 12, "be", False, 0.25, 0, "V", "HV voltage seen by the monitor"),
    ], "Insulation monitoring device"),
    Msg("LV_Pwr", 0x2E8, "DCDC", 0.1, [
        S("LvBusVolt", 0, 12, "le", False, 0.005, 5, "V", "12 V bus at the battery"),
        S("DcdcOutCurr", 12, 10, "le", False, 0.25, 0, "A"),
        S("DcdcState", 22, 3, "le", False, 1, 0, "", "0 off 1 standby 2 buck 3 derate 4 fault"),
        S("DcdcTemp", 25, 8, "le", False, 1, -40, "degC"),
        S("LvBattCurr", 33, 12, "le", True, 0.1, 0, "A", "12 V battery current, + = discharge"),
    ], "Low-voltage power"),
    Msg("MCU_Drive", 0x105, "MCU", 0.1, [
        S("MotTqAct", 0, 12, "le", True, 0.25, 0, "Nm", "estimated shaft torque"),
        S("MotSpd", 12, 16, "le", True, 1, 0, "rpm"),
        S("MotTqReq", 28, 12, "le", True, 0.25, 0, "Nm"),
        S("InvDcVolt", 40, 12, "le", False, 0.25, 0, "V"),
        S("MotCtr", 56, 4, "le", False, 1, 0, ""),
    ], "Motor controller fast status"),
    Msg("MCU_Therm", 0x4B0, "MCU", 0.5, [
        S("MotWindT", 7, 9, "be", False, 0.5, 200, "K", "stator winding temperature in kelvin"),
        S("InvIgbtT", 14, 8, "be", False, 1, -40, "degC", "inverter power module temperature"),
        S("DrvCoolT", 21, 8, "be", False, 1, -40, "degC", "drive-unit coolant"),
    ], "Motor controller temperatures"),
    Msg("ESC_Speed", 0x0C8, "ESC", 0.1, [
        S("VehSpd", 7, 16, "be", False, 0.01, 0, "km/h"),
        S("VehSpdQf", 23, 2, "be", False, 1, 0, ""),
        S("LongAccel", 31, 12, "be", True, 0.005, 0, "m/s2"),
        S("EscCtr", 51, 4, "be", False, 1, 0, ""),
    ], "Vehicle speed from the brake controller"),
    Msg("VCU_State", 0x101, "VCU", 0.2, [
        S("Gear", 0, 3, "le", False, 1, 0, "", "0 P 1 R 2 N 3 D"),
        S("ReadyLamp", 3, 1, "le", False, 1, 0, ""),
        S("AccPed", 8, 8, "le", False, 0.4, 0, "%"),
        S("BrkSw", 16, 1, "le", False, 1, 0, ""),
    ], "Vehicle control unit state"),
    Msg("OBC_Status", 0x44C, "OBC", 1.0, [
        S("ChgMode", 0, 2, "le", False, 1, 0, "", "0 none 1 AC 2 DC"),
        S("ChgActive", 2, 1, "le", False, 1, 0, "", "1 while energy flows into the pack"),
        S("PlugDet", 3, 1, "le", False, 1, 0, ""),
        S("ChgPwr", 8, 12, "le", False, 0.05, 0, "kW"),
        S("ChgTgtSoc", 20, 7, "le", False, 1, 0, "%"),
        S("EvseCurrLim", 27, 9, "le", False, 1, 0, "A"),
    ], "Charging status"),
    Msg("BCM_Env", 0x5A0, "BCM", 1.0, [
        S("AmbT", 0, 11, "le", False, 0.1, -60, "degC", "outside air temperature (front bumper)"),
        S("RelHum", 11, 7, "le", False, 1, 0, "%"),
        S("RainSens", 18, 2, "le", False, 1, 0, ""),
    ], "Body controller environment", dlc=4),
]
MSG = {m.name: m for m in MESSAGES}

# Diagnostic variants (not used for the main results): --variant NAME[,NAME]
#   fine_temp   module temperatures at 0.125 degC resolution instead of 1 degC
#   no_hvac     cabin heating / air conditioning off
VARIANTS = set()


def apply_variants(names):
    VARIANTS.update(n for n in names.split(",") if n)
    if "fine_temp" in VARIANTS:
        m = MSG["BMS_Thermal"]
        sigs = [
            S("ModTMax", 0, 10, "le", False, 0.125, -40, "degC", "hottest module thermistor"),
            S("ModTMin", 10, 10, "le", False, 0.125, -40, "degC", "coolest module thermistor"),
            S("CoolInT", 26, 10, "le", False, 0.125, -50, "degC", "battery coolant at pack inlet"),
            S("CoolOutT", 36, 10, "le", False, 0.125, -50, "degC", "battery coolant at pack outlet"),
            S("BalActive", 46, 1, "le", False, 1, 0, ""),
            S("ModTMaxNo", 47, 5, "le", False, 1, 1, "", "thermistor number 1-16"),
            S("ModTMinNo", 52, 5, "le", False, 1, 1, "", "thermistor number 1-16"),
        ]
        nm = Msg(m.name, m.mid, m.sender, m.period, sigs, m.comment)
        MESSAGES[MESSAGES.index(m)] = nm
        MSG[m.name] = nm
UNKNOWN_ID = 0x6F1  # a gateway network-management frame the DBC does not describe

# VSS path -> (message, signal, unit, scale, add, description[, values: (state name, VSS value) pairs])
SIGNAL_MAP = [
    ("Vehicle.Powertrain.TractionBattery.CellVoltage.Max", "BMS_CellSumry", "CellVmax", "V", None, None, ""),
    ("Vehicle.Powertrain.TractionBattery.CellVoltage.Min", "BMS_CellSumry", "CellVmin", "V", None, None, ""),
    ("Vehicle.Private.EvedgeSim.CellVoltageAverage", "BMS_CellSumry", "CellVavg", "V", None, None, ""),
    ("Vehicle.Powertrain.TractionBattery.Temperature.Max", "BMS_Thermal", "ModTMax", "celsius", None, None, ""),
    ("Vehicle.Powertrain.TractionBattery.Temperature.Min", "BMS_Thermal", "ModTMin", "celsius", None, None, ""),
    ("Vehicle.Powertrain.TractionBattery.CurrentVoltage", "BMS_PackElec", "PackVolt", "V", None, None, ""),
    ("Vehicle.Powertrain.TractionBattery.CurrentCurrent", "BMS_PackElec", "PackCurr", "A", -1.0, None,
     "DBC gives discharge positive; VSS wants current into the battery positive"),
    ("Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", "BMS_PackElec", "BmsSoc", "percent", None, None, ""),
    ("Vehicle.Powertrain.TractionBattery.IsPowerConnected", "BMS_PackElec", "HvContState", None, None, None,
     "contactor state: precharge counts as connected (current may flow); fault is left out",
     (("open", 0), ("precharge", 1), ("closed", 1))),
    ("Vehicle.Private.EvedgeSim.CoolantInletTemperature", "BMS_Thermal", "CoolInT", "celsius", None, None, ""),
    ("Vehicle.Private.EvedgeSim.CoolantOutletTemperature", "BMS_Thermal", "CoolOutT", "celsius", None, None, ""),
    ("Vehicle.Private.EvedgeSim.CoolantPumpDuty", "TMS_Cmd", "BattPumpDuty", "percent", None, None, ""),
    ("Vehicle.Private.EvedgeSim.InsulationResistance", "IMD_Status", "IsoRes", "kOhm", 0.001, None,
     "DBC gives ohms; the model wants kilo-ohms"),
    ("Vehicle.LowVoltageBattery.CurrentVoltage", "LV_Pwr", "LvBusVolt", "V", None, None, ""),
    ("Vehicle.Powertrain.ElectricMotor.Temperature", "MCU_Therm", "MotWindT", "celsius", None, -273.15,
     "DBC gives kelvin"),
    ("Vehicle.Private.EvedgeSim.InverterTemperature", "MCU_Therm", "InvIgbtT", "celsius", None, None, ""),
    ("Vehicle.Powertrain.ElectricMotor.CoolantTemperature", "MCU_Therm", "DrvCoolT", "celsius", None, None,
     "the drive unit's coolant (its own loop)"),
    ("Vehicle.Private.EvedgeSim.DriveCoolantPumpDuty", "TMS_Cmd", "DrvPumpDuty", "percent", None, None, ""),
    ("Vehicle.Powertrain.ElectricMotor.Torque", "MCU_Drive", "MotTqAct", "Nm", None, None, ""),
    ("Vehicle.Speed", "ESC_Speed", "VehSpd", "km/h", None, None, ""),
    ("Vehicle.Powertrain.TractionBattery.Charging.IsCharging", "OBC_Status", "ChgActive", None, None, None, ""),
    ("Vehicle.Exterior.AirTemperature", "BCM_Env", "AmbT", "celsius", None, None, ""),
]


def write_dbc(path):
    nodes = sorted({m.sender for m in MESSAGES} | {"GW"})
    L = ['VERSION "indepsim 1"', "", "NS_ :", "    NS_DESC_", "    CM_", "    BA_DEF_", "    BA_", "    VAL_",
         "    BA_DEF_DEF_", "", "BS_:", "",
         "BU_: " + " ".join(nodes), ""]
    for m in MESSAGES:
        L.append("BO_ %d %s: %d %s" % (m.mid, m.name, m.dlc, m.sender))
        for s in m.sigs:
            L.append(s.dbc("GW"))
        L.append("")
    for m in MESSAGES:
        if m.comment:
            L.append('CM_ BO_ %d "%s";' % (m.mid, m.comment))
        for s in m.sigs:
            if s.comment:
                L.append('CM_ SG_ %d %s "%s";' % (m.mid, s.name, s.comment))
    L.append('BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;')
    L.append('BA_DEF_DEF_ "GenMsgCycleTime" 0;')
    for m in MESSAGES:
        L.append('BA_ "GenMsgCycleTime" BO_ %d %d;' % (m.mid, int(round(m.period * 1000))))
    L.append('VAL_ %d HvContState 0 "open" 1 "precharge" 2 "closed" 3 "fault" ;' % MSG["BMS_PackElec"].mid)
    L.append('VAL_ %d ChgMode 0 "none" 1 "AC" 2 "DC" ;' % MSG["OBC_Status"].mid)
    L.append('VAL_ %d DcdcState 0 "off" 1 "standby" 2 "buck" 3 "derate" 4 "fault" ;' % MSG["LV_Pwr"].mid)
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def write_map(path, dbc_name):
    L = ["# evedge signal map for the indepsim car (scripts/indepsim/indepsim.py).",
         "# vss = dbc * scale + add", "", "[vehicle]", 'name = "indepsim crossover (96s NMC, 64 kWh)"',
         'vendor = "indepsim"', 'dbc = "%s"' % dbc_name, ""]
    for entry in SIGNAL_MAP:
        vss, msg, sig, unit, scale, add, desc = entry[:7]
        values = entry[7] if len(entry) > 7 else None
        m = MSG[msg]
        L.append("[[signal]]")
        L.append('message = "%s"' % msg)
        L.append('signal = "%s"' % sig)
        L.append('vss = "%s"' % vss)
        if unit:
            L.append('unit = "%s"' % unit)
        L.append('rate = "%dms"' % int(round(m.period * 1000)))
        if scale is not None:
            L.append("scale = %r" % scale)
        if add is not None:
            L.append("add = %r" % add)
        if values:
            L.append("values = { %s }" % ", ".join("%s = %r" % kv for kv in values))
        if desc:
            L.append('description = "%s"' % desc)
        L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


# =====================================================================
# Physics
# =====================================================================

# NMC (811-ish) open-circuit voltage, SOC % -> V at 25 degC (own table).
OCV_PTS = [(0, 3.000), (2, 3.280), (5, 3.430), (10, 3.520), (15, 3.575), (20, 3.615), (25, 3.645),
           (30, 3.670), (35, 3.692), (40, 3.713), (45, 3.737), (50, 3.765), (55, 3.800), (60, 3.840),
           (65, 3.881), (70, 3.924), (75, 3.965), (80, 4.005), (85, 4.046), (90, 4.088), (95, 4.132),
           (100, 4.180)]


def _interp(pts, x):
    if x <= pts[0][0]:
        return pts[0][1]
    if x >= pts[-1][0]:
        return pts[-1][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return pts[-1][1]


OCV_TAB = [_interp(OCV_PTS, i / 10.0) for i in range(1001)]


def ocv(soc):
    x = soc * 10.0
    if x <= 0.0:
        return 3.0 + soc * 0.05
    if x >= 1000.0:
        return 4.18 + (soc - 100.0) * 0.012
    i = int(x)
    return OCV_TAB[i] + (OCV_TAB[i + 1] - OCV_TAB[i]) * (x - i)


def soc_from_ocv(v):
    if v <= OCV_TAB[0]:
        return 0.0
    if v >= OCV_TAB[-1]:
        return 100.0
    i = bisect.bisect_left(OCV_TAB, v)
    v0, v1 = OCV_TAB[i - 1], OCV_TAB[i]
    return (i - 1 + (v - v0) / (v1 - v0 if v1 > v0 else 1e-9)) / 10.0


def clip(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def ramp(t, t0, dur):
    if t <= t0:
        return 0.0
    if dur <= 0 or t >= t0 + dur:
        return 1.0
    return (t - t0) / dur


N_CELL = 96
N_MOD = 8
CELLS_PER_MOD = 12
R_BUS = 0.006          # ohm: busbars, contactors, fuse, connectors
MASS = 1940.0          # kg incl. driver
CDA = 0.29 * 2.45
WHEEL_R = 0.335
GEAR = 9.05
ETA_GEAR = 0.975
T_PEAK = 330.0         # Nm
P_DRIVE_MAX = 150e3
T_REGEN = 250.0
P_REGEN_MAX = 80e3
C_MOD = 54e3           # J/K per module (cells + structure)
UA_MOD = 45.0          # W/K module -> coolant at full flow
FLOW_MAX = 15.0        # L/min battery loop
CP_COOL = 3500.0
C_LOOP = 37e3
Q12_NOM = 60.0         # Ah, 12 V AGM


class Driver:
    """Follows a list of legs (target speed, length, grade, stop after)."""

    def __init__(self, legs, aggr):
        self.legs = legs
        self.i = 0
        self.pos = 0.0
        self.dwell = 0.0
        self.a = 0.0
        self.finishing = False
        self.aggr = aggr
        self.a_acc = 1.5 + 2.2 * aggr
        self.a_brk = 1.6 + 1.6 * aggr
        self.jerk = 1.2 + 3.5 * aggr
        self.kp = 0.3 + 0.5 * aggr
        self.ou = 0.0
        self.done = False

    def leg(self):
        return self.legs[min(self.i, len(self.legs) - 1)]


def gen_legs(rng, spec, aggr):
    """spec: list of (style, minutes).  Returns legs:
    [v_target_kmh, length_m, grade, stop_after_s]."""
    legs = []
    sf = 1.0 + 0.12 * aggr
    for style, minutes in spec:
        tleft = minutes * 60.0
        while tleft > 0:
            if style in ("city", "snow_city"):
                v = rng.choice([30, 40, 50, 50, 60]) * rng.uniform(0.9, 1.08) * sf
                if style == "snow_city":
                    v *= 0.7
                d = rng.uniform(150, 750)
                stop = rng.uniform(5, 60) if rng.random() < 0.45 else 0.0
                g = clip(rng.gauss(0, 0.015), -0.04, 0.04)
            elif style == "suburban":
                v = rng.choice([60, 70, 80]) * rng.uniform(0.95, 1.05) * sf
                d = rng.uniform(500, 2200)
                stop = rng.uniform(10, 45) if rng.random() < 0.15 else 0.0
                g = clip(rng.gauss(0, 0.02), -0.05, 0.05)
            elif style == "highway":
                if rng.random() < 0.05:
                    v, d = rng.uniform(30, 60), rng.uniform(500, 2000)   # congestion
                else:
                    v = rng.choice([100, 110, 120, 130, 130]) * rng.uniform(0.97, 1.03) * sf
                    d = rng.uniform(2000, 9000)
                stop = 0.0
                g = clip(rng.gauss(0, 0.015), -0.04, 0.04)
            elif style in ("mountain_up", "mountain_down"):
                v = rng.uniform(45, 80)
                d = rng.uniform(300, 1000)
                stop = rng.uniform(20, 60) if rng.random() < 0.04 else 0.0
                # switchbacks: mostly 3-8 % with flatter stretches
                g = rng.uniform(0.03, 0.08) if rng.random() < 0.65 else rng.uniform(0.0, 0.015)
                g *= 1 if style == "mountain_up" else -1
            else:
                raise ValueError(style)
            legs.append([v, d, g, stop, style])
            tleft -= d / (v / 3.6) + stop + 8
    return legs


class Sim:
    def __init__(self, scn):
        self.scn = scn
        seed = scn["seed"]
        self.rr = random.Random(seed * 1009 + 11)          # routes
        self.rn = random.Random(seed * 7919 + 1)           # sensor noise, frame jitter
        self.re = random.Random(seed * 104729 + 2)         # environment
        self.rd = random.Random(seed * 15485863 + 5)       # driver speed fluctuation
        rc = random.Random(seed * 31 + 3)                  # the car as built
        self.fault = scn.get("fault") or {}
        fk = self.fault.get("kind")
        self.fk = fk
        self.onset = self.fault.get("onset_min", 0) * 60.0
        self.grow = self.fault.get("grow_min", 30) * 60.0
        self.t = 0
        self.t0 = scn["t0"]
        # --- environment
        self.amb_base = scn["amb"]
        self.amb_amp = scn.get("amb_amp", 3.0)
        self.hum = scn.get("hum", 0.5)
        self.solar = scn.get("solar", 0.0)
        self.night = scn.get("night", False)
        self.amb_ou = 0.0
        self.alt = 0.0
        self.T_amb = self.ambient()
        self.amb_sens = self.T_amb
        # --- pack as built
        soh = rc.uniform(0.93, 0.99)
        self.soh = soh
        self.Qnom = 180.0 * soh
        self.Q = [self.Qnom * (1 + rc.gauss(0, 0.006)) for _ in range(N_CELL)]
        rf = 1.0 + 2.5 * (1 - soh)
        self.R0 = [0.50e-3 * rf * (1 + rc.gauss(0, 0.03)) for _ in range(N_CELL)]
        self.R1 = [0.22e-3 * rf * (1 + rc.gauss(0, 0.04)) for _ in range(N_CELL)]
        self.R2 = [0.16e-3 * rf * (1 + rc.gauss(0, 0.04)) for _ in range(N_CELL)]
        soc0 = scn["soc0"]
        self.soc = [soc0 + rc.gauss(0, 0.3) for _ in range(N_CELL)]
        self.v1 = [0.0] * N_CELL
        self.v2 = [0.0] * N_CELL
        self.hy = [0.004] * N_CELL
        self.fcell = rc.randrange(N_CELL)      # cell used by a cell fault (drawn always)
        self.fsens = rc.randrange(16)          # thermistor used by a stuck fault
        if fk == "cell_capacity":
            self.Q[self.fcell] *= self.fault.get("ratio", 0.8)
            # top-balanced pack: the small cell is as full as the rest at 100 %
            self.soc[self.fcell] = 100.0 - (100.0 - soc0) / self.fault.get("ratio", 0.8)
        self.isc_j = 0.0
        # thermal runaway precursor: chemical heat of the side reactions (W)
        self.q_exo = 0.0
        self.q_cell = 0.0
        # on-board charger fault: its own generator, so that no other draw moves
        if fk == "charger":
            self.rf = random.Random(seed * 27644437 + 7)
            self.obc_level_ou = 0.0
            self.obc_drop_until = -1.0
            self.obc_next_drop = None
        # --- thermal
        tp = scn.get("tpack0", self.T_amb)
        self.T_mod = [tp + rc.gauss(0, 0.4) for _ in range(N_MOD)]
        self.ts_off = [rc.gauss(0, 0.35) for _ in range(16)]
        self.ts_gain = [rc.uniform(0.0005, 0.0025) for _ in range(16)]
        self.T_in = tp
        self.T_out = tp
        self.s_in = tp
        self.s_out = tp
        self.cin_off = rc.gauss(0, 0.25)
        self.cout_off = rc.gauss(0, 0.25)
        tm = scn.get("tmotor0", self.T_amb)
        self.T_w = tm
        self.T_h = tm
        self.T_inv = tm
        self.T_dc = tm
        self.T_dcdc = tm
        self.T_cab = scn.get("tcab0", self.T_amb + 12 * self.solar)
        self.duty_b = 0.0
        self.duty_d = 0.0
        self.chiller = False
        self.heater = False
        self.fan = False
        self.Q_chill = 0.0
        self.Q_ptc = 0.0
        self.P_hvac = 0.0
        self.stuck_val = None
        # --- 12 V
        self.soc12 = rc.uniform(80, 95)
        self.vp12 = 0.0
        self.R12b = 0.007 * rc.uniform(0.9, 1.15)
        self.Q12 = Q12_NOM
        # --- insulation
        self.iso_base = rc.uniform(4e6, 9e6)
        self.iso_ou = 0.0
        self.iso_meas = self.iso_base
        self.iso_cnt = 0
        self.iso_next = 0
        # --- sensors
        self.i_off = rc.gauss(0, 0.1)
        self.i_gain = 1 + rc.gauss(0, 0.002)
        self.v_gain = 1 + rc.gauss(0, 0.0005)
        self.soc_bms = sum(self.soc) / N_CELL + rc.gauss(0, 0.8)
        self.Q_bms = sum(self.Q) / N_CELL * (1 + rc.gauss(0, 0.01))
        self.rest_s = 3600 * 5.0
        # per-message phase offsets (s) and counters
        self.phase = {m.name: rc.uniform(0, min(m.period, 1.0)) for m in MESSAGES}
        self.phase_unk = rc.uniform(0, 0.5)
        self.ctr = {m.name: 0 for m in MESSAGES}
        # --- modes
        self.mode = "sleep"      # sleep off boot ready dcfc ac
        self.hv = 0              # contactor state 0 open 1 precharge 2 closed
        self.dcdc = False
        self.occupied = False
        self.driver = None
        self.v = 0.0
        self.chg_mode = 0
        self.chg_active = False
        self.plug = False
        self.chg_I = 0.0         # charger current setpoint (A into battery side)
        self.chg_target = 0
        self.chg_kw = 0.0
        self.chg_imax = 0.0
        self.evse_lim = 0
        self.boot_t = 0.0
        self.awake_since = None
        self.dropped = set()
        self.lv_base = 0.0
        self.lv_prev = 0.0
        self.wipers = False
        self.P_dis_lim = 150e3
        self.P_chg_lim = 60e3
        self.I_chg_cv = 300.0
        self.I_prev = 0.0
        self.pack_ocv_prev = 0.0
        # substep records
        self.rec_I = [0.0] * 10
        # electrical aggregates
        self.A = [0.0] * N_CELL
        self.B = [0.0] * N_CELL
        self.cells_update(0.0, 0.0, 0.0)
        self.out = None
        self.lines = 0

    # ----------------------------------------------------------- environment
    def ambient(self):
        hour = ((self.t0 + self.t) % 86400) / 3600.0 + self.scn.get("tz", 0)
        return (self.amb_base + self.amb_amp * math.sin(2 * math.pi * (hour - 9.0) / 24.0)
                + self.amb_ou - 0.0065 * self.alt)

    def tnow(self):
        return self.t

    def fault_on(self, kind):
        return self.fk == kind and self.t >= self.onset

    # ----------------------------------------------------------- cells
    def cells_update(self, dt, I, I2):
        """Advance the 96 cells by dt with mean current I (A, + discharge)
        and mean square current I2; refresh A_i (open-circuit-ish voltage) and
        B_i (ohmic resistance) used for the next second's voltage samples."""
        Tm = self.T_mod
        fT0 = [math.exp(3200.0 * (1.0 / (T + 273.15) - 1.0 / 298.15)) for T in Tm]
        fT1 = [math.exp(4000.0 * (1.0 / (T + 273.15) - 1.0 / 298.15)) for T in Tm]
        e1 = math.exp(-dt / 25.0)
        e2 = math.exp(-dt / 400.0)
        k1 = 1 - e1
        k2 = 1 - e2
        H = 0.005
        heat = [0.0] * N_MOD
        soc, Q, v1, v2, hy, A, B = self.soc, self.Q, self.v1, self.v2, self.hy, self.A, self.B
        R0, R1, R2 = self.R0, self.R1, self.R2
        dq = I * dt / 36.0   # Ah*100
        htgt = -H if I > 0.5 else (H if I < -0.5 else None)
        sA = 0.0
        sB = 0.0
        for i in range(N_CELL):
            m = i // CELLS_PER_MOD
            q = Q[i]
            s = soc[i] - dq / q
            soc[i] = s
            f1 = fT1[m]
            a = v1[i] * e1 + I * R1[i] * f1 * k1
            v1[i] = a
            b = v2[i] * e2 + I * R2[i] * f1 * k2
            v2[i] = b
            if htgt is not None:
                w = abs(I) * dt / (q * 36.0 * 3.0)
                if w > 1:
                    w = 1
                hy[i] += (htgt - hy[i]) * w
            r0 = R0[i] * fT0[m]
            if s < 15.0:
                x = (15.0 - s) / 15.0
                r0 *= 1.0 + 0.6 * x * x
            x = s * 10.0
            if 0.0 < x < 1000.0:
                j = int(x)
                o = OCV_TAB[j] + (OCV_TAB[j + 1] - OCV_TAB[j]) * (x - j)
            else:
                o = ocv(s)
            Ai = o + hy[i] - a - b + 0.0001 * (Tm[m] - 25.0)
            A[i] = Ai
            B[i] = r0
            sA += Ai
            sB += r0
            heat[m] += I2 * r0 + I * (a + b)
        # internal short in one cell: extra self-discharge + local heat
        if self.fk == "cell_short" and self.t >= self.onset:
            x = ramp(self.t, self.onset, self.grow)
            rsc = self.fault.get("r_start", 8.0) * (self.fault.get("r_end", 1.0) / self.fault.get("r_start", 8.0)) ** x
            j = self.fcell
            isc = max(0.0, ocv(soc[j]) / rsc)
            soc[j] -= isc * dt / 36.0 / Q[j]
            heat[j // CELLS_PER_MOD] += isc * isc * rsc
            self.isc_j = isc
        # thermal runaway precursor in one cell (before venting): exothermic
        # side reactions (SEI breakdown, electrolyte oxidation at the cathode,
        # lithium plating reacting) whose heat grows with the defect and
        # with the cell's own temperature, plus a growing micro-short that
        # drains the cell.  The cell sits 0.05 K/W above its module's mean;
        # the temperature factor is capped at x1.7 (no runaway here: the
        # scenario ends long before venting).
        if self.fk == "thermal_runaway" and self.t >= self.onset:
            f = self.fault
            x = ramp(self.t, self.onset, self.grow)
            j = self.fcell
            m = j // CELLS_PER_MOD
            rsc = f.get("r_start", 20.0) * (f.get("r_end", 0.8) / f.get("r_start", 20.0)) ** x
            isc = max(0.0, ocv(soc[j]) / rsc)
            soc[j] -= isc * dt / 36.0 / Q[j]
            q0, q1 = f.get("q_start", 30.0), f.get("q_end", 140.0)
            T_cell = Tm[m] + 0.05 * self.q_cell
            arr = min(1.7, math.exp(f.get("ea_k", 3000.0) * (1.0 / 298.15 - 1.0 / (T_cell + 273.15))))
            q_exo = q0 * (q1 / q0) ** x * arr
            self.q_exo = q_exo
            self.q_cell = q_exo + isc * isc * rsc
            heat[m] += self.q_cell
            self.isc_j = isc
        self.sumA = sA
        self.sumB = sB
        self.heat = heat
        # candidates for max/min cell voltage at the present current
        Ie = I
        est = sorted(range(N_CELL), key=lambda i: A[i] - Ie * B[i])
        self.cand_lo = est[:5]
        self.cand_hi = est[-5:]
        self.cand_hi_ch = sorted(range(N_CELL), key=lambda i: A[i] + 250 * B[i])[-4:]

    # ----------------------------------------------------------- one awake second
    def tick(self):
        rn = self.rn
        dt = 0.1
        t = self.t
        mode = self.mode
        A, B = self.A, self.B
        E = self.sumA
        Rp = self.sumB + R_BUS
        drv = self.driver
        hv_on = self.hv == 2
        T_amb = self.T_amb
        rho = 1.293 * 273.15 / (273.15 + T_amb)
        crr = 0.0095 * (1 + 0.012 * max(0.0, 10.0 - T_amb))
        m_eff = MASS * 1.06
        g = 9.81
        # per second aux loads
        P_aux = 0.0
        if hv_on:
            P_aux = self.P_hvac + self.Q_ptc + self.Q_chill / 2.8 + self.lv_base * 14.0 / 0.93
        r_I = self.rec_I
        r_v = [0.0] * 10
        r_tq = [0.0] * 10
        r_tqr = [0.0] * 10
        r_rpm = [0.0] * 10
        r_acc = [0.0] * 10
        r_ped = [0.0] * 10
        r_brk = [0] * 10
        r_V = [0.0] * 10
        r_12 = [0.0] * 10
        r_dcI = [0.0] * 10
        r_bI = [0.0] * 10
        ploss_m = 0.0
        ploss_i = 0.0
        I2 = 0.0
        Isum = 0.0
        fault_m = 1.0
        if self.fk == "motor_overheat" and t >= self.onset:
            fault_m = 1.0 + self.fault.get("extra", 1.2) * ramp(t, self.onset, self.grow)
        # 12 V battery
        R12 = self.R12b * (1 + 0.015 * max(0.0, 25.0 - T_amb))
        if self.fk == "weak_12v" and t >= self.onset:
            R12 *= 1 + self.fault.get("r_mult", 5.0) * ramp(t, self.onset, self.grow)
        ocv12 = 11.85 + 0.0095 * self.soc12
        vset = clip(14.2 + 0.015 * (25.0 - T_amb), 13.7, 14.7)   # temperature-compensated set point
        I12b_sum = 0.0
        for k in range(10):
            tk = t + k * dt
            tq = 0.0
            tq_req = 0.0
            rpm = 0.0
            acc = 0.0
            ped = 0.0
            brk = 0
            P_dc = 0.0
            lv_extra = 0.0
            if mode == "ready" and drv is not None and not drv.done:
                v = self.v
                leg = drv.leg()
                vt_kmh, d_leg, grade, stop_after, style = leg
                # driver: target speed with highway fluctuations
                if style == "highway":
                    drv.ou += -drv.ou * dt / 30.0 + 0.35 * math.sqrt(dt) * self.rd.gauss(0, 1)
                vt = max(0.0, vt_kmh + drv.ou) / 3.6
                if drv.dwell > 0:
                    drv.dwell -= dt
                    a_des = 0.0
                    vt = 0.0
                    if drv.dwell <= 0:
                        drv.i += 1
                        drv.pos = 0.0
                        if drv.i >= len(drv.legs):
                            drv.finishing = True
                elif drv.finishing:
                    a_des = -min(1.5, drv.a_brk)
                    vt = 0.0
                else:
                    d_rem = d_leg - drv.pos
                    if stop_after > 0:
                        v_next = 0.0
                    elif drv.i + 1 < len(drv.legs):
                        v_next = drv.legs[drv.i + 1][0] / 3.6
                    else:
                        v_next = 0.0
                    a_need = (v * v - v_next * v_next) / (2 * max(d_rem, 1.0)) if v > v_next else 0.0
                    if a_need > 0.6 * drv.a_brk:
                        a_des = -min(a_need * 1.15, drv.a_brk * 1.6)
                    else:
                        lim = drv.a_acc * max(0.25, 1 - v / 45.0)
                        a_des = clip(drv.kp * (vt - v), -drv.a_brk, lim)
                    if d_rem <= 0 or (stop_after > 0 and d_rem < 4 and v < 0.6):
                        if stop_after > 0:
                            self.v = v = 0.0
                            drv.dwell = stop_after
                            drv.a = 0.0
                            a_des = 0.0
                        else:
                            drv.i += 1
                            drv.pos = 0.0
                            if drv.i >= len(drv.legs):
                                drv.finishing = True
                # jerk limit
                da = clip(a_des - drv.a, -drv.jerk * dt * 1.5, drv.jerk * dt)
                drv.a += da
                a_des = drv.a
                theta = math.atan(grade)
                F_aero = 0.5 * rho * CDA * v * v
                F_roll = crr * MASS * g * math.cos(theta) if v > 0.05 else 0.0
                F_gr = MASS * g * math.sin(theta)
                F_need = m_eff * a_des + F_aero + F_roll + F_gr
                w_m = v / WHEEL_R * GEAR
                rpm = w_m * 9.5493
                if F_need >= 0:
                    tq_req = F_need * WHEEL_R / (GEAR * ETA_GEAR)
                else:
                    tq_req = F_need * WHEEL_R * ETA_GEAR / GEAR
                pmax = min(P_DRIVE_MAX, max(5e3, self.P_dis_lim - P_aux))
                tmax = T_PEAK if w_m < 1 else min(T_PEAK, pmax / w_m)
                kmh = v * 3.6
                fade = clip((kmh - 3.0) / 7.0, 0.0, 1.0)
                preg = min(P_REGEN_MAX, max(0.0, self.P_chg_lim + P_aux))
                tmin = -(T_REGEN if w_m < 1 else min(T_REGEN, preg / w_m)) * fade
                tq = clip(tq_req, tmin, tmax)
                if v <= 0.01 and a_des <= 0:
                    tq = 0.0
                    tq_req = 0.0
                if tq >= 0:
                    F_m = tq * GEAR * ETA_GEAR / WHEEL_R
                else:
                    F_m = tq * GEAR / (ETA_GEAR * WHEEL_R)
                F_brake = min(0.0, F_need - F_m) if F_need < F_m else 0.0
                brk = 1 if F_brake < -50 or (v < 0.05 and a_des <= 0) else 0
                a_act = (F_m + F_brake - F_aero - F_roll - F_gr) / m_eff
                if v <= 0.01 and a_act < 0:
                    a_act = 0.0
                v = max(0.0, v + a_act * dt)
                if drv.finishing and v < 0.05:
                    v = 0.0
                    drv.done = True
                self.v = v
                drv.pos += v * dt
                self.alt += v * dt * math.sin(theta)
                acc = a_act
                ped = clip(tq / T_PEAK * 100.0, 0, 100)
                # motor and inverter losses
                P_mech = tq * w_m
                p_cu = 0.030 * tq * tq * (1 + 0.0039 * (self.T_w - 20.0))
                p_fe = (0.06 * rpm + 6e-6 * rpm * rpm) if rpm > 30 else 0.0
                pm = (p_cu + p_fe + 40.0) * fault_m
                pi = (80.0 + 0.012 * abs(P_mech) + 2.5e-4 * tq * tq) * (1 + 0.004 * (self.T_inv - 50.0))
                P_dc = P_mech + pm + pi
                ploss_m += pm
                ploss_i += pi
                # 12 V: steering / brake booster spikes in manoeuvres
                if kmh < 25 and abs(a_des) > 0.5 and rn.random() < 0.03:
                    lv_extra = rn.uniform(15, 40)
            elif hv_on and mode in ("ready",):
                ploss_i += 15.0
                P_dc = 15.0
            # battery current
            if hv_on:
                if mode in ("dcfc", "ac"):
                    Ik = -self.chg_I + (P_aux + P_dc) / max(E, 100.0) + rn.gauss(0, 0.4 if mode == "dcfc" else 0.15)
                else:
                    P = P_dc + P_aux
                    disc = E * E - 4 * Rp * P
                    if disc < 0:
                        disc = 0.0
                    Ik = (E - math.sqrt(disc)) / (2 * Rp)
            elif self.hv == 1:
                Ik = 1.5 if k < 5 else 0.3      # precharge
            else:
                Ik = 0.0
            r_I[k] = Ik
            Isum += Ik
            I2 += Ik * Ik
            r_V[k] = E - Ik * Rp
            r_v[k] = self.v
            r_tq[k] = tq
            r_tqr[k] = tq_req
            r_rpm[k] = rpm
            r_acc[k] = acc
            r_ped[k] = ped
            r_brk[k] = brk
            # 12 V bus
            load = self.lv_base + lv_extra
            if mode == "boot":
                bt = self.boot_t + k * dt
                load += 18.0 if bt < 3.0 else 0.0   # ECUs booting, pumps priming
                if 1.9 <= bt < 2.2:
                    load += 25.0          # contactor coil pull-in
            if self.dcdc:
                ib = -clip((vset - ocv12 - self.vp12) / R12, 0.0, 40.0)
                vbus = vset - 0.003 * load - 0.006 * max(0.0, load - self.lv_prev) + rn.gauss(0, 0.008)
                dcI = load - ib
            else:
                ib = load
                vbus = ocv12 + self.vp12 - ib * R12 + rn.gauss(0, 0.004)
                dcI = 0.0
            self.lv_prev = load
            r_12[k] = vbus
            r_dcI[k] = dcI
            r_bI[k] = ib
            I12b_sum += ib
        if mode == "boot":
            self.boot_t += 1.0
        I_avg = Isum / 10.0
        I2 /= 10.0
        self.I_prev = I_avg
        self.ploss_m = ploss_m / 10.0
        self.ploss_i = ploss_i / 10.0
        I12 = I12b_sum / 10.0
        # ---- BMS measurements at 10 Hz
        I_meas_off = self.i_off
        if self.fk == "drift_current" and t >= self.onset:
            I_meas_off += self.fault.get("offset", 8.0) * ramp(t, self.onset, self.grow)
        V_off = 0.0
        if self.fk == "drift_voltage" and t >= self.onset:
            V_off = self.fault.get("offset", -10.0) * ramp(t, self.onset, self.grow)
        r_Im = [r_I[k] * self.i_gain + I_meas_off + rn.gauss(0, 0.15) for k in range(10)]
        r_Vm = [r_V[k] * self.v_gain + V_off + rn.gauss(0, 0.12) for k in range(10)]
        cmax = [0.0] * 10
        cmaxi = [0] * 10
        cmin = [0.0] * 10
        cmini = [0] * 10
        cavg = [0.0] * 10
        chi, clo = self.cand_hi, self.cand_lo
        sA = self.sumA / N_CELL
        sB = self.sumB / N_CELL
        gauss = rn.gauss
        for k in range(10):
            Ik = r_I[k]
            best = -9.0
            bi = 0
            for i in chi:
                x = A[i] - Ik * B[i] + gauss(0, 0.0008)
                if x > best:
                    best, bi = x, i
            worst = 9.0
            wi = 0
            for i in clo:
                x = A[i] - Ik * B[i] + gauss(0, 0.0008)
                if x < worst:
                    worst, wi = x, i
            cmax[k], cmaxi[k], cmin[k], cmini[k] = best, bi + 1, worst, wi + 1
            cavg[k] = sA - Ik * sB + gauss(0, 0.0002)
        # ---- per-second state updates
        self.cells_update(1.0, I_avg, I2)
        I_meas_avg = sum(r_Im) / 10.0
        if hv_on or self.hv == 1:
            self.soc_bms -= I_meas_avg / 36.0 / self.Q_bms
        else:
            # contactors open: the BMS ignores currents within its zero band
            if abs(I_meas_avg) > 0.5:
                self.soc_bms -= I_meas_avg / 36.0 / self.Q_bms
        self.rest_s = self.rest_s + 1 if abs(I_avg) < 1.0 else 0
        self.update_12v(1.0, I12, R12)
        self.thermal(1.0)
        self.controls()
        self.env(1.0)
        self.insulation(1.0)
        # ---- frames
        self.emit(dict(I=r_Im, V=r_Vm, cmax=cmax, cmaxi=cmaxi, cmin=cmin, cmini=cmini, cavg=cavg,
                       v=r_v, tq=r_tq, tqr=r_tqr, rpm=r_rpm, acc=r_acc, ped=r_ped, brk=r_brk,
                       v12=r_12, dcI=r_dcI, bI=r_bI, Vtrue=r_V))
        self.t += 1

    # ----------------------------------------------------------- sleeping
    def sleep(self, seconds):
        """Advance with the bus silent (car asleep)."""
        self.mode = "sleep"
        self.hv = 0
        self.dcdc = False
        self.occupied = False
        self.v = 0.0
        self.awake_since = None
        step = 10
        left = seconds
        while left > 0:
            dt = min(step, left)
            self.cells_update(dt, 0.0, 0.0)
            R12 = self.R12b
            self.update_12v(dt, 0.03, R12)
            self.duty_b = 0.0
            self.duty_d = 0.0
            self.chiller = self.heater = self.fan = False
            self.Q_chill = self.Q_ptc = 0.0
            self.P_hvac = 0.0
            self.ploss_m = self.ploss_i = 0.0
            self.thermal(dt)
            self.env(dt)
            self.insulation(dt)
            self.t += dt
            self.rest_s += dt
            left -= dt

    # ----------------------------------------------------------- 12 V
    def update_12v(self, dt, I12, R12):
        leak = 0.0
        q12 = self.Q12
        if self.fk == "weak_12v" and self.t >= self.onset:
            x = ramp(self.t, self.onset, self.grow)
            leak = self.fault.get("leak", 2.0) * x
            q12 = self.Q12 * (1 - 0.55 * x)
        self.soc12 = clip(self.soc12 - (I12 + leak) * dt / 36.0 / q12, 0.0, 100.0)
        tau = 900.0
        tgt = -I12 * 0.012 if I12 > 0 else min(0.45, -I12 * 0.02)
        self.vp12 += (tgt - self.vp12) * (1 - math.exp(-dt / tau))

    # ----------------------------------------------------------- thermal
    def thermal(self, dt):
        T_amb = self.T_amb
        Tm = self.T_mod
        v = self.v
        flow_frac = self.duty_b / 100.0 if self.duty_b >= 8.0 else 0.0
        if self.fk == "cooling_loss" and self.t >= self.onset:
            flow_frac *= 1 - self.fault.get("loss", 0.8) * ramp(self.t, self.onset, self.grow)
        mdot = flow_frac * FLOW_MAX / 60.0 * 1.05
        Cd = mdot * CP_COOL
        heat = self.heat
        q = [0.0] * N_MOD
        Tc = self.T_in
        if Cd > 1.0:
            UA = 8.0 + (UA_MOD - 8.0) * math.sqrt(flow_frac)
            eff = 1 - math.exp(-UA / Cd)
            for m in range(N_MOD):
                qm = eff * Cd * (Tm[m] - Tc)
                q[m] = qm
                Tc += qm / Cd
            self.T_out = Tc
            q_loop_direct = 0.0
        else:
            q_loop_direct = 0.0
            for m in range(N_MOD):
                qm = 1.5 * (Tm[m] - self.T_in)
                q[m] = qm
                q_loop_direct += qm
            self.T_out += (Tm[-1] - self.T_out) * (1 - math.exp(-dt / 600.0))
        env_f = 1 + 0.02 * v
        newT = Tm[:]
        for m in range(N_MOD):
            ua_env = (1.2 + (1.2 if m in (0, N_MOD - 1) else 0.0)) * env_f
            cond = 0.0
            if m > 0:
                cond += 10.0 * (Tm[m - 1] - Tm[m])
            if m < N_MOD - 1:
                cond += 10.0 * (Tm[m + 1] - Tm[m])
            newT[m] = Tm[m] + dt * (heat[m] - q[m] - ua_env * (Tm[m] - T_amb) + cond) / C_MOD
        self.T_mod = newT
        # coolant loop (reservoir, pipes, chiller, heater, radiator branch)
        Q_rad = 0.0
        if self.rad_mode():
            Q_rad = (250.0 + 10.0 * v) * (self.T_in - T_amb)
        self.Q_chill = 0.0
        if self.chiller and Cd > 1.0:
            # one compressor serves cabin and chiller: the cabin's cooling load
            # and a hot condenser leave less for the battery
            q_cab = self.P_hvac * 2.6 if (self.occupied and self.T_cab > 23.0) else 0.0
            qmax = max(1500.0, 7000.0 - max(0.0, T_amb - 30.0) * 150.0 - 0.6 * q_cab)
            self.Q_chill = clip(1200.0 * (self.T_in - 15.0), 0.0, qmax)
        self.Q_ptc = 0.0
        if self.heater and Cd > 1.0:
            self.Q_ptc = clip(800.0 * (35.0 - self.T_in), 0.0, 4000.0)
        dT = (Cd * (self.T_out - self.T_in) + q_loop_direct - self.Q_chill + self.Q_ptc - Q_rad
              - 4.0 * (self.T_in - T_amb)) / C_LOOP
        # explicit step is stiff with full flow: limit per-step relaxation
        self.T_in += clip(dT * dt, -3.0, 3.0)
        # coolant sensors (first order, 4 s)
        a = 1 - math.exp(-dt / 4.0)
        self.s_in += (self.T_in - self.s_in) * a
        self.s_out += (self.T_out - self.s_out) * a
        # drive unit
        fd = self.duty_d / 100.0
        pump = fd > 0.05
        fl = fd ** 0.6 if pump else 0.0
        inv_ua_f = 1.0
        if self.fk == "inverter_overheat" and self.t >= self.onset:
            inv_ua_f = 1 - self.fault.get("loss", 0.8) * ramp(self.t, self.onset, self.grow)
        q_wh = 50.0 * (self.T_w - self.T_h)
        q_hc = (10.0 + 90.0 * fl) * (self.T_h - self.T_dc)
        q_ha = (6.0 + 0.5 * v) * (self.T_h - T_amb)
        q_ic = (5.0 + 55.0 * fl) * inv_ua_f * (self.T_inv - self.T_dc)
        rad = 40.0 + ((250.0 + 12.0 * v) if pump else 0.0) + (500.0 if self.fan else 0.0)
        q_rad = rad * (self.T_dc - T_amb)
        pl_m = getattr(self, "ploss_m", 0.0)
        pl_i = getattr(self, "ploss_i", 0.0)
        self.T_w += dt * (pl_m - q_wh) / 12e3
        self.T_h += dt * (q_wh - q_hc - q_ha) / 35e3
        self.T_inv += dt * (pl_i - q_ic - 2.0 * (self.T_inv - T_amb)) / 3e3
        self.T_dc += clip(dt * (q_hc + q_ic - q_rad) / 25e3, -2.0, 2.0)
        dcdc_loss = self.lv_base * 14.0 * 0.07 if self.dcdc else 0.0
        self.T_dcdc += dt * (dcdc_loss - (8.0 + 30.0 * fl) * (self.T_dcdc - (self.T_dc if pump else T_amb))) / 4e3
        # cabin
        ua_cab = 100.0 + 4.0 * v
        q_sol = 700.0 * self.solar
        q_hv = 0.0
        self.P_hvac = 0.0
        if self.occupied and "no_hvac" not in VARIANTS:
            if self.T_cab < 20.5:
                qh = min(6000.0, 600.0 * (21.5 - self.T_cab) + 60.0 * max(0.0, 21.0 - T_amb))
                q_hv = qh
                self.P_hvac = qh
            elif self.T_cab > 23.0:
                qc = min(6000.0, 500.0 * (self.T_cab - 22.0) + 60.0 * max(0.0, T_amb - 22.0))
                q_hv = -qc
                self.P_hvac = qc / 2.6
        self.T_cab += dt * (q_hv + q_sol - ua_cab * (self.T_cab - T_amb)) / 90e3

    def rad_mode(self):
        return (self.duty_b > 0 and not self.chiller and self.T_in > self.T_amb + 3.0
                and max(self.T_mod) > 27.0)

    # ----------------------------------------------------------- BMS thermal readings
    def thermistors(self):
        vals = []
        rn = self.rn
        for s in range(16):
            m = s // 2
            vals.append(self.T_mod[m] + self.ts_off[s] + self.ts_gain[s] * self.heat[m] + rn.gauss(0, 0.12))
        if self.fk == "thermal_runaway" and self.q_cell > 0.0:
            # the hot cell's neighbourhood: the module's thermistor nearer the
            # cell reads 0.02 K/W above the module mean, the farther 0.006 K/W
            j = self.fcell
            near = 2 * (j // CELLS_PER_MOD) + (0 if j % CELLS_PER_MOD < CELLS_PER_MOD // 2 else 1)
            vals[near] += 0.02 * self.q_cell
            vals[near ^ 1] += 0.006 * self.q_cell
        if self.fk == "stuck_temp" and self.t >= self.onset:
            if self.stuck_val is None:
                self.stuck_val = vals[self.fsens]
            vals[self.fsens] = self.stuck_val
        return vals

    # ----------------------------------------------------------- controls
    def controls(self):
        Tmax = max(self.T_mod)
        Tmin = min(self.T_mod)
        hv_on = self.hv == 2
        mode = self.mode
        dc = mode == "dcfc"
        # chiller
        if hv_on:
            on_t, off_t = (30.0, 27.0) if dc else (33.0, 29.0)
            if Tmax > on_t and self.T_amb > 18.0:
                self.chiller = True
            elif Tmax < off_t or self.T_amb <= 18.0:
                self.chiller = False
            h_on, h_off = (15.0, 22.0) if dc else ((-5.0, 5.0) if mode == "ready" else (-5.0, 2.0))
            if Tmin < h_on:
                self.heater = True
            elif Tmin > h_off:
                self.heater = False
        else:
            self.chiller = False
            self.heater = False
        # battery pump
        if hv_on:
            base = 40.0 if dc else (20.0 if mode == "ready" else 0.0)
            d = base
            if Tmax > 28.0:
                d = max(d, 20.0 + (Tmax - 28.0) * 8.0)
            if self.chiller or self.heater:
                d = max(d, 60.0)
            if Tmax - Tmin > 6.0:
                d = max(d, 50.0)
            d = min(100.0, d)
        else:
            d = 45.0 if (mode == "off" and Tmax > 42.0) else 0.0
        self.duty_b += clip(d - self.duty_b, -5.0, 5.0)
        # drive unit pump and radiator fan
        if hv_on and mode == "ready":
            dd = clip(30.0 + (max(self.T_w, self.T_inv + 20.0) - 60.0) * 2.0, 30.0, 100.0)
        elif mode == "off" and self.T_w > 75.0:
            dd = 40.0
        else:
            dd = 0.0
        self.duty_d += clip(dd - self.duty_d, -5.0, 5.0)
        if self.T_dc > 50.0 or (self.chiller and self.T_amb > 30.0):
            self.fan = True
        elif self.T_dc < 45.0 and not (self.chiller and self.T_amb > 30.0):
            self.fan = False
        if mode in ("sleep",):
            self.fan = False
        # 12 V loads (A)
        if mode == "sleep":
            lv = 0.03
        elif hv_on or mode == "boot":
            lv = 22.0
            if self.occupied:
                lv += 3.0 + abs(self.P_hvac) / 600.0
                if self.T_amb < 5:
                    lv += 8.0      # seat / mirror / screen heaters
                if self.night:
                    lv += 8.0
                if self.hum > 0.8:
                    lv += 4.0      # wipers
            lv += self.duty_b * 0.06 + self.duty_d * 0.05 + (18.0 if self.fan else 0.0)
        else:
            lv = 7.5 + self.duty_b * 0.06 + self.duty_d * 0.05
        self.lv_base = lv
        # power limits for the next second (BMS)
        A, B = self.A, self.B
        E = self.sumA
        Rp = self.sumB + R_BUS
        vmin_lim = 3.0
        idis = min((A[i] - vmin_lim) / B[i] for i in self.cand_lo)
        idis = max(0.0, idis)
        p_v = idis * (E - idis * Rp)
        tf = 1.0 if Tmin > 10 else (0.75 if Tmin > 0 else (0.5 if Tmin > -10 else 0.35))
        sf = 1.0 if self.soc_bms > 10 else 0.5
        self.P_dis_lim = min(170e3 * tf * sf, p_v)
        ich = min((4.20 - A[i]) / B[i] for i in self.cand_hi_ch)
        ich = max(0.0, ich)
        p_c = ich * (E + ich * Rp)
        tc = 1.0 if Tmin > 15 else (0.6 if Tmin > 10 else (0.35 if Tmin > 0 else 0.12))
        sc = 1.0 if self.soc_bms < 90 else clip((98.0 - self.soc_bms) / 8.0, 0.1, 1.0)
        self.P_chg_lim = min(80e3 * tc * sc, p_c)
        self.I_chg_cv = max(0.0, min((4.17 - A[i]) / B[i] for i in self.cand_hi_ch))
        # charger current set point
        if mode == "dcfc" and self.chg_active:
            soc = self.soc_bms
            c = _interp([(0, 1.5), (10, 1.7), (50, 1.7), (60, 1.3), (70, 1.0), (80, 0.6), (85, 0.4),
                         (90, 0.25), (100, 0.08)], soc)
            if Tmin < 0:
                tfc = 0.1
            elif Tmin < 10:
                tfc = 0.25
            elif Tmin < 15:
                tfc = 0.5
            elif Tmin < 20:
                tfc = 0.8
            else:
                tfc = 1.0
            if Tmax > 55:
                tfc = 0.0
            elif Tmax > 52:
                tfc = min(tfc, 0.15)
            elif Tmax > 48:
                tfc = min(tfc, 0.5)
            ireq = min(c * self.Qnom * tfc, self.I_chg_cv)
            vt = E + ireq * Rp
            ich_max = min(self.chg_imax, self.chg_kw * 1000.0 / max(vt, 1.0))
            i_aux = (self.P_hvac + self.Q_ptc + self.Q_chill / 2.8 + self.lv_base * 14.0 / 0.93) / max(vt, 1.0)
            tgt = clip(ireq + i_aux, 0.0, ich_max)
            self.chg_I += clip(tgt - self.chg_I, -40.0, 25.0)
        elif mode == "ac" and self.chg_active:
            p_in = min(self.chg_kw, 11.0) * 1000.0
            ich = p_in * 0.92 / max(E, 1.0)
            if self.fk == "charger" and self.t >= self.onset:
                ich *= self.obc_fault_level()
            tgt = min(ich, self.I_chg_cv + 2.0)
            self.chg_I += clip(tgt - self.chg_I, -5.0, 5.0)
        else:
            self.chg_I += clip(-self.chg_I, -40.0, 40.0)

    def obc_fault_level(self):
        """Failing on-board charger power stage (one interleaved leg lost,
        then a derating it never leaves): the fraction of the normal output it
        still delivers, with drop-outs of tens of seconds.  Only called for
        the charger fault, once per awake second while AC charging."""
        f = self.fault
        rf = self.rf
        t = self.t
        lvl = 1.0 - (1.0 - f.get("level", 0.25)) * ramp(t, self.onset, self.grow)
        self.obc_level_ou += -self.obc_level_ou / 300.0 + 0.004 * rf.gauss(0, 1)
        lvl = clip(lvl * (1.0 + self.obc_level_ou), 0.05, 1.0)
        gap = f.get("drop_every_min", 12.0) * 60.0
        if self.obc_next_drop is None:
            self.obc_next_drop = t + rf.expovariate(1.0 / gap)
        if t >= self.obc_next_drop and t >= self.obc_drop_until:
            self.obc_drop_until = t + rf.uniform(f.get("drop_min_s", 15.0), f.get("drop_max_s", 60.0))
            self.obc_next_drop = self.obc_drop_until + rf.expovariate(1.0 / gap)
        if t < self.obc_drop_until:
            return 0.0
        return lvl

    # ----------------------------------------------------------- environment
    def env(self, dt):
        re = self.re
        self.amb_ou += -self.amb_ou * dt / 1800.0 + 0.02 * math.sqrt(dt) * re.gauss(0, 1)
        self.T_amb = self.ambient()
        v = self.v
        if self.mode == "sleep":
            soak = 0.0
            tau = 600.0
        elif v < 2.0:
            soak = 4.0 * self.solar + 0.05 * max(0.0, self.T_dc - self.T_amb)
            tau = 90.0
        else:
            soak = 0.4 * self.solar
            tau = 20.0
        self.amb_sens += (self.T_amb + soak - self.amb_sens) * (1 - math.exp(-dt / tau))
        self.iso_ou += -self.iso_ou * dt / 3600.0 + 0.004 * math.sqrt(dt) * re.gauss(0, 1)

    def insulation(self, dt):
        Tp = sum(self.T_mod) / N_MOD
        r = self.iso_base * math.exp(-0.025 * (Tp - 20.0)) * (1 - 0.55 * self.hum ** 2) * math.exp(self.iso_ou)
        if self.mode == "dcfc" and self.hv == 2:
            r = r * 2.5e6 / (r + 2.5e6)        # charger cable + station in parallel
        if self.fk == "insulation" and self.t >= self.onset:
            x = ramp(self.t, self.onset, self.grow)
            r_end = self.fault.get("r_end", 60e3)
            leak = r_end * (1000.0 ** (1 - x))
            r = r * leak / (r + leak)
        self.iso_true = r
        if self.mode != "sleep" and self.t >= self.iso_next:
            self.iso_meas = r * (1 + self.rn.gauss(0, 0.04))
            self.iso_cnt = (self.iso_cnt + 1) & 0xFF
            self.iso_next = self.t + 10

    # ----------------------------------------------------------- frames
    def emit(self, r):
        if self.out is None:
            return
        rn = self.rn
        t = self.t
        base = self.t0 + t
        lines = []
        add = lines.append
        hv = self.hv
        V = r["V"]
        awake_for = t - self.awake_since if self.awake_since is not None else 999
        jit = [rn.gauss(0, 0.0002) for _ in range(40)]
        ji = 0

        def frame(msg, tt, vals):
            nonlocal ji
            j = jit[ji % 40]
            ji += 1
            if msg.name in self.dropped:
                return
            add((tt + j, msg.idhex, msg.encode(vals)))

        # 10 Hz
        m = MSG["BMS_CellSumry"]
        ph = self.phase[m.name]
        c = self.ctr[m.name]
        for k in range(10):
            c = (c + 1) & 15
            frame(m, base + ph + 0.1 * k, (r["cmax"][k], r["cmin"][k], r["cavg"][k], r["cmaxi"][k], r["cmini"][k], c))
        self.ctr[m.name] = c
        m = MSG["BMS_PackElec"]
        ph = self.phase[m.name]
        c = self.ctr[m.name]
        soc = self.soc_bms
        for k in range(10):
            c = (c + 1) & 15
            frame(m, base + ph + 0.1 * k, (V[k], r["I"][k], soc, hv, c))
        self.ctr[m.name] = c
        m = MSG["LV_Pwr"]
        ph = self.phase[m.name]
        st = 2 if self.dcdc else (1 if self.mode != "sleep" else 0)
        for k in range(10):
            frame(m, base + ph + 0.1 * k, (r["v12"][k], r["dcI"][k], st, self.T_dcdc, r["bI"][k]))
        m = MSG["MCU_Drive"]
        ph = self.phase[m.name]
        c = self.ctr[m.name]
        for k in range(10):
            c = (c + 1) & 15
            tq = r["tq"][k]
            tqm = tq + rn.gauss(0, 0.4) if (tq != 0.0 or r["rpm"][k] > 0) else 0.0
            vdc = (r["Vtrue"][k] - 0.002 * r["I"][k] + rn.gauss(0, 0.3)) if hv == 2 else rn.uniform(0, 2)
            frame(m, base + ph + 0.1 * k, (tqm, r["rpm"][k], r["tqr"][k], vdc, c))
        self.ctr[m.name] = c
        m = MSG["ESC_Speed"]
        ph = self.phase[m.name]
        c = self.ctr[m.name]
        for k in range(10):
            c = (c + 1) & 15
            frame(m, base + ph + 0.1 * k, (r["v"][k] * 3.6, 0, r["acc"][k], c))
        self.ctr[m.name] = c
        # 5 Hz
        m = MSG["VCU_State"]
        ph = self.phase[m.name]
        gear = 3 if (self.mode == "ready" and self.driver is not None and not self.driver.done) else 0
        for k in range(0, 10, 2):
            frame(m, base + ph + 0.1 * k, (gear, 1 if self.mode == "ready" else 0, r["ped"][k], r["brk"][k]))
        # 2 Hz
        m = MSG["MCU_Therm"]
        ph = self.phase[m.name]
        tw = self.T_w + 273.15 + rn.gauss(0, 0.2)
        ti = self.T_inv + rn.gauss(0, 0.3)
        for k in (0, 5):
            frame(m, base + ph + 0.1 * k, (tw, ti, self.T_dc))
        # 1 Hz
        th = self.thermistors()
        tmax = max(th)
        tmin = min(th)
        m = MSG["BMS_Thermal"]
        tv = dict(ModTMax=tmax, ModTMin=tmin, ModTMaxNo=th.index(tmax) + 1, ModTMinNo=th.index(tmin) + 1,
                  CoolInT=self.s_in + self.cin_off + rn.gauss(0, 0.05),
                  CoolOutT=self.s_out + self.cout_off + rn.gauss(0, 0.05), BalActive=0)
        frame(m, base + self.phase[m.name], [tv[s.name] for s in m.sigs])
        m = MSG["TMS_Cmd"]
        frame(m, base + self.phase[m.name], (self.duty_b, self.duty_d, 1 if self.chiller else 0, self.Q_ptc,
                                              self.Q_chill, 100.0 if self.fan else 0.0))
        m = MSG["BCM_Env"]
        frame(m, base + self.phase[m.name], (self.amb_sens, self.hum * 100, 2 if self.hum > 0.85 else 0))
        m = MSG["OBC_Status"]
        chp = self.chg_I * self.sumA / 1000.0 if self.chg_mode else 0.0
        frame(m, base + self.phase[m.name], (self.chg_mode, 1 if self.chg_active else 0, 1 if self.plug else 0,
                                              max(0.0, chp), self.chg_target, self.evse_lim))
        # 0.5 Hz, first report 8 s after wake-up
        m = MSG["IMD_Status"]
        if t % 2 == 0 and awake_for >= 8:
            frame(m, base + self.phase[m.name], (self.iso_meas, 0 if self.iso_meas > 500e3 else (1 if self.iso_meas > 100e3 else 2),
                                                  self.iso_cnt, self.sumA if hv == 2 else 0.0))
        # unknown gateway frame
        add((base + self.phase_unk, "%03X" % UNKNOWN_ID, "%02X00%04X00000000" % (0x11, t & 0xFFFF)))
        lines.sort()
        self.out.write("".join("(%.6f) can0 %s#%s\n" % x for x in lines))
        self.lines += len(lines)

    # ----------------------------------------------------------- phases
    def wake(self):
        if self.mode == "sleep":
            self.mode = "off"
            self.awake_since = self.t
            # BMS recalibrates SOC from rest voltage after a long rest
            if self.rest_s > 1800:
                vavg = self.sumA / N_CELL
                s_ocv = soc_from_ocv(vavg)
                self.soc_bms += 0.5 * (s_ocv - self.soc_bms)

    def run_off(self, seconds):
        self.wake()
        self.mode = "off"
        self.hv = 0
        self.dcdc = False
        for _ in range(int(seconds)):
            self.tick()

    def boot(self):
        self.wake()
        self.mode = "boot"
        self.boot_t = 0.0
        self.occupied = True
        self.hv = 0
        self.dcdc = False
        self.tick()               # 0-1 s ECUs boot
        self.hv = 1
        self.tick()               # 1-2 s precharge
        self.hv = 2
        self.tick()               # 2-3 s contactors closed
        self.dcdc = True
        self.mode = "ready"
        self.tick()

    def key_off(self):
        self.hv = 0
        self.dcdc = False
        self.mode = "off"
        self.occupied = False
        self.driver = None

    def ph_drive(self, p):
        legs = gen_legs(self.rr, p["legs"], p.get("aggr", 0.2))
        self.boot()
        for _ in range(int(self.rr.uniform(5, 20))):
            self.tick()
        self.driver = Driver(legs, p.get("aggr", 0.2))
        tmax = sum(mn for _, mn in p["legs"]) * 60 * 1.6 + 600
        t_start = self.t
        while not self.driver.done:
            self.tick()
            if self.t - t_start > tmax and not self.driver.finishing:
                self.driver.finishing = True
        for _ in range(int(self.rr.uniform(4, 15))):
            self.tick()
        self.key_off()
        self.run_off(self.rr.uniform(20, 60))

    def ph_idle(self, p):
        if self.mode != "ready":
            self.boot()
        self.driver = None
        for _ in range(int(p["minutes"] * 60)):
            self.tick()
        self.key_off()
        self.run_off(30)

    def ph_park(self, p):
        total = p["minutes"] * 60.0
        post = p.get("postrun", self.rr.uniform(3, 8)) * 60.0
        wake_every = p.get("wake_every", 120) * 60.0
        wake_dur = p.get("wake_dur", 4) * 60.0
        t_end = self.t + total
        self.run_off(min(post, total))
        while self.t < t_end:
            nxt = min(t_end, self.t + wake_every)
            self.sleep(int(nxt - self.t))
            if self.t < t_end - wake_dur:
                self.run_off(wake_dur)

    def ph_dcfc(self, p):
        self.wake()
        self.run_off(self.rr.uniform(40, 90))          # plug in, authorise
        self.mode = "dcfc"
        self.plug = True
        self.chg_mode = 2
        self.chg_kw = p["kw"]
        self.chg_imax = p.get("imax", 350.0 if p["kw"] >= 150 else (250.0 if p["kw"] >= 100 else 125.0))
        self.chg_target = p.get("target", 80)
        self.evse_lim = int(self.chg_imax)
        self.occupied = p.get("occupied", True)
        self.hv = 1
        self.tick()
        self.hv = 2
        self.dcdc = True
        for _ in range(30):                            # cable check, insulation test
            self.tick()
        self.chg_active = True
        t_start = self.t
        while True:
            self.tick()
            if self.soc_bms >= self.chg_target or self.t - t_start > p.get("max_min", 60) * 60:
                break
            if self.t - t_start > 120 and self.chg_I < 3.0:
                break
        self.chg_active = False
        for _ in range(15):
            self.tick()
        self.key_off()
        self.plug = False
        self.chg_mode = 0
        self.run_off(self.rr.uniform(40, 120))

    def ph_ac(self, p):
        total = p["minutes"] * 60.0
        t_end = self.t + total
        self.wake()
        self.run_off(self.rr.uniform(60, 120))
        self.mode = "ac"
        self.plug = True
        self.chg_mode = 1
        self.chg_kw = p["kw"]
        self.chg_target = p.get("target", 90)
        self.evse_lim = int(p["kw"] * 1000 / 230 / (3 if p["kw"] > 8 else 1))
        self.hv = 1
        self.tick()
        self.hv = 2
        self.dcdc = True
        for _ in range(10):
            self.tick()
        self.chg_active = True
        while self.t < t_end - 600:
            self.tick()
            if self.soc_bms >= self.chg_target:
                break
        self.chg_active = False
        for _ in range(10):
            self.tick()
        self.hv = 0
        self.dcdc = False
        self.mode = "off"
        self.chg_mode = 0
        self.run_off(self.rr.uniform(180, 400))
        self.plug = False
        while self.t < t_end:
            nxt = min(t_end, self.t + 7200)
            self.sleep(int(nxt - self.t))
            if self.t < t_end - 300:
                self.run_off(240)

    def run(self, out):
        self.out = out
        for kind, p in self.scn["phases"]:
            getattr(self, "ph_" + kind)(p)
        return self.t


# A dropout takes effect inside tick(): patch emit via a subclass hook.
_orig_tick = Sim.tick


def _tick(self):
    if self.fk == "dropout" and self.t >= self.onset:
        self.dropped.add(self.fault["message"])
    _orig_tick(self)


Sim.tick = _tick


# =====================================================================
# Scenarios
# =====================================================================

def day(y, mo, d, h, mi, tz):
    """Unix time of a local wall-clock time (tz hours east of UTC)."""
    import calendar
    return calendar.timegm((y, mo, d, h, mi, 0, 0, 0, 0)) - tz * 3600


HEALTHY = {
    "winter_commute": dict(
        seed=101, t0=day(2026, 1, 20, 6, 40, 1), tz=1, amb=-15.0, amb_amp=3.0, hum=0.6, solar=0.0, night=True,
        soc0=86.0, tpack0=-12.0, tmotor0=-13.0,
        phases=[("drive", dict(legs=[("snow_city", 12), ("highway", 22), ("snow_city", 12)], aggr=0.1)),
                ("park", dict(minutes=170, wake_every=90)),
                ("ac", dict(kw=7.4, target=95, minutes=50)),
                ("drive", dict(legs=[("snow_city", 15), ("highway", 20), ("snow_city", 18)], aggr=0.15)),
                ("park", dict(minutes=30))]),
    "summer_highway": dict(
        seed=202, t0=day(2026, 7, 14, 9, 30, 2), tz=2, amb=36.0, amb_amp=4.0, hum=0.3, solar=0.9,
        soc0=96.0, tpack0=31.0, tmotor0=33.0, tcab0=48.0,
        phases=[("drive", dict(legs=[("city", 8), ("highway", 110)], aggr=0.3)),
                ("dcfc", dict(kw=150, target=80, max_min=45)),
                ("drive", dict(legs=[("highway", 80), ("city", 15)], aggr=0.3)),
                ("park", dict(minutes=30))]),
    "fast_charge": dict(
        seed=303, t0=day(2026, 4, 9, 13, 10, 0), tz=0, amb=22.0, amb_amp=4.0, hum=0.5, solar=0.5,
        soc0=22.0, tpack0=20.0,
        phases=[("drive", dict(legs=[("suburban", 10), ("city", 10)], aggr=0.2)),
                ("dcfc", dict(kw=100, target=85, max_min=60)),
                ("drive", dict(legs=[("suburban", 20), ("highway", 35), ("city", 10)], aggr=0.25)),
                ("dcfc", dict(kw=150, target=75, max_min=30)),
                ("drive", dict(legs=[("city", 20)], aggr=0.2)),
                ("park", dict(minutes=60, wake_every=50))]),
    "long_park": dict(
        seed=404, t0=day(2026, 10, 3, 18, 20, 1), tz=1, amb=12.0, amb_amp=4.0, hum=0.7, solar=0.0, night=True,
        soc0=42.0, tpack0=18.0,
        phases=[("drive", dict(legs=[("city", 15), ("suburban", 15)], aggr=0.15)),
                ("ac", dict(kw=11.0, target=90, minutes=420)),
                ("park", dict(minutes=120, wake_every=120)),
                ("drive", dict(legs=[("suburban", 10), ("city", 15)], aggr=0.15)),
                ("park", dict(minutes=20))]),
    "aggressive": dict(
        seed=505, t0=day(2026, 5, 23, 10, 0, 2), tz=2, amb=20.0, amb_amp=4.0, hum=0.4, solar=0.6,
        soc0=92.0, tpack0=19.0,
        phases=[("drive", dict(legs=[("city", 10), ("suburban", 30), ("highway", 35), ("suburban", 20)], aggr=0.95)),
                ("dcfc", dict(kw=150, target=80, max_min=35)),
                ("drive", dict(legs=[("highway", 40), ("city", 15)], aggr=0.95)),
                ("park", dict(minutes=45))]),
    "mountain": dict(
        seed=606, t0=day(2026, 9, 12, 8, 30, 1), tz=1, amb=13.0, amb_amp=3.0, hum=0.92, solar=0.0,
        soc0=97.0, tpack0=12.0,
        phases=[("drive", dict(legs=[("suburban", 10), ("mountain_up", 45)], aggr=0.3)),
                ("park", dict(minutes=40, wake_every=60)),
                ("drive", dict(legs=[("mountain_down", 45), ("suburban", 15)], aggr=0.3)),
                ("drive", dict(legs=[("mountain_up", 30), ("mountain_down", 30), ("city", 10)], aggr=0.3)),
                ("park", dict(minutes=30))]),
    "errands": dict(
        seed=707, t0=day(2026, 2, 28, 9, 0, 1), tz=1, amb=3.0, amb_amp=3.0, hum=0.8, solar=0.1,
        soc0=64.0, tpack0=4.0,
        phases=[("drive", dict(legs=[("city", 12)], aggr=0.2)), ("park", dict(minutes=25, postrun=4)),
                ("drive", dict(legs=[("city", 9)], aggr=0.2)), ("park", dict(minutes=40, postrun=6)),
                ("drive", dict(legs=[("suburban", 10), ("city", 6)], aggr=0.2)), ("park", dict(minutes=15, postrun=15)),
                ("drive", dict(legs=[("city", 14)], aggr=0.2)), ("park", dict(minutes=30, postrun=3)),
                ("drive", dict(legs=[("city", 8)], aggr=0.2)), ("park", dict(minutes=20, postrun=5)),
                ("drive", dict(legs=[("city", 11)], aggr=0.2)), ("park", dict(minutes=35, postrun=4)),
                ("drive", dict(legs=[("city", 13)], aggr=0.2)),
                ("ac", dict(kw=7.4, target=90, minutes=70))]),
    "hot_city_dcfc": dict(
        seed=808, t0=day(2026, 8, 2, 11, 0, -7), tz=-7, amb=43.0, amb_amp=2.0, hum=0.1, solar=1.0,
        soc0=62.0, tpack0=38.0, tmotor0=45.0, tcab0=60.0,
        phases=[("drive", dict(legs=[("city", 50), ("suburban", 25), ("city", 20)], aggr=0.4)),
                ("dcfc", dict(kw=50, target=85, max_min=50)),
                ("drive", dict(legs=[("city", 40), ("suburban", 20)], aggr=0.4)),
                ("park", dict(minutes=30))]),
}

# fault scenarios: base healthy scenario (= healthy twin) + fault with onset
FAULTS = {
    "f_cell_short": ("long_park", dict(kind="cell_short", onset_min=20, grow_min=120, r_start=8.0, r_end=1.0)),
    "f_cell_capacity": ("summer_highway", dict(kind="cell_capacity", onset_min=0, grow_min=0, ratio=0.8)),
    "f_cooling_loss_hwy": ("summer_highway", dict(kind="cooling_loss", onset_min=40, grow_min=20, loss=0.8)),
    "f_cooling_loss_dcfc": ("hot_city_dcfc", dict(kind="cooling_loss", onset_min=45, grow_min=20, loss=0.75)),
    "f_insulation": ("mountain", dict(kind="insulation", onset_min=60, grow_min=60, r_end=60e3)),
    "f_weak_12v": ("errands", dict(kind="weak_12v", onset_min=30, grow_min=60, r_mult=5.0, leak=2.0)),
    "f_motor_overheat": ("aggressive", dict(kind="motor_overheat", onset_min=20, grow_min=40, extra=1.2)),
    "f_inverter_overheat": ("summer_highway", dict(kind="inverter_overheat", onset_min=30, grow_min=30, loss=0.8)),
    "f_stuck_temp": ("fast_charge", dict(kind="stuck_temp", onset_min=15)),
    "f_drift_current": ("winter_commute", dict(kind="drift_current", onset_min=20, grow_min=60, offset=8.0)),
    "f_drift_voltage": ("fast_charge", dict(kind="drift_voltage", onset_min=30, grow_min=60, offset=-10.0)),
    "f_dropout_imd": ("mountain", dict(kind="dropout", onset_min=90, message="IMD_Status")),
    "f_dropout_thermal": ("aggressive", dict(kind="dropout", onset_min=60, message="BMS_Thermal")),
    "f_thermal_runaway": ("long_park", dict(kind="thermal_runaway", onset_min=20, grow_min=150, q_start=30.0,
                                            q_end=140.0, ea_k=3000.0, r_start=20.0, r_end=0.8)),
    "f_charger": ("long_park", dict(kind="charger", onset_min=50, grow_min=10, level=0.25, drop_every_min=12.0,
                                    drop_min_s=15.0, drop_max_s=60.0)),
}


def all_scenarios():
    out = {}
    for name, s in HEALTHY.items():
        d = dict(s)
        d["name"] = name
        d["expected"] = "healthy"
        d["twin"] = None
        out[name] = d
    for name, (base, f) in FAULTS.items():
        d = dict(HEALTHY[base])
        d["name"] = name
        d["fault"] = f
        d["expected"] = f["kind"] + ("(" + f["message"] + ")" if "message" in f else "")
        d["twin"] = base
        out[name] = d
    return out


def gen_one(args):
    name, scn, outdir, scale, variant = args
    if variant and not VARIANTS:
        apply_variants(variant)      # also in pool workers
    scn = dict(scn)
    if scale != 1.0:
        ph = []
        for kind, p in scn["phases"]:
            p = dict(p)
            if "legs" in p:
                p["legs"] = [(s, m * scale) for s, m in p["legs"]]
            if "minutes" in p:
                p["minutes"] = p["minutes"] * scale
            if "max_min" in p:
                p["max_min"] = p["max_min"] * scale
            ph.append((kind, p))
        scn["phases"] = ph
        if scn.get("fault"):
            f = dict(scn["fault"])
            f["onset_min"] = f.get("onset_min", 0) * scale
            f["grow_min"] = f.get("grow_min", 30) * scale
            scn["fault"] = f
    t_wall = _time.time()
    sim = Sim(scn)
    path = os.path.join(outdir, "logs", name + ".log")
    with open(path, "w", buffering=1 << 20) as f:
        dur = sim.run(f)
    meta = dict(name=name, expected=scn["expected"], twin=scn["twin"], seed=scn["seed"], t0=scn["t0"],
                duration_s=dur, frames=sim.lines, fault=scn.get("fault"),
                onset_t=(scn["t0"] + scn["fault"]["onset_min"] * 60) if scn.get("fault") else None,
                soh=round(sim.soh, 4), final_soc_bms=round(sim.soc_bms, 2),
                final_soc_true=round(sum(sim.soc) / N_CELL, 2), fault_cell=sim.fcell + 1,
                fault_sensor=sim.fsens + 1, ambient=scn["amb"], gen_s=round(_time.time() - t_wall, 1),
                log_bytes=os.path.getsize(path))
    with open(os.path.join(outdir, "logs", name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)
    return name, meta


# =====================================================================
# Report
# =====================================================================

KEYWORDS = {
    "cell_short": ["short", "self_discharge", "selfdischarge"],
    "cell_capacity": ["capacity"],
    "cooling_loss": ["cooling", "coolant"],
    "insulation": ["insulation", "isolation"],
    "weak_12v": ["12v", "12_v", "low_voltage", "lv"],
    "motor_overheat": ["motor"],
    "inverter_overheat": ["inverter", "motor"],
    "stuck_temp": ["stuck", "sensor"],
    "drift_current": ["drift", "sensor"],
    "drift_voltage": ["drift", "sensor"],
    "dropout": ["dropout", "sensor", "lost"],
    "thermal_runaway": ["runaway"],
    "charger": ["charger", "charging", "obc"],
}


def run_detections(path, meta, ref):
    """Raised detections from `evedge run --replay` (FEATURES=1).  The replay
    re-bases the log's first frame to the wall clock at start (the 'starting'
    line of its stderr); the stored diagnosis events carry that data clock."""
    fpath = path.replace(".run.err", ".features.txt")
    if not os.path.exists(path) or not os.path.exists(fpath):
        return ""
    import datetime

    def parse(ts):
        ts = ts.rstrip("Z")
        fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in ts else "%Y-%m-%dT%H:%M:%S"
        return datetime.datetime.strptime(ts[:26], fmt).replace(tzinfo=datetime.timezone.utc).timestamp()

    start = None
    for ln in open(path):
        if "msg=starting" in ln:
            start = parse(ln.split("time=", 1)[1].split(" ", 1)[0])
            break
    if start is None:
        return "?"
    cnt = {}
    first = {}
    for ln in open(fpath):
        p = ln.split()
        if len(p) >= 3 and p[1] == "raised":
            t = parse(p[0]) - start + meta["t0"]
            cnt[p[2]] = cnt.get(p[2], 0) + 1
            first.setdefault(p[2], t)
    if not cnt:
        return "-"
    return " ".join("%s x%d first %+.0fm" % (f, cnt[f], (first[f] - ref) / 60.0)
                    for f in sorted(cnt, key=lambda f: first[f]))


def report(outdir, verbose=False):
    logs = os.path.join(outdir, "logs")
    res = os.path.join(outdir, "results")
    names = [n for n in all_scenarios() if os.path.exists(os.path.join(logs, n + ".json"))]
    rows = []
    details = []

    def diagnose_lines(n):
        # A missing result or a line that is not JSON is an error, never
        # "no detections": a healthy verdict must come from a diagnose run.
        p = os.path.join(res, n + ".jsonl")
        if not os.path.exists(p):
            sys.exit("report: %s missing (diagnose did not run for %s)" % (p, n))
        out = []
        for i, ln in enumerate(open(p), 1):
            ln = ln.strip()
            if not ln:
                continue
            try:
                out.append(json.loads(ln))
            except ValueError as e:
                sys.exit("report: %s:%d: not JSON (%s): %.80s" % (p, i, e, ln))
        return out

    def model_lines(n):
        return [x for x in diagnose_lines(n) if x.get("kind") == "model"]

    def is_check(x):
        # A monitor check's or the lost-signal watch's finding: printed as a
        # rule line, but not one of the GB/T 32960 alarm items.
        return x.get("kind") == "rule" and ("check" in (x.get("evidence") or {}) or x.get("fault") == "signal_lost")

    def detector_lines(n):
        return [x for x in diagnose_lines(n) if x.get("kind") == "model" or is_check(x)]

    def verdict_of(meta, fk, found, twin_found):
        """The verdict for the detections found (model lines, or model and
        check lines) against the healthy twin's."""
        if not fk:
            return "OK" if not found else "FALSE ALARM"
        match, twin_explained = None, 0
        for x in found:
            if x["t"] >= meta["onset_t"] and any(k in x["fault"].lower() for k in KEYWORDS[fk]):
                # the same class raised within 10 min in the healthy twin: not evidence of the fault
                if any(y["fault"] == x["fault"] and abs(y["t"] - x["t"]) <= 600 for y in twin_found):
                    twin_explained += 1
                    continue
                match = x
                break
        ref = meta["onset_t"] if meta["onset_t"] else meta["t0"]
        if match:
            v = "DETECTED (%+.0f min)" % ((match["t"] - ref) / 60.0)
            if match["fault"] in {y["fault"] for y in twin_found}:
                v += " [twin also raises %s]" % match["fault"]
            return v
        if twin_explained:
            return "MISSED (only raises the twin has too)"
        if [x for x in found if x["t"] >= meta["onset_t"]]:
            return "flagged, other class"
        return "MISSED"

    for n in names:
        meta = json.load(open(os.path.join(logs, n + ".json")))
        errp = os.path.join(res, n + ".err")
        lines = diagnose_lines(n)
        err = open(errp).read().strip() if os.path.exists(errp) else ""
        model = [x for x in lines if x.get("kind") == "model"]
        rules = [x for x in lines if x.get("kind") == "rule"]
        checks = [x for x in rules if is_check(x)]
        ref = meta["onset_t"] if meta["onset_t"] else meta["t0"]
        fk = meta["fault"]["kind"] if meta["fault"] else None
        dets = []
        seen = {}
        for x in model:
            seen.setdefault(x["fault"], x)
        cnt = {}
        for x in model:
            cnt[x["fault"]] = cnt.get(x["fault"], 0) + 1
        for f, x in sorted(seen.items(), key=lambda kv: kv[1]["t"]):
            dets.append("%s x%d first %+.0fm" % (f, cnt[f], (x["t"] - ref) / 60.0))
        pre = [x for x in model if meta["onset_t"] and x["t"] < meta["onset_t"]]
        verdict = verdict_of(meta, fk, model, model_lines(meta["twin"]) if fk and meta.get("twin") else [])
        if pre:
            verdict += "; %d before onset" % len(pre)
        rnames = {}
        for x in rules:
            rnames[x["fault"]] = rnames.get(x["fault"], 0) + 1
        rs = ",".join("%s:%d" % kv for kv in sorted(rnames.items()))
        warn = ""
        if "model off" in err or "fault model off" in err:
            warn = "MODEL OFF"
        run_col = run_detections(os.path.join(res, n + ".run.err"), meta, ref)
        twin_det = detector_lines(meta["twin"]) if fk and meta.get("twin") else []
        whole = verdict_of(meta, fk, sorted(model + checks, key=lambda x: x["t"]), twin_det)
        cseen = {}
        for x in checks:
            cseen.setdefault(x["evidence"].get("check", x["fault"]), x)
        cdets = " ".join("%s (%s) %+.0fm" % (c, x["fault"], (x["t"] - ref) / 60.0) for c, x in sorted(cseen.items(), key=lambda kv: kv[1]["t"]))
        rows.append((n, meta["expected"], "%.1f" % (meta["duration_s"] / 3600.0), " ".join(dets) or "-",
                     verdict, cdets or "-", whole, "%d %s" % (len(rules), ("(" + rs + ")") if rs else ""), run_col, warn))
        if model:
            details.append((n, model))
    hdr = ("scenario", "expected", "h", "diagnose: model detections (class xN raised, first: min rel. to onset / start)",
           "verdict (diagnose, model)", "checks and lost-signal watch (fault, first)", "verdict (model and checks)",
           "rule alarms (all rule lines)", "run --replay: model detections", "")
    if not any(r[8] for r in rows):
        hdr = hdr[:8] + ("",)
        rows = [r[:8] + (r[9],) for r in rows]
    widths = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(len(hdr))]
    out = []
    out.append("| " + " | ".join(h.ljust(w) for h, w in zip(hdr, widths)) + " |")
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        out.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    print("\n".join(out))
    if verbose:
        for n, model in details:
            print("\n## %s" % n)
            for x in model:
                print(json.dumps({k: x[k] for k in ("t", "fault", "severity", "confidence", "score", "threshold", "evidence") if k in x}))
            fp = os.path.join(res, n + ".features.txt")
            if os.path.exists(fp):
                print("features (evedge run --replay; times are the replay's re-based clock):")
                print(open(fp).read().rstrip())


def features(db_path, top=8):
    """Print the diagnosis events (with the model's feature z-scores) that
    `evedge run --replay` stored in its database."""
    import sqlite3
    db = sqlite3.connect(db_path)
    for body, in db.execute("select body from events where kind='diagnosis' order by t, id"):
        d = json.loads(body)
        print("%s %s %s score %s threshold %s" % (d.get("time"), d.get("state"), d.get("fault"), d.get("score"),
                                                  d.get("threshold")))
        for f in (d.get("features") or [])[:top]:
            print("    %-34s value %10.4g  z %7.2f" % (f.get("name"), f.get("value"), f.get("z")))


# =====================================================================


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--jobs", type=int, default=2)
    g.add_argument("--only", default="")
    g.add_argument("--scale", type=float, default=1.0, help="scale phase durations (quick tests)")
    g.add_argument("--variant", default="", help="diagnostic variants: fine_temp, no_hvac (comma list)")
    g.add_argument("--seed-offset", type=int, default=0,
                   help="add to every scenario's seed: other routes, noise, car build and weather draws, same conditions")
    sub.add_parser("list")
    r = sub.add_parser("report")
    r.add_argument("--out", required=True)
    r.add_argument("-v", action="store_true")
    f = sub.add_parser("features")
    f.add_argument("--db", required=True)
    a = ap.parse_args()
    if a.cmd == "features":
        features(a.db)
        return
    if a.cmd == "list":
        for n in all_scenarios():
            print(n)
        return
    if a.cmd == "report":
        report(a.out, a.v)
        return
    apply_variants(a.variant)
    os.makedirs(os.path.join(a.out, "logs"), exist_ok=True)
    write_dbc(os.path.join(a.out, "indepsim.dbc"))
    write_map(os.path.join(a.out, "indepsim.toml"), "indepsim.dbc")
    scns = all_scenarios()
    for scn in scns.values():
        scn["seed"] += a.seed_offset
    todo = [n for n in scns if not a.only or n in a.only.split(",")]
    jobs = [(n, scns[n], a.out, a.scale, a.variant) for n in todo]
    t = _time.time()
    if a.jobs > 1 and len(jobs) > 1:
        import multiprocessing
        with multiprocessing.Pool(a.jobs) as pool:
            for name, meta in pool.imap_unordered(gen_one, jobs):
                print("%-22s %5.2f h  %8d frames  %6.1f MB  %5.1f s" % (
                    name, meta["duration_s"] / 3600.0, meta["frames"], meta["log_bytes"] / 1e6, meta["gen_s"]),
                    file=sys.stderr)
    else:
        for j in jobs:
            name, meta = gen_one(j)
            print("%-22s %5.2f h  %8d frames  %6.1f MB  %5.1f s" % (
                name, meta["duration_s"] / 3600.0, meta["frames"], meta["log_bytes"] / 1e6, meta["gen_s"]),
                file=sys.stderr)
    print("generated %d scenarios in %.0f s" % (len(jobs), _time.time() - t), file=sys.stderr)


if __name__ == "__main__":
    main()
