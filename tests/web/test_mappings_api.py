"""The mappings API as an admin uses it: preview, save with history, refuse bad edits, roll back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from gateway.model import Identifier, Person, Profile
from gateway.store.profiles import ProfileStore
from tests.web.conftest import Api

REPO = Path(__file__).resolve().parents[2]


def test_lists_the_bundled_mappings(mapping_api: Api) -> None:
    answer = mapping_api.client.get("/api/v1/mappings", headers=mapping_api.headers("admin"))
    names = {m["name"] for m in answer.json["items"]}
    assert {"cpex-in", "cpex-out", "acme-in", "acme-out", "personalization-json"} <= names
    assert answer.json["errors"] == {}


def test_preview_of_a_sample_stores_nothing(mapping_api: Api, migrated_engine: Engine) -> None:
    sample = (REPO / "mappings" / "samples" / "erp-customers.csv").read_bytes()
    answer = mapping_api.client.post(
        "/api/v1/mappings/erp-customers-csv/preview",
        data=sample,
        headers={**mapping_api.headers("admin"), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.json
    records = answer.json["records"]
    assert len(records) >= 2
    assert records[0]["output"]["identifiers"]
    assert records[0]["trace"], "a trace per field"
    assert ProfileStore(migrated_engine).count() == 0


def test_outbound_preview_of_a_stored_profile(mapping_api: Api, migrated_engine: Engine) -> None:
    profile = Profile(identifiers=(Identifier("crm", "7"),), person=Person(family_name="Rossi"))
    golden = (
        ProfileStore(migrated_engine)
        .save_source_profile(profile, source_system="crm", raw="<x/>")
        .golden_id
    )
    answer = mapping_api.client.post(
        f"/api/v1/mappings/acme-out/preview?profile_id={golden}",
        headers=mapping_api.headers("admin"),
    )
    assert answer.status_code == 200, answer.json
    assert "Rossi" in str(answer.json["records"][0]["output"])


def test_save_history_diff_and_rollback(mapping_api: Api) -> None:
    admin = mapping_api.headers("admin")
    client = mapping_api.client
    original = client.get("/api/v1/mappings/cpex-in", headers=admin).json["text"]
    edited = original.replace("description:", "# tightened by alice\ndescription:", 1)
    assert edited != original

    saved = client.put("/api/v1/mappings/cpex-in?comment=note", data=edited, headers=admin)
    assert saved.status_code == 200, saved.json
    assert saved.json["author"] == "alice" and saved.json["comment"] == "note"
    assert "+# tightened by alice" in saved.json["diff"]
    version = saved.json["version"]

    history = client.get("/api/v1/mappings/cpex-in/history", headers=admin).json["versions"]
    assert [v["version"] for v in history] == list(range(version, 0, -1))

    back = client.post(f"/api/v1/mappings/cpex-in/rollback/{version - 1}", headers=admin)
    assert back.status_code == 200, back.json
    assert back.json["comment"] == f"rollback to v{version - 1}"
    assert "-# tightened by alice" in back.json["diff"]
    assert client.get("/api/v1/mappings/cpex-in", headers=admin).json["text"] == original
    shown = client.get(f"/api/v1/mappings/cpex-in/history/{version}", headers=admin).json
    assert shown["text"] == edited


def test_an_invalid_edit_is_refused_and_never_runs(mapping_api: Api) -> None:
    admin = mapping_api.headers("admin")
    client = mapping_api.client
    original = client.get("/api/v1/mappings/cpex-in", headers=admin).json["text"]
    broken = original.replace(
        "{target: given_name, source: c:GivenName}",
        "{target: given_name, source: c:GivenName, transforms: [trim_everything]}",
        1,
    )
    assert broken != original
    answer = client.put("/api/v1/mappings/cpex-in", data=broken, headers=admin)
    assert answer.status_code == 422
    error = answer.json["error"]
    assert "trim_everything" in error["message"]
    assert isinstance(error["line"], int) and isinstance(error["column"], int)
    assert client.get("/api/v1/mappings/cpex-in", headers=admin).json["text"] == original
    path = Path(mapping_api.gateway.settings.path("mappings")) / "cpex-in.yaml"
    assert path.read_text() == original


def test_hand_edits_are_picked_up_as_file_versions(mapping_api: Api) -> None:
    admin = mapping_api.headers("admin")
    client = mapping_api.client
    first = client.post("/api/v1/mappings/reload", headers=admin).json
    assert {v["author"] for v in first["recorded"]} == {"file"}
    path = Path(mapping_api.gateway.settings.path("mappings")) / "cpex-in.yaml"
    path.write_text(path.read_text() + "\n# edited by hand\n")
    second = client.post("/api/v1/mappings/reload", headers=admin).json
    assert [(v["name"], v["author"]) for v in second["recorded"]] == [("cpex-in", "file")]
    path.write_text("version: 1\nname: cpex-in\nfields: [oops\n")
    third = client.post("/api/v1/mappings/reload", headers=admin).json
    assert third["recorded"] == [] and "cpex-in.yaml" in third["errors"]
    running = client.get("/api/v1/mappings/cpex-in", headers=admin).json["text"]
    assert running.endswith("# edited by hand\n")


def test_an_invalid_edit_names_the_file_not_the_server_folder(mapping_api: Api) -> None:
    admin = mapping_api.headers("admin")
    folder = str(mapping_api.gateway.settings.path("mappings"))
    answer = mapping_api.client.put(
        "/api/v1/mappings/cpex-in", data=b"version: 1\nname: cpex-in\nbogus: [", headers=admin
    )
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["file"] == "cpex-in.yaml"
    assert folder not in answer.get_data(as_text=True)
    assert "/" not in answer.json["error"]["message"].partition(":")[0]


def test_save_and_rollback_keep_the_files_mode(mapping_api: Api) -> None:
    admin = mapping_api.headers("admin")
    client = mapping_api.client
    path = Path(mapping_api.gateway.settings.path("mappings")) / "cpex-in.yaml"
    path.chmod(0o644)
    original = client.get("/api/v1/mappings/cpex-in", headers=admin).json["text"]
    edited = original.replace("description:", "# edited\ndescription:", 1)
    saved = client.put("/api/v1/mappings/cpex-in", data=edited, headers=admin)
    assert saved.status_code == 200, saved.json
    assert path.stat().st_mode & 0o777 == 0o644
    back = client.post(
        f"/api/v1/mappings/cpex-in/rollback/{saved.json['version'] - 1}", headers=admin
    )
    assert back.status_code == 200, back.json
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_broken_file_on_disk_is_listed_by_its_name_only(mapping_api: Api) -> None:
    admin = mapping_api.headers("admin")
    folder = Path(mapping_api.gateway.settings.path("mappings"))
    assert mapping_api.client.get("/api/v1/mappings", headers=admin).json["errors"] == {}
    (folder / "broken.yaml").write_text("version: 1\nname: broken\nbogus: [\n")
    reloaded = mapping_api.client.post("/api/v1/mappings/reload", headers=admin)
    listed = mapping_api.client.get("/api/v1/mappings", headers=admin)
    for answer in (reloaded, listed):
        assert answer.status_code == 200, answer.json
        (error,) = answer.json["errors"]["broken.yaml"]
        assert error["file"] == "broken.yaml"
        assert str(folder) not in answer.get_data(as_text=True)
