"""Every error the product reports to a user, under one base class.

Each subclass carries the exit code the command-line tools end with, so the
CLI has one error handler (`pipeline.cli.options.handle_errors`) and a Python
caller can catch `ConflictEventsError` for all of them. Model misbehaviour is
not an error here: an article whose model output fails validation is recorded
as `failed` with its reason, and the run goes on.

Exit codes: 0 success; 1 some articles failed; 2 bad usage or input; 3 the
database is locked by another process; 4 the model or backend cannot be set up;
130 interrupted.
"""

from __future__ import annotations

from pathlib import Path

EXIT_FAILED_ARTICLES = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_BACKEND = 4
EXIT_INTERRUPTED = 130


class ConflictEventsError(Exception):
    """Base of every error this package raises on purpose; `exit_code` is the CLI's."""

    exit_code: int = EXIT_USAGE


class IngestError(ConflictEventsError):
    """A whole-input problem (missing folder, bad metadata file)."""


class PromptError(ConflictEventsError):
    """A prompt that cannot be loaded: unknown name, bad front matter, unknown strategy."""


class DatabaseError(ConflictEventsError):
    """The file exists but is not a usable DuckDB database."""


class DatabaseLocked(ConflictEventsError):
    """Another process holds the DuckDB file."""

    exit_code = EXIT_LOCKED

    def __init__(self, path: str | Path, detail: str = ""):
        self.path = str(path)
        self.detail = detail
        super().__init__(
            f"{self.path} is in use by another process (DuckDB allows one writer). "
            "Wait for it to finish or stop it, or pass --db to use another file."
        )


class EvalError(ConflictEventsError):
    """A usage or input problem of an evaluation (one-line message)."""


class UnknownRun(EvalError, LookupError):
    """A run id (or prefix) that names no run, or more than one."""


class ReviewError(ConflictEventsError):
    """A review page, decisions file or gold export that cannot be made (one-line message)."""


class BackendError(ConflictEventsError):
    """A backend cannot be set up (missing key, missing model, bad name)."""

    exit_code = EXIT_BACKEND


class ModelNotAvailable(BackendError):
    """The embedded model's data packages are not installed or its file fails its checksum."""


class ExtractionFailed(ConflictEventsError):
    """Extraction cannot start at all (not raised for model misbehaviour, which fails one article)."""
