"""The record every suite keeps of a finished command (tests/support/runs.py):
what the integration and collection tests read from it must be what
ansible-playbook printed."""

from __future__ import annotations

import sys

import pytest

from tests.support.runs import REPO, Run, run

# The end of an ansible-playbook run over a fleet, as the default callback prints it.
FLEET_RECAP = """\
TASK [natzero.aws.nat_zero : Report] *******************************************
ok: [vpc-0a1]

PLAY RECAP *********************************************************************
vpc-0a1                    : ok=41   changed=12   unreachable=0    failed=0    skipped=9    rescued=0    ignored=0
vpc-0b2                    : ok=40   changed=0    unreachable=0    failed=1    skipped=9    rescued=1    ignored=0
"""


def test_recaps_reads_every_host_s_counts():
    recaps = Run(0, FLEET_RECAP, 1.0).recaps

    assert recaps == {
        "vpc-0a1": dict(ok=41, changed=12, unreachable=0, failed=0, skipped=9, rescued=0, ignored=0),
        "vpc-0b2": dict(ok=40, changed=0, unreachable=0, failed=1, skipped=9, rescued=1, ignored=0),
    }


def test_recap_is_localhost_s_and_a_run_without_one_fails_naming_its_output():
    local = Run(0, "PLAY RECAP ***\nlocalhost                  : ok=3    changed=1    failed=0\n", 1.0)
    assert local.recap == {"ok": 3, "changed": 1, "failed": 0}

    with pytest.raises(AssertionError, match="(?s)no PLAY RECAP of localhost in:\n.*vpc-0b2"):
        _ = Run(0, FLEET_RECAP, 1.0).recap


def test_assert_ok_fails_with_the_tail_of_the_output_and_passes_a_success_through():
    failed = Run(2, "\n".join(f"line {n}" for n in range(200)), 1.0)

    with pytest.raises(AssertionError) as raised:
        failed.assert_ok()
    assert "failed (2):" in str(raised.value) and "line 199" in str(raised.value)
    assert "line 119\n" not in str(raised.value)  # only the last 80 lines
    ok = Run(0, "", 0.1)
    assert ok.assert_ok() is ok


def test_run_keeps_stdout_and_stderr_together_and_the_exit_status():
    script = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"

    done = run([sys.executable, "-c", script], REPO, env=None)

    assert done.returncode == 3
    assert sorted(done.output.split()) == ["err", "out"]
    assert done.seconds > 0
