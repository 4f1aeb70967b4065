"""The local AWS emulator: a moto server on a free 127.0.0.1 port.

`moto_server()` runs one for the life of a `with` block (the sandbox demo, the
integration tests, the benchmarks); `start_moto_server()` and
`stop_moto_server()` are its two halves, for callers that start and stop it in
separate commands (the molecule scenario, `make sandbox`).

`sandbox_environment()` is the environment every child of the sandbox gets:
whatever the user's shell says about AWS (region, profile, credentials,
config files, endpoints, CA bundle, proxies) must not reach the emulator's
clients, nor send them anywhere else."""

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

SANDBOX_REGION = "us-east-1"
# Every variable boto3, botocore or the AWS CLI read starts with one of these
# (AWS_REGION, AWS_PROFILE, AWS_CONFIG_FILE, AWS_ENDPOINT_URL_EC2,
# AWS_CA_BUNDLE, AWS_USE_FIPS_ENDPOINT, ...; BOTO_CONFIG for boto2-era
# settings), as do the modules' own fallbacks (EC2_REGION, EC2_URL, ...).
_AWS_PREFIXES = ("AWS_", "BOTO_", "BOTO3_", "EC2_")
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def sandbox_credentials(endpoint: str, region: str = SANDBOX_REGION) -> dict[str, str]:
    """What points boto3 at the emulator: the `export` line of `make sandbox`."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }


def is_foreign(key: str) -> bool:
    """Whether the sandbox replaces or drops this variable of the user's."""
    return key.upper().startswith(_AWS_PREFIXES) or key in _PROXY_VARIABLES


def sandbox_environment(endpoint: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """base (default os.environ) without anything AWS, plus the emulator's
    endpoint, credentials and region. Config and credentials files point at
    /dev/null so no profile of the user's is read; the metadata service is
    never asked; the emulator on 127.0.0.1 is never reached through a proxy."""
    base = dict(os.environ if base is None else base)
    env = {key: value for key, value in base.items() if not is_foreign(key)}
    env.update(
        sandbox_credentials(endpoint),
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


# The emulator is on 127.0.0.1: never ask for it through the user's proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def emulator_get(url: str, timeout: float = 10) -> bytes:
    return _DIRECT.open(url, timeout=timeout).read()


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
    _DIRECT.open(request, timeout=10).read()


def start_moto_server(startup_timeout: float = 30.0, environment: dict | None = None) -> tuple[str, subprocess.Popen]:
    """(endpoint URL, process) of a running server. Lambda invocations are
    answered without running code (moto would need Docker); callers run the
    handler in-process. `environment` adds to the server's (for example
    MOTO_LAMBDA_CONCURRENCY_QUOTA, an account's concurrency limit)."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # AWS-managed IAM policies (AmazonSSMManagedInstanceCore for the NAT's
    # instance profile) exist in moto only when asked for.
    env = {**sandbox_environment(endpoint), "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", **(environment or {})}
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
            emulator_get(f"{endpoint}/moto-api/", timeout=1)
            return
        except OSError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start on {endpoint}") from exc
            time.sleep(0.1)
