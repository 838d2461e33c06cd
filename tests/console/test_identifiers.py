"""Identifiers are validated where they enter (registry, CLI, API) and export file names are encoded (RFC 6266).

Found by the issue's reporter: a patient id with CR/LF made the export routes
drop the connection, and one with a quote was copied into Content-Disposition.
"""

from __future__ import annotations

from urllib.parse import unquote

import psycopg
import pytest

from cli.main import main as rpm
from storage import registry
from tests.console.conftest import Console
from wire.identifiers import is_identifier

BAD_IDS = ["P9003\r\nSet-Cookie: x=1", "P9003\n", 'P9003"; filename=evil.exe', "../P1", "P 1", "", "x" * 65]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_registry_refuses_bad_ids(db: psycopg.Connection, bad: str) -> None:
    assert not is_identifier(bad)
    with pytest.raises(registry.RegistryError, match="bad patient id"):
        registry.add_patient(db, bad, "X")
    with pytest.raises(registry.RegistryError, match="bad device id"):
        registry.add_device(db, bad, registry.DeviceKind.CGM)
    with pytest.raises(registry.RegistryError, match="bad ward id"):
        registry.add_ward(db, bad, "X")
    assert db.execute("SELECT count(*) FROM patients").fetchone() == (0,)


def test_cli_refuses_a_bad_id_in_one_line_before_touching_anything(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        rpm(["patients", "add", 'P9003"x', "--name", "X"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "bad patient id" in err and "letters, digits" in err
    with pytest.raises(SystemExit):
        rpm(["users", "add", "x.nurse", "--role", "nurse", "--ward", "ward-a\r\nevil"])
    assert "bad ward id" in capsys.readouterr().err


def test_api_answers_422_for_a_bad_id_and_never_drops_the_connection(console: Console) -> None:
    with console.login("doctor") as doc, console.login("admin") as adm:
        for bad in ("P9003%0D%0A", "P9003%22", "P9003%22%3B%20filename%3Devil.exe", "P%20A1"):
            for path in ("", "/export.csv", "/export.fhir.json", "/trends", "/limits"):
                r = doc.get(f"/api/patients/{bad}{path}")
                assert r.status_code == 422, (bad, path, r.status_code)
            assert adm.put(f"/api/admin/patients/{bad}", json={"display_name": "X"}).status_code == 422


def test_admin_routes_bind_their_own_path_ids(console: Console) -> None:
    # A shared Path() object used to make these routes ask for "user_id" and answer 422.
    with console.login("admin") as adm:
        r = adm.put("/api/admin/wards/ward-z", json={"name": "Ward Z"})
        assert r.status_code < 300, r.text
        assert adm.put("/api/admin/patients/PZ1", json={"display_name": "Z One", "ward_id": "ward-z"}).status_code < 300


def test_export_file_names_are_ascii_with_the_exact_name_in_filename_star(console: Console) -> None:
    with console.login("doctor") as doc:
        for ext in ("csv", "fhir.json"):
            r = doc.get(f"/api/patients/PA1/export.{ext}", params={"range": "1h"})
            assert r.status_code == 200
            cd = r.headers["content-disposition"]
            assert cd.startswith('attachment; filename="PA1-') and "\r" not in cd and "\n" not in cd
            star = cd.split("filename*=UTF-8''", 1)[1]
            assert unquote(star).startswith("PA1-") and unquote(star).endswith(f"Z.{ext}")
