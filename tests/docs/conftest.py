"""The docs tests use the admin API fixture of the web tests."""

from tests.web.conftest import api  # noqa: F401  (the fixture, by name)
