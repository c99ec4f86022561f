"""The wheel, installed outside the checkout: it carries the code, package data, prompts and evals.

The module fixture builds a wheel from a copy of the working tree as git sees
it (tracked files as they are now, so uncommitted edits are built too, plus new
files not yet added; nothing git ignores, such as .venv or *.egg-info), installs
it into a fresh venv and never lets the checkout onto that venv's sys.path:

- the wheel is built offline, without build isolation, by the setuptools of the
  venv running the tests (`make setup` installs a recent enough one);
- the fresh venv sees the project's dependencies through a `.pth` file naming
  this interpreter's site-packages. A directory listed in a `.pth` file is put
  on sys.path, but its own `.pth` files are not processed, so the editable
  install of `pipeline` in this venv stays invisible there;
- the `fake` test double is loaded as a plugin from a copy of `tests/support/`
  in a folder of its own, which is all PYTHONPATH holds.

Subprocesses run from a temporary working directory outside the checkout.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import FAKE_PLUGIN, ROOT, SEEDS

SHARE = "share/conflict-events"
MIN_SETUPTOOLS = (70, 1)  # bdist_wheel is part of setuptools from 70.1 (see [build-system])


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    site_packages: Path
    plugins: Path
    source: Path  # the copy of the working tree the wheel was built from
    sources: tuple[str, ...]  # its files, relative to the checkout

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self) -> dict[str, str]:
        """The environment of the installed commands: the plugin folder only on PYTHONPATH."""
        return _clean_env(PYTHONPATH=str(self.plugins), CONFLICT_EVENTS_PLUGINS=FAKE_PLUGIN)


def _clean_env(**extra: str) -> dict[str, str]:
    """os.environ without what would let the checkout in: conftest's PYTHONPATH, CONFLICT_EVENTS_*, pip settings.

    (With the checkout on PYTHONPATH, pip takes its conflict_events.egg-info for
    an installed conflict-events and skips the wheel.)
    """
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("CONFLICT_EVENTS_", "PIP_"))}
    env.update(PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def _run(args: list, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _check(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def _tree_files() -> list[str]:
    """The working tree's files that git tracks or would track (not ignored), relative to the checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout, cannot list the tracked files: {exc}")
    return [name for name in out.decode().split("\0") if name]


