"""Administration API: users and roles, wards, patients, devices and bed assignments, the audit log.

Every change is written to audit_log with the admin who made it, in the
same transaction as the change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Path, Query, Request

from alerts.console import users
from alerts.console.admin_models import (
    AssignBody,
    AuditRow,
    DeviceBody,
    DeviceRow,
    GrantBody,
    PatientBody,
    PatientRow,
    UserCreate,
    UserOut,
    WardBody,
)
from alerts.console.auth import admin, current_user
from alerts.console.context import console
from alerts.console.errors import ApiError
from alerts.console.users import Grant, Principal, UserError
from storage import audit, registry
from wire.identifiers import ID_PATTERN
from wire.messages import DeviceKind

router = APIRouter(prefix="/api/admin", tags=["administration"])
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}, 422: {}}
# One Path per parameter: FastAPI binds a shared Path object to the first parameter's name (user_id),
# which made every ward/patient/device route answer 422 "user_id missing".
UserIdPath = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
WardIdPath = Path(min_length=1, max_length=64, pattern=ID_PATTERN)
PatientIdPath = Path(min_length=1, max_length=64, pattern=ID_PATTERN)
DeviceIdPath = Path(min_length=1, max_length=64, pattern=ID_PATTERN)


def _user_out(u: users.UserRow) -> UserOut:
    return UserOut(user_id=u.user_id, display_name=u.display_name, locale=u.locale, patient_id=u.patient_id,
                   disabled=u.disabled, roles=[(g.role, g.ward_id) for g in u.grants])


@router.get("/users", response_model=list[UserOut], responses=_ERRORS)
def list_users(request: Request, user: Principal = Depends(admin)) -> list[UserOut]:
    with console(request).connect() as conn:
        return [_user_out(u) for u in users.list_users(conn)]


@router.post("/users", response_model=UserOut, status_code=201, responses=_ERRORS)
def create_user(body: UserCreate, request: Request, user: Principal = Depends(admin)) -> UserOut:
    """Create a user with one role (optionally limited to a ward); a patient account names its patient."""
    with console(request).connect() as conn:
        try:
            users.create_user(conn, user.user_id, body.user_id.strip().lower(), body.display_name, body.password,
                              [Grant(body.role, body.ward_id or None)], body.locale, body.patient_id or None)
        except UserError as e:
            raise ApiError.of(422, e.key, e.params) from None
        row = next(u for u in users.list_users(conn) if u.user_id == body.user_id.strip().lower())
    return _user_out(row)


@router.post("/users/{user_id}/roles", response_model=UserOut, responses=_ERRORS)
def grant(body: GrantBody, request: Request, user_id: str = UserIdPath, user: Principal = Depends(admin)) -> UserOut:
    with console(request).connect() as conn:
        try:
            users.grant(conn, user.user_id, user_id, Grant(body.role, body.ward_id or None))
        except UserError as e:
            raise ApiError.of(404 if e.key == "error.unknown_user" else 422, e.key, e.params) from None
        return _user_out(next(u for u in users.list_users(conn) if u.user_id == user_id))


@router.post("/users/{user_id}/disable", response_model=UserOut, responses=_ERRORS)
def disable(request: Request, user_id: str = UserIdPath, enable: bool = Query(False),
            user: Principal = Depends(admin)) -> UserOut:
    """Disable (or with ``enable=true`` re-enable) a user; disabling ends their sessions at once."""
    if user_id == user.user_id and not enable:
        raise ApiError(422, "error.disable_self")
    with console(request).connect() as conn:
        try:
            users.set_disabled(conn, user.user_id, user_id, not enable)
        except UserError as e:
            raise ApiError.of(404, e.key, e.params) from None
        return _user_out(next(u for u in users.list_users(conn) if u.user_id == user_id))


@router.put("/wards/{ward_id}", status_code=204, responses=_ERRORS)
def put_ward(body: WardBody, request: Request, ward_id: str = WardIdPath, user: Principal = Depends(admin)) -> None:
    with console(request).connect() as conn, conn.transaction():
        registry.add_ward(conn, ward_id, body.name)
        audit.append(conn, user.user_id, "admin.ward", f"ward:{ward_id}", {"name": body.name})


@router.get("/patients", response_model=list[PatientRow], responses=_ERRORS)
def list_patients(request: Request, user: Principal = Depends(admin)) -> list[PatientRow]:
    with console(request).connect() as conn, conn.transaction():
        rows = conn.execute("SELECT id, display_name, ward_id, bed, spo2_scale FROM patients ORDER BY id").fetchall()
        audit.append(conn, user.user_id, "admin.patients.list", None, {"count": len(rows)})
    return [PatientRow(id=r[0], display_name=r[1], ward_id=r[2], bed=r[3], spo2_scale=r[4]) for r in rows]


@router.put("/patients/{patient_id}", status_code=204, responses=_ERRORS)
def put_patient(body: PatientBody, request: Request, patient_id: str = PatientIdPath,
                user: Principal = Depends(admin)) -> None:
    """Add or update a patient: name, ward and bed (the assignment to a bed), NEWS2 SpO2 scale."""
    with console(request).connect() as conn, conn.transaction():
        if body.ward_id and conn.execute("SELECT 1 FROM wards WHERE id = %s", (body.ward_id,)).fetchone() is None:
            raise ApiError(422, "error.unknown_ward", ward=body.ward_id)
        registry.add_patient(conn, patient_id, body.display_name, body.ward_id or None, body.bed or None,
                             body.spo2_scale)
        audit.append(conn, user.user_id, "admin.patient", patient_id,
                     {"ward_id": body.ward_id, "bed": body.bed, "spo2_scale": body.spo2_scale})


@router.get("/devices", response_model=list[DeviceRow], responses=_ERRORS)
def list_devices(request: Request, user: Principal = Depends(admin)) -> list[DeviceRow]:
    with console(request).connect() as conn, conn.transaction():
        rows = registry.list_devices(conn)
        # Device assignments name patients: the read is audited like the patient list.
        audit.append(conn, user.user_id, "admin.devices.list", None, {"count": len(rows)})
    return [DeviceRow(device_id=r.device_id, kind=r.kind, patient_id=r.patient_id, ward_id=r.ward_id, bed=r.bed,
                      since=r.started_at) for r in rows]


@router.put("/devices/{device_id}", status_code=204, responses=_ERRORS)
def put_device(body: DeviceBody, request: Request, device_id: str = DeviceIdPath, user: Principal = Depends(admin)) -> None:
    with console(request).connect() as conn, conn.transaction():
        registry.add_device(conn, device_id, DeviceKind(body.kind))
        audit.append(conn, user.user_id, "admin.device", f"device:{device_id}", {"kind": body.kind.value})


@router.post("/devices/{device_id}/assign", status_code=204, responses=_ERRORS)
def assign(body: AssignBody, request: Request, device_id: str = DeviceIdPath, user: Principal = Depends(admin)) -> None:
    """Assign a device to a patient from now on (ending its previous assignment)."""
    with console(request).connect() as conn:
        try:
            with conn.transaction():
                registry.assign(conn, device_id, body.patient_id, datetime.now(UTC))
                audit.append(conn, user.user_id, "admin.assign", body.patient_id, {"device_id": device_id})
        except registry.RegistryError:
            raise ApiError(422, "error.assign", device=device_id, patient=body.patient_id) from None


@router.post("/devices/{device_id}/unassign", status_code=204, responses=_ERRORS)
def unassign(request: Request, device_id: str = DeviceIdPath, user: Principal = Depends(admin)) -> None:
    with console(request).connect() as conn, conn.transaction():
        if not registry.unassign(conn, device_id, datetime.now(UTC)):
            raise ApiError(404, "error.no_assignment", device=device_id)
        audit.append(conn, user.user_id, "admin.unassign", f"device:{device_id}", {})


@router.get("/audit", response_model=list[AuditRow], responses=_ERRORS)
def audit_log(request: Request, subject: str | None = Query(None, max_length=80),
              actor: str | None = Query(None, max_length=64), limit: int = Query(200, ge=1, le=2000),
              user: Principal = Depends(current_user)) -> list[AuditRow]:
    """Who saw or changed what (admins and auditors); reading the log is itself logged."""
    if not user.has("admin", "auditor"):
        raise ApiError(403, "error.forbidden")
    with console(request).connect() as conn, conn.transaction():
        audit.append(conn, user.user_id, "audit.read", subject, {"actor": actor})
        rows = conn.execute(
            "SELECT at, actor, action, subject, detail FROM audit_log WHERE (%(s)s::text IS NULL OR subject = %(s)s)"
            " AND (%(a)s::text IS NULL OR actor = %(a)s) ORDER BY id DESC LIMIT %(n)s",
            {"s": subject, "a": actor, "n": limit},
        ).fetchall()
    return [AuditRow(at=r[0], actor=r[1], action=r[2], subject=r[3], detail=r[4]) for r in rows]
