"""Run the README's code blocks literally, as a user would type them.

A block is picked by the HTML comment on the line before its fence, which
GitHub does not render:

    <!-- test: by-hand -->
    ```bash
    make collection
    ```

`readme_block("by-hand")` returns its text; `user_checkout(tmp_path)` makes a
copy of the checkout's tracked files (what a fresh clone has) that shares this
checkout's .venv; `run_block(block, cwd, env)` runs it with `bash -euo
pipefail` in `clean_environment()`: no AWS_* or ANSIBLE_* variable of
whoever runs the tests, a HOME of its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.runs import REPO, Run

_BLOCK = re.compile(r"^<!-- test: (?P<name>[\w-]+) -->\n```(?P<lang>\w+)\n(?P<body>.*?)^```$", re.M | re.S)


def readme_blocks(path: Path = REPO / "README.md") -> dict[str, str]:
    """name -> body of every marked block of a markdown file."""
    return {m["name"]: m["body"] for m in _BLOCK.finditer(path.read_text())}


def readme_block(name: str, path: Path = REPO / "README.md") -> str:
    blocks = readme_blocks(path)
    assert name in blocks, f"{path.name} has no block marked <!-- test: {name} --> (it has {sorted(blocks)})"
    return blocks[name]


def clean_environment(home: Path, **extra: str) -> dict[str, str]:
    """A login shell's worth of environment and nothing of the test runner's."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "ANSIBLE_NOCOLOR": "1",
    }
    env.update(extra)
    return env


def user_checkout(destination: Path, share_venv: bool = True) -> Path:
    """The tracked files of this checkout (what a fresh clone has, modification
    times kept), sharing this checkout's .venv so nothing is installed again
    (share_venv=False: no .venv, as in a fresh clone)."""
    tracked = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    if share_venv:
        (destination / ".venv").symlink_to(REPO / ".venv")
    return destination


def run_block(block: str, cwd: Path, env: dict[str, str], timeout: float = 900) -> Run:
    """The block as one bash script (stops at the first failing command);
    stdout and stderr together. Whatever it left running in the background
    (a relay started with `&` before a later command failed) is stopped."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=timeout)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        output.seek(0)
        return Run(returncode, output.read(), time.monotonic() - started)


def stop_leftover_sandbox(checkout: Path) -> None:
    """If a block failed before `make sandbox-stop`, stop its emulator anyway."""
    state = checkout / "build" / "sandbox" / "emulator.json"
    if state.exists():
        subprocess.run(
            [str(checkout / ".venv" / "bin" / "python"), "playbooks/sandbox/sandbox.py", "stop"],
            cwd=checkout,
            env=clean_environment(checkout),
            capture_output=True,
        )
