"""What every command shares: the error handler, the console, and the option decorators.

The commands (`run.py`, `export.py`, `evaluate.py`, `serve.py`) are thin layers
over the library; each takes its shared options from here.

Exit codes: 0 success; 1 some articles failed; 2 bad usage or input (click's
own usage errors included); 3 the database is locked by another process;
4 the model/backend cannot be set up; 130 interrupted.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click
from rich.console import Console

from pipeline.errors import EXIT_INTERRUPTED, ConflictEventsError
from pipeline.prompts import DEFAULT_PROMPT
from pipeline.store.database import DEFAULT_DB

err = Console(stderr=True, soft_wrap=True)  # one line per message, even in a log file


def fail(message: str, code: int) -> NoReturn:
    err.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """The one error handler of every command: a known failure is one line and its exit code.

    Every error the library raises on purpose is a `ConflictEventsError`, whose
    subclass carries the exit code (see `pipeline.errors`).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConflictEventsError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            err.print("Interrupted: finished articles are saved; rerun the same command to continue.")
            sys.exit(EXIT_INTERRUPTED)

    return wrapper


# -- shared options -----------------------------------------------------------


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--db",
        "db_path",
        default=DEFAULT_DB,
        show_default=True,
        type=click.Path(dir_okay=False),
        help="DuckDB file holding articles, runs, model calls and events.",
    )(func)


def model_options(func: Callable[..., Any] | None = None, *, several_base_urls: bool = False) -> Any:
    """--model, --base-url, --api-key-env, --mode. several_base_urls: --base-url may be given more than once."""
    if func is None:
        return functools.partial(model_options, several_base_urls=several_base_urls)
    base_url_help = (
        "URL of an OpenAI-compatible server (vLLM, Ollama, llama.cpp server), e.g. http://127.0.0.1:8000/v1."
    )
    if several_base_urls:
        base_url_help += (
            " Give it several times for several servers of the same model: each request goes to the least busy one."
        )
    options = [
        click.option(
            "--model",
            default="local",
            show_default=True,
            help="Which model extracts: 'local' (embedded Qwen2.5-Coder-1.5B, offline), "
            "'local/qwen2.5-0.5b' (smaller, faster), 'openai/<model>' (OpenAI, or any "
            "OpenAI-compatible server with --base-url), or the name of a backend plugin.",
        ),
        click.option("--base-url", default=None, multiple=several_base_urls, help=base_url_help),
        click.option(
            "--api-key-env",
            default="OPENAI_API_KEY",
            show_default=True,
            help="Environment variable that holds the API key (the key itself is never stored).",
        ),
        click.option(
            "--mode",
            type=click.Choice(["json_schema", "tools", "json", "md_json"]),
            default=None,
            help="How structured output is requested from a remote server. Default: json_schema "
            "for OpenAI, tools for other servers (most constrain tool calls with a grammar).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def prompt_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--prompt",
        "prompt_name",
        default=DEFAULT_PROMPT,
        show_default=True,
        help="Prompt name from prompts/ (e.g. default, naive) or a path to a prompt .md file.",
    )(func)


def build_backend(model: str, base_url: str | tuple[str, ...] | None, api_key_env: str, mode: str | None):
    """The backend the model options name (`--model`, `--base-url` once or more, `--api-key-env`, `--mode`)."""
    from pipeline.backends import get_backend

    return get_backend(model, **backend_options(base_url, api_key_env, mode))


def backend_options(base_url: str | tuple[str, ...] | list[str] | None, api_key_env: str, mode: str | None) -> dict:
    """get_backend's keywords for the model options; several --base-url become `base_urls`."""
    urls = [base_url] if isinstance(base_url, str) else list(base_url or [])
    options: dict[str, Any] = {"base_url": urls[0] if urls else None, "api_key_env": api_key_env, "mode": mode}
    if len(urls) > 1:
        options["base_urls"] = urls
    return options
