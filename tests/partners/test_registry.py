"""Partner files: the shipped samples load, and every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.config import load_settings
from gateway.errors import AuthenticationError, ConfigError, PermissionDeniedError
from gateway.partners.auth import authenticate_password
from gateway.partners.passwords import hash_password, parse_hash, verify_password
from gateway.partners.registry import check_references, load_partners, partners_dir
from gateway.partners.spec import Operation
from gateway.xml.schemas import SchemaRegistry

REPO = Path(__file__).resolve().parents[2]

MINIMAL = """
version = 1
id = "shop"
name = "Shop"
operations = ["query"]
[privacy]
recipient = "same"
purposes = ["contact"]
categories = ["contact"]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def test_shipped_samples_load_and_check() -> None:
    registry = load_partners(REPO / "config" / "partners")
    kinds = {p.id: p.outbound.endpoint.kind for p in registry if p.outbound}
    assert kinds == {"acme": "rest", "globex": "soap", "persona": "webhook"}
    schemas = SchemaRegistry(REPO / "schemas")
    assert check_references(registry, schemas, REPO / "mappings") == []
    acme = registry.require("acme")
    assert acme.allows(Operation.ERASE) and acme.system == "partner:acme"
    assert acme.policy.identifier_systems == frozenset({"partner:acme"})


def test_partners_folder_is_beside_the_settings_file() -> None:
    settings = load_settings(REPO / "config" / "gateway.toml", environ={})
    assert partners_dir(settings) == REPO / "config" / "partners"


def test_minimal_file(tmp_path: Path) -> None:
    write(tmp_path, "shop", MINIMAL)
    shop = load_partners(tmp_path).require("shop")
    assert shop.auth.api_key and shop.inbound is None and shop.rate_limit is None


