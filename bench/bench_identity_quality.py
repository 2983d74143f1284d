"""Identity quality benchmark: the gateway's match model beside a ``recordlinkage`` baseline.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/bench_identity_quality.py            # every set
    .venv/bin/python bench/bench_identity_quality.py --sets febrl1 generated

Sets: FEBRL1, FEBRL2 and FEBRL4 as shipped by ``recordlinkage`` (FEBRL4's two halves as one
file, its known links as the truth; FEBRL1/2's truth from the record ids), and a generated set
with harder corruptions (nicknames, no e-mail and phone, moved house, married names, swapped
day and month, typos).

The gateway side writes each set as a CPEX batch and imports it through the real ingest path
(``import_file``: parse, validate, map, resolve identity chunk by chunk, store, outbox) into a
fresh SQLite file, with the shipped ``config/``; the clusters are the golden profiles. Twice:
"default" with the shipped parameters (a new install), then "trained": the model learnt
unsupervised from the first import (``identity train``: EM, random pairs, term frequencies),
stored in a fresh database, and the same file imported again.

The baseline, as a recordlinkage user would write it: index by blocks on given name | surname |
birth date | postcode (union), compare Jaro-Winkler names, exact birth date, suburb, postcode
and state, Levenshtein street, classify with the unsupervised
``ECMClassifier``, cluster by transitive closure.

Prints per set and system: pairwise precision, recall, F1, and open review items as a share
of the records (the baseline has no review). Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

SOURCE = "quality"


@dataclass(frozen=True, slots=True)
class Row:
    """One record of a set, in the columns both systems read."""

    key: str
    entity: str
    given: str | None
    family: str | None
    birth: str | None  # YYYYMMDD, possibly not a real date (FEBRL corrupts them)
    street_number: str | None
    street: str | None
    address_2: str | None
    suburb: str | None
    postcode: str | None
    state: str | None
    email: str | None = None
    phone: str | None = None


# --- the sets -------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def febrl(name: str) -> list[Row]:
    from recordlinkage import datasets

    if name == "febrl4":
        a, b, links = datasets.load_febrl4(return_links=True)
        entity = {}
        for n, (left, right) in enumerate(links):
            entity[left] = entity[right] = f"link{n}"
        import pandas as pd

        frame = pd.concat([a, b])
    else:
        frame = getattr(datasets, f"load_{name}")()
        entity = {}
    rows = []
    for rec_id, r in frame.iterrows():
        rows.append(
            Row(
                key=str(rec_id),
                entity=entity.get(rec_id, str(rec_id).split("-")[1]),
                given=_text(r.given_name),
                family=_text(r.surname),
                birth=_text(r.date_of_birth),
                street_number=_text(r.street_number),
                street=_text(r.address_1),
                address_2=_text(r.address_2),
                suburb=_text(r.suburb),
                postcode=_text(r.postcode),
                state=_text(r.state),
            )
        )
    return rows


NICKNAMES = {
    "william": "bill",
    "robert": "bob",
    "james": "jim",
    "thomas": "tom",
    "charles": "charlie",
    "henry": "harry",
    "edward": "ted",
    "alexander": "alex",
    "elizabeth": "liz",
    "oliver": "ollie",
    "isabella": "bella",
    "theodore": "theo",
    "amelia": "millie",
    "florence": "flo",
    "matilda": "tilly",
    "freddie": "fred",
    "archie": "arch",
    "sophia": "sophie",
    "joshua": "josh",
    "benjamin": "ben",
    "samuel": "sam",
    "jacob": "jake",
    "alfie": "alf",
    "isaac": "ike",
    "edward ": "ed",
}
HARD = ("nickname", "no-contact", "moved", "married", "day-month", "typo")


def generated(n_people: int, seed: int = 11) -> list[Row]:
    """People from the ingest benchmark's generator, then one to three corrupted copies of a
    third of them, each with one or two of the harder corruptions."""
    import generate_batch as g

    rng = random.Random(seed)
    rows: list[Row] = []
    people = [g.person(rng, pid) for pid in range(1, n_people + 1)]
    for p in people:
        rows.append(_row(p, f"g{p.id}-0", p))
    for p in rng.sample(people, n_people // 3):
        for copy in range(1, rng.randint(1, 3) + 1):
            changed = p
            for variant in rng.sample(HARD, rng.randint(1, 2)):
                changed = _corrupt(rng, changed, variant, g)
            rows.append(_row(changed, f"g{p.id}-{copy}", p))
    rng.shuffle(rows)
    return rows


def _corrupt(rng: random.Random, p: Any, variant: str, g: Any) -> Any:
    if variant == "nickname":
        return replace(p, given=NICKNAMES.get(p.given.lower(), p.given[:3]).title())
    if variant == "no-contact":
        return replace(p, email=None, phone=None)
    if variant == "moved":
        other = g.person(rng, 0)
        return replace(p, line=other.line, city=other.city, postcode=other.postcode)
    if variant == "married":
        return replace(p, family=rng.choice(g.FAMILY), email=None)
    if variant == "day-month":
        y, m, d = p.birth.split("-")
        return replace(p, birth=f"{y}-{d}-{m}") if int(d) <= 12 and d != m else p
    name = list(p.family)
    i = rng.randrange(1, len(name))
    name[i] = rng.choice("aeiourstln")
    return replace(p, family="".join(name))


def _row(p: Any, key: str, original: Any) -> Row:
    number, _, street = p.line.partition(" ")
    return Row(
        key=key,
        entity=str(original.id),
        given=p.given,
        family=p.family,
        birth=p.birth.replace("-", ""),
        street_number=number,
        street=street,
        address_2=None,
        suburb=p.city,
        postcode=p.postcode,
        state=None,
        email=p.email,
        phone=p.phone,
    )


# --- the gateway --------------------------------------------------------------------------------


def write_batch(rows: Iterable[Row], path: Path) -> int:
    """A CPEX upsert envelope of the rows; returns how many birth dates were not real dates
    (left out: the CPEX schema wants a date)."""
    from lxml import etree

    from gateway.model import Email, Identifier, Person, Phone, PostalAddress, Profile
    from gateway.model.xmlcodec import profile_to_element

    bad_dates = 0
    with path.open("wb") as out:
        out.write(
            b"<?xml version='1.0' encoding='UTF-8'?>\n"
            b'<ex:Envelope xmlns:ex="urn:cpex:exchange:1.0" xmlns:cpex="urn:cpex:profile:1.0">'
            b"<ex:Header><ex:MessageId>quality</ex:MessageId><ex:Sender>"
            + SOURCE.encode()
            + b"</ex:Sender><ex:Recipient>gateway</ex:Recipient>"
            b"<ex:Timestamp>2024-11-01T03:00:00Z</ex:Timestamp>"
            b"<ex:Operation>upsert</ex:Operation></ex:Header><ex:Body><ex:Batch>\n"
        )
        for r in rows:
            birth = _date(r.birth)
            bad_dates += r.birth is not None and birth is None
            lines = tuple(
                x for x in (" ".join(filter(None, (r.street_number, r.street))), r.address_2) if x
            )
            address = PostalAddress(
                lines=lines, city=r.suburb, postal_code=r.postcode, region=r.state, country="AU"
            )
            profile = Profile(
                identifiers=(Identifier(SOURCE, r.key),),
                person=Person(given_name=r.given, family_name=r.family, birth_date=birth),
                addresses=(address,) if lines or r.suburb or r.postcode else (),
                emails=(Email(r.email),) if r.email else (),
                phones=(Phone(r.phone),) if r.phone else (),
            )
            out.write(etree.tostring(profile_to_element(profile)) + b"\n")
        out.write(b"</ex:Batch></ex:Body></ex:Envelope>\n")
    return bad_dates


def _date(text: str | None) -> date | None:
    if text is None or len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def gateway_clusters(
    rows: list[Row], work: Path, trained: Any = None
) -> tuple[dict[str, str], int, float, Any]:
    """Import through the pipeline into a fresh database (with the ``trained`` model stored
    as its newest version first, if given); then train on what was imported. Returns the
    golden id by key, the open review items, the import's seconds and the trained model."""
    from sqlalchemy import func, select

    from gateway.config import load_settings
    from gateway.pipeline.files import import_file
    from gateway.resolution.models import train_model
    from gateway.runtime import Gateway
    from gateway.store import match_models
    from gateway.store.engine import write_transaction
    from gateway.store.migrate import upgrade
    from gateway.store.tables import review_item, source_record

    batch = work / "batch.xml"
    write_batch(rows, batch)
    db = work / "quality.db"
    db.unlink(missing_ok=True)
    settings = load_settings(
        REPO / "config" / "gateway.toml", environ={}, overrides={"database.url": f"sqlite:///{db}"}
    )
    gateway = Gateway(settings)
    try:
        upgrade(gateway.engine)
        if trained is not None:
            with write_transaction(gateway.engine) as conn:
                match_models.save(conn, trained, records=0, figures={}, actor="bench")
        started = time.perf_counter()
        report = import_file(gateway, batch, keep_outcomes=False)
        elapsed = time.perf_counter() - started
        if report.counts.get("rejected"):
            print(f"  (gateway rejected {report.counts['rejected']} records)")
        with gateway.engine.connect() as conn:
            golden_of = dict(
                conn.execute(select(source_record.c.source_key, source_record.c.golden_id)).all()
            )
            reviews = conn.execute(
                select(func.count()).select_from(review_item).where(review_item.c.status == "open")
            ).scalar_one()
        learnt = None if trained is not None else train_model(gateway.profiles)[1].model
    finally:
        gateway.close()
    return golden_of, int(reviews), elapsed, learnt


