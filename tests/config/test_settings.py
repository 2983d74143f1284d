"""Settings load from defaults, the TOML file and CPEX_* variables; mistakes name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_settings
from gateway.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "config"
    folder.mkdir(exist_ok=True)
    path = folder / "gateway.toml"
    path.write_text(text)
    return path


def test_bundled_config_file_is_valid_and_embedded() -> None:
    settings = load_settings(REPO / "config" / "gateway.toml", environ={})
    assert settings.database_url == f"sqlite:///{REPO / 'var' / 'cpex.db'}"
    assert settings.path("schemas") == REPO / "schemas"


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.source == "defaults"
    assert settings.server.port == 8080
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'cpex.db'}"


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'version = 1\n[server]\nport = 9000\n[database]\nurl = "sqlite:///x.db"\n')
    settings = load_settings(
        path,
        environ={
            "CPEX_SERVER_PORT": "9100",
            "CPEX_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "CPEX_XML_MAX_DEPTH": "32",
        },
    )
    assert settings.server.port == 9100
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.xml.limits.max_depth == 32


def test_config_env_variable_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "version = 1\n[server]\nport = 9001\n")
    assert load_settings(environ={"CPEX_CONFIG": str(path)}).server.port == 9001


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("version = 1\n[server]\nprot = 1\n", "server.prot", "unknown key"),
        ("version = 1\n[sever]\nport = 1\n", "sever", "unknown key"),
        ('version = 1\n[server]\nport = "80"\n', "server.port", "valid integer"),
        ("version = 1\n[server]\nport = 70000\n", "server.port", "less than or equal to 65535"),
        ('version = 1\n[database]\nurl = ""\n', "database.url", "at least 1 character"),
        ('version = 1\n[logging]\nlevel = "LOUD"\n', "logging.level", "'DEBUG'"),
        ("version = 7\n", "version", "unsupported config version 7"),
        ('version = 1\n[privacy]\nconsent_sources = ["erp", "partner:acme"]\n',
         "privacy", "remove partner:acme from consent_sources"),
        ('version = 1\n[privacy]\npartner_erasure = "delete"\n', "privacy.partner_erasure",
         "'request' or 'erase'"),
    ],
)
def test_bad_file_names_file_and_key(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert caught.value.file == str(path)
    assert caught.value.key == key
    assert reason in str(caught.value)
    assert str(path) in str(caught.value)


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "version = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={"CPEX_SERVER_PORT": "eighty"})
    assert caught.value.key == "server.port"
    assert "CPEX_SERVER_PORT" in str(caught.value)


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "version = 1\n[server\nport = 1\n")
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 2"):
        load_settings(path, environ={})


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", environ={})
