import pytest

from tests.catalog.builders import build_golden_catalog


@pytest.fixture
def golden_catalog(db):
    """The published catalogue of the golden October scenario."""
    return build_golden_catalog()


@pytest.fixture
def golden_draft_catalog(db):
    """The golden catalogue with its cards and SMART-10 v1 still in draft."""
    return build_golden_catalog(publish=False)
