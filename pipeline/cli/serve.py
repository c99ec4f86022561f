"""`serve-model`: the embedded local model as an OpenAI-compatible API on 127.0.0.1.

The model is loaded once and shared by several run-pipeline processes or any
OpenAI client; the HTTP server itself is `pipeline.backends.server`.
"""

from __future__ import annotations

import sys

import click

from pipeline.backends.server import DEFAULT_PORT, HOST, make_server


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--model",
    "model_key",
    default=None,
    help="Embedded model to serve (a key of pipeline/backends/model_files.py, e.g. qwen2.5-coder-1.5b, qwen2.5-0.5b); "
    "default: the pipeline's default local model.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="TCP port on 127.0.0.1 (0: any free port, printed at start).",
)
@click.option(
    "--n-ctx",
    type=click.IntRange(min=512),
    default=4096,
    show_default=True,
    help="Context window in tokens (prompt + answer).",
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="CPU threads for llama.cpp (default: all cores)."
)
@click.option("--verbose", "-v", is_flag=True, help="Log every request to standard error.")
def serve_model_command(model_key: str | None, port: int, n_ctx: int, threads: int | None, verbose: bool) -> None:
    """Serve the embedded local model as an OpenAI-compatible API on 127.0.0.1.

    Load the model once and share it: several run-pipeline processes, a
    notebook or any OpenAI client can use it at the same time (answers are
    generated one at a time). Structured output is grammar-constrained for
    both response_format json_schema and forced tool calls.

    \b
    Then, in another terminal:
        run-pipeline articles/ --model local --base-url http://127.0.0.1:8080/v1
        curl http://127.0.0.1:8080/v1/models

    The server listens on 127.0.0.1 only (no authentication). Stop it with Ctrl-C.
    """
    from pipeline.backends.local import make_local_backend
    from pipeline.errors import BackendError, ModelNotAvailable

    try:
        backend = make_local_backend(model_key, n_ctx=n_ctx, threads=threads)
    except (BackendError, ModelNotAvailable) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(4)
    try:
        server = make_server(
            backend.create, backend.model, port=port, log=(lambda line: click.echo(line, err=True)) if verbose else None
        )
    except OSError as exc:
        click.echo(f"Error: cannot listen on {HOST}:{port} ({exc.strerror or exc}); pick another --port", err=True)
        sys.exit(2)
    click.echo(f"Serving {backend.model} at {server.url}", err=True)
    click.echo(f"  run-pipeline FOLDER --model local/{backend.model} --base-url {server.url}", err=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)
    finally:
        server.server_close()
        backend.close()
