"""Fixtures of the control-plane tests: the shared Django ones."""

from tests.django_fixtures import (  # noqa: F401 (fixtures, found by pytest by name)
    audit_anchor_url,
    audit_flush_allowed,
    clear_cache,
    config_store_url,
    make_user,
    operator,
    operator_token,
    viewer,
    viewer_token,
)
