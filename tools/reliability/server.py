"""A real ``voc serve`` on a free loopback port, and the memory of its worker process."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from voc.models.paths import output_base

REPO = output_base()  # where its commands run: the checkout, else the current directory (a plain install)
READY_SECONDS = 900  # a loaded 2-core machine can take minutes to import and load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    """A running service: its base URL, log file and process (``voc serve`` became ``bentoml serve``)."""

    url: str
    log: Path
    process: subprocess.Popen

    def worker(self) -> psutil.Process:
        """The largest process under the server: the worker holding the model."""
        procs = psutil.Process(self.process.pid).children(recursive=True)
        return max(procs, key=lambda p: p.memory_info().rss)

    def worker_rss_mb(self) -> float:
        """Resident memory of the worker, in MB."""
        return self.worker().memory_info().rss / 1e6


@contextlib.contextmanager
def voc_serve(model: str | Path, bentoml_home: Path, log: Path, env: dict | None = None) -> Iterator[Served]:
    """``voc serve --model model`` until ``/readyz`` answers 200; stopped (SIGTERM, then SIGKILL) afterwards."""
    port = free_port()
    env = {**os.environ, "BENTOML_HOME": str(bentoml_home), **(env or {})}
    cmd = [sys.executable, "-m", "voc", "serve", "--model", str(model), "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", log, proc)
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voc serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"voc serve not ready in {READY_SECONDS} s:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{served.url}/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.3)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
