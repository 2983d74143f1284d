"""Erasing a person deletes the quarantined raw records that hold their data, and only those,
in the erasure's transaction, counted in its result and audit row (SQLite and PostgreSQL).

Also: a refused record's messages (outcome, quarantine row, API shape, logs) name the path and
the facet but not the value, while the raw record stays in the quarantine for a retry.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from gateway.delivery import rights
from gateway.delivery.rights import erase_person
from gateway.pipeline.files import import_file
from gateway.pipeline.quarantine import Quarantine
from gateway.pipeline.rejects import raw_hash
from gateway.pipeline.tables import quarantine_record
from gateway.runtime import Gateway
from gateway.store.audit import AuditLog
from gateway.store.engine import write_transaction
from gateway.store.erasure import ERASE_ACTION
from tests.pipeline.conftest import envelope


def record(key: str, family: str, *, system: str = "shop", country: str = "GB",
           email: str | None = None, phone: str | None = None, line: str = "1 High St") -> str:
    mail = f"<cpex:Emails><cpex:Email>{email}</cpex:Email></cpex:Emails>" if email else ""
    tel = (f'<cpex:Phones><cpex:Phone type="mobile">{phone}</cpex:Phone></cpex:Phones>'
           if phone else "")
    return (
        f'<cpex:Profile><cpex:Identifiers><cpex:Identifier system="{system}" key="{key}"/>'
        f"</cpex:Identifiers><cpex:Person><cpex:GivenName>Ann</cpex:GivenName>"
        f"<cpex:FamilyName>{family}</cpex:FamilyName></cpex:Person>"
        f'<cpex:Addresses><cpex:Address type="home"><cpex:Line>{line}</cpex:Line>'
        f"<cpex:City>Leeds</cpex:City><cpex:Country>{country}</cpex:Country></cpex:Address>"
        f"</cpex:Addresses>{mail}{tel}</cpex:Profile>\n"
    )


def run(gateway: Gateway, tmp_path: Path, records: list[str], *, system: str = "shop",
        name: str = "batch.xml") -> list[object]:
    path = tmp_path / name
    path.write_text(envelope(records, message_id=f"m-{name}", sender=system), encoding="utf-8")
    return list(import_file(gateway, path, source_system=system).outcomes)


def add_row(gateway: Gateway, raw: str, *, system: str = "shop", fmt: str = "xml",
            status: str = "open", golden_id: str | None = None) -> int:
    """A quarantine row as the pipeline writes one (for the kinds a file import cannot make)."""
    row = {
        "status": status, "source_system": system, "source": "test", "message_id": None,
        "record_index": 1, "line": None, "format": fmt, "mapping": None, "stage": "parse",
        "code": "xml_syntax", "errors": [], "raw": raw, "raw_hash": raw_hash(raw),
        "created_at": datetime.now(UTC), "golden_id": golden_id,
    }
    with write_transaction(gateway.engine) as conn:
        return int(conn.execute(
            insert(quarantine_record).returning(quarantine_record.c.id), row
        ).scalar_one())


def raws(gateway: Gateway) -> dict[int, str]:
    with gateway.engine.connect() as conn:
        return dict(conn.execute(select(quarantine_record.c.id, quarantine_record.c.raw)).all())


ANN_MAIL = "ann.smith@example.com"
ANN_PHONE = "+447700900123"


def test_erasure_deletes_the_persons_quarantined_records_and_keeps_the_others(
    gateway: Gateway, tmp_path: Path
) -> None:
    (ann,) = run(gateway, tmp_path, [record("1001", "Smith", email=ANN_MAIL, phone=ANN_PHONE)])
    ann_id = ann.golden_id  # type: ignore[attr-defined]
    assert ann_id

    # refused records (country "France" is not a code): Ann's by key, e-mail, dialled phone ...
    refused = run(gateway, tmp_path, name="refused.xml", records=[
        record("1001", "Smith", country="France"),                       # her key in shop
        record("5555", "Smyth", country="France", email="ANN.Smith@example.com"),  # her e-mail
        record("6666", "Smith", country="France", phone="07700 900123"),  # her phone, dialled
        # ... and other people's, which must stay
        record("2002", "Jones", country="France", email="bob@example.com", line="1001 Main Rd"),
        record("3003", "Brown", country="France", phone="07700 900999"),
    ])
    assert [o.status for o in refused] == ["rejected"] * 5  # type: ignore[attr-defined]
    ann_rows = [o.quarantine_id for o in refused[:3]]  # type: ignore[attr-defined]
    kept_rows = [o.quarantine_id for o in refused[3:]]  # type: ignore[attr-defined]
    # her key in *another* system is another person's key: stays
    kept_rows.append(add_row(gateway, record("1001", "Other", system="crm"), system="crm"))
    # a partner format (no CPEX identifiers): her key in an id field of her system
    ann_rows.append(add_row(gateway, '<customer customer-id="1001"><name last="S"/></customer>'))
    kept_rows.append(add_row(gateway, '<customer customer-id="1002"><street>1001</street>'
                                      "</customer>"))
    # a record that could not even be parsed, holding her e-mail
    ann_rows.append(add_row(gateway, f"<Profile><Email>{ANN_MAIL}</Email><broken"))
    # a JSON record with her identifier, and an entry retried into her profile
    ann_rows.append(add_row(gateway, json.dumps({"identifiers": [
        {"system": "shop", "key": "1001"}]}), fmt="json"))
    ann_rows.append(add_row(gateway, "<x/>", status="retried", golden_id=ann_id))
    # a record of someone else, unreadable JSON, mentioning nothing of hers
    kept_rows.append(add_row(gateway, '{"identifiers": [', fmt="json"))

    result = erase_person(gateway.engine, ann_id, actor="admin:test")

    assert result.quarantine_records == len(ann_rows) == 7
    left = raws(gateway)
    assert sorted(left) == sorted(kept_rows)
    everything = "\n".join(left.values()).lower()
    assert ANN_MAIL not in everything and "900123<" not in everything
    (entry,) = [e for e in AuditLog(gateway.engine).list(golden_id=ann_id)
                if e.action == ERASE_ACTION]
    assert entry.detail is not None and entry.detail["quarantine_records"] == 7
    # a second erasure finds nothing more and changes nothing
    assert erase_person(gateway.engine, ann_id, actor="admin:test").quarantine_records == 0
    assert sorted(raws(gateway)) == sorted(kept_rows)


def test_the_deletion_is_part_of_the_erasure_transaction(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ann,) = run(gateway, tmp_path, [record("1001", "Smith", email=ANN_MAIL)])
    run(gateway, tmp_path, [record("1001", "Smith", country="France")], name="r.xml")
    before = raws(gateway)
    assert len(before) == 1

    def failing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the profile could not be erased")

    monkeypatch.setattr(rights, "erase_profile", failing)
    with pytest.raises(RuntimeError):
        erase_person(gateway.engine, ann.golden_id, actor="admin:test")  # type: ignore[attr-defined]
    assert raws(gateway) == before  # rolled back with the rest


def test_a_refused_record_is_described_without_its_values(
    gateway: Gateway, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    (outcome,) = run(gateway, tmp_path, [record("7", "Smith", email="john@@x.example")])
    assert outcome.status == "rejected"  # type: ignore[attr-defined]
    (issue,) = outcome.errors  # type: ignore[attr-defined]
    assert issue.path == "/Profile/Emails/Email"
    assert "[facet 'pattern']" in issue.message and "[redacted, 15 chars]" in issue.message

    entry = Quarantine(gateway).get(outcome.quarantine_id)  # type: ignore[attr-defined]
    shown = entry.to_dict()
    assert shown["errors"][0]["path"] == "/Profile/Emails/Email"
    assert "[facet 'pattern']" in shown["errors"][0]["message"]
    assert "john@@x.example" in (entry.raw or "")  # kept for a retry: that is its place
    shown.pop("raw")
    listed = [e.to_dict() for e in Quarantine(gateway).list()]
    for said in (json.dumps(shown), json.dumps(listed), caplog.text, str(outcome)):
        assert "john@@x" not in said
