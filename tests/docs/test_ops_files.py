"""``docs/ops/``: the Prometheus alert rules and the Grafana dashboard name only metrics that
``/metrics`` exposes, and have the shape their tools read (``promtool check rules`` too, where
it is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml import YAML

from gateway.telemetry import NAMES
from tests.web.conftest import Api

REPO = Path(__file__).resolve().parents[2]
OPS = REPO / "docs" / "ops"
METRIC = re.compile(r"\bcpex_[a-z0-9_]+\b")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Rule(_Strict):
    """One alerting rule as Prometheus reads it (recording rules are not used here)."""

    alert: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    expr: str = Field(min_length=1)
    for_: str | None = Field(None, alias="for", pattern=r"^\d+[smhd]$")
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class Group(_Strict):
    name: str = Field(min_length=1)
    interval: str | None = Field(None, pattern=r"^\d+[smhd]$")
    rules: list[Rule] = Field(min_length=1)


class RuleFile(_Strict):
    groups: list[Group] = Field(min_length=1)


def exposed(api: Api) -> set[str]:
    """Every series name /metrics can carry (histograms with their three suffixes)."""
    answer = api.client.get("/metrics", headers=api.headers("admin"))
    assert answer.status_code == 200
    names = set()
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        names.add(family.name)
        if family.type == "histogram":
            names |= {f"{family.name}_bucket", f"{family.name}_sum", f"{family.name}_count"}
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def rule_file() -> RuleFile:
    data: Any = YAML(typ="safe").load((OPS / "alerts.yml").read_text(encoding="utf-8"))
    return RuleFile.model_validate(data)


def test_alert_rules_parse_and_name_real_metrics(api: Api) -> None:
    rules = [rule for group in rule_file().groups for rule in group.rules]
    assert len(rules) >= 10
    assert len({r.alert for r in rules}) == len(rules)
    known = exposed(api)
    named = {m for rule in rules for m in METRIC.findall(rule.expr)}
    assert named and named <= known, sorted(named - known)
    for rule in rules:
        assert rule.labels.get("severity") in {"info", "warning", "critical"}, rule.alert
        assert rule.annotations.get("summary"), rule.alert


def test_grafana_dashboard_names_real_metrics(api: Api) -> None:
    dashboard = json.loads((OPS / "grafana-dashboard.json").read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 30
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels) >= 8
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    named = {m for e in exprs for m in METRIC.findall(e)}
    known = exposed(api)
    assert named <= known, sorted(named - known)
    # Every process metric and the main gauges have a panel.
    assert {n.removesuffix("_total") for n in NAMES} <= {
        re.sub(r"_(bucket|count|sum|total)$", "", n) for n in named
    }


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules() -> None:
    done = subprocess.run(
        ["promtool", "check", "rules", str(OPS / "alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
