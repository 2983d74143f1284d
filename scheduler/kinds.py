"""What a job can run, chosen in ``jobs.toml`` by ``kind``: an alias -> a function and its args.

Each kind declares a pydantic ``Args`` model (unknown keys refused, checked when the config is
loaded, so a typo stops the scheduler at start rather than at 3 a.m.) and a *lock group*: jobs of
one group never run at the same time across processes. All ERP jobs of one ERP share a group,
because they move the same cursors.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, delete, func, not_, select, union
from sqlalchemy.exc import SQLAlchemyError

from gateway.erp.refresh import RefreshResult
from gateway.erp.service import refresher_for
from gateway.errors import GatewayError
from gateway.privacy import DISCLOSURE_ACTION
from gateway.runtime import Gateway
from gateway.store.engine import store_error, write_transaction
from gateway.store.retention import RetentionDays, purge_expired
from gateway.store.tables import audit_log, golden_alias, golden_profile, job_run

if TYPE_CHECKING:
    from gateway.delivery import Dispatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What a run did, for the history row."""

    rows_read: int = 0
    rows_written: int = 0
    rows_rejected: int = 0
    detail: str = ""
    rows_skipped: int = 0  # written without a change
    rows_deleted: int = 0  # marked deleted
    rows_by_table: Mapping[str, int] = field(default_factory=dict)  # rows read, per table

    def counts(self) -> dict[str, Any]:
        """The history row's counts (:meth:`scheduler.history.JobHistory.finish`)."""
        return {"rows_read": self.rows_read, "rows_written": self.rows_written,
                "rows_rejected": self.rows_rejected, "rows_skipped": self.rows_skipped,
                "rows_deleted": self.rows_deleted, "rows_by_table": self.rows_by_table}

    @classmethod
    def of_refresh(cls, result: RefreshResult) -> JobOutcome:
        return cls(result.rows_read, result.rows_written, result.rows_rejected,
                   result.describe(), result.rows_unchanged, result.rows_deleted,
                   dict(result.read_by_table))


@dataclass(frozen=True, slots=True)
class JobContext:
    gateway: Gateway
    job: str
    args: Any  # the kind's validated Args


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArgs(_Args):
    pass


class AuditPurgeArgs(_Args):
    keep_days: int = Field(365, ge=1)


class RetentionArgs(_Args):
    keep_days: RetentionDays = RetentionDays()


class ConsentExpiryArgs(_Args):
    first_lookback_hours: int = Field(168, ge=1)  # the window of the very first run


class FileDropArgs(_Args):
    inbox: str = Field(min_length=1)  # folder, relative to the project folder
    complete: str = Field("marker", pattern="^(marker|rename)$")
    source_system: str | None = None  # default: the envelope's Sender (XML), "erp" (CSV)
    mapping: str | None = None  # mapping file under paths.mappings, needed for CSV files


@dataclass(frozen=True, slots=True)
class Kind:
    args: type[_Args]
    run: Callable[[JobContext], JobOutcome]
    lock_group: Callable[[JobContext], str]


def _refresh(mode: str) -> Callable[[JobContext], JobOutcome]:
    def run(ctx: JobContext) -> JobOutcome:
        return JobOutcome.of_refresh(refresh(ctx.gateway, mode))

    return run


def refresh(gateway: Gateway, mode: str) -> RefreshResult:
    """One ERP refresh (``incremental``, ``full`` or ``reconcile``) on the configured ERP."""
    refresher = refresher_for(gateway)
    try:
        result: RefreshResult = getattr(refresher, mode)()
    finally:
        refresher.source.close()
    return result


ERP_KINDS = {"incremental": "erp_incremental", "full": "erp_full", "reconcile": "erp_reconcile"}


def recorded_refresh(gateway: Gateway, mode: str, job: str, runner: str
                     ) -> tuple[int, RefreshResult | None]:
    """An ERP refresh asked for by hand (``cpex-gateway erp refresh``), recorded in the run
    history as a manual run of ``job`` and holding the ERP jobs' lock group, like ``jobs run``:
    (run id, result; ``None`` when another ERP run held the lock and this one was skipped).

    :raises GatewayError: the refresh failed (recorded as ``failed`` first).
    """
    from scheduler.history import JobHistory
    from scheduler.lock import group_lock

    history = JobHistory(gateway.engine)
    run = history.start(job, slot=None, attempt=1, trigger="manual", runner=runner)
    try:
        with group_lock(gateway.engine, "erp") as taken:
            if not taken:
                history.finish(run.id, "skipped", error="another run of lock group 'erp' is "
                               "in progress")
                return run.id, None
            result = refresh(gateway, mode)
    except Exception as exc:
        reason = exc.message if isinstance(exc, GatewayError) else type(exc).__name__
        history.finish(run.id, "failed", error=f"{type(exc).__name__}: {reason}")
        raise
    history.finish(run.id, "succeeded", **JobOutcome.of_refresh(result).counts())
    return run.id, result


def _erp_group(ctx: JobContext) -> str:
    return "erp"  # recorded_refresh holds it too


def _own_group(ctx: JobContext) -> str:
    return f"job:{ctx.job}"


