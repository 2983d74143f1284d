"""XML namespaces of the CPEX formats, and the prefixes the gateway writes them with.

The namespace names carry the format version (``...:1.0``): a new major version is a new
namespace, served by its own XSD in ``schemas/cpex/``.
"""

from __future__ import annotations

from typing import Final

CPEX_PROFILE_NS: Final = "urn:cpex:profile:1.0"
CPEX_EXCHANGE_NS: Final = "urn:cpex:exchange:1.0"

CPEX_PROFILE_PREFIX: Final = "cpex"
CPEX_EXCHANGE_PREFIX: Final = "ex"

XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