BROKEN = {
    "unknown top-level key": ('colour = "red"\n' + MINIMAL, "colour", "unknown key"),
    "unknown key in a section": (
        MINIMAL.replace('[privacy]', '[privacy]\nshare_everything = true'),
        "privacy.share_everything", "unknown key",
    ),
    "bad purpose": (MINIMAL.replace('purposes = ["contact"]', 'purposes = ["contact", "spam"]'),
                    "privacy.purposes.1", "current"),
    "bad category": (MINIMAL.replace('categories = ["contact"]', 'categories = ["shoes"]'),
                     "privacy.categories.0", "identity"),
    "unknown field path": (MINIMAL + 'fields = ["person.shoe_size"]\n',
                           "privacy.fields", "person.shoe_size"),
    "bad operation": (MINIMAL.replace('["query"]', '["delete-all"]'), "operations.0", "upsert"),
    "upsert without inbound": (MINIMAL.replace('["query"]', '["upsert"]'), None, "[inbound]"),
    "bad endpoint kind": (
        MINIMAL + '[outbound]\nendpoint = { kind = "ftp", url = "ftp://x" }\n',
        "outbound.endpoint", "kind",
    ),
    "bad password hash": (
        MINIMAL + '[auth]\nbasic = { username = "u", password_hash = "md5$abc" }\n',
        "auth.basic.password_hash", "scrypt",
    ),
    "id is not the file name": (MINIMAL.replace('id = "shop"', 'id = "other"'), "id", "file name"),
    "missing version": (MINIMAL.replace("version = 1", ""), "version", "version = 1"),
    "unsupported version": (MINIMAL.replace("version = 1", "version = 2"), "version", "2"),
    "not TOML": ("id = ", None, "not valid TOML"),
    "bad foreign identifier mode": (
        MINIMAL + '[inbound]\nforeign_identifiers = "merge"\n',
        "inbound.foreign_identifiers", "'reject' or 'strip'",
    ),
    "bad trusted identifier system": (
        MINIMAL + '[inbound]\ntrusted_identifiers = ["web shop"]\n',
        "inbound.trusted_identifiers", "not a system code",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_errors_name_file_and_key(tmp_path: Path, case: str) -> None:
    text, key, words = BROKEN[case]
    path = write(tmp_path, "shop", text)
    with pytest.raises(ConfigError) as caught:
        load_partners(tmp_path)
    error = caught.value
    assert error.file == str(path)
    assert error.key == key
    assert words in str(error)


def test_password_hash_is_never_in_the_message(tmp_path: Path) -> None:
    secret = "scrypt$1000$8$1$c2FsdHNhbHQ=$c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3Qtc2hvdw=="
    login = f'[auth]\nbasic = {{ username = "u", password_hash = "{secret}" }}\n'
    write(tmp_path, "shop", MINIMAL + login)
    with pytest.raises(ConfigError) as caught:
        load_partners(tmp_path)
    assert "c2VjcmV0" not in str(caught.value)


def test_duplicate_login_names_are_refused(tmp_path: Path) -> None:
    stored = hash_password("x")
    login = f'[auth]\nws_security = {{ username = "same", password_hash = "{stored}" }}\n'
    write(tmp_path, "shop", MINIMAL + login)
    write(tmp_path, "store", MINIMAL.replace('"shop"', '"store"') + login)
    with pytest.raises(ConfigError) as caught:
        load_partners(tmp_path)
    assert caught.value.key == "auth.ws_security.username" and "shop" in str(caught.value)


def test_references_to_unknown_schema_and_mapping(tmp_path: Path) -> None:
    text = MINIMAL + '[outbound]\nschema = "urn:nope"\nmapping = "missing"\n' \
        'endpoint = { kind = "webhook", url = "https://x.example/h" }\n'
    write(tmp_path, "shop", text)
    problems = check_references(
        load_partners(tmp_path), SchemaRegistry(REPO / "schemas"), REPO / "mappings"
    )
    assert [(p.key, Path(p.file or "").name) for p in problems] == [
        ("outbound.schema", "shop.toml"), ("outbound.mapping", "shop.toml"),
    ]


def test_unregistered_partner_is_forbidden(tmp_path: Path) -> None:
    with pytest.raises(PermissionDeniedError, match="'ghost' is not registered"):
        load_partners(tmp_path).require("ghost")


def test_passwords_are_scrypt_and_checked(tmp_path: Path) -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert verify_password("s3cret", parse_hash(stored))
    assert not verify_password("s3cret!", parse_hash(stored))
    login = f'[auth]\nbasic = {{ username = "shop", password_hash = "{stored}" }}\n'
    write(tmp_path, "shop", MINIMAL + login)
    registry = load_partners(tmp_path)
    assert authenticate_password(registry, "basic", "shop", "s3cret").id == "shop"
    for user, password in (("shop", "wrong"), ("nobody", "s3cret"), ("", "")):
        with pytest.raises(AuthenticationError):
            authenticate_password(registry, "basic", user, password)
    with pytest.raises(AuthenticationError):
        authenticate_password(registry, "ws_security", "shop", "s3cret")


def test_cli_list_check_and_add_key(sqlite_env: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["partners", "list"])
    assert listed.exit_code == 0, listed.output
    assert "acme" in listed.output and "out=soap" in listed.output
    checked = runner.invoke(cli, ["partners", "check"])
    assert checked.exit_code == 0 and "3 partners OK" in checked.output
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    added = runner.invoke(cli, ["partners", "add-key", "acme"])
    assert added.exit_code == 0, added.output
    assert "key:    cpex_" in added.output
    unknown = runner.invoke(cli, ["partners", "add-key", "ghost"])
    assert unknown.exit_code != 0


def test_cli_check_reports_a_broken_folder(sqlite_env: Path, tmp_path: Path) -> None:
    folder = tmp_path / "partners"
    folder.mkdir()
    write(folder, "shop", MINIMAL + "oops = 1\n")
    from gateway.cli import main

    assert main(["partners", "check", "--dir", str(folder)]) == 2


def test_cli_check_reads_delivery_toml(sqlite_env: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import main

    delivery = tmp_path / "delivery.toml"
    delivery.write_text(
        'version = 1\n'
        '[partners.acme]\nauth = { kind = "bearer", token_env = "TEST_ACME_OUT_TOKEN" }\n'
        '[partners.ghost]\nsigning_secret_env = "TEST_GHOST_SIGNING"\n'
    )
    monkeypatch.setenv("CPEX_DELIVERY_CONFIG", str(delivery))
    monkeypatch.delenv("TEST_ACME_OUT_TOKEN", raising=False)
    monkeypatch.setenv("TEST_GHOST_SIGNING", "x")
    assert main(["partners", "check"]) == 1
    said = capsys.readouterr().err
    assert ("warning: delivery.toml partners.acme.auth.token_env: environment variable "
            "TEST_ACME_OUT_TOKEN is not set") in said
    assert "error: delivery.toml partners.ghost: no partner 'ghost' is registered" in said
    assert "TEST_GHOST_SIGNING" not in said  # set: nothing to say
    delivery.write_text('version = 1\n[partners.acme]\nauth = { kind = "bearer", '
                        'token_env = "TEST_ACME_OUT_TOKEN" }\n')
    monkeypatch.setenv("TEST_ACME_OUT_TOKEN", "t")
    assert main(["partners", "check"]) == 0
    assert "warning" not in capsys.readouterr().err