def _audit_purge(ctx: JobContext) -> JobOutcome:
    cutoff = datetime.now(UTC) - timedelta(days=ctx.args.keep_days)
    try:
        with write_transaction(ctx.gateway.engine) as conn:
            gone = conn.execute(delete(audit_log).where(
                audit_log.c.at < cutoff, not_(_disclosure_still_needed()))).rowcount
    except SQLAlchemyError as exc:
        raise store_error("purging old audit rows", exc) from exc
    return JobOutcome(rows_written=int(gone), detail=f"{gone} audit rows older than "
                      f"{ctx.args.keep_days} days deleted")


def _retention_purge(ctx: JobContext) -> JobOutcome:
    deleted = purge_expired(ctx.gateway.engine, ctx.args.keep_days, datetime.now(UTC))
    return JobOutcome(rows_written=sum(deleted.values()),
                      detail=", ".join(f"{n} {kind}" for kind, n in deleted.items()) + " deleted")


def _disclosure_still_needed() -> ColumnElement[bool]:
    """A disclosure of a person who is still in the CRM base: it is how the partners that got
    their data are found when they revoke a consent or are erased, so it outlives keep_days."""
    live = union(
        select(golden_profile.c.id).where(golden_profile.c.erased.is_(False)),
        select(golden_alias.c.alias_id),
    )
    return and_(audit_log.c.action == DISCLOSURE_ACTION, audit_log.c.golden_id.in_(live))


def _consent_expiry(ctx: JobContext) -> JobOutcome:
    """Revocation events for consents that expired since this job last succeeded."""
    from gateway.delivery.expiry import announce_expired_consents

    now = datetime.now(UTC)
    r = job_run.c
    try:
        with ctx.gateway.engine.connect() as conn:
            last = conn.execute(select(func.max(r.started_at)).where(
                r.job == ctx.job, r.status == "succeeded")).scalar()
    except SQLAlchemyError as exc:
        raise store_error(f"reading the last run of {ctx.job}", exc) from exc
    since = last or now - timedelta(hours=ctx.args.first_lookback_hours)
    people = announce_expired_consents(ctx.gateway.engine, since, now)
    return JobOutcome(rows_written=people, detail=f"{people} people with consents expired")


def _outbox_dispatch(ctx: JobContext) -> JobOutcome:
    """One dispatcher round: route new outbox events, send the due deliveries."""
    done = _dispatcher_of(ctx.gateway).run_once()
    sent = done.sent
    return JobOutcome(done.fanned_out.events, sent.delivered, sent.dead,
                      f"{done.fanned_out.deliveries} deliveries queued, {sent.delivered} "
                      f"delivered, {sent.retrying} to retry, {sent.dead} dead, "
                      f"{sent.withheld} withheld")


# One dispatcher per gateway, kept between rounds (every few seconds): it holds the partner
# registry, HTTP sessions and zeep clients, whose WSDLs would otherwise be parsed every round.
_dispatchers: dict[int, tuple[weakref.ref[Gateway], Dispatcher]] = {}
_dispatchers_lock = threading.Lock()


def _dispatcher_of(gateway: Gateway) -> Dispatcher:
    from gateway.delivery import Dispatcher

    with _dispatchers_lock:
        found = _dispatchers.get(id(gateway))
        if found is not None and found[0]() is gateway:
            return found[1]
        dispatcher = Dispatcher(gateway)
        _dispatchers[id(gateway)] = (weakref.ref(gateway), dispatcher)
        weakref.finalize(gateway, _forget, id(gateway), dispatcher)
        return dispatcher


def _forget(key: int, dispatcher: Dispatcher) -> None:
    with _dispatchers_lock:
        if key in _dispatchers and _dispatchers[key][1] is dispatcher:
            del _dispatchers[key]
    dispatcher.close()


def _file_drop(ctx: JobContext) -> JobOutcome:
    from scheduler.filedrop import poll_inbox

    return poll_inbox(ctx)


KINDS: dict[str, Kind] = {
    "erp_incremental": Kind(NoArgs, _refresh("incremental"), _erp_group),
    "erp_full": Kind(NoArgs, _refresh("full"), _erp_group),
    "erp_reconcile": Kind(NoArgs, _refresh("reconcile"), _erp_group),
    "file_drop_poll": Kind(FileDropArgs, _file_drop, _own_group),
    "audit_purge": Kind(AuditPurgeArgs, _audit_purge, _own_group),
    "retention_purge": Kind(RetentionArgs, _retention_purge, _own_group),
    "consent_expiry": Kind(ConsentExpiryArgs, _consent_expiry, _own_group),
    "outbox_dispatch": Kind(NoArgs, _outbox_dispatch, _own_group),
}


def kind(alias: str) -> Kind:
    """:raises LookupError: no job kind has that alias (the message lists the known ones)."""
    try:
        return KINDS[alias]
    except KeyError:
        known = ", ".join(sorted(KINDS))
        raise LookupError(f"unknown job kind '{alias}' (known: {known})") from None


def check_args(alias: str, args: dict[str, Any]) -> Any:
    """The kind's validated args. :raises LookupError: unknown kind; ValidationError: bad args."""
    return kind(alias).args.model_validate(args)
