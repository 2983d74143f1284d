"""``config/jobs.toml``: the scheduled jobs, validated when a scheduler (or the API) starts.

Format (version 1)::

    version = 1
    timezone = "UTC"                  # cron triggers are read in this zone

    [defaults]                        # any job key below except kind/trigger/args
    misfire_grace_minutes = 10

    [jobs.erp-incremental]
    kind = "erp_incremental"          # see scheduler.kinds.KINDS
    trigger = { type = "interval", minutes = 5 }
    # trigger = { type = "cron", cron = "0 2 * * *" }
    # trigger = { type = "date", at = 2025-01-01T03:00:00Z }
    args = {}                         # checked by the kind
    enabled = true
    misfire_grace_minutes = 10        # how late a run may still start (after a restart, too)
    retries = 2                       # further attempts after a failure
    retry_delay_seconds = 60

Unknown keys are refused; every error names the file and the dotted key, which starts with the
job's name (``jobs.erp-incremental.trigger.minutes``). Interval triggers are anchored at a fixed
instant (``start``, default 2024-01-01T00:00:00Z) rather than at process start, so every
scheduler process computes the same slots: that is what lets the lease row recognise a slot
another process already ran.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.config import Settings
from gateway.config_files import config_error, config_file, read_toml
from gateway.errors import ConfigError

JOBS_CONFIG_ENV = "CPEX_JOBS_CONFIG"
SUPPORTED_VERSIONS = (1,)
INTERVAL_ANCHOR = datetime(2024, 1, 1, tzinfo=UTC)
JOB_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CronSpec(_Strict):
    type: Literal["cron"]
    cron: str = Field(min_length=1)  # crontab: minute hour day month day-of-week

    @model_validator(mode="after")
    def _parses(self) -> CronSpec:
        try:
            CronTrigger.from_crontab(self.cron, timezone=UTC)
        except ValueError as exc:
            raise ValueError(f"not a crontab expression: {exc}") from None
        return self


class IntervalSpec(_Strict):
    type: Literal["interval"]
    days: int = Field(0, ge=0)
    hours: int = Field(0, ge=0)
    minutes: int = Field(0, ge=0)
    seconds: int = Field(0, ge=0)
    start: datetime = INTERVAL_ANCHOR

    @model_validator(mode="after")
    def _positive(self) -> IntervalSpec:
        if self.length <= timedelta(0):
            raise ValueError("an interval needs days, hours, minutes or seconds above 0")
        if self.start.tzinfo is None:
            raise ValueError("start needs a time zone (e.g. 2024-01-01T00:00:00Z)")
        return self

    @property
    def length(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes,
                         seconds=self.seconds)


class DateSpec(_Strict):
    type: Literal["date"]
    at: datetime

    @model_validator(mode="after")
    def _aware(self) -> DateSpec:
        if self.at.tzinfo is None:
            raise ValueError("at needs a time zone (e.g. 2025-01-01T03:00:00Z)")
        return self


TriggerSpec = Annotated[CronSpec | IntervalSpec | DateSpec, Field(discriminator="type")]


class JobOptions(_Strict):
    enabled: bool = True
    misfire_grace_minutes: int = Field(10, ge=1, le=7 * 24 * 60)
    retries: int = Field(0, ge=0, le=10)
    retry_delay_seconds: int = Field(60, ge=0, le=24 * 3600)
    lease_minutes: int = Field(60, ge=1)  # after this a silent runner's run counts as abandoned


class JobSpec(JobOptions):
    """One job as declared (``name`` comes from its table's key)."""

    name: str = Field(pattern=JOB_NAME)
    kind: str
    trigger: TriggerSpec
    args: dict[str, Any] = Field(default_factory=dict)

    def make_trigger(self, zone: tzinfo) -> BaseTrigger:
        spec = self.trigger
        if isinstance(spec, CronSpec):
            return CronTrigger.from_crontab(spec.cron, timezone=zone)
        if isinstance(spec, IntervalSpec):
            return IntervalTrigger(days=spec.days, hours=spec.hours, minutes=spec.minutes,
                                   seconds=spec.seconds, start_date=spec.start, timezone=UTC)
        return DateTrigger(run_date=spec.at, timezone=UTC)

    @property
    def misfire_grace(self) -> timedelta:
        return timedelta(minutes=self.misfire_grace_minutes)


class JobsConfig(_Strict):
    version: int = 1
    timezone: str = "UTC"
    jobs: tuple[JobSpec, ...] = ()
    file: str = "defaults"

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def job(self, name: str) -> JobSpec:
        """:raises LookupError: no job of that name is configured."""
        for spec in self.jobs:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.jobs) or "none"
        raise LookupError(f"no job named '{name}' in {self.file} (jobs: {known})")


def jobs_file(settings: Settings) -> Path:
    return config_file(settings, "jobs.toml", JOBS_CONFIG_ENV)


def load_jobs(settings: Settings, path: Path | None = None) -> JobsConfig:
    """Read and validate the jobs file; a missing file means no jobs.

    :raises ConfigError: naming the file and ``jobs.<name>.<key>``.
    """
    file = path or jobs_file(settings)
    if not file.is_file():
        return JobsConfig(file=str(file))
    return jobs_from(read_toml(file), file=str(file))


def jobs_from(data: dict[str, Any], *, file: str) -> JobsConfig:
    """Validate a parsed jobs file (see the module docstring for the format)."""
    from scheduler.kinds import check_args

    unknown = sorted(set(data) - {"version", "timezone", "defaults", "jobs"})
    if unknown:
        raise ConfigError("unknown key", file=file, key=unknown[0])
    if data.get("version", 1) not in SUPPORTED_VERSIONS:
        raise ConfigError(f"unsupported version {data.get('version')!r}", file=file,
                          key="version")
    zone = data.get("timezone", "UTC")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone '{zone}'", file=file, key="timezone") from None
    defaults = data.get("defaults", {})
    try:
        JobOptions.model_validate(defaults)
    except ValidationError as exc:
        raise _config_error(exc, file, "defaults") from None
    jobs = data.get("jobs", {})
    if not isinstance(jobs, dict):
        raise ConfigError("must be a table of jobs ([jobs.<name>])", file=file, key="jobs")
    specs = []
    for name, body in jobs.items():
        prefix = f"jobs.{name}"
        if not isinstance(body, dict):
            raise ConfigError("must be a table", file=file, key=prefix)
        try:
            spec = JobSpec.model_validate({**defaults, **body, "name": name})
        except ValidationError as exc:
            raise _config_error(exc, file, prefix) from None
        try:
            check_args(spec.kind, spec.args)
        except LookupError as exc:
            raise ConfigError(str(exc.args[0]), file=file, key=f"{prefix}.kind") from None
        except ValidationError as exc:
            raise _config_error(exc, file, f"{prefix}.args") from None
        specs.append(spec)
    return JobsConfig(version=1, timezone=str(zone), jobs=tuple(specs), file=file)


def _config_error(exc: ValidationError, file: str, prefix: str) -> ConfigError:
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]]
    if loc and loc[0] == "trigger" and len(loc) > 1 and loc[1] in ("cron", "interval", "date"):
        # pydantic names the union member; the file has no such key
        return ConfigError(
            config_error(exc, file=file).reason,
            file=file,
            key=".".join([prefix, "trigger", *loc[2:]]),
        )
    if first["type"] == "missing" and loc == ["name"]:
        return ConfigError("missing", file=file, key=f"{prefix}.name")
    return config_error(exc, file=file, prefix=prefix.split("."))