# --- the baseline -------------------------------------------------------------------------------


def baseline_clusters(rows: list[Row]) -> tuple[dict[str, str], float]:
    import pandas as pd
    import recordlinkage

    started = time.perf_counter()
    frame = pd.DataFrame(
        {
            "given_name": [r.given for r in rows],
            "surname": [r.family for r in rows],
            "date_of_birth": [r.birth for r in rows],
            "postcode": [r.postcode for r in rows],
            "suburb": [r.suburb for r in rows],
            "state": [r.state for r in rows],
            "address_1": [r.street for r in rows],
        },
        index=[r.key for r in rows],
    )
    indexer = recordlinkage.Index()
    for column in ("given_name", "surname", "date_of_birth", "postcode"):
        indexer.block(column)
    pairs = indexer.index(frame)
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85)
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85)
    compare.exact("date_of_birth", "date_of_birth")
    compare.exact("suburb", "suburb")
    compare.exact("postcode", "postcode")
    compare.exact("state", "state")
    compare.string("address_1", "address_1", method="levenshtein", threshold=0.85)
    features = compare.compute(pairs, frame)
    matches = recordlinkage.ECMClassifier(binarize=None).fit_predict(features)
    parent = {r.key: r.key for r in rows}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for a, b in matches:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {r.key: root(r.key) for r in rows}, time.perf_counter() - started


