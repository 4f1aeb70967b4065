"""The launch template user data and the bootstrap script as files: render, size, syntax, lint."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import jinja2
import pytest

from nat_zero.decision import HEARTBEAT_LATE_S, HEARTBEAT_PERIOD_S
from tests.dataplane.netns_topology import BOOTSTRAP, REPO_ROOT, without_comment_lines

USER_DATA_TEMPLATE = REPO_ROOT / "roles" / "nat_zero" / "templates" / "nat_user_data.sh.j2"
USER_DATA_LIMIT_BYTES = 16 * 1024
PRIVATE_CIDRS = ["10.0.16.0/20", "10.0.48.0/20"]
METRICS_DEPLOYMENT = "my-vpc"


def render_user_data(metrics_deployment: str = "") -> str:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = environment.from_string(USER_DATA_TEMPLATE.read_text())
    return template.render(
        nat_zero__bootstrap_script=BOOTSTRAP.read_text(),
        nat_zero__user_data_private_cidrs=PRIVATE_CIDRS,
        nat_zero__user_data_metrics_deployment=metrics_deployment,
    )


@pytest.fixture(scope="module")
def user_data() -> str:
    return render_user_data()


@pytest.fixture(scope="module")
def metrics_user_data() -> str:
    """With nat_zero_nat_metrics: the guard's metrics part and the deployment's name."""
    return render_user_data(METRICS_DEPLOYMENT)


@pytest.fixture(scope="module", params=["default", "nat_metrics"])
def user_data_file(request, user_data, metrics_user_data, tmp_path_factory):
    path = tmp_path_factory.mktemp("user-data") / "user-data.sh"
    path.write_text(metrics_user_data if request.param == "nat_metrics" else user_data)
    return path


def test_user_data_is_well_under_the_16_kib_limit(user_data):
    assert len(user_data.encode()) < USER_DATA_LIMIT_BYTES * 0.85


def test_user_data_with_the_nat_metrics_stays_under_the_16_kib_limit(user_data, metrics_user_data):
    """The metrics part is in the user data only when asked for: the default
    keeps its margin, and the larger variant still leaves a twentieth."""
    assert len(user_data.encode()) < len(metrics_user_data.encode()) < USER_DATA_LIMIT_BYTES * 0.95
    assert "send_metrics() {" in metrics_user_data and "send_metrics() {" not in user_data
    assert f"NAT_METRICS_DEPLOYMENT={METRICS_DEPLOYMENT}\n" in metrics_user_data
    assert "NAT_METRICS_DEPLOYMENT=\n" in user_data


def test_user_data_installs_script_env_and_units(user_data):
    assert user_data.startswith("#!/usr/bin/env bash\n")
    assert 'readonly REPORT_TAG="nat-zero:dataplane"' in user_data
    assert "NAT_PRIVATE_CIDRS=10.0.16.0/20,10.0.48.0/20\n" in user_data
    for unit in ("nat-zero.service", "nat-zero-guard.service", "nat-zero-guard.timer"):
        assert f"/etc/systemd/system/{unit}" in user_data
    assert "ExecStart=/usr/local/sbin/nat-bootstrap.sh --check-and-repair" in user_data
    assert "systemctl enable nat-zero.service nat-zero-guard.timer" in user_data


def timer_seconds(user_data: str, setting: str) -> int:
    """A setting of nat-zero-guard.timer as the user data writes it, in seconds."""
    timer = user_data.split("cat > /etc/systemd/system/nat-zero-guard.timer", 1)[1].split("\nNAT_ZERO_EOF\n", 1)[0]
    (value,) = re.findall(rf"^{setting}=(\d+)s$", timer, re.MULTILINE)
    return int(value)


def test_guard_timer_beats_as_the_reconciler_expects(user_data):
    """The guard's run is the heartbeat: its period, and its random delay plus
    accuracy (how late a beat may come), are the reconciler's constants."""
    assert timer_seconds(user_data, "OnUnitActiveSec") == HEARTBEAT_PERIOD_S
    assert timer_seconds(user_data, "RandomizedDelaySec") + timer_seconds(user_data, "AccuracySec") == HEARTBEAT_LATE_S


def test_user_data_turns_off_ssh(user_data):
    assert "systemctl mask sshd.service sshd.socket" in user_data


def test_user_data_never_gives_up_on_the_data_plane(user_data):
    """No bounded install loop in the user data: the service installs what it
    needs, and the guard, started first, retries every 20 s."""
    assert "dnf" not in user_data.split("\nNAT_ZERO_BOOTSTRAP_EOF\n", 1)[1]
    assert user_data.index("systemctl start nat-zero-guard.timer") < user_data.index(
        "systemctl start --no-block nat-zero.service"
    )


def test_bootstrap_script_cannot_end_the_user_data_heredoc():
    assert "NAT_ZERO_BOOTSTRAP_EOF" not in BOOTSTRAP.read_text()


def test_bootstrap_script_survives_being_templated_again():
    """Ansible may template a variable's value: no Jinja delimiters (bash's ${#array} is one)."""
    script = BOOTSTRAP.read_text()
    for delimiter in ("{{", "{%", "{#"):
        assert delimiter not in script


