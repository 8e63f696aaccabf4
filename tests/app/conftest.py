"""A server over tiny models: in-process (TestClient) and on a real loopback port."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
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

    with TestClient(app) as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(app: Any) -> Iterator[str]:
    """The app served by uvicorn on a loopback port: ``http://127.0.0.1:PORT``."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
