"""Write a CPEX upsert batch of N profiles with a known share of duplicates, and its ground truth.

    .venv/bin/python bench/generate_batch.py --profiles 100000 --out var/bench/batch-100k.xml

Records are made-up people (example.* domains, +44 7700 900xxx-style numbers). Each record is
one of:

- a distinct person (the rest of the batch);
- an exact duplicate (``--exact``): the same person's content again under a new source key;
- a near duplicate (``--near``), one variation each, in turn: a typo in the family name, given
  and family name swapped, the same local part at another e-mail domain (phone dropped), or the
  phone kept with no e-mail and the postcode reformatted (CPEX mandates E.164, so a phone
  itself cannot be reformatted inside a valid CPEX document; the normaliser's handling of
  national formats is tested in tests/identity).

The ground truth (``<out>.truth.json``) maps every record's source key to its person, which is
what precision and recall are measured against.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from xml.sax.saxutils import escape

SOURCE = "bench"
GIVEN = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Rosie",
    "Sophia",
    "Grace",
    "Freya",
    "Willow",
    "Florence",
    "Emilia",
    "Ella",
    "Poppy",
    "Evie",
    "Elsie",
    "Charlotte",
    "Evelyn",
    "Sienna",
    "Daisy",
    "Phoebe",
    "Sofia",
    "Alice",
    "Harper",
    "Ruby",
    "Matilda",
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Muhammad",
    "Leo",
    "Harry",
    "Oscar",
    "Archie",
    "Henry",
    "Theodore",
    "Freddie",
    "Jack",
    "Charlie",
    "Theo",
    "Alfie",
    "Jacob",
    "Thomas",
    "Finley",
    "Arlo",
    "William",
    "Lucas",
    "Roman",
    "Tommy",
    "Isaac",
    "Teddy",
    "Alexander",
    "Luca",
    "Edward",
    "James",
    "Joshua",
    "Albie",
    "Elijah",
    "Max",
    "Mohammed",
    "Reuben",
    "Mason",
    "Sebastian",
    "Rory",
    "Jude",
    "Louie",
    "Benjamin",
]
FAMILY = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Lewis",
    "James",
    "Phillips",
    "Mason",
    "Mitchell",
    "Rose",
    "Davis",
    "Rodriguez",
    "Cox",
    "Alexander",
    "Morgan",
    "Moore",
    "Mills",
    "King",
    "Scott",
    "Hughes",
    "Hill",
    "Lee",
    "Harris",
    "Clark",
    "Martin",
    "Cooper",
    "Ward",
    "Turner",
    "Parker",
    "Edwards",
    "Collins",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Bailey",
    "Bell",
    "Howard",
    "Carter",
    "Richardson",
    "Shaw",
    "Marshall",
    "Chapman",
    "Dixon",
    "Hunt",
    "Holmes",
    "Palmer",
    "Kennedy",
    "Graham",
    "Wallace",
    "Fisher",
    "Ellis",
    "Foster",
    "Gibson",
    "Mills",
    "Owen",
    "Webb",
    "Simpson",
    "Ross",
    "Fraser",
    "Butler",
    "Barnes",
]
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.co.uk", "post.example.io")
CITIES = ("London", "Leeds", "Bristol", "York", "Bath", "Leicester", "Norwich", "Exeter")
VARIANTS = ("typo", "swapped", "other-domain", "phone-only")


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    given: str
    family: str
    birth: str
    email: str | None
    phone: str | None
    line: str
    city: str
    postcode: str


def person(rng: random.Random, pid: int) -> Person:
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    local = f"{given}.{family}{pid}".lower()
    area = "".join(rng.choice("ABDEHLMNPRSTW") for _ in range(2))
    postcode = (
        f"{area}{rng.randint(1, 99)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    )
    return Person(
        id=pid,
        given=given,
        family=family,
        birth=f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        email=f"{local}@{rng.choice(DOMAINS)}",
        phone=f"+447{rng.randint(100000000, 999999999)}",
        line=f"{rng.randint(1, 250)} {rng.choice(FAMILY)} Road",
        city=rng.choice(CITIES),
        postcode=postcode,
    )


def vary(rng: random.Random, p: Person, variant: str) -> Person:
    if variant == "typo":
        name = list(p.family)
        i = rng.randrange(1, len(name))
        name[i] = rng.choice("aeiourstln") if name[i] not in "aeiou" else rng.choice("aeiou")
        return replace(p, family="".join(name) if "".join(name) != p.family else p.family + "e")
    if variant == "swapped":
        return replace(p, given=p.family, family=p.given)
    if variant == "other-domain":
        local = (p.email or "x@x").partition("@")[0]
        other = [d for d in DOMAINS if not (p.email or "").endswith(d)]
        return replace(p, email=f"{local}@{rng.choice(other)}", phone=None)
    return replace(p, email=None, postcode=p.postcode.replace(" ", "").lower())


def profile_xml(key: str, p: Person) -> str:
    parts = [
        f'  <cpex:Profile>\n    <cpex:Identifiers><cpex:Identifier system="{SOURCE}" '
        f'key="{key}"/></cpex:Identifiers>\n',
        f"    <cpex:Person><cpex:GivenName>{escape(p.given)}</cpex:GivenName>"
        f"<cpex:FamilyName>{escape(p.family)}</cpex:FamilyName>"
        f"<cpex:BirthDate>{p.birth}</cpex:BirthDate></cpex:Person>\n",
        f'    <cpex:Addresses><cpex:Address type="home"><cpex:Line>{escape(p.line)}</cpex:Line>'
        f"<cpex:City>{p.city}</cpex:City><cpex:PostalCode>{p.postcode}</cpex:PostalCode>"
        "<cpex:Country>GB</cpex:Country></cpex:Address></cpex:Addresses>\n",
    ]
    if p.email:
        parts.append(
            f'    <cpex:Emails><cpex:Email type="personal">{p.email}</cpex:Email></cpex:Emails>\n'
        )
    if p.phone:
        parts.append(
            f'    <cpex:Phones><cpex:Phone type="mobile">{p.phone}</cpex:Phone></cpex:Phones>\n'
        )
    parts.append("  </cpex:Profile>\n")
    return "".join(parts)


def records(n: int, exact: float, near: float, seed: int) -> Iterator[tuple[str, Person, str]]:
    """(source key, person as written, kind) for each record."""
    rng = random.Random(seed)
    people: list[Person] = []
    turn = 0
    for i in range(1, n + 1):
        roll = rng.random()
        key = f"r{i:08d}"
        if people and roll < exact:
            yield key, rng.choice(people), "exact"
        elif people and roll < exact + near:
            variant = VARIANTS[turn % len(VARIANTS)]
            turn += 1
            yield key, vary(rng, rng.choice(people), variant), variant
        else:
            people.append(person(rng, len(people) + 1))
            yield key, people[-1], "distinct"


def write(path: Path, n: int, exact: float, near: float, seed: int) -> dict[str, object]:
    """Write the batch and ``<path>.truth.json``; returns the counts by kind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    truth: dict[str, int] = {}
    kinds: dict[str, int] = {}
    with path.open("w", encoding="utf-8") as out:
        out.write(
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            '<ex:Envelope xmlns:ex="urn:cpex:exchange:1.0" xmlns:cpex="urn:cpex:profile:1.0">\n'
            f"  <ex:Header><ex:MessageId>bench-{n}-{seed}</ex:MessageId>"
            f"<ex:Sender>{SOURCE}</ex:Sender><ex:Recipient>gateway</ex:Recipient>"
            "<ex:Timestamp>2024-11-01T03:00:00Z</ex:Timestamp>"
            "<ex:Operation>upsert</ex:Operation></ex:Header>\n"
            "  <ex:Body><ex:Batch>\n"
        )
        for key, p, kind in records(n, exact, near, seed):
            out.write(profile_xml(key, p))
            truth[key] = p.id
            kinds[kind] = kinds.get(kind, 0) + 1
        out.write("  </ex:Batch></ex:Body>\n</ex:Envelope>\n")
    summary: dict[str, object] = {"profiles": n, "people": len(set(truth.values())), "kinds": kinds}
    truth_path = path.with_name(path.name + ".truth.json")
    truth_path.write_text(json.dumps({**summary, "person_of": truth}), encoding="utf-8")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--exact", type=float, default=0.05, help="share of exact duplicates")
    parser.add_argument("--near", type=float, default=0.10, help="share of near duplicates")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("var/bench/batch.xml"))
    args = parser.parse_args()
    summary = write(args.out, args.profiles, args.exact, args.near, args.seed)
    print(f"{args.out}: {json.dumps(summary)}")


if __name__ == "__main__":
    main()
