"""The NAT on a stock AL2023 minimal image: nftables (and the SSM agent) are
installed by the bootstrap itself, each attempt bounded and retried by the
guard, and the data plane reports its state as a tag on its own instance.

dnf and systemctl are stand-ins on PATH (nft is hidden from PATH until the
fake dnf "installs" it); IMDS and the EC2 endpoint are one local stand-in in
the NAT namespace that records each CreateTags it is sent. The signature is
checked against botocore's own SigV4 signer.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.parse
from pathlib import Path

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.serialize import QuerySerializer

from tests.dataplane.netns_topology import (
    NAT_PUBLIC_IP,
    SERVER_IP,
    WORKLOAD_IP,
    peer_seen_by_server,
    start_peer_server,
    wait_until,
)

pytestmark = pytest.mark.dataplane

INSTANCE_ID = "i-0123456789abcdef0"
CREDENTIALS = Credentials("ASIAEXAMPLEKEY", "example/secret/key", "session-token-1")
STAND_IN_PORT = 8170
ENDPOINT = f"http://127.0.0.1:{STAND_IN_PORT}"
SERVER_PORT = 8080

# IMDSv2 (token first) and an EC2 query endpoint that prints each request as a
# JSON line. It refuses its first `throttled` requests the way EC2 does when the
# account's CreateTags bucket is empty: HTTP 503, error code RequestLimitExceeded.
IMDS_AND_EC2 = r"""
import http.server, json, sys
instance_id, akid, secret, token, throttled = sys.argv[2:7]
throttled = int(throttled)
THROTTLED = ("<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
    "</Message></Error></Errors><RequestID>5ed90669-e454-464d-9b2f-6523bc86f537</RequestID></Response>")
meta = {
    "instance-id": instance_id, "placement/region": "us-east-1", "services/domain": "amazonaws.com",
    "placement/availability-zone": "us-east-1a",
    "iam/security-credentials/": "nat-role",
    "iam/security-credentials/nat-role": json.dumps({"AccessKeyId": akid, "SecretAccessKey": secret, "Token": token}),
}
class StandIn(http.server.BaseHTTPRequestHandler):
    def answer(self, code, body=""):
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body.encode())
    def do_PUT(self):
        self.answer(200, "imds-token") if self.path == "/latest/api/token" else self.answer(404)
    def do_GET(self):
        path = self.path.removeprefix("/latest/meta-data/")
        if self.headers.get("X-aws-ec2-metadata-token") != "imds-token":
            return self.answer(401)
        self.answer(200, meta[path]) if path in meta else self.answer(404)
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        headers = {k.lower(): v for k, v in self.headers.items()}
        global throttled
        print(json.dumps({"path": self.path, "headers": headers, "body": body}), flush=True)
        if throttled:
            throttled -= 1
            return self.answer(503, THROTTLED)
        self.answer(200, "<CreateTagsResponse><return>true</return></CreateTagsResponse>")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), StandIn)
print("ready", flush=True)
server.serve_forever()
"""

# Fails its first FAIL_TIMES runs (or hangs when HANG is set), then installs
# the package by putting the real binary (or a stand-in) on PATH.
FAKE_DNF = """#!/bin/bash
bin="$(dirname "$0")"
count=$(( $(cat "$bin/dnf.count" 2>/dev/null || echo 0) + 1 ))
echo "$count" > "$bin/dnf.count"
echo "$*" >> "$bin/dnf.log"
[[ -n "${HANG:-}" ]] && exec sleep 600
(( count > ${FAIL_TIMES:-0} )) || { echo "Curl error (28): Timeout was reached" >&2; exit 1; }
case "${@: -1}" in
  nftables) ln -sf "$(command -v /usr/sbin/nft)" "$bin/nft" ;;
  amazon-ssm-agent) printf '#!/bin/sh\\n' > "$bin/amazon-ssm-agent"; chmod +x "$bin/amazon-ssm-agent" ;;
