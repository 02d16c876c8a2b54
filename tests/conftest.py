"""Shared fixtures for the tessera test suite (the memory-releasing hook is in
the root conftest.py, so that it runs after the doctests too)."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every test draws the same numbers on every run."""
    return np.random.default_rng(20240611)
