"""Benchmark: map CPEX 1.0 records to canonical profiles with ``mappings/cpex-in.yaml``.

Streams a generated batch of N ``cpex:Profile`` records (a typical partner update: two
identifiers, a person, an address, an e-mail, a phone, two consents, metadata) through the
hardened streaming parser, once parsing only and once parsing and mapping, on one core, and
prints records/s for both and their ratio; the hand-written CPEX codec on the same records is
printed as a reference for what a generic mapping costs over a specialised one. Figures only,
no assertions (not part of the suite).

    .venv/bin/python bench/bench_mapping.py [--records N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from gateway.mapping import load_mapping
from gateway.model.namespaces import CPEX_PROFILE_NS
from gateway.model.xmlcodec import profile_from_element
from gateway.xml.stream import iter_records

REPO = Path(__file__).resolve().parents[1]
TAG = f"{{{CPEX_PROFILE_NS}}}Profile"

RECORD = """<cpex:Profile id="gp-{n:07d}">
<cpex:Identifiers><cpex:Identifier system="partner" key="P-{n}"/>\
<cpex:Identifier system="webshop" key="u-{n:x}"/></cpex:Identifiers>
<cpex:Person><cpex:GivenName>Anna</cpex:GivenName><cpex:FamilyName>Berg{n}</cpex:FamilyName>\
<cpex:BirthDate>1980-02-{day:02d}</cpex:BirthDate><cpex:Gender>female</cpex:Gender>\
<cpex:Language>de-DE</cpex:Language></cpex:Person>
<cpex:Addresses><cpex:Address type="home"><cpex:Line>Hauptstr. {n}</cpex:Line>\
<cpex:City>Berlin</cpex:City><cpex:PostalCode>10115</cpex:PostalCode>\
<cpex:Country>DE</cpex:Country></cpex:Address></cpex:Addresses>
<cpex:Emails><cpex:Email type="personal" primary="true">anna{n}@example.org</cpex:Email>\
</cpex:Emails>
<cpex:Phones><cpex:Phone type="mobile">+49176{n:07d}</cpex:Phone></cpex:Phones>
<cpex:Consents><cpex:Consent><cpex:Purpose>contact</cpex:Purpose>\
<cpex:Recipient>ours</cpex:Recipient><cpex:Status>granted</cpex:Status>\
<cpex:Given>2024-05-14T09:12:00+02:00</cpex:Given></cpex:Consent>\
<cpex:Consent><cpex:Purpose>tailoring</cpex:Purpose><cpex:Recipient>ours</cpex:Recipient>\
<cpex:Status>denied</cpex:Status><cpex:Given>2024-05-14T09:12:00+02:00</cpex:Given>\
</cpex:Consent></cpex:Consents>
<cpex:Metadata><cpex:Source>partner</cpex:Source>\
<cpex:Updated>2024-11-01T02:00:05Z</cpex:Updated><cpex:Version>3</cpex:Version></cpex:Metadata>
</cpex:Profile>
"""


def write_batch(path: Path, records: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        fh.write(f'<cpex:Batch xmlns:cpex="{CPEX_PROFILE_NS}">\n')
        for n in range(records):
            fh.write(RECORD.format(n=n, day=n % 28 + 1))
        fh.write("</cpex:Batch>\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    mapping = load_mapping(REPO / "mappings" / "cpex-in.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch.xml"
        write_batch(batch, args.records)
        size = batch.stat().st_size

        start = time.perf_counter()
        parsed = sum(1 for _ in iter_records(batch, TAG))
        parse_seconds = time.perf_counter() - start

        start = time.perf_counter()
        mapped = 0
        for element in iter_records(batch, TAG):
            mapping.map(element)
            mapped += 1
        map_seconds = time.perf_counter() - start

        start = time.perf_counter()
        decoded = sum(1 for element in iter_records(batch, TAG) if profile_from_element(element))
        codec_seconds = time.perf_counter() - start

    assert parsed == mapped == decoded == args.records
    parse_rate = parsed / parse_seconds
    total_rate = mapped / map_seconds
    map_only = mapped / max(map_seconds - parse_seconds, 1e-9)
    print(f"records:              {args.records:,} ({size / 1e6:.1f} MB, "
          f"{size / args.records:.0f} bytes each)")
    print(f"parse only (lxml):    {parse_rate:,.0f} records/s  ({parse_seconds:.2f} s)")
    print(f"parse + map:          {total_rate:,.0f} records/s  ({map_seconds:.2f} s)")
    print(f"map alone (derived):  {map_only:,.0f} records/s  "
          f"({(map_seconds - parse_seconds) / mapped * 1e6:.1f} µs a record)")
    codec_only = decoded / max(codec_seconds - parse_seconds, 1e-9)
    print(f"reference: hand-written CPEX codec (profile_from_element), same records: "
          f"{codec_only:,.0f} records/s alone, {decoded / codec_seconds:,.0f} with parsing")
    print(f"ratio parse+map / parse: {total_rate / parse_rate:.2f} "
          f"(mapping keeps {total_rate / parse_rate:.0%} of the plain parse rate)")


if __name__ == "__main__":
    main()
