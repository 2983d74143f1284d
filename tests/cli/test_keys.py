"""API keys from the command line and in use: expiry, rotation with an overlap, revocation
(the store on SQLite and PostgreSQL, the CLI on a SQLite file)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from gateway.cli import main
from gateway.errors import NotFoundError
from gateway.security.credentials import CredentialStore, Role
from gateway.store.tables import api_credential


def test_expired_keys_are_refused(migrated_engine: Engine) -> None:
    store = CredentialStore(migrated_engine)
    soon = store.issue("temp", Role.ADMIN, expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert store.verify(soon.token) == soon.principal
    with migrated_engine.begin() as conn:  # an hour later
        conn.execute(update(api_credential).values(expires_at=datetime.now(UTC)
                                                   - timedelta(seconds=1)))
    assert store.verify(soon.token) is None
    [record] = store.list()
    assert record.status(datetime.now(UTC)) == "expired"


def test_rotation_keeps_both_keys_working_for_the_overlap(migrated_engine: Engine) -> None:
    store = CredentialStore(migrated_engine)
    old = store.issue("acme key", Role.PARTNER, partner_id="acme")
    new = store.rotate(old.principal.key_id, overlap=timedelta(days=7))
    assert new.principal.key_id != old.principal.key_id
    assert (new.principal.name, new.principal.role, new.principal.partner_id) == (
        "acme key", Role.PARTNER, "acme")
    assert store.verify(old.token) is not None and store.verify(new.token) is not None
    records = {r.principal.key_id: r for r in store.list()}
    ends = records[old.principal.key_id].expires_at
    assert ends is not None and timedelta(days=6) < ends - datetime.now(UTC) <= timedelta(days=7)
    assert records[new.principal.key_id].expires_at is None

    immediate = store.rotate(new.principal.key_id, overlap=timedelta(0))
    assert store.verify(new.token) is None and store.verify(immediate.token) is not None
    with pytest.raises(NotFoundError):  # an expired key cannot be rotated again
        store.rotate(new.principal.key_id, overlap=timedelta(days=1))


def test_cli_add_list_rotate_revoke(sqlite_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["keys", "add", "prometheus", "--role", "monitor", "--expires-in", "30"]) == 0
    added = capsys.readouterr().out
    key_id = re.search(r"key id: (\w+)", added).group(1)  # type: ignore[union-attr]
    assert main(["keys", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(key_id))
    assert "monitor" in line and "active (expires " in line

    assert main(["keys", "rotate", key_id, "--overlap-days", "2"]) == 0
    rotated = capsys.readouterr().out
    new_id = re.search(r"key id: (\w+)", rotated).group(1)  # type: ignore[union-attr]
    assert f"key {key_id} stops working in 2 days" in rotated
    assert main(["keys", "revoke", new_id]) == 0
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert re.search(rf"^{new_id} .* revoked ", listed, re.MULTILINE)
    assert main(["keys", "rotate", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_the_demo_keeps_one_demo_key(migrated_engine: Engine) -> None:
    from gateway.cli.demo import issue_demo_key

    store = CredentialStore(migrated_engine)
    other = store.issue("ops", Role.ADMIN)
    (first, revoked_first), (second, revoked_second) = issue_demo_key(store), issue_demo_key(store)
    assert (revoked_first, revoked_second) == (0, 1)
    assert store.verify(first.token) is None and store.verify(second.token) is not None
    assert store.verify(other.token) is not None
