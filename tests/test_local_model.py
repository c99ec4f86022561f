"""The embedded model for real: grammar-constrained output and one seed into DuckDB.

These load the 1.5B GGUF (assembled by `make setup`) and take about a minute on
two cores. Output is deterministic: temperature 0 and a fixed seed.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

import duckdb
import instructor
import pytest
from pydantic import BaseModel, ValidationError

from pipeline.backends import get_backend
from schemas import ConflictEvent
from tests.conftest import SEEDS

pytestmark = pytest.mark.model

BIN = Path(sys.executable).parent


class Colour(BaseModel):
    colour: Literal["red", "green"]
    count: int


OFF_TASK = [{"role": "user", "content": "Write a four-line poem about spring. Do not use JSON, just the poem."}]


@pytest.fixture(scope="module")
def local():
    return get_backend("local")


def test_unconstrained_llama_cpp_ignores_a_json_schema_response_format(local):
    """The trap: llama-cpp-python drops OpenAI's json_schema response_format, so nothing constrains output."""
    from pipeline.backends.local import LOADED_MODELS

    llm = next(iter(LOADED_MODELS.values())).llm
    raw = llm.create_chat_completion(
        messages=OFF_TASK,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "Colour", "schema": Colour.model_json_schema()},
        },
        max_tokens=60,
        temperature=0.0,
        seed=0,
    )["choices"][0]["message"]["content"]
    with pytest.raises((ValidationError, ValueError)):
        Colour.model_validate_json(raw)


def test_backend_output_is_grammar_constrained(local):
    """Through our backend the same off-task request can only produce schema-shaped JSON."""
    completion = local.create(
        messages=OFF_TASK,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "Colour", "schema": Colour.model_json_schema()},
        },
        max_tokens=60,
    )
    parsed = Colour.model_validate_json(completion.choices[0].message.content)
    assert parsed.colour in ("red", "green")
    timings = getattr(completion, "_timings", None)
    # Prefill may be ~0 here: the previous test evaluated this very prompt and
    # llama.cpp reuses the cached prefix. Generation always takes time.
    assert timings and timings["prefill_s"] >= 0 and timings["generate_s"] > 0


class Declared(BaseModel):
    quote: str
    count: int


def test_output_follows_the_schema_field_order(local):
    """The grammar keeps the declared field order (quote before count), not an alphabetical one.

    Prompts rely on that order: the model anchors an incident with its quote
    before it fills the other slots.
    """
    completion = local.create(
        messages=[{"role": "user", "content": "Quote one word and count to three."}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "Declared", "schema": Declared.model_json_schema()},
        },
        max_tokens=40,
    )
    assert list(json.loads(completion.choices[0].message.content)) == ["quote", "count"]


def test_instructor_path_returns_typed_object(local):
    create = instructor.patch(create=local.create, mode=local.mode)
    result = create(response_model=Colour, messages=OFF_TASK, max_tokens=60, max_retries=0)
    assert isinstance(result, Colour)


def test_seed_article_to_duckdb_with_embedded_model(tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    name = "000_29c54237869ccf3a.txt"
    shutil.copy(SEEDS / name, folder / name)
    published = json.loads((SEEDS / "published.json").read_text())
    (folder / "published.json").write_text(json.dumps({name: published[name]}))
    db = tmp_path / "events.duckdb"
    result = subprocess.run(
        [str(BIN / "run-pipeline"), str(folder), "--db", str(db), "-q"], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    con = duckdb.connect(str(db))
    text = con.execute("SELECT text FROM articles").fetchone()[0]
    rows = con.execute("SELECT * FROM latest_events").fetchall()
    names = [d[0] for d in con.description]
    assert len(rows) >= 1
    for row in rows:
        record = dict(zip(names, row, strict=True))
        event = ConflictEvent.model_validate(
            {
                **{k: record[k] for k in ConflictEvent.model_fields if k not in ("actor1", "actor2")},
                "actor1": {"name": record["actor1"], "actor_type": record["actor1_type"]},
                "actor2": {"name": record["actor2"], "actor_type": record["actor2_type"]} if record["actor2"] else None,
            },
            context={"text": text, "published": published[name]},
        )
        assert event.evidence
    calls = con.execute("SELECT count(*), count(*) FILTER (WHERE outcome = 'ok') FROM llm_calls").fetchone()
    assert calls[0] >= 1 and calls[1] >= 1


def test_shortlist_sampler_picks_the_same_tokens_as_the_stock_grammar_chain(local):
    """Checking the grammar on the top tokens first changes speed, never output."""
    import llama_cpp

    from pipeline.backends.local import LOADED_MODELS

    llm = next(iter(LOADED_MODELS.values())).llm
    grammar = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(Colour.model_json_schema()), verbose=False)
    messages = [{"role": "user", "content": "Name a colour of grass and how many blades are in a tuft, as JSON."}]

    def run() -> str:
        return llm.create_chat_completion(messages=messages, grammar=grammar, max_tokens=40, temperature=0.0, seed=0)[
            "choices"
        ][0]["message"]["content"]

    shortlisted = run()
    assert llm.last_sampler is not None and llm.last_sampler.tokens > 0
    stock = llama_cpp.Llama._init_sampler
    original = type(llm)._init_sampler
    type(llm)._init_sampler = stock
    try:
        assert run() == shortlisted
    finally:
        type(llm)._init_sampler = original
    Colour.model_validate_json(shortlisted)


def test_shortlist_sampler_falls_back_to_the_whole_vocabulary(local):
    """When no shortlisted token fits the grammar, the whole vocabulary is checked and output stays valid."""
    import llama_cpp

    from pipeline.backends import llama_sampling
    from pipeline.backends.local import LOADED_MODELS

    llm = next(iter(LOADED_MODELS.values())).llm
    # The prompt asks for a poem; the grammar allows only digits, which the
    # model's top tokens are not.
    grammar = llama_cpp.LlamaGrammar.from_string("root ::= [0-9] [0-9] [0-9]", verbose=False)
    text = llm.create_chat_completion(messages=OFF_TASK, grammar=grammar, max_tokens=8, temperature=0.0, seed=0)[
        "choices"
    ][0]["message"]["content"]
    assert len(text) == 3 and text.isdigit()
    assert llm.last_sampler.full_checks >= 1
    assert llama_sampling.SHORTLIST < llm.n_vocab()
