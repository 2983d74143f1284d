"""A small, made-up ERP in a SQLite file, for the quick start and the tests.

Customers, orders and invoices with realistic names, addresses and amounts, generated from a fixed
seed so every run (and every test) sees the same figures. Its first 25 customers are the people
and companies of ``schemas/examples/demo-batch.xml`` (same ERP keys), so the demo shows ERP
figures on golden profiles that already exist; the rest exist only in the ERP. All data is
fictitious (example.* domains only).

:func:`change_demo_erp` edits a few rows the way an ERP day does (a new order, a paid invoice, a
credit hold, a deleted customer) with newer modified times, for the incremental demo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    delete,
    func,
    insert,
    select,
    update,
)

SEED = 20241101
CREDIT_CODES = ("OK", "OK", "OK", "OK", "WATCH", "HOLD", "BLOCK")

erp_metadata = MetaData()

customers = Table(
    "customers",
    erp_metadata,
    Column("customer_no", String(20), primary_key=True),
    Column("first_name", String(60)),
    Column("last_name", String(60)),
    Column("company", String(120)),
    Column("email", String(200)),
    Column("street", String(200)),
    Column("postcode", String(20)),
    Column("city", String(100)),
    Column("country", String(2)),
    Column("credit_status", String(8), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("modified_at", DateTime, nullable=False),
    Index("ix_customers_modified", "modified_at", "customer_no"),
)

orders = Table(
    "orders",
    erp_metadata,
    Column("order_no", Integer, primary_key=True),
    Column("customer_no", String(20), ForeignKey("customers.customer_no"), nullable=False),
    Column("order_date", Date, nullable=False),
    Column("total", Numeric(12, 2), nullable=False),
    Column("modified_at", DateTime, nullable=False),
    Index("ix_orders_modified", "modified_at", "order_no"),
    Index("ix_orders_customer", "customer_no"),
)

invoices = Table(
    "invoices",
    erp_metadata,
    Column("invoice_no", Integer, primary_key=True),
    Column("customer_no", String(20), ForeignKey("customers.customer_no"), nullable=False),
    Column("issued", Date, nullable=False),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("open_amount", Numeric(12, 2), nullable=False),
    Column("modified_at", DateTime, nullable=False),
    Index("ix_invoices_modified", "modified_at", "invoice_no"),
    Index("ix_invoices_customer", "customer_no"),
)

# (key, given, family, company, street, postcode, city, country, email) of the demo batch.
BATCH_CUSTOMERS: tuple[tuple[str, str | None, str | None, str | None, str, str, str, str, str],
                       ...] = (
    ("C-100901", "Lena", "Schmidt", None, "Goethestraße 17", "80336", "München", "DE",
     "lena.schmidt@example.de"),
    ("C-100902", "Maximilian", "Weber", None, "Am Markt 3", "20095", "Hamburg", "DE",
     "maximilian.weber@example.de"),
    ("C-100903", "Sophie", "Wagner", None, "Rosenweg 8", "04109", "Leipzig", "DE",
     "sophie.wagner@example.de"),
    ("C-100904", "Felix", "Hoffmann", None, "Bahnhofstraße 44", "70173", "Stuttgart", "DE",
     "felix.hoffmann@example.de"),
    ("C-100905", "Camille", "Laurent", None, "8 avenue Jean Jaurès", "69007", "Lyon", "FR",
     "camille.laurent@example.fr"),
    ("C-100906", "Louis", "Girard", None, "22 rue Sainte-Catherine", "33000", "Bordeaux", "FR",
     "louis.girard@example.fr"),
    ("C-100907", "Chloé", "Fournier", None, "5 place du Capitole", "31000", "Toulouse", "FR",
     "chloe.fournier@example.fr"),
    ("C-100908", "Antoine", "Mercier", None, "17 quai de la Fosse", "44000", "Nantes", "FR",
     "antoine.mercier@example.fr"),
    ("C-100909", "Oliver", "Hughes", None, "12 Victoria Street", "BS1 6AA", "Bristol", "GB",
     "oliver.hughes@example.co.uk"),
    ("C-100910", "Amelia", "Clarke", None, "4 Castle Terrace", "EH1 2DP", "Edinburgh", "GB",
     "amelia.clarke@example.co.uk"),
    ("C-100911", "Harry", "Patel", None, "88 Deansgate", "M3 2ER", "Manchester", "GB",
     "harry.patel@example.co.uk"),
    ("C-100912", "Isla", "Evans", None, "3 Cathedral Road", "CF11 9LJ", "Cardiff", "GB",
     "isla.evans@example.co.uk"),
    ("C-100913", "Daan", "de Jong", None, "Prinsengracht 263", "1016 GV", "Amsterdam", "NL",
     "daan.dejong@example.nl"),
    ("C-100914", "Emma", "Bakker", None, "Oudegracht 145", "3511 AJ", "Utrecht", "NL",
     "emma.bakker@example.nl"),
    ("C-100915", "Sem", "Visser", None, "Grote Markt 12", "9711 LV", "Groningen", "NL",
     "sem.visser@example.nl"),
    ("C-100916", "Lucía", "Martínez", None, "Calle de Alcalá 48", "28014", "Madrid", "ES",
     "lucia.martinez@example.es"),
    ("C-100917", "Pablo", "Sánchez", None, "Carrer de Mallorca 210", "08008", "Barcelona", "ES",
     "pablo.sanchez@example.es"),
    ("C-100918", "Carmen", "Romero", None, "Avenida de la Constitución 9", "41004", "Sevilla",
     "ES", "carmen.romero@example.es"),
    ("C-100919", "Javier", "Navarro", None, "Carrer de Colón 33", "46004", "Valencia", "ES",
     "javier.navarro@example.es"),
    ("C-100920", "Giulia", "Romano", None, "Via del Corso 112", "00186", "Roma", "IT",
     "giulia.romano@example.it"),
    ("C-100921", "Lorenzo", "Colombo", None, "Corso Buenos Aires 21", "20124", "Milano", "IT",
     "lorenzo.colombo@example.it"),
    ("C-100922", "Francesca", "Ricci", None, "Via dei Tornabuoni 5", "50123", "Firenze", "IT",
     "francesca.ricci@example.it"),
    ("B-20123", None, None, "Bäckerei Krüger", "Hauptstraße 101", "01097", "Dresden", "DE",
     "info@backerei-kruger.example.de"),
    ("B-20124", None, None, "Atelier Beaumont", "40 rue de Rivoli", "75004", "Paris", "FR",
     "info@atelier-beaumont.example.fr"),
    ("B-20125", None, None, "Thames Valley Cycles", "7 Broad Street", "OX1 3AZ", "Oxford", "GB",
     "info@thames-cycles.example.co.uk"),
)

_GIVEN = ("Anna", "Jonas", "Marie", "Paul", "Léa", "Hugo", "Grace", "Jack", "Noor", "Lars",
          "Elena", "Marco", "Sara", "Diego", "Ines", "Tom", "Mila", "Finn", "Zoé", "Luca")
_FAMILY = ("Becker", "Schulz", "Dubois", "Moreau", "Taylor", "Walker", "Smit", "Mulder",
           "García", "López", "Bianchi", "Greco", "Koch", "Richter", "Lefèvre", "Wright")
_PLACES = (("Berlin", "10115", "DE", "Friedrichstraße"), ("Köln", "50667", "DE", "Hohe Straße"),
           ("Lille", "59000", "FR", "rue Nationale"), ("Nice", "06000", "FR", "rue de France"),
           ("Leeds", "LS1 5AA", "GB", "Park Row"), ("Rotterdam", "3011 AA", "NL", "Coolsingel"),
           ("Bilbao", "48001", "ES", "Gran Vía"), ("Torino", "10121", "IT", "Via Roma"))
_CURRENCY = {"GB": "GBP"}


@dataclass(frozen=True, slots=True)
class DemoErp:
    """Where the demo ERP is and how many rows it got."""

    path: Path
    customers: int
    orders: int
    invoices: int

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"


def create_demo_erp(path: Path, *, extra_customers: int = 15, seed: int = SEED,
                    now: datetime | None = None) -> DemoErp:
    """Write a fresh demo ERP to ``path`` (replacing any file there) and describe it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    rng = random.Random(seed)
    now = (now or datetime(2024, 11, 1, 2, 0, tzinfo=UTC)).astimezone(UTC).replace(tzinfo=None)
    people: list[tuple[str, str | None, str | None, str | None, str, str, str, str, str]] = \
        list(BATCH_CUSTOMERS)
    for n in range(extra_customers):
        given: str = rng.choice(_GIVEN)
        family: str = rng.choice(_FAMILY)
        city, postcode, country, street = rng.choice(_PLACES)
        email = f"{given.lower()}.{family.lower()}{n}@example.com".replace(" ", "")
        people.append((f"C-1010{n:02d}", given, family, None, f"{street} {rng.randint(1, 120)}",
                       postcode, city, country, email))
    customer_rows, order_rows, invoice_rows = [], [], []
    order_no, invoice_no = 500_000, 900_000
    for key, first, last, company, street, postcode, city, country, email in people:
        touched = now - timedelta(days=rng.randint(1, 400), minutes=rng.randint(0, 1439))
        customer_rows.append({
            "customer_no": key, "first_name": first, "last_name": last, "company": company,
            "email": email, "street": street, "postcode": postcode, "city": city,
            "country": country, "credit_status": rng.choice(CREDIT_CODES),
            "currency": _CURRENCY.get(country, "EUR"), "modified_at": touched,
        })
        for _ in range(rng.randint(0, 9)):
            order_no += 1
            day = (now - timedelta(days=rng.randint(5, 900))).date()
            total = Decimal(rng.randint(1500, 60000)) / 100 * (12 if company else 1)
            order_rows.append({"order_no": order_no, "customer_no": key, "order_date": day,
                               "total": total.quantize(Decimal("0.01")),
                               "modified_at": datetime.combine(day, datetime.min.time())})
            invoice_no += 1
            open_amount = total if rng.random() < 0.2 else Decimal(0)
            invoice_rows.append({"invoice_no": invoice_no, "customer_no": key, "issued": day,
                                 "amount": total.quantize(Decimal("0.01")),
                                 "open_amount": open_amount.quantize(Decimal("0.01")),
                                 "modified_at": datetime.combine(day, datetime.min.time())})
    engine = _engine(path)
    try:
        erp_metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(customers), customer_rows)
            if order_rows:
                conn.execute(insert(orders), order_rows)
                conn.execute(insert(invoices), invoice_rows)
    finally:
        engine.dispose()
    return DemoErp(path, len(customer_rows), len(order_rows), len(invoice_rows))


