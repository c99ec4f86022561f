"""Extraction: one article in, validated `ConflictEvent`s out, every model call logged.

- `article.py`: `extract_article`, which runs the prompt's strategy and keeps only
  events that pass the codebook checks;
- `caller.py`: `ModelCaller` and `CallLog`, the one way a strategy asks the model
  (instructor over the backend, transport retries, one logged row per attempt);
- `cache.py`: the response cache's keys and session (its table lives in `store/`);
- `single.py`: the one-call design (every event in one constrained answer);
- `peer.py`: the honest baseline (the codebook as system prompt, one call, no code rules);
- `staged.py`: the staged design (the model lists incidents, code does the rest),
  built from `text.py` (sentences, dates, tolls), `languages.py` (what the code
  knows of each language), `answers.py` (the answer schemas the model fills),
  `normalise.py` (actors, places, event codes) and `rules.py` (the named code
  rules, recorded on each event and switchable for ablation).
"""
