"""Shared fixtures for the tessera test suite (the memory-releasing hook is in
the root conftest.py, so that it runs after the doctests too)."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test draws the same numbers on every run."""
    return np.random.default_rng(20240611)


def pytest_collection_finish(session):
    """Start the background jobs of the selected tests (``_background``)."""
    import _background

    _background.start_selected(session.items)


def pytest_sessionfinish(session):
    """Drop the background jobs not yet started (a run cut short)."""
    import _background

    _background.stop()
