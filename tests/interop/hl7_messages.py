"""ORU^R01 messages as a bedside-monitor gateway sends them (IHE PCD-01 shape), built with hl7apy."""

from __future__ import annotations

from datetime import datetime

from hl7apy.core import Message


def oru(control_id: str, patient: str | None, device: str, at: datetime,
        observations: list[tuple[str, str, str]]) -> str:
    """``observations``: (OBX-3 code^name^system, OBX-5 value, OBX-6 unit code^name^system)."""
    m = Message("ORU_R01", version="2.6")
    m.msh.msh_3 = "ICU-GATEWAY"
    m.msh.msh_4 = "BV-CHORAY"
    m.msh.msh_5 = "RPM"
    m.msh.msh_7 = at.strftime("%Y%m%d%H%M%S%z")
    m.msh.msh_9 = "ORU^R01^ORU_R01"
    m.msh.msh_10 = control_id
    m.msh.msh_11 = "P"
    result = m.add_group("ORU_R01_PATIENT_RESULT")
    if patient is not None:
        pid = result.add_group("ORU_R01_PATIENT").add_segment("PID")
        pid.pid_3 = f"{patient}^^^BV-CHORAY^MR"
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    order.obr.obr_1 = "1"
    order.obr.obr_4 = "182777000^monitoring of patient^SNOMED-CT"
    order.obr.obr_7 = at.strftime("%Y%m%d%H%M%S%z")
    for i, (code, value, unit) in enumerate(observations, start=1):
        obx = order.add_group("ORU_R01_OBSERVATION").obx
        obx.obx_1 = str(i)
        obx.obx_2 = "NM"
        obx.obx_3 = code
        obx.obx_5 = value
        obx.obx_6 = unit
        obx.obx_11 = "R"
        obx.obx_14 = at.strftime("%Y%m%d%H%M%S%z")
        obx.obx_18 = f"{device}^^^EUI-64"
    return str(m.to_er7())
