"""Wire fidelity of `ztauth eval`: decision ids shared with the audit log, request ids echoed
(so a .jsonl stream's responses can be matched to its requests without relying on line order),
and the ZTAuth*/Permguard request forms accepted as they are sent."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import SAMPLE_LEDGER
from ztauth_cli.audit import read_log, verify_log
from ztauth_cli.cli.main import app

AT = "2026-06-01T12:00:00Z"
READS = {
    "subject": {"type": "User", "id": "alice"},
    "action": {"name": "read"},
    "resource": {"type": "Document", "id": "q3-report"},
}


def _eval(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["eval", "--ledger", str(SAMPLE_LEDGER), "--at", AT, *args])
    return result.exit_code, result.stdout


def test_stream_lines_carry_request_ids_and_audit_ids(runner: CliRunner, tmp_path: Path) -> None:
    stream = tmp_path / "requests.jsonl"
    lines = [
        {**READS, "request_id": "r-1"},
        {**READS, "action": {"name": "delete"}, "request_id": 7},
        READS,
        {**READS, "request_id": "r-4", "evaluations": [{}, {"action": {"name": "share"}}]},
    ]
    stream.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    log = tmp_path / "audit.jsonl"
    code, out = _eval(runner, str(stream), "-f", "json", "--audit-log", str(log))
    assert code == 0
    responses = [json.loads(line) for line in out.splitlines()]
    assert [r.get("request_id") for r in responses] == ["r-1", 7, None, "r-4"]
    ids = [r["context"]["id"] for r in responses[:3]]
    ids += [e["context"]["id"] for e in responses[3]["evaluations"]]
    assert len(set(ids)) == 5
    # Each id is a random UUID (version 4), as 32 hex digits.
    assert all(uuid.UUID(i).hex == i and uuid.UUID(i).version == 4 for i in ids)
    assert verify_log(log).ok
    assert [line["id"] for line in read_log(log)] == ids


def test_a_permguard_request_is_evaluated_as_sent(runner: CliRunner, tmp_path: Path) -> None:
    request = tmp_path / "permguard.json"
    request.write_text(
        json.dumps(
            {
                "authorization_model": {
                    "zone_id": 273165098782,
                    "policy_store": {"kind": "ledger", "id": "acme-documents"},
                    "entities": {"schema": "cedar", "items": []},
                },
                "request_id": "abc1",
                **READS,
            }
        ),
        encoding="utf-8",
    )
    code, out = _eval(runner, str(request), "-f", "json")
    assert code == 0
    response = json.loads(out)
    assert (response["request_id"], response["decision"]) == ("abc1", True)
    request.write_text(
        json.dumps({"authorization_model": {"zone_id": 111111111111}, **READS}), encoding="utf-8"
    )
    response = json.loads(_eval(runner, str(request), "-f", "json")[1])
    assert response["decision"] is False
    assert response["context"]["reason_admin"] == {
        "code": "invalid_request",
        "message": "authorization_model.zone_id 111111111111 is not the zone of this ledger "
        "(ztauth://acme.internal/273165098782/ledgers/acme-documents)",
    }