esac
"""
FAKE_SYSTEMCTL = """#!/bin/bash
echo "$*" >> "$(dirname "$0")/systemctl.log"
"""


@pytest.fixture
def stock_image(tmp_path):
    """A PATH like AL2023 minimal's before the bootstrap ran: no nft, a dnf."""
    if shutil.which("nft", path="/usr/sbin") is None:
        pytest.skip("nftables is not installed (apt-get install nftables)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ip").symlink_to(shutil.which("ip") or "/usr/sbin/ip")
    for name, script in (("dnf", FAKE_DNF), ("systemctl", FAKE_SYSTEMCTL)):
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def on_stock_image(bin_dir: Path, **env: str) -> dict[str, str]:
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", **env}


@pytest.fixture
def stand_in(topology):
    return start_stand_in(topology, throttled=0)


@pytest.fixture
def throttling_stand_in(topology):
    return start_stand_in(topology, throttled=2)


def start_stand_in(topology, throttled: int):
    process = topology.start(
        topology.nat,
        sys.executable,
        "-c",
        IMDS_AND_EC2,
        str(STAND_IN_PORT),
        INSTANCE_ID,
        CREDENTIALS.access_key,
        CREDENTIALS.secret_key,
        CREDENTIALS.token,
        str(throttled),
    )
    wait_until(lambda: process.stdout.readline().strip() == "ready", timeout=10, what="IMDS and EC2 stand-in")
    return process


def reporting(**env: str) -> dict[str, str]:
    return {"NAT_REPORT": "1", "NAT_IMDS_ENDPOINT": ENDPOINT, "NAT_EC2_ENDPOINT": ENDPOINT, **env}


def received(stand_in, count: int) -> list[dict]:
    """The next `count` requests the EC2 stand-in was sent."""
    return [json.loads(stand_in.stdout.readline()) for _ in range(count)]


def reported_value(request: dict) -> tuple[str, str]:
    params = dict(urllib.parse.parse_qsl(request["body"]))
    assert params["Action"] == "CreateTags" and params["ResourceId.1"] == INSTANCE_ID
    assert params["Tag.1.Key"] == "nat-zero:dataplane"
    status, _, when = params["Tag.1.Value"].rpartition(" ")
    return status, when


def signature_botocore_computes(request: dict, service: str = "ec2") -> str:
    authorization = request["headers"]["authorization"]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    aws_request = AWSRequest(
        method="POST",
        url=ENDPOINT + request["path"],
        data=request["body"].encode(),
        headers={name: request["headers"][name] for name in signed},
    )
    aws_request.context["timestamp"] = request["headers"]["x-amz-date"]
    signer = SigV4Auth(CREDENTIALS, service, "us-east-1")
    return signer.signature(signer.string_to_sign(aws_request, signer.canonical_request(aws_request)), aws_request)


def test_missing_nft_failed_install_is_retried_by_the_guard_until_forwarding(topology, state_dir, stock_image):
    env = on_stock_image(stock_image, FAIL_TIMES="1")

    boot = topology.bootstrap(state_dir=state_dir, check=False, **env)
    assert boot.returncode != 0
    assert "FAILED in step 'install nftables': dnf could not install nftables" in boot.stderr
    assert topology.sysctl(topology.nat, "net.ipv4.ip_forward") == ["0"]

    guard = topology.bootstrap("--check-and-repair", state_dir=state_dir, **env)
    assert "guard: drift: nftables not installed" in guard.stderr and "guard: repaired" in guard.stderr
    start_peer_server(topology, topology.internet, SERVER_IP, SERVER_PORT)
    assert peer_seen_by_server(topology, topology.workload, WORKLOAD_IP, SERVER_IP, SERVER_PORT) == NAT_PUBLIC_IP
    assert (stock_image / "dnf.count").read_text().strip() == "2"


def test_a_hung_install_is_cut_off_and_left_to_the_guard(topology, state_dir, stock_image):
    started = time.monotonic()
    boot = topology.bootstrap(
        state_dir=state_dir, check=False, timeout=60, **on_stock_image(stock_image, HANG="1"), NAT_INSTALL_SECONDS="2"
    )
    assert boot.returncode != 0
    assert "dnf could not install nftables within 2s" in boot.stderr
    # Bounded by the attempt's limit, not by dnf (which would sleep 600 s).
    assert time.monotonic() - started < 30