def test_user_data_writes_the_bootstrap_script_without_its_comment_lines(user_data_file, tmp_path):
    """Runs only the heredoc part of the rendered user data, into a scratch directory."""
    user_data = user_data_file.read_text()
    heredoc = user_data.split("cat > /usr/local/sbin/nat-bootstrap.sh ", 1)[1]
    heredoc = heredoc.split("\nNAT_ZERO_BOOTSTRAP_EOF\n", 1)[0] + "\nNAT_ZERO_BOOTSTRAP_EOF\n"
    written = tmp_path / "nat-bootstrap.sh"
    subprocess.run(["bash", "-c", f"cat > {written} {heredoc}"], check=True)

    nat_metrics = f"NAT_METRICS_DEPLOYMENT={METRICS_DEPLOYMENT}\n" in user_data
    assert written.read_text() == without_comment_lines(BOOTSTRAP.read_text(), nat_metrics=nat_metrics)
    # Nothing the script needs was a comment line (the embedded Python included).
    checked = subprocess.run(["bash", "-n", str(written)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "NAT_ZERO_PY\n}\n" in written.read_text()
    compiled = subprocess.run(
        [sys.executable, "-c", "import sys; compile(sys.stdin.read(), 'aws_query', 'exec')"],
        input=written.read_text().split("<<'NAT_ZERO_PY'\n", 1)[1].split("NAT_ZERO_PY\n", 1)[0],
        capture_output=True,
        text=True,
    )
    assert compiled.returncode == 0, compiled.stderr


@pytest.mark.parametrize("script", ["bootstrap", "user_data"])
def test_bash_accepts_the_syntax(script, user_data_file):
    path = BOOTSTRAP if script == "bootstrap" else user_data_file
    checked = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("script", ["bootstrap", "user_data"])
def test_shellcheck_is_clean(script, user_data_file):
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    path = BOOTSTRAP if script == "bootstrap" else user_data_file
    checked = subprocess.run(["shellcheck", "-s", "bash", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize(
    ("mem_kb", "expected"),
    [
        (460_000, 183_296),  # t4g.nano: 0.5 GiB, minus what the kernel keeps
        (100_000, 65_536),  # floor
        (64 * 1024 * 1024, 4_194_304),  # ceiling
    ],
)
def test_conntrack_table_is_sized_to_memory(mem_kb, expected):
    sized = subprocess.run(
        ["bash", "-c", 'source "$1" && conntrack_max_for_memory "$2"', "sizing-test", str(BOOTSTRAP), str(mem_kb)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(sized.stdout) == expected


# /proc/net/stat/nf_conntrack of a 6.x kernel with two CPUs: a header, then one
# row of hex counters per CPU (the columns differ between kernel versions).
CONNTRACK_STAT = (
    "\n".join(
        [
            "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop"
            " icmp_error  expect_new expect_create expect_delete search_restart",
            "  ".join(
                ["00000031", "00000002", "00000000", "00000000", "0000001a", "00000000", "00000000", "00000000"]
                + ["00000000", "00000003", "0000000a", "00000004"]
                + ["00000000"] * 5
            ),
            "  ".join(
                ["00000031", "00000000", "00000000", "00000000", "00000002", "00000000", "00000000", "00000000"]
                + ["00000000", "00000000", "00000010", "00000000"]
                + ["00000000"] * 4
                + ["00000001"]
            ),
        ]
    )
    + "\n"
)


def test_dropped_packets_are_conntracks_drop_and_insert_failed_over_all_cpus(tmp_path):
    stat = tmp_path / "nf_conntrack"
    stat.write_text(CONNTRACK_STAT)
    counted = subprocess.run(
        ["bash", "-c", 'source "$1" && conntrack_drops <"$2"', "drops-test", str(BOOTSTRAP), str(stat)],
        capture_output=True,
        text=True,
        check=True,
    )
    # insert_failed 0x3 + 0x0, drop 0xa + 0x10; not early_drop (an entry evicted, no packet lost).
    assert int(counted.stdout) == 3 + 10 + 16


def units_in(user_data: str) -> dict[str, str]:
    """Each systemd unit the user data writes: name -> its text."""
    units = {}
    for chunk in user_data.split("cat > /etc/systemd/system/")[1:]:
        name, _, rest = chunk.partition(" <<'NAT_ZERO_EOF'\n")
        units[name] = rest.split("\nNAT_ZERO_EOF\n")[0]
    return units


def ordering(unit_text: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for line in unit_text.splitlines():
        key, _, value = line.partition("=")
        if key in ("After", "Wants", "Requires", "Before", "DefaultDependencies"):
            found.setdefault(key, set()).update(value.split())
    return found


def test_the_data_plane_waits_for_the_network_only(user_data):
    """At every boot nat-zero.service starts once the network is online (IMDS
    answers), with systemd's default early-boot dependencies and nothing else:
    not after cloud-init, multi-user.target or any other service. (At first
    boot the user data itself starts it, from cloud-final.)"""
    units = units_in(user_data)
    assert ordering(units["nat-zero.service"]) == {
        "Wants": {"network-online.target"},
        "After": {"network-online.target"},
    }
    assert ordering(units["nat-zero-guard.service"]) == {"After": {"nat-zero.service"}}
    assert "WantedBy=multi-user.target" in units["nat-zero.service"]


def test_systemd_accepts_the_units(user_data, tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    paths = []
    for name, text in units_in(user_data).items():
        # ExecStart must exist for verify; the script's own checks are above.
        path = tmp_path / name
        path.write_text(text.replace("/usr/local/sbin/nat-bootstrap.sh", "/bin/true").replace("EnvironmentFile=", "#"))
        paths.append(str(path))
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *paths], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
