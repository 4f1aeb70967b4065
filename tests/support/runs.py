"""One record of a finished command, for every suite: `Run(returncode, output,
seconds)`, stdout and stderr together as a user sees them in a terminal.

`run(command, cwd, env)` makes one; `ansible_environment(aws)` is the
environment of an ansible command from the checkout against the moto server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The virtualenv running the tests: its ansible-playbook, its boto3.
BIN = Path(sys.executable).parent
_RECAP_COUNTS = re.compile(r"(\w+)=(\d+)")


@dataclass
class Run:
    returncode: int
    output: str
    seconds: float

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines:])

    def assert_ok(self) -> Run:
        assert self.returncode == 0, f"failed ({self.returncode}):\n{self.tail()}"
        return self

    @property
    def recaps(self) -> dict[str, dict[str, int]]:
        """host -> its PLAY RECAP counts (ok, changed, failed, ...), of the last play that names it."""
        lines = re.findall(r"^(\S+)\s*:\s*(ok=\d+.*)$", self.output, re.MULTILINE)
        return {host: {key: int(value) for key, value in _RECAP_COUNTS.findall(counts)} for host, counts in lines}

    @property
    def recap(self) -> dict[str, int]:
        """The PLAY RECAP counts of localhost."""
        assert "localhost" in self.recaps, f"no PLAY RECAP of localhost in:\n{self.tail()}"
        return self.recaps["localhost"]


def run(command: list[str], cwd: Path, env: dict[str, str] | None, timeout: float | None = None) -> Run:
    """The command to its end (never raises on a failure: the Run says it)."""
    started = time.monotonic()
    completed = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(completed.returncode, completed.stdout, time.monotonic() - started)


def ansible_environment(aws_env: dict[str, str], changes: dict[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment pointed at the moto server: no profile of
    the user's, no colours, the tests' virtualenv first on PATH. `changes`
    override it; a None removes a variable."""
    environment = {
        **os.environ,
        **aws_env,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    environment.pop("AWS_PROFILE", None)
    environment.update(changes or {})
    return {key: value for key, value in environment.items() if value is not None}
