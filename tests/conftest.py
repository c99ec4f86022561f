"""Shared fixtures. Everything here is offline; the embedded-model test opts in by marker."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    """A private copy of the seed folder (articles + published.json)."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "events.duckdb"
