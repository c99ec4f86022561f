"""The command-line tools, thin layers over the library.

`run-pipeline` (`run.py`), `export-events` (`export.py`), `run-eval`
(`evaluate.py`) and `serve-model` (`serve.py`) share their options and their one
error handler from `options.py`. Exit codes are in `pipeline.errors`.
"""
