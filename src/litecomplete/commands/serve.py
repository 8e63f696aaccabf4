"""``litecomplete serve``: the web app and the OpenAI-compatible API on one port."""

from __future__ import annotations

import argparse
from pathlib import Path

from litecomplete.commands.common import option_from, threads

NAME = "serve"
HELP = (
    "Serve the autocomplete web app and an OpenAI-compatible API (/v1/completions, "
    "/v1/models, /health) over the models of a directory."
)
EXAMPLE = "litecomplete serve --models-dir ./models --port 8000"

THREADS = "litecomplete.runtime.fast_model:DEFAULT_THREADS"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--models-dir",
        default=None,
        help="directory of .tflite models (app or fast format) the server may use; "
        "default: the data directory's models/",
    )
    p.add_argument(
        "--no-default-model",
        action="store_true",
        help="do not offer (or first convert) the embedded default model",
    )
    option_from(p, "--threads", THREADS, "interpreter threads per model", type=int)
    p.add_argument(
        "--speculative",
        default=None,
        help="fast models: auto (default), off, lookup or draft:FILE.tflite",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        help="also answer requests addressed to this host name (repeatable; default: "
        "loopback names and --host; any name when --host is 0.0.0.0 or ::)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        help="allow browser requests from this origin (repeatable; default: none)",
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from litecomplete.app.limits import server_config
    from litecomplete.app.registry import ModelRegistry
    from litecomplete.app.server import create_app
    from litecomplete.errors import ConfigError, require_at_least
    from litecomplete.paths import data_dir
    from litecomplete.runtime.speculative import Speculation

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be 1 to 65535, got {args.port}")
    require_at_least("--threads", threads(args), 1)
    speculation = Speculation.parse(args.speculative) if args.speculative else Speculation()
    if speculation.draft is not None and not speculation.draft.is_file():
        raise ConfigError(f"draft model {speculation.draft} does not exist")
    models_dir = Path(args.models_dir) if args.models_dir else data_dir() / "models"
    if args.models_dir and not models_dir.is_dir():
        raise ConfigError(f"--models-dir {models_dir} is not a directory")
    default_path = None
    if not args.no_default_model:
        from litecomplete.default_model import ensure_default_model
        from litecomplete.progress import stage_progress

        with stage_progress("prepare default model", 5) as bar:
            default_path = ensure_default_model(on_stage=bar)
    registry = ModelRegistry(models_dir, default_path, num_threads=threads(args))
    usable = registry.usable()
    if not usable:
        raise ConfigError(f"no usable model: {models_dir} has no app- or fast-format .tflite file")
    first = usable[0].id
    registry.preload(first)  # the first request (a keystroke's ghost) should not wait
    app = create_app(
        registry,
        cors_origins=tuple(args.cors_origin),
        allowed_hosts=allowed_hosts(args),
        speculation=speculation,
    )
    print(f"models: {', '.join(e.id for e in usable)} ({first} loaded)")
    print(f"litecomplete on http://{args.host}:{args.port}/")
    uvicorn.Server(server_config(app, args.host, args.port)).run()
    return 0


def allowed_hosts(args: argparse.Namespace) -> tuple[str, ...]:
    """Host names the server answers to: loopback, --host and --allow-host."""
    from litecomplete.app.limits import LOOPBACK_HOSTS

    if args.host in ("0.0.0.0", "::"):  # every interface: its names are not known here
        return ("*",)
    host = f"[{args.host}]" if ":" in args.host else args.host
    return (*LOOPBACK_HOSTS, host, *args.allow_host)