def test_forwarding_nat_tags_itself_with_a_request_aws_would_accept(topology, state_dir, stand_in):
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    done = topology.bootstrap(state_dir=state_dir, check=False, **reporting())
    assert done.returncode == 0, done.stderr

    (request,) = received(stand_in, 1)
    status, when = reported_value(request)
    assert status == "forwarding" and when >= before
    headers = request["headers"]
    assert headers["x-amz-security-token"] == CREDENTIALS.token
    assert headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={CREDENTIALS.access_key}/{headers['x-amz-date'][:8]}/us-east-1/ec2/aws4_request"
    )
    assert headers["authorization"].endswith(f"Signature={signature_botocore_computes(request)}")


def test_failed_install_is_reported_as_not_forwarding(topology, state_dir, stand_in, stock_image):
    env = on_stock_image(stock_image, FAIL_TIMES="5", **reporting())
    topology.bootstrap(state_dir=state_dir, check=False, **env)

    statuses = [reported_value(r)[0] for r in received(stand_in, 2)]
    assert statuses == ["not-forwarding:installing nftables", "failed:install nftables"]


def test_a_report_that_could_not_go_out_is_sent_by_the_next_guard_run(topology, state_dir, stand_in):
    unreachable = reporting(NAT_EC2_ENDPOINT="http://127.0.0.1:9")
    done = topology.bootstrap(state_dir=state_dir, **unreachable)
    assert "report 'forwarding' not sent" in done.stderr

    guard = topology.bootstrap("--check-and-repair", state_dir=state_dir, **reporting())
    assert reported_value(received(stand_in, 1)[0])[0] == "forwarding"
    assert "drift" not in guard.stderr
    assert (state_dir / "reported").read_text() == "forwarding\n"


def test_every_guard_run_without_drift_sends_a_fresh_forwarding_heartbeat(topology, state_dir, stand_in):
    topology.bootstrap(state_dir=state_dir, **reporting())
    (boot,) = received(stand_in, 1)
    time.sleep(1.1)  # the report's time has whole seconds: the heartbeats must show a later one
    for _ in range(2):
        guard = topology.bootstrap("--check-and-repair", state_dir=state_dir, **reporting())
        assert "drift" not in guard.stderr

    statuses, times = zip(*(reported_value(r) for r in [boot, *received(stand_in, 2)]))
    assert statuses == ("forwarding", "forwarding", "forwarding")
    assert times[0] < times[1] <= times[2]


def test_a_throttled_heartbeat_is_lost_not_fatal_and_the_next_run_beats_again(topology, state_dir, throttling_stand_in):
    """EC2 refuses a CreateTags over the account's rate with 503 RequestLimitExceeded:
    the run still succeeds (systemd keeps the guard's timer going) and says so,
    and the next guard run, HEARTBEAT_PERIOD_S later on a NAT, sends a fresh beat."""
    boot = topology.bootstrap(state_dir=state_dir, **reporting())
    guard = topology.bootstrap("--check-and-repair", state_dir=state_dir, **reporting())
    for run in (boot, guard):
        assert "report 'forwarding' not sent (urllib.error.HTTPError: HTTP Error 503" in run.stderr
    throttled = received(throttling_stand_in, 2)[1]
    assert not (state_dir / "reported").exists()
    time.sleep(1.1)  # the report's time has whole seconds: the next beat must show a later one

    guard = topology.bootstrap("--check-and-repair", state_dir=state_dir, **reporting())
    assert "drift" not in guard.stderr and "not sent" not in guard.stderr
    (beat,) = received(throttling_stand_in, 1)
    assert reported_value(beat)[0] == "forwarding" and reported_value(beat)[1] > reported_value(throttled)[1]
    assert (state_dir / "reported").read_text() == "forwarding\n"


