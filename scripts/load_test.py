"""Load a litecomplete server with concurrent streaming clients and print what it did.

    python scripts/load_test.py                      # starts `litecomplete serve` itself
    python scripts/load_test.py --url http://127.0.0.1:8000 --pid 1234

Each client sends streaming completions back to back for --seconds; the script prints
requests/s, time to first token (p50/p90/p99), errors, and the server's resident
memory before, during (peak) and after. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

PROMPTS = [
    "Once upon a time",
    "The weather today is",
    "I'm enjoying a",
    "The best way to learn a language is",
    "After the meeting, we decided to",
    "She opened the door and",
    "In the morning I usually",
    "The train was late because",
]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def client(
    url: str, model: str, deadline: float, ttft: list[float], totals: list[float], errors: list[str]
) -> None:
    rng = random.Random()
    async with httpx.AsyncClient(timeout=120) as http:
        while time.monotonic() < deadline:
            body = {
                "model": model,
                "prompt": rng.choice(PROMPTS),
                "max_tokens": 16,
                "temperature": 0.7,
                "stream": True,
            }
            start = time.monotonic()
            first = None
            try:
                async with http.stream("POST", f"{url}/v1/completions", json=body) as response:
                    if response.status_code != 200:
                        errors.append(f"HTTP {response.status_code}")
                        await response.aread()
                        continue
                    done = False
                    async for line in response.aiter_lines():
                        if not line.startswith("data: "):
                            continue
                        if line == "data: [DONE]":
                            done = True
                            break
                        if first is None and json.loads(line[6:])["choices"][0]["text"]:
                            first = time.monotonic() - start
                    if not done:
                        errors.append("stream ended without [DONE]")
                        continue
            except httpx.HTTPError as e:
                errors.append(type(e).__name__)
                continue
            totals.append(time.monotonic() - start)
            if first is not None:
                ttft.append(first)


async def sample_memory(pid: int, stop: asyncio.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_bytes(pid))
        await asyncio.sleep(0.5)


async def run(url: str, pid: int, model: str, clients: int, seconds: float) -> dict[str, float]:
    before = rss_bytes(pid)
    ttft: list[float] = []
    totals: list[float] = []
    errors: list[str] = []
    stop, peak = asyncio.Event(), [before]
    sampler = asyncio.create_task(sample_memory(pid, stop, peak))
    start = time.monotonic()
    deadline = start + seconds
    await asyncio.gather(
        *(client(url, model, deadline, ttft, totals, errors) for _ in range(clients))
    )
    elapsed = time.monotonic() - start
    stop.set()
    await sampler
    after = rss_bytes(pid)
    if errors:
        print("errors:", {e: errors.count(e) for e in set(errors)}, file=sys.stderr)
    return {
        "clients": clients,
        "seconds": elapsed,
        "requests": len(totals),
        "errors": len(errors),
        "requests_per_second": len(totals) / elapsed,
        "ttft_p50_ms": 1000 * percentile(ttft, 0.5) if ttft else float("nan"),
        "ttft_p90_ms": 1000 * percentile(ttft, 0.9) if ttft else float("nan"),
        "ttft_p99_ms": 1000 * percentile(ttft, 0.99) if ttft else float("nan"),
        "latency_mean_ms": 1000 * statistics.fmean(totals) if totals else float("nan"),
        "rss_before_mib": before / 2**20,
        "rss_peak_mib": peak[0] / 2**20,
        "rss_after_mib": after / 2**20,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "litecomplete", "serve", "--port", str(port)]
    if args.models_dir:
        command += ["--models-dir", args.models_dir]
    if getattr(args, "speculative", None):
        command += ["--speculative", args.speculative]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600  # the first start may convert the default model
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", help="a running server (default: start one)")
    p.add_argument("--pid", type=int, help="the running server's process id, for its memory")
    p.add_argument("--models-dir", help="for the server this script starts")
    p.add_argument("--model", default="default")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    server = None
    if args.url:
        if args.pid is None:
            raise SystemExit("--url needs --pid (the server's process id) to read its memory")
        url, pid = args.url.rstrip("/"), args.pid
    else:
        server, url = start_server(args)
        pid = server.pid
    try:
        result = asyncio.run(run(url, pid, args.model, args.clients, args.seconds))
        alive = httpx.get(f"{url}/health", timeout=5).status_code == 200
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    result["server_alive_after"] = float(alive)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:22s} {value:.1f}" if isinstance(value, float) else f"{key:22s} {value}")
    print(f"cpus                   {os.cpu_count()}")


if __name__ == "__main__":
    main()
