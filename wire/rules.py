"""The catalog of alert rules: what stream workers may detect and alerts may raise.

Streams emit AlertCandidate records naming one of these rules; the alert
service applies the lifecycle (delays, hysteresis, latching, escalation).
Default priorities follow IEC 60601-1-8 practice (high = immediate response
needed) and the RCP NEWS2 Chart 4 response bands.
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
    SIGNAL_LOSS = "signal_loss"
    DEVICE_OFFLINE = "device_offline"
    LOW_BATTERY = "low_battery"
    SENSOR_OFF = "sensor_off"


class RuleKind(StrEnum):
    PHYSIOLOGICAL = "physiological"
    SCORE = "score"
    TECHNICAL = "technical"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    kind: RuleKind
    priority: Priority
    description: str


P, K = Priority, RuleKind
CATALOG: dict[Rule, RuleSpec] = {
    Rule.HEART_RATE_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "heart rate above limit"),
    Rule.HEART_RATE_LOW: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "heart rate below limit"),
    Rule.SPO2_LOW: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "SpO2 below limit"),
    Rule.RESP_RATE_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "respiration rate above limit"),
    Rule.RESP_RATE_LOW: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "respiration rate below limit"),
    Rule.BP_SYSTOLIC_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "systolic pressure above limit"),
    Rule.BP_SYSTOLIC_LOW: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "systolic pressure below limit"),
    Rule.TEMPERATURE_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.LOW, "temperature above limit"),
    Rule.TEMPERATURE_LOW: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "temperature below limit"),
    Rule.NEWS2_MEDIUM: RuleSpec(K.SCORE, P.MEDIUM, "NEWS2 5-6: urgent ward-based response"),
    Rule.NEWS2_HIGH: RuleSpec(K.SCORE, P.HIGH, "NEWS2 7+: emergency response"),
    Rule.NEWS2_RED_FLAG: RuleSpec(K.SCORE, P.MEDIUM, "a single NEWS2 parameter scored 3"),
    Rule.GLUCOSE_URGENT_LOW: RuleSpec(K.PHYSIOLOGICAL, P.HIGH, "glucose below 54 mg/dL (level 2)"),
    Rule.GLUCOSE_LOW: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "glucose below 70 mg/dL (level 1)"),
    Rule.GLUCOSE_PREDICTED_LOW: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "glucose predicted below 70 mg/dL within 30 min"),
    Rule.GLUCOSE_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.LOW, "glucose above 180 mg/dL (level 1)"),
    Rule.GLUCOSE_URGENT_HIGH: RuleSpec(K.PHYSIOLOGICAL, P.MEDIUM, "glucose above 250 mg/dL (level 2)"),
    Rule.SIGNAL_LOSS: RuleSpec(K.TECHNICAL, P.MEDIUM, "no valid data for the configured time"),
    Rule.DEVICE_OFFLINE: RuleSpec(K.TECHNICAL, P.MEDIUM, "device offline (MQTT last will)"),
    Rule.LOW_BATTERY: RuleSpec(K.TECHNICAL, P.LOW, "device battery low"),
    Rule.SENSOR_OFF: RuleSpec(K.TECHNICAL, P.MEDIUM, "sensor off / probe off"),
}