def refusing_nft(tmp_path: Path) -> Path:
    """An nft that lists but loads nothing: a repair that cannot succeed."""
    bin_dir = tmp_path / "refusing-bin"
    bin_dir.mkdir()
    (bin_dir / "nft").write_text(
        '#!/bin/bash\n[[ "$1" == -f ]] && { echo "Error: Could not process rule" >&2; exit 1; }\n'
        'exec /usr/sbin/nft "$@"\n'
    )
    (bin_dir / "nft").chmod(0o755)
    return bin_dir


@pytest.mark.parametrize(
    "break_it, drift",
    [
        (lambda t: t.exec(t.nat, "nft", "delete", "table", "inet", "nat_zero"), "ruleset differs from the one applied"),
        (lambda t: t.set_sysctl(t.nat, "net.ipv4.ip_forward", "0"), "net/ipv4/ip_forward=0, want 1"),
    ],
    ids=["masquerade_table_gone", "forwarding_off"],
)
def test_a_drift_the_guard_cannot_repair_is_reported_as_not_forwarding(
    topology, state_dir, stand_in, tmp_path, break_it, drift
):
    topology.bootstrap(state_dir=state_dir, **reporting())
    assert reported_value(received(stand_in, 1)[0])[0] == "forwarding"
    break_it(topology)

    guard = topology.bootstrap(
        "--check-and-repair",
        state_dir=state_dir,
        check=False,
        **reporting(PATH=f"{refusing_nft(tmp_path)}:{os.environ['PATH']}"),
    )

    assert guard.returncode != 0
    assert f"guard: drift: {drift}" in guard.stderr
    assert reported_value(received(stand_in, 1)[0])[0] == "not-forwarding:load nftables ruleset"


def test_ssm_agent_is_installed_and_started_after_forwarding_and_its_failure_is_harmless(
    topology, state_dir, stock_image
):
    env = on_stock_image(stock_image, NAT_SSM_AGENT="1", FAIL_TIMES="1")
    (stock_image / "nft").symlink_to("/usr/sbin/nft")
    (stock_image / "dnf.count").write_text("0")

    boot = topology.bootstrap(state_dir=state_dir, **env)
    assert "NAT ready" in boot.stderr and "amazon-ssm-agent not installed yet" in boot.stderr
    assert topology.sysctl(topology.nat, "net.ipv4.ip_forward") == ["1"]

    topology.bootstrap("--check-and-repair", state_dir=state_dir, **env)
    assert (stock_image / "dnf.log").read_text().splitlines()[-1].endswith("amazon-ssm-agent")
    assert (stock_image / "systemctl.log").read_text() == "enable --now amazon-ssm-agent.service\n"
    assert os.access(stock_image / "amazon-ssm-agent", os.X_OK)


METRICS_DEPLOYMENT = "my-vpc"
NAT_METRICS = {"NAT_METRICS_DEPLOYMENT": METRICS_DEPLOYMENT, "NAT_MONITORING_ENDPOINT": ENDPOINT}


def action_of(request: dict) -> str:
    return dict(urllib.parse.parse_qsl(request["body"]))["Action"]


def metric_values(request: dict) -> dict[str, str]:
    params = dict(urllib.parse.parse_qsl(request["body"]))
    return {
        params[f"{key}.MetricName"]: params[f"{key}.Value"]
        for key in (name.removesuffix(".MetricName") for name in params if name.endswith(".MetricName"))
    }


def put_metric_data_as_botocore_sends_it(values: dict[str, str]) -> dict[str, str]:
    """The form botocore's query serializer makes of the same metrics: the
    parameter names CloudWatch's API model defines (protocol query)."""
    model = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricData")
    units = {
        "ConntrackEntries": "Count",
        "GuardRepairs": "Count",
        "PacketsDropped": "Count",
        "ConntrackUsed": "Percent",
    }
    dimensions = [{"Name": "Deployment", "Value": METRICS_DEPLOYMENT}, {"Name": "AZ", "Value": "us-east-1a"}]
    metric_data = [
        {"MetricName": name, "Dimensions": dimensions, "Value": float(values[name]), "Unit": unit}
        for name, unit in units.items()
    ]
    body = QuerySerializer().serialize_to_request({"Namespace": "NatZero", "MetricData": metric_data}, model)["body"]
    return dict(body)


