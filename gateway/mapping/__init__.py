"""The mapping engine: admin-editable mapping files, compiled once, checked, previewed.

A mapping file (YAML, see ``docs/mapping-transforms.md``) maps one source format to the
canonical profile (inbound) or the canonical profile to one target format (outbound). The
engine does no I/O of its own beyond reading mapping files, code lists and samples: it takes a
parsed record and returns the mapped object.
"""

from gateway.mapping.check import check_mapping, load_mapping
from gateway.mapping.compiler import CompiledMapping
from gateway.mapping.errors import MappingError, MappingFailure, MappingFileInvalid
from gateway.mapping.mappingset import MappingSet
from gateway.mapping.trace import FieldTrace, PreviewIssue, PreviewResult
from gateway.mapping.transforms import REGISTRY as TRANSFORMS

__all__ = [
    "TRANSFORMS", "CompiledMapping", "FieldTrace", "MappingError", "MappingFailure",
    "MappingFileInvalid", "MappingSet", "PreviewIssue", "PreviewResult", "check_mapping",
    "load_mapping",
]
