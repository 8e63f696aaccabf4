"""A server over tiny models: in-process (TestClient) and on a real loopback port."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def models_dir(fast_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny-fast (float) and tiny-dynamic, plus a file that is not a model."""
    out = tmp_path_factory.mktemp("served_models")
    shutil.copy(fast_models["none"], out / "tiny-fast.tflite")
    shutil.copy(fast_models["dynamic"], out / "tiny-dynamic.tflite")
    (out / "broken.tflite").write_bytes(b"not a model")
    (out / "notes.txt").write_text("not a model either")
    return out


@pytest.fixture(scope="session")
def registry(models_dir: Path) -> Any:
    from litecomplete.app.registry import ModelRegistry

    return ModelRegistry(models_dir, default_path=None, num_threads=1)


@pytest.fixture(scope="session")
def app(registry: Any) -> Any:
    from litecomplete.app.server import create_app

    return create_app(registry)


@pytest.fixture()
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://localhost") as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any, header_timeout_s: float = 10.0) -> Iterator[str]:
    """``app`` served by uvicorn on a loopback port: ``http://127.0.0.1:PORT``."""
    import uvicorn

    from litecomplete.app.limits import server_config

    port = _free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, header_timeout_s))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(app: Any) -> Iterator[str]:
    with serving(app) as url:
        yield url
