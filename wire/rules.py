"""The catalog of alert rules: what stream workers may detect and alerts may raise.

Streams emit AlertCandidate records naming one of these rules; the alert
service applies the lifecycle (delays, hysteresis, latching, escalation).
Default priorities follow IEC 60601-1-8 practice (high = immediate response
needed) and the RCP NEWS2 Chart 4 response bands.

Each rule also declares how the streams evaluate it (``EvaluatedBy``) and,
for the sliding (fast) path, its onset delay with the clinical source: the
persistence the streams require of the artifact-filtered signal before the
first candidate. The alert service takes the same delay for these rules
(alerts.suppression_policy), so it is applied once, not twice; onset to
alarm is then the delay plus the pipeline's latency (docs/alarms.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wire.messages import Priority


class Rule(StrEnum):
    HEART_RATE_HIGH = "heart_rate_high"
    HEART_RATE_LOW = "heart_rate_low"
    SPO2_LOW = "spo2_low"
    RESP_RATE_HIGH = "resp_rate_high"
    RESP_RATE_LOW = "resp_rate_low"
    BP_SYSTOLIC_HIGH = "bp_systolic_high"
    BP_SYSTOLIC_LOW = "bp_systolic_low"
    TEMPERATURE_HIGH = "temperature_high"
    TEMPERATURE_LOW = "temperature_low"
    NEWS2_MEDIUM = "news2_medium"
    NEWS2_HIGH = "news2_high"
    NEWS2_RED_FLAG = "news2_red_flag"
    GLUCOSE_URGENT_LOW = "glucose_urgent_low"
    GLUCOSE_LOW = "glucose_low"
    GLUCOSE_PREDICTED_LOW = "glucose_predicted_low"
    GLUCOSE_HIGH = "glucose_high"
    GLUCOSE_URGENT_HIGH = "glucose_urgent_high"
    NO_PULSE = "no_pulse"
    SIGNAL_LOSS = "signal_loss"
    MONITOR_NO_SIGNAL = "monitor_no_signal"
    DEVICE_OFFLINE = "device_offline"
    LOW_BATTERY = "low_battery"
    SENSOR_OFF = "sensor_off"


class RuleKind(StrEnum):
    PHYSIOLOGICAL = "physiological"
    SCORE = "score"
    TECHNICAL = "technical"


class EvaluatedBy(StrEnum):
    """Where the streams decide a rule."""

    SLIDING = "sliding"  # every sample: sliding median, persistence ``onset_delay_s`` (high priority, real time)
    WINDOW = "window"  # the closed 1-minute window + allowed lateness (spot and slow vitals)
    SCORE = "score"  # NEWS2 once per closed minute (trend; RCP Chart 4: the band itself is the trigger)
    EPISODE = "episode"  # CGM consensus episodes (>= 15 min beyond the threshold, Battelino 2019)
    TECHNICAL = "technical"  # device / signal conditions (arrival time, device status)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    kind: RuleKind
    priority: Priority
    description: str
    evaluation: EvaluatedBy = EvaluatedBy.WINDOW
    onset_delay_s: float | None = None  # SLIDING only: how long the filtered signal must stay beyond the limit
    delay_source: str = ""


# Sources of the sliding-path delays (full references in docs/alarms.md).
_ECG = ("IEC 60601-2-27 (ECG monitors): heart-rate alarm conditions within 10 s of onset; "
        "IEC 60601-1-8 high priority")
_BRADY = "IEC 60601-2-27: asystole / extreme bradycardia alarm within 10 s; shorter than tachycardia, more dangerous"
_SPO2 = ("pulse-oximetry alarm delays 10-15 s (ISO 80601-2-61 manuals; Welch 2011: 15 s removes most "
         "self-correcting dips); 10 s keeps the high-priority total within 15 s")
_APNOEA = "apnoea / bradypnoea: monitors' default 10-20 s; 10 s keeps the high-priority total within 15 s"
_TACHYPNOEA = "sustained tachypnoea is medium priority (IEC 60601-1-8): 30 s, as the alert policy had"
_NO_PULSE = ("IEC 60601-2-27 (ECG monitors): asystole is a high-priority alarm condition raised within 10 s; "
             "monitors' 'no pulse' / 'asystole' alarms are high priority and never delayed further "
             "(Philips IntelliVue, GE CARESCAPE, Masimo Root manuals)")


P, K, E = Priority, RuleKind, EvaluatedBy
CATALOG: dict[Rule, RuleSpec] = {
    Rule.HEART_RATE_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "heart rate above limit", E.SLIDING, 10.0, _ECG),
    Rule.HEART_RATE_LOW: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "heart rate below limit", E.SLIDING, 8.0, _BRADY),
    Rule.SPO2_LOW: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "SpO2 below limit", E.SLIDING, 10.0, _SPO2),
    Rule.RESP_RATE_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "respiration rate above limit", E.SLIDING, 30.0,
                                  _TACHYPNOEA),
    Rule.RESP_RATE_LOW: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "respiration rate below limit", E.SLIDING, 10.0, _APNOEA),
    Rule.BP_SYSTOLIC_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "systolic pressure above limit"),
    Rule.BP_SYSTOLIC_LOW: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "systolic pressure below limit"),
    Rule.TEMPERATURE_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.LOW, "temperature above limit"),
    Rule.TEMPERATURE_LOW: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "temperature below limit"),
    Rule.NEWS2_MEDIUM: RuleSpec(K.SCORE, P.MEDIUM, "NEWS2 5-6: urgent ward-based response", E.SCORE),
    Rule.NEWS2_HIGH: RuleSpec(K.SCORE, P.HIGH, "NEWS2 7+: emergency response", E.SCORE),
    Rule.NEWS2_RED_FLAG: RuleSpec(K.SCORE, P.MEDIUM, "a single NEWS2 parameter scored 3", E.SCORE),
    Rule.GLUCOSE_URGENT_LOW: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "glucose below 54 mg/dL (level 2)", E.EPISODE),
    Rule.GLUCOSE_LOW: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "glucose below 70 mg/dL (level 1)", E.EPISODE),
    Rule.GLUCOSE_PREDICTED_LOW: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "glucose predicted below 70 mg/dL within 30 min", E.EPISODE),
    Rule.GLUCOSE_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.LOW, "glucose above 180 mg/dL (level 1)", E.EPISODE),
    Rule.GLUCOSE_URGENT_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "glucose above 250 mg/dL (level 2)", E.EPISODE),
    # No heart rate / pulse from the patient's bedside monitor while it keeps sending other channels that say
    # it is attached (streams.no_pulse); persistence counted from the last valid pulse sample.
    Rule.NO_PULSE: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "no pulse / asystole-like: heart rate absent, monitor attached",
                            E.SLIDING, 10.0, _NO_PULSE),
    Rule.SIGNAL_LOSS: RuleSpec(K.TECHNICAL, P.MEDIUM, "no valid data for the configured time", E.TECHNICAL),
    # A bedside monitor gone silent leaves a patient who needs continuous monitoring unmonitored: a technical
    # condition (the cause is the equipment or network until someone looks) of medium priority, i.e. prompt
    # response at the bedside (IEC 60601-1-8: priority by the potential harm and how fast it can develop;
    # a failure of a distributed alarm system's communication must itself be a technical alarm condition).
    Rule.MONITOR_NO_SIGNAL: RuleSpec(K.TECHNICAL, P.MEDIUM, "bedside monitor sends no valid data: check patient",
                                     E.TECHNICAL),
    Rule.DEVICE_OFFLINE: RuleSpec(K.TECHNICAL, P.MEDIUM, "device offline (MQTT last will)", E.TECHNICAL),
    Rule.LOW_BATTERY: RuleSpec(K.TECHNICAL, P.LOW, "device battery low", E.TECHNICAL),
    Rule.SENSOR_OFF: RuleSpec(K.TECHNICAL, P.MEDIUM, "sensor off / probe off", E.TECHNICAL),
}


def sliding_delay_ms(rule: Rule) -> int | None:
    """The onset delay of a sliding-path rule in ms; None for rules decided elsewhere."""
    spec = CATALOG[rule]
    if spec.evaluation is not EvaluatedBy.SLIDING or spec.onset_delay_s is None:
        return None
    return int(spec.onset_delay_s * 1000)
