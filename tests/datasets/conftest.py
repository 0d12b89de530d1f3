"""Shared test helpers for the data loaders: a stand-in for ``pooch`` (no network in tests)."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def fake_pooch(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[dict]]:
    """Install a fake ``pooch`` module whose ``retrieve`` records each call and writes the file with
    ``write(path)`` (empty by default) unless it exists; a file name ending in ``fail_on`` raises the
    ConnectionError requests would. Returns the list of recorded calls."""

    def install(write: Callable[[Path], None] | None = None, fail_on: str | None = None) -> list[dict]:
        calls: list[dict] = []

        def retrieve(*, url: str, known_hash, fname: str, path, progressbar: bool = False) -> str:
            calls.append(
                {"url": url, "known_hash": known_hash, "fname": fname, "path": Path(path), "progressbar": progressbar}
            )
            if fail_on is not None and fname.endswith(fail_on):
                raise ConnectionError("HTTP 404 Not Found")
            target = Path(path) / fname
            if not target.exists():
                (write or (lambda p: p.write_bytes(b"")))(target)
            return str(target)

        fake = types.ModuleType("pooch")
        fake.retrieve = retrieve  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "pooch", fake)
        return calls

    return install
