#!/usr/bin/env python3
"""The emulator for playing by hand: `make sandbox` and `make sandbox-stop`.

    eval "$(make -s sandbox)"     # start (or reuse) a configured moto server; point this shell at it
    make sandbox-stop             # stop it

`start` prints, on stdout, the shell line that points boto3 (and so the
playbooks, the relay and workload.py) at the emulator, and unsets whatever AWS
variable of the user's would send them elsewhere; what it did goes to stderr.
The server's endpoint and process ID are kept in build/sandbox/emulator.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from emulator import (  # noqa: E402
    emulator_get,
    is_foreign,
    sandbox_environment,
    start_moto_server,
    stop_moto_server,
)

STATE_FILE = HERE.parents[1] / "build" / "sandbox" / "emulator.json"


def running_emulator() -> dict | None:
    """The state of the emulator `start` left running, if it still answers."""
    if not STATE_FILE.exists():
        return None
    state = json.loads(STATE_FILE.read_text())
    try:
        emulator_get(f"{state['endpoint']}/moto-api/", timeout=2)
    except OSError:
        return None
    return state


def shell_line(endpoint: str) -> str:
    """unset the user's AWS (and proxy) variables the sandbox drops; export the sandbox's."""
    wanted = sandbox_environment(endpoint, base={})
    wanted = {key: value for key, value in wanted.items() if key not in ("PATH", "HOME")}
    stale = sorted(key for key in os.environ if is_foreign(key) and key not in wanted)
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in wanted.items())
    return (f"unset {' '.join(stale)}; " if stale else "") + f"export {exports}"


def start() -> int:
    state = running_emulator()
    if state:
        print(f"Sandbox emulator already running on {state['endpoint']} (pid {state['pid']}).", file=sys.stderr)
    else:
        endpoint, process = start_moto_server()
        state = {"endpoint": endpoint, "pid": process.pid}
        STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
        STATE_FILE.write_text(json.dumps(state))
        print(f"Sandbox emulator (moto) started on {endpoint} (pid {process.pid}).", file=sys.stderr)
    print('Point a shell at it with: eval "$(make -s sandbox)"   Stop it with: make sandbox-stop', file=sys.stderr)
    print(shell_line(state["endpoint"]))
    return 0


def stop() -> int:
    if not STATE_FILE.exists():
        print("No sandbox emulator to stop.", file=sys.stderr)
        return 0
    state = json.loads(STATE_FILE.read_text())
    stop_moto_server(state["pid"])
    STATE_FILE.unlink()
    print(f"Sandbox emulator on {state['endpoint']} stopped.", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    args = parser.parse_args(argv)
    return start() if args.action == "start" else stop()


if __name__ == "__main__":
    sys.exit(main())
