"""Where the product's files live, from a checkout or from an installed wheel.

Two kinds of files ship with the code:

- package data (`pipeline/data/`: the actor table, the gazetteer's admin1 table,
  country outlines, prices) sits inside the package, so it is found next to this
  file however the package was installed;
- the versioned top-level folders a user reads and edits (`prompts/`, `evals/`)
  sit at the top of a checkout. A wheel installs copies of them as data files
  under `<prefix>/share/conflict-events/`, so a `pip install`ed tool finds its
  prompts and the scoring alias table without a checkout.

Set CONFLICT_EVENTS_HOME to a folder holding `prompts/` and `evals/` to use
your own.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
CHECKOUT_DIR = PACKAGE_DIR.parent
# Installed from a wheel, the package's parent is site-packages, where another
# distribution may have put a top-level `evals/` or `prompts/` (OpenAI's `evals`
# package does); only a folder holding our pyproject.toml counts as the checkout.
IN_CHECKOUT = (CHECKOUT_DIR / "pyproject.toml").is_file()
SHARE_NAME = "conflict-events"
HOME_ENV = "CONFLICT_EVENTS_HOME"


def _share_dirs() -> list[Path]:
    """`<prefix>/share/conflict-events` for the prefixes a wheel's data files may have gone to."""
    prefixes = [sysconfig.get_path("data"), sys.prefix, sys.exec_prefix]
    user = sysconfig.get_path("data", f"{os.name}_user") if os.name == "posix" else None
    if user:
        prefixes.append(user)
    seen: list[Path] = []
    for prefix in prefixes:
        path = Path(prefix) / "share" / SHARE_NAME
        if path not in seen:
            seen.append(path)
    return seen


def shipped_dir(name: str) -> Path:
    """The folder `name` ("prompts" or "evals"): $CONFLICT_EVENTS_HOME, the checkout, or the installed copy.

    Returns the first candidate when none exists, so an error message names
    where the folder was expected.
    """
    candidates = []
    home = os.environ.get(HOME_ENV)
    if home:
        candidates.append(Path(home) / name)
    if IN_CHECKOUT:
        candidates.append(CHECKOUT_DIR / name)
    candidates += [share / name for share in _share_dirs()]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def prompts_dir() -> Path:
    return shipped_dir("prompts")


def evals_dir() -> Path:
    return shipped_dir("evals")


def data_file(name: str) -> Path:
    """A file of the package data (`pipeline/data/NAME`)."""
    return DATA_DIR / name
