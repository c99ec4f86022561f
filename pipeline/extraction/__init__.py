"""Extraction: one article in, validated `ConflictEvent`s out, every model call logged.

- `article.py`: `extract_article`, which runs the prompt's strategy and keeps only
  events that pass the codebook checks;
- `caller.py`: `ModelCaller` and `CallLog`, the one way a strategy asks the model
  (instructor over the backend, transport retries, one logged row per attempt);
- `cache.py`: the response cache's keys and session (its table lives in `store/`);
- `single.py`: the one-call design (every event in one constrained answer);
- `staged.py`: the staged design (the model lists incidents, code does the rest),
  built from `text.py` (sentences, dates, tolls), `answers.py` (the answer
  schemas the model fills) and `normalise.py` (actors, places, event codes).
"""
