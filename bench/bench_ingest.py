"""Ingest benchmark: one generated batch, imported end to end on SQLite and on PostgreSQL.

    .venv/bin/python bench/bench_ingest.py                      # 20,000 profiles
    .venv/bin/python bench/bench_ingest.py --profiles 100000
    .venv/bin/python bench/bench_ingest.py --profiles 1000000 --skip-postgres

Prints, for the same file: the raw ceiling (streaming parse + per-record XSD validation, no
mapping, no database) in profiles/s; end-to-end profiles/s of ``import_file`` (parse, validate,
map, resolve identity, store, outbox) on a fresh SQLite file and on a fresh PostgreSQL schema,
with the ratio to the ceiling (by the wall clock, and per CPU second of the importing process,
which a machine shared with other work disturbs less; on PostgreSQL the server's own CPU time
is not in it); the peak RSS of each import (each runs in a child process, so
the figures do not mix); and matching precision and recall over pairs of records against the
generator's ground truth. Figures only: nothing here passes or fails.

PostgreSQL: ``CPEX_TEST_POSTGRES_URL`` (default the test server, 127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import secrets
import sys
import tempfile
import time
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def ceiling(path: Path) -> tuple[float, float]:
    """Profiles/s of the streaming parser with per-record validation alone: by the wall clock,
    and per second of this process's CPU time."""
    from gateway.config import load_settings
    from gateway.model.namespaces import CPEX_PROFILE_NS
    from gateway.model.xmlcodec import PROFILE_TAG
    from gateway.xml.schemas import SchemaRegistry
    from gateway.xml.stream import iter_records

    settings = load_settings(REPO / "config" / "gateway.toml", environ={})
    validator = SchemaRegistry(settings.path("schemas")).validator(CPEX_PROFILE_NS)
    started, cpu = time.perf_counter(), time.process_time()
    n = 0
    for element in iter_records(path, PROFILE_TAG, limits=settings.xml.limits):
        validator.issues(element)
        n += 1
    return n / (time.perf_counter() - started), n / (time.process_time() - cpu)


def import_child(url: str, path: str, out: Any) -> None:
    """In a child process: migrate, import, send back the figures and the golden id per key."""
    from sqlalchemy import select

    from gateway.config import load_settings
    from gateway.pipeline.files import import_file
    from gateway.runtime import Gateway
    from gateway.store.migrate import upgrade
    from gateway.store.tables import source_record

    settings = load_settings(
        REPO / "config" / "gateway.toml", environ={}, overrides={"database.url": url}
    )
    gateway = Gateway(settings)
    upgrade(gateway.engine)
    started, cpu = time.perf_counter(), time.process_time()
    report = import_file(gateway, path, keep_outcomes=False)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    rss_kb = peak_rss_kb()
    with gateway.engine.connect() as conn:
        golden_of = dict(
            conn.execute(select(source_record.c.source_key, source_record.c.golden_id)).all()
        )
    gateway.close()
    out.send(
        {
            "rate": report.total / elapsed,
            "cpu_rate": report.total / cpu,
            "elapsed": elapsed,
            "counts": dict(report.counts),
            "rss_mb": rss_kb / 1024,
            "golden_of": golden_of,
        }
    )


def peak_rss_kb() -> int:
    """This process's peak RSS in KB: ``VmHWM`` on Linux. Not ``ru_maxrss``, which Linux
    carries over ``exec`` from the parent that forked the child (the 1M run reported the
    parent's 576 MB, holding the ground truth, for a child that never passed 160 MB)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_import(url: str, path: Path) -> dict[str, Any]:
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("spawn").Process(
        target=import_child, args=(url, str(path), send)
    )
    child.start()
    result: dict[str, Any] = receive.recv()
    child.join()
    return result


def quality(golden_of: dict[str, str], person_of: dict[str, int]) -> tuple[float, float]:
    """Pairwise precision and recall: a pair of records is predicted "same" when they share a
    golden profile, and is truly the same when they come from the same person."""
    predicted: defaultdict[str, list[str]] = defaultdict(list)
    truth: defaultdict[int, list[str]] = defaultdict(list)
    for key, gid in golden_of.items():
        predicted[gid].append(key)
    for key, pid in person_of.items():
        truth[pid].append(key)
    pairs_predicted = {frozenset(p) for keys in predicted.values() for p in combinations(keys, 2)}
    pairs_true = {frozenset(p) for keys in truth.values() for p in combinations(keys, 2)}
    hits = len(pairs_predicted & pairs_true)
    precision = hits / len(pairs_predicted) if pairs_predicted else 1.0
    recall = hits / len(pairs_true) if pairs_true else 1.0
    return precision, recall


def postgres_schema(server_url: str) -> tuple[str, Any]:
    from gateway.store.engine import make_engine, with_search_path

    schema = f"cpex_bench_{secrets.token_hex(4)}"
    server = make_engine(server_url)
    with server.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with server.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        server.dispose()

    return with_search_path(server_url, schema).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--exact", type=float, default=0.05)
    parser.add_argument("--near", type=float, default=0.10)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    import generate_batch

    work = args.workdir or Path(tempfile.mkdtemp(prefix="cpex-bench-"))
    batch = work / f"batch-{args.profiles}.xml"
    summary = generate_batch.write(batch, args.profiles, args.exact, args.near, 7)
    size_mb = batch.stat().st_size / 1e6
    print(f"batch: {batch} ({size_mb:.0f} MB): {json.dumps(summary)}")

    raw, raw_cpu = ceiling(batch)
    print(
        f"raw ceiling (iter_records + per-record XSD validation): {raw:,.0f} profiles/s, "
        f"{raw_cpu:,.0f} per CPU second"
    )

    for stale in work.glob("bench.db*"):  # a re-used --workdir: a fresh database each run
        stale.unlink()
    targets = [("sqlite", f"sqlite:///{work / 'bench.db'}", None)]
    if not args.skip_postgres:
        url, drop = postgres_schema(os.environ.get("CPEX_TEST_POSTGRES_URL", DEFAULT_POSTGRES))
        targets.append(("postgresql", url, drop))
    for name, url, drop in targets:
        try:
            result = run_import(url, batch)
        finally:
            if drop is not None:
                drop()
        truth = json.loads(batch.with_name(batch.name + ".truth.json").read_text())
        precision, recall = quality(result["golden_of"], truth["person_of"])
        del truth
        counts = Counter(result["counts"])
        print(
            f"{name:10s}: {result['rate']:,.0f} profiles/s end to end "
            f"({result['rate'] / raw:.0%} of the ceiling, {result['elapsed']:.1f} s; "
            f"{result['cpu_rate']:,.0f} per CPU second of this process, "
            f"{result['cpu_rate'] / raw_cpu:.0%} of the ceiling's), "
            f"peak RSS {result['rss_mb']:.0f} MB, precision {precision:.3f}, recall {recall:.3f}; "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )


if __name__ == "__main__":
    main()
