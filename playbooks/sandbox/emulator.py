"""The local AWS emulator: a moto server on a free 127.0.0.1 port.

`moto_server()` runs one for the life of a `with` block (the sandbox demo, the
integration tests, the benchmarks); `start_moto_server()` and
`stop_moto_server()` are its two halves, for callers that start and stop it in
separate commands (the molecule scenario)."""

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
    # moto_server with Lambda's GetAccountSettings added (moto lacks it).
    server = Path(__file__).with_name("moto_lambda_account.py")
    return [sys.executable, str(server), "-H", "127.0.0.1", "-p", str(port)]


def _post(url: str, payload: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    urllib.request.urlopen(request, timeout=10).read()


def start_moto_server(startup_timeout: float = 30.0, environment: dict | None = None) -> tuple[str, subprocess.Popen]:
    """(endpoint URL, process) of a running server. Lambda invocations are
    answered without running code (moto would need Docker); callers run the
    handler in-process. `environment` adds to the server's (for example
    MOTO_LAMBDA_CONCURRENCY_QUOTA, an account's concurrency limit)."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # AWS-managed IAM policies (AmazonSSMManagedInstanceCore for the NAT's
    # instance profile) exist in moto only when asked for.
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", **(environment or {})}
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
    except BaseException:
        stop_moto_server(process.pid, process)
        raise
    return endpoint, process


def stop_moto_server(pid: int, process: subprocess.Popen | None = None, timeout: float = 10.0) -> None:
    """Stop the server's process group (it runs in a session of its own), by
    TERM, then KILL after `timeout`. A server already gone is fine. Pass the
    Popen when this process started it, so it is also reaped."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not _exited(pid, process, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        if process is not None:
            process.wait()


def _exited(pid: int, process: subprocess.Popen | None, timeout: float) -> bool:
    if process is not None:
        try:
            process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@contextlib.contextmanager
def moto_server(startup_timeout: float = 30.0, environment: dict | None = None):
    """Yields the endpoint URL of a server that stops when the block ends, whatever happens."""
    endpoint, process = start_moto_server(startup_timeout, environment)
    try:
        yield endpoint
    finally:
        stop_moto_server(process.pid, process)


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
