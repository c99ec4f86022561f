"""Evaluation: score runs against gold annotations and write reports (the data lives in `evals/`).

- `gold.py`: gold files and their `any_of` alternatives;
- `scoring.py`: the codebook's scoring (matching, field accuracy, slot F1, grounding);
- `harness.py`: `run_eval`, which scores stored runs or runs (prompt, model) pairs first;
- `report.py`: Markdown and self-contained HTML reports.
"""