# --- scoring ------------------------------------------------------------------------------------


def pairs_of(groups: Iterable[list[str]]) -> Iterator[frozenset[str]]:
    for keys in groups:
        for pair in combinations(sorted(keys), 2):
            yield frozenset(pair)


def quality(cluster_of: dict[str, str], entity_of: dict[str, str]) -> tuple[float, float, float]:
    predicted: defaultdict[str, list[str]] = defaultdict(list)
    truth: defaultdict[str, list[str]] = defaultdict(list)
    for key, cluster in cluster_of.items():
        predicted[cluster].append(key)
    for key, entity in entity_of.items():
        truth[entity].append(key)
    found = set(pairs_of(predicted.values()))
    true = set(pairs_of(truth.values()))
    hits = len(found & true)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument(
        "--sets",
        nargs="*",
        default=["febrl1", "febrl2", "febrl4", "generated"],
        choices=["febrl1", "febrl2", "febrl4", "generated"],
    )
    parser.add_argument("--people", type=int, default=3000, help="people of the generated set")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cpex-quality-"))
    header = (
        f"{'set':10s} {'records':>7s} {'system':9s} {'precision':>9s} {'recall':>7s} "
        f"{'F1':>6s} {'review':>7s} {'seconds':>7s}"
    )
    print(header)
    print("-" * len(header))
    for name in args.sets:
        rows = generated(args.people) if name == "generated" else febrl(name)
        entity_of = {r.key: r.entity for r in rows}
        golden_of, reviews, seconds, learnt = gateway_clusters(rows, work)
        p, r, f = quality(golden_of, entity_of)
        print(
            f"{name:10s} {len(rows):7d} {'default':9s} {p:9.4f} {r:7.4f} {f:6.4f} "
            f"{reviews / len(rows):7.2%} {seconds:7.1f}",
            flush=True,
        )
        golden_of, reviews, seconds, _ = gateway_clusters(rows, work, learnt)
        p, r, f = quality(golden_of, entity_of)
        print(
            f"{'':10s} {'':7s} {'trained':9s} {p:9.4f} {r:7.4f} {f:6.4f} "
            f"{reviews / len(rows):7.2%} {seconds:7.1f}",
            flush=True,
        )
        if not args.skip_baseline:
            clusters, seconds = baseline_clusters(rows)
            p, r, f = quality(clusters, entity_of)
            print(
                f"{'':10s} {'':7s} {'baseline':9s} {p:9.4f} {r:7.4f} {f:6.4f} "
                f"{'-':>7s} {seconds:7.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