def wait_for_a_fresh_minute_start() -> None:
    """The guard sends once per UTC minute: no test's guard runs straddle one."""
    while time.time() % 60 > 45:
        time.sleep(1)


def test_the_guard_sends_the_nat_metrics_once_a_minute_as_put_metric_data_aws_would_accept(
    topology, state_dir, stand_in
):
    topology.bootstrap(state_dir=state_dir, **reporting(**NAT_METRICS))
    wait_for_a_fresh_minute_start()
    for _ in range(2):
        topology.bootstrap("--check-and-repair", state_dir=state_dir, **reporting(**NAT_METRICS))

    requests = received(stand_in, 4)
    # Boot reports; each guard run sends its heartbeat, the first one also the metrics.
    assert [action_of(r) for r in requests] == ["CreateTags", "CreateTags", "PutMetricData", "CreateTags"]
    put = requests[2]
    values = metric_values(put)
    conntrack_max = int(topology.exec(topology.nat, "cat", "/proc/sys/net/netfilter/nf_conntrack_max").stdout)
    assert float(values["ConntrackUsed"]) == pytest.approx(
        int(values["ConntrackEntries"]) * 100 / conntrack_max, abs=0.1
    )
    assert (values["GuardRepairs"], values["PacketsDropped"]) == ("0", "0")
    sent = dict(urllib.parse.parse_qsl(put["body"]))
    expected = put_metric_data_as_botocore_sends_it(values)
    assert sent.keys() == expected.keys()
    assert {k: v for k, v in sent.items() if not k.endswith(".Value") or ".Dimensions." in k} == {
        k: v for k, v in expected.items() if not k.endswith(".Value") or ".Dimensions." in k
    }
    assert put["headers"]["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={CREDENTIALS.access_key}/{put['headers']['x-amz-date'][:8]}"
        "/us-east-1/monitoring/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
    )
    assert put["headers"]["authorization"].endswith(f"Signature={signature_botocore_computes(put, 'monitoring')}")


def test_repairs_between_two_sends_go_out_with_the_next_minutes_metrics(topology, state_dir, stand_in):
    env = reporting(**NAT_METRICS)
    topology.bootstrap(state_dir=state_dir, **env)
    wait_for_a_fresh_minute_start()
    topology.bootstrap("--check-and-repair", state_dir=state_dir, **env)
    topology.exec(topology.nat, "nft", "delete", "table", "inet", "nat_zero")
    repaired = topology.bootstrap("--check-and-repair", state_dir=state_dir, **env)
    assert "guard: repaired" in repaired.stderr
    # Within the same minute: repaired, reported, but no second PutMetricData.
    actions = [action_of(r) for r in received(stand_in, 4)]
    assert actions == ["CreateTags", "CreateTags", "PutMetricData", "CreateTags"]

    for repairs in ("1", "0"):
        (state_dir / "metrics-minute").write_text("0\n")  # as if the last send was minutes ago
        topology.bootstrap("--check-and-repair", state_dir=state_dir, **env)
        heartbeat, put = received(stand_in, 2)
        assert (action_of(heartbeat), action_of(put)) == ("CreateTags", "PutMetricData")
        assert metric_values(put)["GuardRepairs"] == repairs


def test_without_nat_metrics_the_guard_sends_none(topology, state_dir, stand_in):
    topology.bootstrap(state_dir=state_dir, **reporting(NAT_MONITORING_ENDPOINT=ENDPOINT))
    topology.bootstrap("--check-and-repair", state_dir=state_dir, **reporting(NAT_MONITORING_ENDPOINT=ENDPOINT))
    assert not (state_dir / "metrics-minute").exists()
    assert [action_of(r) for r in received(stand_in, 2)] == ["CreateTags", "CreateTags"]
