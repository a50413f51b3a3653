"""Fixtures of the connector tests (defined in :mod:`sources_helpers`, a unique name, so
test modules import helpers from it without clashing with other folders' conftest)."""

from sources_helpers import make_session, real_dir  # noqa: F401
