"""Alarm wording in Vietnamese and English, for SMS and webhook text.

Messages name the ward and bed (or the patient's pseudonymous id at home),
never the patient's name: SMS travels through third-party networks.
"""

from __future__ import annotations

from typing import Final

from alerts.alarm_model import EventKind
from wire.messages import Priority
from wire.rules import Rule

RULE_TEXT: Final[dict[Rule, tuple[str, str]]] = {
    Rule.HEART_RATE_HIGH: ("Nhịp tim cao", "Heart rate high"),
    Rule.HEART_RATE_LOW: ("Nhịp tim thấp", "Heart rate low"),
    Rule.SPO2_LOW: ("SpO2 thấp", "SpO2 low"),
    Rule.RESP_RATE_HIGH: ("Nhịp thở nhanh", "Respiratory rate high"),
    Rule.RESP_RATE_LOW: ("Nhịp thở chậm", "Respiratory rate low"),
    Rule.BP_SYSTOLIC_HIGH: ("Huyết áp tâm thu cao", "Systolic pressure high"),
    Rule.BP_SYSTOLIC_LOW: ("Huyết áp tâm thu thấp", "Systolic pressure low"),
    Rule.TEMPERATURE_HIGH: ("Sốt", "Temperature high"),
    Rule.TEMPERATURE_LOW: ("Thân nhiệt thấp", "Temperature low"),
    Rule.NEWS2_MEDIUM: ("NEWS2 5-6: cần đánh giá khẩn", "NEWS2 5-6: urgent review"),
    Rule.NEWS2_HIGH: ("NEWS2 ≥7: cấp cứu", "NEWS2 7+: emergency response"),
    Rule.NEWS2_RED_FLAG: ("NEWS2: một chỉ số 3 điểm", "NEWS2: a single red parameter"),
    Rule.GLUCOSE_URGENT_LOW: ("Hạ đường huyết nặng (<54 mg/dL)", "Urgent low glucose (<54 mg/dL)"),
    Rule.GLUCOSE_LOW: ("Hạ đường huyết (<70 mg/dL)", "Low glucose (<70 mg/dL)"),
    Rule.GLUCOSE_PREDICTED_LOW: ("Dự báo hạ đường huyết", "Predicted low glucose"),
    Rule.GLUCOSE_HIGH: ("Tăng đường huyết (>180 mg/dL)", "High glucose (>180 mg/dL)"),
    Rule.GLUCOSE_URGENT_HIGH: ("Tăng đường huyết nặng (>250 mg/dL)", "Urgent high glucose (>250 mg/dL)"),
    Rule.NO_PULSE: ("Không có mạch", "No pulse"),
    Rule.SIGNAL_LOSS: ("Mất tín hiệu", "Signal loss"),
    Rule.MONITOR_NO_SIGNAL: ("Monitor mất tín hiệu – kiểm tra bệnh nhân", "No signal – check patient"),
    Rule.DEVICE_OFFLINE: ("Thiết bị mất kết nối", "Device offline"),
    Rule.LOW_BATTERY: ("Pin thiết bị yếu", "Device battery low"),
    Rule.SENSOR_OFF: ("Cảm biến bị tuột", "Sensor off"),
}

PRIORITY_TEXT: Final[dict[Priority, tuple[str, str]]] = {
    Priority.HIGH: ("CAO", "HIGH"),
    Priority.MEDIUM: ("TRUNG BÌNH", "MEDIUM"),
    Priority.LOW: ("THẤP", "LOW"),
}

EVENT_TEXT: Final[dict[EventKind, tuple[str, str]]] = {
    EventKind.RAISED: ("Cảnh báo", "Alarm"),
    EventKind.REANNOUNCED: ("Nhắc lại cảnh báo", "Alarm repeated"),
    EventKind.UNPAUSED: ("Hết tạm dừng, cảnh báo", "Pause over, alarm"),
    EventKind.ESCALATED: ("Chuyển cấp cảnh báo (chưa ai xác nhận)", "Escalated alarm (not acknowledged)"),
}


def _pick(pair: tuple[str, str], locale: str) -> str:
    return pair[0] if locale == "vi" else pair[1]


def rule_text(rule: str, locale: str) -> str:
    try:
        return _pick(RULE_TEXT[Rule(rule)], locale)
    except ValueError:
        return rule


def sms_text(
    event: EventKind, rule: str, priority: Priority, ward_id: str | None, bed: str | None, patient_id: str,
    value: float | None, alarm_id: str, locale: str,
) -> str:
    """A short SMS (one segment where possible): what, where, how bad, and the alarm's reference."""
    what = _pick(EVENT_TEXT.get(event, EVENT_TEXT[EventKind.RAISED]), locale)
    where = (f"Khoa {ward_id} giường {bed or '?'}" if locale == "vi" else f"Ward {ward_id} bed {bed or '?'}") \
        if ward_id else (f"BN tại nhà {patient_id}" if locale == "vi" else f"Home patient {patient_id}")
    val = f" ({value:g})" if value is not None else ""
    ref = "Mã" if locale == "vi" else "Ref"
    head = f"[RPM {_pick(PRIORITY_TEXT[priority], locale)}] {what}"
    return f"{head}: {rule_text(rule, locale)}{val} - {where}. {ref} {alarm_id[:8]}"
