"""``GET /api/v1/openapi.json``: the OpenAPI 3 description of every endpoint of the app.

Built from the app itself, so it cannot miss an endpoint: every URL rule with its methods,
path parameters (typed from the converters), the access rule as its security requirement, and
the summary and description from the view's docstring. What a docstring cannot say (request
bodies, notable answers) comes from :data:`DETAILS`, by endpoint name. A test checks that every
rule is described and that every view has a docstring summary.

flask-smorest or APIFlask would generate this from schemas, but would mean rewriting every
blueprint; this keeps the app as it is and the description true to it.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from gateway.web.access import Access, access, rule_of

bp = Blueprint("openapi", __name__)

VERSION = "1.0.0"
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_NON_WORD = re.compile(r"\W+")
_ERROR = {"$ref": "#/components/responses/Error"}
_INT_ID = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}  # past it: 404
_SEGMENT = {"type": "string", "maxLength": 200}  # gateway.web.requests.MAX_PATH_SEGMENT
_JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_XML = {"application/xml": {"schema": {"type": "string"}}}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema or {"type": "string", "maxLength": 1000},
    }


_PAGE = [
    _query("limit", "page size (default 50)", type="integer", minimum=1, maximum=500),
    _query("offset", "items to skip (default 0)", type="integer", minimum=0, maximum=10**9),
]


def _status(*values: str) -> dict[str, Any]:
    return _query("status", "which entries", type="string", enum=list(values))


#: The query parameters each endpoint reads: the one declaration, read by this description and
#: by :func:`gateway.web.requests.query`, which refuses to read a parameter not declared here.
QUERY: dict[str, list[dict[str, Any]]] = {
    "profiles.list_profiles": [
        _query("email", "e-mail address, compared normalised"),
        _query("phone", "phone number, compared normalised (E.164)"),
        _query("name", "part of the display name, without case"),
        _query("postcode", "postcode, compared normalised"),
        *_PAGE,
    ],
    "profiles.submit_profiles": [
        _query("source", "the source system (else the envelope's Sender or the JSON source)"),
        _query("mapping", "the inbound mapping (default cpex-in)"),
    ],
    "erasure_requests.list_requests": [
        _status("open", "approved", "rejected", "all"),
        *_PAGE,
    ],
    "review.list_items": [_status("open", "approved", "rejected", "superseded"), *_PAGE],
    "quarantine.list_entries": [_status("open", "retried", "discarded", "all"), *_PAGE],
    "deliveries.list_items": [
        _status("pending", "delivered", "dead", "withheld"),
        _query("partner", "partner id"),
        _query("profile", "golden profile id"),
        *_PAGE,
    ],
    "history.history": list(_PAGE),
    "jobs.job_runs": [_PAGE[0]],
    "mappings.save_mapping": [_query("comment", "a note kept with the version")],
    "mappings.preview_mapping": [
        _query("profile_id", "a stored golden profile to map (outbound mappings)")
    ],
}

# Per endpoint: the request body and answers worth stating beyond 200 and the error body.
DETAILS: dict[str, dict[str, Any]] = {
    "profiles.submit_profiles": {
        "requestBody": {"required": True, "content": {**_XML, **_JSON_OBJECT}},
        "responses": {"404": _ERROR, "413": _ERROR, "422": _ERROR},  # 404: no such mapping
    },
    "profiles.get_profile": {
        "responses": {
            "200": {
                "description": "the golden profile with its ERP figures from the snapshot "
                "(``financial``; ``erp``: as_of, confirmed_at, changed_at and age_seconds, "
                "null without ERP data)",
                "headers": {
                    "ETag": {"schema": {"type": "string"}},
                    "CPEX-ERP-Age": {
                        "description": "seconds since the ERP figures were last confirmed by a "
                        "successful refresh",
                        "schema": {"type": "integer"},
                    },
                },
                "content": {**_JSON_OBJECT, **_XML},
            }
        },
    },
    "profiles.replace_profile": {
        "requestBody": {"required": True, "content": {**_JSON_OBJECT, **_XML}},
        "parameters": [
            {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {"412": _ERROR, "422": _ERROR, "428": _ERROR},
    },
    "profiles.patch_profile": {
        "requestBody": {
            "required": True,
            "content": {
                "application/merge-patch+json": {"schema": {"type": "object"}},
                **_JSON_OBJECT,
            },
        },
        "parameters": [
            {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {"412": _ERROR, "422": _ERROR, "428": _ERROR},
    },
    "profiles.unmerge": {
        "responses": {"409": _ERROR},  # the record is the profile's only one
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["source_record_id"],
                        "properties": {"source_record_id": {"type": "integer"}},
                    }
                }
            },
        },
    },
    "jobs.run_job": {"success": "202"},
    "deliveries.retry": {"responses": {"409": _ERROR}},
    "deliveries.replay": {"success": "201", "responses": {"409": _ERROR}},
    "exchange.exchange": {
        "requestBody": {"required": True, "content": _XML},
        "responses": {"413": _ERROR, "422": _ERROR, "429": _ERROR},
    },
    "soap.call": {
        "requestBody": {"required": True, "content": {"text/xml": {"schema": {"type": "string"}}}},
        "responses": {"500": {"description": "a SOAP 1.1 Fault"}},
    },
    "mappings.save_mapping": {"responses": {"409": _ERROR, "422": _ERROR}},  # 409: saved at once
    "mappings.rollback_mapping": {"responses": {"409": _ERROR, "422": _ERROR}},
    "health.health": {
        "responses": {"503": {"description": "database unreachable or its schema out of date"}}
    },
    "metrics.metrics": {
        "responses": {
            "200": {
                "description": "Prometheus text format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    },
    "review.approve": {"responses": {"409": _ERROR}},
    "review.reject": {"responses": {"409": _ERROR}},
    "quarantine.retry": {"responses": {"409": _ERROR}},
    "quarantine.discard": {"responses": {"409": _ERROR}},
    "erasure_requests.approve": {"responses": {"409": _ERROR}},
    "erasure_requests.reject": {"responses": {"409": _ERROR}},
}


@bp.get("/api/v1/openapi.json")
@access(Access.PUBLIC)
def openapi_json() -> Response:
    """This description (OpenAPI 3.0)."""
    return jsonify(describe(current_app))


def describe(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of ``app``."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or rule_of(view) is Access.CONSOLE:  # pages, not API
            continue
        path = _PARAM.sub(r"{\2}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = _operation(rule.endpoint, rule.rule, view, method)
            slug = _NON_WORD.sub("_", path).strip("_")
            operation["operationId"] = f"{method.lower()}_{slug}"
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "CPEX Gateway",
            "version": VERSION,
            "description": "Profile exchange hub. Admin endpoints take an admin key (integrators "
            "are given admin keys); partner endpoints a partner key.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "adminKey": {"type": "http", "scheme": "bearer", "description": "admin key"},
                "partnerKey": {"type": "http", "scheme": "bearer", "description": "partner key"},
                "monitorKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "monitor key (metrics only)",
                },
            },
            "responses": {
                "Error": {
                    "description": "JSON error: a stable code, a message, the offending path",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "error": {
                                        "type": "object",
                                        "required": ["code", "message"],
                                        "properties": {
                                            "code": {"type": "string"},
                                            "message": {"type": "string"},
                                            "path": {"type": "string"},
                                        },
                                    }
                                },
                            }
                        }
                    },
                }
            },
        },
    }


def _operation(endpoint: str, rule: str, view: Any, method: str) -> dict[str, Any]:
    doc = inspect.getdoc(view) or ""
    summary, _, description = doc.partition("\n\n")
    extra = DETAILS.get(endpoint, {})
    parameters = (
        [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": _INT_ID if converter == "int" else _SEGMENT,
            }
            for converter, name in _PARAM.findall(rule)
        ]
        + QUERY.get(endpoint, [])
        + list(extra.get("parameters", ()))
    )
    success = extra.get("success", "200")
    responses: dict[str, Any] = {success: {"description": "success"}, "400": _ERROR}
    rule_kind = rule_of(view)
    if rule_kind is not Access.PUBLIC:
        responses.update({"401": _ERROR, "403": _ERROR})
    if parameters and any(p["in"] == "path" for p in parameters):
        responses["404"] = _ERROR
    if method != "GET":  # a body over server.max_body_bytes, whether the endpoint reads one
        responses["413"] = _ERROR
    responses.update(extra.get("responses", {}))
    operation: dict[str, Any] = {
        "summary": " ".join(summary.split()) or endpoint,
        "tags": [endpoint.partition(".")[0]],
        "responses": responses,
        "security": _security(rule_kind),
    }
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if "requestBody" in extra:
        operation["requestBody"] = extra["requestBody"]
    return operation


def _security(rule: Access | None) -> list[dict[str, list[str]]]:
    if rule is Access.ADMIN:
        return [{"adminKey": []}]
    if rule is Access.PARTNER:
        return [{"partnerKey": []}]
    if rule is Access.MONITOR:
        return [{"monitorKey": []}, {"adminKey": []}]
    return []
