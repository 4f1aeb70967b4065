"""The local AWS emulator: a moto server on a free 127.0.0.1 port for the life
of a `with` block. Used by the sandbox demo, the integration tests and the
benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _moto_command(port: int):
    binary = Path(sys.executable).with_name("moto_server")
    if binary.exists():
        return [str(binary), "-H", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def _post(url: str, payload: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    urllib.request.urlopen(request, timeout=10).read()


@contextlib.contextmanager
def moto_server(startup_timeout: float = 30.0):
    """Yields the endpoint URL. Lambda invocations are answered without running
    code (moto would need Docker); tests call the handler in-process."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # AWS-managed IAM policies (AmazonSSMManagedInstanceCore for the NAT's
    # instance profile) exist in moto only when asked for.
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    process = subprocess.Popen(
        _moto_command(port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        _wait_until_listening(endpoint, process, startup_timeout)
        _post(f"{endpoint}/moto-api/config", {"lambda": {"use_docker": False}})
        yield endpoint
    finally:
        # Its own session: the whole group goes, whatever it started.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_until_listening(endpoint: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()
            return
        except OSError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start on {endpoint}") from exc
            time.sleep(0.1)