@dataclass(frozen=True, slots=True)
class DemoChanges:
    """What :func:`change_demo_erp` did, by ERP key."""

    new_order_for: str
    paid_invoice_of: str | None
    credit_hold_for: str
    deleted: str | None

    def describe(self) -> str:
        parts = [f"new order for {self.new_order_for}", f"credit hold on {self.credit_hold_for}"]
        if self.paid_invoice_of:
            parts.append(f"invoice paid by {self.paid_invoice_of}")
        if self.deleted:
            parts.append(f"customer {self.deleted} deleted")
        return ", ".join(parts)


def change_demo_erp(path: Path, *, at: datetime | None = None, delete_one: bool = True
                    ) -> DemoChanges:
    """A day in the ERP: one new order, one invoice paid, one credit hold, one customer deleted.

    Modified times are ``at`` (default: now), later than anything :func:`create_demo_erp` wrote.
    """
    when = (at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    engine = _engine(path)
    try:
        with engine.begin() as conn:
            buyer = "C-100901"
            next_no = (conn.execute(select(func.max(orders.c.order_no))).scalar() or 0) + 1
            conn.execute(insert(orders).values(
                order_no=next_no, customer_no=buyer, order_date=when.date(),
                total=Decimal("249.90"), modified_at=when))
            paid = conn.execute(
                select(invoices.c.invoice_no, invoices.c.customer_no)
                .where(invoices.c.open_amount > 0).order_by(invoices.c.invoice_no).limit(1)
            ).first()
            if paid is not None:
                conn.execute(update(invoices).where(invoices.c.invoice_no == paid[0])
                             .values(open_amount=Decimal(0), modified_at=when))
            held = "C-100902"
            conn.execute(update(customers).where(customers.c.customer_no == held)
                         .values(credit_status="HOLD", modified_at=when))
            deleted = None
            if delete_one:
                deleted = conn.execute(
                    select(customers.c.customer_no).where(customers.c.customer_no.like("C-1010%"))
                    .order_by(customers.c.customer_no.desc()).limit(1)
                ).scalar()
                if deleted is not None:
                    for table in (orders, invoices):
                        conn.execute(delete(table).where(table.c.customer_no == deleted))
                    conn.execute(delete(customers).where(customers.c.customer_no == deleted))
    finally:
        engine.dispose()
    return DemoChanges(buyer, paid[1] if paid else None, held, deleted)


# The demo ERP's credit codes, as mappings/codes/erp-credit-status.csv translates them.
DEMO_CREDIT_CODES = {"OK": "good", "WATCH": "watch", "HOLD": "hold", "BLOCK": "blocked"}
DEMO_MAPPING = "erp-customers-sql.yaml"


def demo_erp_options(path: Path) -> dict[str, object]:
    """The ``[erp]`` section that reads the demo ERP (what ``config/erp.toml`` ships with):
    records mapped by ``mappings/erp-customers-sql.yaml``."""
    return {
        "connector": "erp_sql",
        "source_system": "erp",
        "url": f"sqlite:///{path}",
        "mapping": DEMO_MAPPING,
        "customers": {
            "table": "customers", "key": "customer_no", "modified": "modified_at",
            "credit_status": "credit_status", "currency": "currency",
            "columns": ["first_name", "last_name", "company", "email", "street", "postcode",
                        "city", "country"],
        },
        "orders": {"table": "orders", "key": "order_no", "customer": "customer_no",
                   "modified": "modified_at", "amount": "total", "date": "order_date"},
        "invoices": {"table": "invoices", "key": "invoice_no", "customer": "customer_no",
                     "modified": "modified_at", "open_amount": "open_amount"},
    }


def _engine(path: Path) -> Engine:
    return create_engine(f"sqlite:///{path}")

