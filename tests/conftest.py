"""Test tiers (markers registered in pyproject.toml): plain ``pytest`` runs every test, as CI and the README
command do; ``pytest -m "not slow"`` is the fast loop for development (docs/contributing.md, "Tests and
linting").

- ``slow``: a test that takes more than about 3 s on 2 cores.
- ``integration``: a test that runs the project as a user does (documentation build, wheel in a fresh
  environment, notebooks, Snakemake workflows, the docs' code blocks, benchmark scripts). Every
  integration test is also slow: this hook adds ``slow`` where only ``integration`` was written, so the
  fast loop never runs one.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("integration") is not None and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)
