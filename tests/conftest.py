"""Shared fixtures. Everything here is offline; the embedded-model test opts in by marker.

The test double `fake` is registered as a backend plugin, the way a real plugin
is: this process imports `tests.support.fake_backend` (which calls
`register_backend`), and CONFLICT_EVENTS_PLUGINS plus PYTHONPATH make every CLI
subprocess a test starts do the same.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FAKE_PLUGIN = "tests.support.fake_backend"

os.environ["CONFLICT_EVENTS_PLUGINS"] = FAKE_PLUGIN
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)

import tests.support.fake_backend  # noqa: E402,F401  (registers `fake`)


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    """A private copy of the seed folder (articles + published.json)."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "events.duckdb"
