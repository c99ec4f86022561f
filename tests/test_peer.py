"""The honest baseline (prompt `peer`) runs through the pipeline like any prompt, and every strategy a
prompt may name has an implementation."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.backends import get_backend
from pipeline.errors import PromptError
from pipeline.extraction.article import strategies
from pipeline.prompts import STRATEGY_SECTIONS, load_prompt
from pipeline.runner import run_pipeline
from pipeline.store.database import Store


def test_every_strategy_a_prompt_may_name_is_implemented():
    assert set(STRATEGY_SECTIONS) == set(strategies())


def test_peer_prompt_is_the_codebook_and_runs_end_to_end(seeds_dir, db_path):
    prompt = load_prompt("peer")
    assert prompt.strategy == "peer" and "## Event types and sub-event types" in prompt.text
    assert "## Gold annotation files" not in prompt.text  # the peer stops before the gold format
    with Store(db_path) as store:
        summary = run_pipeline(seeds_dir, store, get_backend("fake"), prompt)
        n_events = store.con.execute("SELECT count(*) FROM events").fetchone()[0]
    assert summary.count("failed") == 0
    assert n_events > 0


def test_an_unknown_strategy_is_an_error_at_load_time(tmp_path: Path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\nname: bad\ndescription: x\nstrategy: telepathy\n---\nbody\n", encoding="utf-8")
    with pytest.raises(PromptError, match="unknown strategy 'telepathy'"):
        load_prompt(str(bad))


def test_a_staged_prompt_without_its_task_section_is_an_error_at_load_time(tmp_path: Path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\nname: bad\ndescription: x\nstrategy: staged\n---\n=== system ===\nhi\n", encoding="utf-8")
    with pytest.raises(PromptError, match="task"):
        load_prompt(str(bad))
