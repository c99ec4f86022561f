"""A small database for the review page's tests, made by the real pipeline on the `fake` backend.

Two runs land in one DuckDB file:

- the seed articles, one article whose text carries markup (`<script>alert(1)</script>`, `</script>`,
  `<!--`) and an empty file (a failure with its reason), extracted with the default prompt, so code
  rules fire and are recorded on the events;
- one article about a protest in Kenya, extracted with the naive prompt from one fixed model answer,
  so the page has a second country and a second run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline.backends import get_backend
from pipeline.prompts import load_prompt
from pipeline.runner import run_pipeline
from pipeline.store.database import Store
from tests.support.fake_backend import FakeModel

ROOT = Path(__file__).resolve().parents[2]

MARKUP_ARTICLE = "markup_article.txt"
MARKUP_TEXT = (
    "Gunmen attacked a checkpoint near the town, and 4 soldiers were killed in the clash, monitors said.\n\n"
    "A reader comment pasted into the page: <script>alert(1)</script> and </script><!-- <b>bold</b> & more.\n"
)
KENYA_ARTICLE = "kenya_protest.txt"
KENYA_SENTENCE = "Thousands of teachers marched through central Nairobi on Tuesday to demand unpaid wages."
KENYA_TEXT = f"NAIROBI, Kenya -\n\n{KENYA_SENTENCE} The march ended peacefully outside parliament.\n"


def _kenya_answer() -> str:
    event = {
        "event_date": "2024-03-05",
        "event_end_date": None,
        "time_precision": 1,
        "event_type": "Protests",
        "sub_event_type": "Peaceful protest",
        "actor1": {"name": "Protesters", "actor_type": "protesters"},
        "assoc_actors_1": ["Teachers"],
        "actor2": None,
        "assoc_actors_2": [],
        "country": "Kenya",
        "admin1": "Nairobi",
        "location": "Nairobi",
        "geo_precision": 1,
        "fatalities": 0,
        "civilian_targeting": False,
        "source": "",
        "notes": "Teachers marched in Nairobi over unpaid wages.",
        "evidence": [KENYA_SENTENCE],
    }
    return json.dumps({"events": [event]})


def build_review_db(folder: Path) -> Path:
    """Create ``folder/review.duckdb`` with the two runs above; return its path."""
    first = folder / "articles"
    shutil.copytree(ROOT / "seeds", first)
    (first / MARKUP_ARTICLE).write_text(MARKUP_TEXT, encoding="utf-8")
    (first / "empty.txt").write_text("", encoding="utf-8")
    published = json.loads((first / "published.json").read_text(encoding="utf-8"))
    published[MARKUP_ARTICLE] = "2024-02-01"
    (first / "published.json").write_text(json.dumps(published), encoding="utf-8")
    second = folder / "kenya"
    second.mkdir()
    (second / KENYA_ARTICLE).write_text(KENYA_TEXT, encoding="utf-8")
    (second / "published.json").write_text(json.dumps({KENYA_ARTICLE: "2024-03-06"}), encoding="utf-8")
    db = folder / "review.duckdb"
    with Store(db) as store:
        run_pipeline(first, store, get_backend("fake"), load_prompt("default"))
        fake = FakeModel(responses=[_kenya_answer()])
        run_pipeline(second, store, get_backend("fake", fake=fake), load_prompt("naive"))
    return db


def build_large_db(db: Path, n_events: int, per_article: int = 3) -> Path:
    """A database of one run with ``n_events`` events over ``n_events / per_article`` articles of a few
    paragraphs each, written through the store's one write path (for the page's scale test and benchmark).
    Countries, event types, dates and tolls vary so that every filter has something to do."""
    from pipeline.store.rows import ArticleWrite, event_to_row

    countries = [
        ("Syria", "Idlib", "Khan Sheikhun", 35.44, 36.65),
        ("Kenya", "Nairobi", "Nairobi", -1.28, 36.82),
        ("Mali", "Mopti", "Mopti", 14.49, -4.19),
        ("Yemen", "Taizz", "Taizz", 13.58, 44.02),
    ]
    kinds = [
        ("Battles", "Armed clash"),
        ("Explosions/Remote violence", "Air/drone strike"),
        ("Violence against civilians", "Attack"),
        ("Protests", "Peaceful protest"),
    ]
    run_id = "large" + "0" * 27
    n_articles = -(-n_events // per_article)
    writes = []
    made = 0
    for a in range(n_articles):
        k = min(per_article, n_events - made)
        sentences = [
            f"Paragraph {a}.{j}: on day {j} fighters and residents met near the market, {j + a % 40} people "
            f"were reported killed in the incident number {a * per_article + j}."
            for j in range(k)
        ]
        filler = " ".join(f"Background sentence {i} of article {a} describes the wider situation." for i in range(25))
        text = "\n\n".join([f"Article {a} headline", filler, *sentences, filler])
        article_id = f"{a:016x}"
        events = []
        for j, sentence in enumerate(sentences):
            country, admin1, town, lat, lon = countries[(a + j) % len(countries)]
            etype, sub = kinds[(a * 7 + j) % len(kinds)]
            start = text.index(sentence)
            record = {
                "event_date": f"2024-{1 + a % 12:02d}-{1 + j + a % 27:02d}",
                "time_precision": 1,
                "event_type": etype,
                "sub_event_type": sub,
                "actor1": {"name": "Unidentified armed group", "actor_type": "political_militia"},
                "actor2": {"name": "Civilians", "actor_type": "civilians"},
                "country": country,
                "admin1": admin1,
                "location": town,
                "geo_precision": 1,
                "latitude": lat + j * 0.1,
                "longitude": lon,
                "geo_method": "exact",
                "geo_confidence": 1.0,
                "fatalities": j + a % 40,
                "civilian_targeting": True,
                "source": "Monitor",
                "notes": "Generated.",
                "evidence": [sentence],
                "rules": ["actor_alias"] if j % 2 else [],
            }
            events.append(
                event_to_row(
                    record,
                    event_id=f"{article_id}-{j}",
                    run_id=run_id,
                    article_id=article_id,
                    index=j,
                    offsets=[(start, start + len(sentence))],
                )
            )
        made += k
        writes.append(
            ArticleWrite(
                run_row={
                    "run_id": run_id,
                    "article_id": article_id,
                    "file_name": f"article_{a:05d}.txt",
                    "status": "ok",
                    "n_events": k,
                    "n_calls": 1,
                    "seconds": 1.0,
                },
                article_row={
                    "article_id": article_id,
                    "file_name": f"article_{a:05d}.txt",
                    "title": f"Article {a}",
                    "published": "2024-06-01",
                    "text": text,
                    "n_chars": len(text),
                },
                events=events,
            )
        )
    with Store(db) as store:
        store.start_run({"run_id": run_id, "backend": "fake", "model": "generated", "prompt_name": "default"})
        store.write_articles(writes)
        store.finish_run(
            run_id,
            "completed",
            {"n_articles": n_articles, "n_ok": n_articles, "n_failed": 0, "n_skipped": 0, "n_events": n_events},
        )
    return db
