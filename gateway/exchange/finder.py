"""Finding golden profiles for a partner's query: every criterion given must match (AND).

Read-only SQL over the golden documents, one statement per query. The store has no search by
email, phone, name or postcode yet (identity resolution will add normalised blocking keys), so
the JSON documents are searched here with each backend's JSON functions: ``json_each`` on SQLite,
``jsonb_array_elements`` on PostgreSQL. Emails and family names compare case-insensitively,
postcodes without spaces, phones exactly (they are E.164). Erased profiles are never found.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Connection, false, select, text
from sqlalchemy.sql.elements import TextClause

from gateway.exchange.errors import BadRequestError
from gateway.exchange.rules import QUERY_WITHOUT_CRITERIA
from gateway.model import Profile, from_dict
from gateway.model.envelope import ProfileRef, Query
from gateway.store.tables import golden_profile, identifier

DEFAULT_MAX_RESULTS = 100

# (array, member key, SQL expression of the compared value) per criterion.
_ARRAY_CRITERIA: dict[str, tuple[str, str, str]] = {
    "email": ("emails", "address", "lower({v}) = lower(:{p})"),
    "phone": ("phones", "number", "{v} = :{p}"),
    "postal_code": (
        "addresses", "postal_code", "replace(lower({v}), ' ', '') = replace(lower(:{p}), ' ', '')"
    ),
}


def has_criteria(query: Query) -> bool:
    """True when the query names at least one criterion (MaxResults is not one)."""
    return any(
        value is not None
        for value in (query.profile_id, query.identifier, query.email, query.phone,
                      query.family_name, query.postal_code)
    )


def find_profiles(conn: Connection, query: Query) -> list[Profile]:
    """Golden profiles (with ``id``) matching every criterion of ``query``, in id order.

    :raises BadRequestError: the query has no criterion (it would match everyone; the exchange
        rules refuse such a query before it gets here).
    """
    if not has_criteria(query):
        raise BadRequestError(QUERY_WITHOUT_CRITERIA)
    g = golden_profile.c
    statement = select(g.id, g.document).where(g.erased == false())
    if query.profile_id is not None:
        statement = statement.where(g.id == query.profile_id)
    if query.identifier is not None:
        holders = select(identifier.c.golden_id).where(
            identifier.c.system == query.identifier.system,
            identifier.c.key == query.identifier.key,
        )
        statement = statement.where(g.id.in_(holders))
    dialect = conn.dialect.name
    for name, (array, key, compare) in _ARRAY_CRITERIA.items():
        value = getattr(query, name)
        if value is not None:
            statement = statement.where(_array_has(dialect, array, key, compare, name, value))
    if query.family_name is not None:
        statement = statement.where(_family_name(dialect, query.family_name))
    limit = min(query.max_results or DEFAULT_MAX_RESULTS, 1000)
    rows = conn.execute(statement.order_by(g.id).limit(limit)).all()
    return [dataclasses.replace(from_dict(Profile, row.document), id=row.id) for row in rows]


def _array_has(
    dialect: str, array: str, key: str, compare: str, param: str, value: Any
) -> TextClause:
    """``EXISTS`` an element of the document's array ``array`` whose ``key`` compares equal."""
    if dialect == "postgresql":
        elements = f"jsonb_array_elements(golden_profile.document -> '{array}')"
        member = f"(item.value ->> '{key}')"
    else:
        elements = f"json_each(golden_profile.document, '$.{array}')"
        member = f"json_extract(item.value, '$.{key}')"
    condition = compare.format(v=member, p=param)
    sql = f"EXISTS (SELECT 1 FROM {elements} AS item WHERE {condition})"
    return text(sql).bindparams(**{param: value})


def _family_name(dialect: str, value: str) -> TextClause:
    if dialect == "postgresql":
        column = "(golden_profile.document -> 'person' ->> 'family_name')"
    else:
        column = "json_extract(golden_profile.document, '$.person.family_name')"
    return text(f"lower({column}) = lower(:family_name)").bindparams(family_name=value)


def shows_match(profile: Profile, query: Query) -> bool:
    """True when what a partner is shown of a profile still matches every criterion of the
    query (the comparisons of :func:`find_profiles`).

    The search runs over the whole golden profile; a partner must not learn a value it may not
    see by finding the person through it (a postcode from the ERP, the ERP's key), so each
    found profile is checked again on its disclosed form and dropped when it no longer matches.
    """
    if query.profile_id is not None and profile.id != query.profile_id:
        return False
    if query.identifier is not None and query.identifier not in profile.identifiers:
        return False
    if query.email is not None and query.email.lower() not in {
        e.address.lower() for e in profile.emails
    }:
        return False
    if query.phone is not None and query.phone not in {p.number for p in profile.phones}:
        return False
    if query.postal_code is not None and _postcode(query.postal_code) not in {
        _postcode(a.postal_code) for a in profile.addresses if a.postal_code
    }:
        return False
    if query.family_name is not None:
        family = profile.person.family_name if profile.person is not None else None
        if family is None or family.lower() != query.family_name.lower():
            return False
    return True


def _postcode(value: str) -> str:
    return value.lower().replace(" ", "")


def resolve_ref(conn: Connection, ref: ProfileRef) -> str | None:
    """The golden id a reference names (erased profiles included when named by id), or None."""
    g = golden_profile.c
    if ref.profile_id is not None:
        return conn.execute(select(g.id).where(g.id == ref.profile_id)).scalar()
    assert ref.identifier is not None
    i = identifier.c
    return conn.execute(
        select(i.golden_id).where(i.system == ref.identifier.system, i.key == ref.identifier.key)
    ).scalar()