def _setuptools_version() -> tuple[int, ...]:
    version = importlib.metadata.version("setuptools")
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    if _setuptools_version() < MIN_SETUPTOOLS:
        pytest.fail(
            f"setuptools {importlib.metadata.version('setuptools')} in {sys.prefix} cannot build the wheel offline; "
            f"it needs >= {'.'.join(map(str, MIN_SETUPTOOLS))}: run `make setup` "
            f"or `{sys.executable} -m pip install 'setuptools>=70.1'`"
        )
    base = tmp_path_factory.mktemp("wheel")
    assert not base.resolve().is_relative_to(ROOT)

    source = base / "source"
    sources = []
    for name in _tree_files():
        path = ROOT / name
        if path.is_file():  # a tracked file deleted in the working tree is not built
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
            sources.append(name)

    dist = base / "dist"
    _check(
        _run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, "."],
            cwd=source,
            env=_clean_env(),
        )
    )
    (wheel,) = dist.glob("conflict_events-*.whl")

    venv = base / "venv"
    _check(_run([sys.executable, "-m", "venv", venv], cwd=base, env=_clean_env()))
    _check(_run([venv / "bin" / "pip", "install", "--no-deps", "--no-index", wheel], cwd=base, env=_clean_env()))
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(
        _check(_run([venv / "bin" / "python", "-c", purelib], cwd=base, env=_clean_env())).stdout.strip()
    )
    assert (site_packages / "pipeline" / "__init__.py").is_file() and (venv / "bin" / "run-pipeline").is_file()
    # Written after the install, so pip never saw this venv's conflict-events.
    (site_packages / "_conflict_events_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # Decoys: another distribution's top-level folders next to the installed package are not our prompts/evals.
    for decoy in ("prompts", "evals"):
        (site_packages / decoy).mkdir()

    plugins = base / "plugins"
    shutil.copytree(source / "tests" / "support", plugins / "tests" / "support")
    (plugins / "tests" / "__init__.py").write_text("")
    return Installed(
        wheel=wheel, venv=venv, site_packages=site_packages, plugins=plugins, source=source, sources=tuple(sources)
    )


@pytest.fixture
def one_seed(tmp_path: Path) -> Path:
    """The shortest seed article with its published.json entry, in a folder of its own."""
    shortest = min(SEEDS.glob("*.txt"), key=lambda p: p.stat().st_size)
    published = json.loads((SEEDS / "published.json").read_text(encoding="utf-8"))
    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy2(shortest, folder / shortest.name)
    (folder / "published.json").write_text(json.dumps({shortest.name: published[shortest.name]}))
    return folder


def _names_under(prefix: str, files: list[str]) -> set[str]:
    return {name[len(prefix) :] for name in files if name.startswith(prefix)}


def test_wheel_carries_package_data_prompts_and_evals(installed: Installed):
    tracked = list(installed.sources)
    with zipfile.ZipFile(installed.wheel) as wheel:
        contents = wheel.namelist()
    # Data files travel as <name>-<version>.data/data/<path>, installed under the venv's prefix.
    share = "-".join(installed.wheel.name.split("-")[:2]) + f".data/data/{SHARE}/"

    data = _names_under("pipeline/data/", tracked)
    assert {"actors.json", "admin1_geonames.tsv", "ne_countries.json.gz", "prices.json"} <= data
    assert data <= _names_under("pipeline/data/", contents)
    assert {"pipeline/py.typed", "schemas/py.typed"} <= set(contents)
    modules = {name for name in tracked if name.startswith(("pipeline/", "schemas/")) and name.endswith(".py")}
    assert modules <= set(contents)

    shipped = _names_under(share, contents)
    prompts = {name for name in tracked if name.startswith("prompts/") and name.endswith(".md")}
    assert {"prompts/default.md", "prompts/naive.md"} <= prompts <= shipped
    evals = {
        name
        for name in tracked
        if name in ("evals/aliases.json", "evals/CODEBOOK.md") or name.startswith(("evals/gold/", "evals/articles/"))
    }
    assert len(evals) > 20 and evals <= shipped


def test_installed_wheel_runs_outside_the_checkout(installed: Installed, one_seed: Path, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    env = installed.env()
    where = _check(
        _run(
            [
                installed.bin / "python",
                "-c",
                "import json, sys, pipeline, schemas, pipeline.paths as p;"
                "print(json.dumps({'package': pipeline.__file__, 'schemas': schemas.__file__,"
                " 'prompts': str(p.prompts_dir()), 'evals': str(p.evals_dir()), 'data': str(p.DATA_DIR),"
                " 'sys_path': sys.path}))",
            ],
            cwd=work,
            env=env,
        )
    )
    found = json.loads(where.stdout)
    venv = installed.venv.resolve()
    for key in ("package", "schemas", "prompts", "evals", "data"):
        path = Path(found[key]).resolve()
        assert path.is_relative_to(venv) and not path.is_relative_to(ROOT), (key, path)
    assert Path(found["package"]).resolve().parent == (installed.site_packages / "pipeline").resolve()
    assert Path(found["prompts"]).resolve() == (venv / SHARE / "prompts").resolve()
    assert Path(found["evals"]).resolve() == (venv / SHARE / "evals").resolve()
    assert (Path(found["evals"]) / "aliases.json").is_file() and (Path(found["evals"]) / "CODEBOOK.md").is_file()
    assert (Path(found["data"]) / "ne_countries.json.gz").is_file()
    assert not any(entry and Path(entry).resolve() == ROOT for entry in found["sys_path"]), found["sys_path"]

    prompt = _check(
        _run(
            [installed.bin / "python", "-c", "import pipeline.prompts as p; print(p.load_prompt('default').name)"],
            work,
            env,
        )
    )
    assert prompt.stdout.strip() == "default"

    helped = _check(_run([installed.bin / "run-pipeline", "--help"], work, env))
    assert "Usage: run-pipeline" in helped.stdout

    db = work / "out.duckdb"
    _check(_run([installed.bin / "run-pipeline", one_seed, "--db", db, "--model", "fake", "-q"], work, env))
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] >= 1
        status, prompt_hash = con.execute("SELECT status, prompt_hash FROM runs").fetchone()
    finally:
        con.close()
    assert status == "completed"
    # The run used the default prompt as shipped, which is the built tree's file byte for byte.
    installed_prompt = venv / SHARE / "prompts" / "default.md"
    assert prompt_hash == hashlib.sha256(installed_prompt.read_bytes()).hexdigest()
    assert installed_prompt.read_bytes() == (installed.source / "prompts" / "default.md").read_bytes()

    # The review page's template, style and script are package data of the wheel.
    page = work / "review.html"
    _check(_run([installed.bin / "review", "--db", db, "-o", page], work, env))
    assert 'id="review-data"' in page.read_text(encoding="utf-8")


@pytest.mark.model
def test_installed_wheel_runs_the_embedded_model(installed: Installed, one_seed: Path, tmp_path: Path):
    """Needs the assembled GGUF in the user cache and llama-cpp-python in this venv (`make setup`)."""
    work = tmp_path / "work"
    work.mkdir()
    db = work / "out.duckdb"
    _check(
        _run(
            [installed.bin / "run-pipeline", one_seed, "--db", db, "--model", "local", "-q"],
            work,
            installed.env(),
            timeout=1200,
        )
    )
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT status, backend, n_ok FROM runs").fetchall()
    finally:
        con.close()
    assert rows == [("completed", "local", 1)]
