"""Fixtures of the officials tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache():
    """Login throttles count in the cache, which no test rolls back: the account tests log in
    often enough to slow down the tests that follow them."""
    cache.clear()
    yield
    cache.clear()
