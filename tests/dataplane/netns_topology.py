"""Network namespaces for the NAT data plane: workload -> NAT -> internet.

    workload (wl0)  ----  (priv0) NAT (pub0)  ----  (inet0) internet
    10.77.1.10/24         10.77.1.1/24 203.0.113.1/24   203.0.113.80/24
    10.77.9.10/24         10.77.9.1/24

10.77.1.0/24 is the private subnet the NAT serves; 10.77.9.0/24 is a workload
address outside it. The internet namespace routes 10.77.0.0/16 back to the NAT
(like the VPC router would), so only the NAT's ruleset stands between the
internet and the workload. Traffic never leaves these namespaces: every
interface is one end of a veth pair whose other end is in another of them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = REPO_ROOT / "roles" / "nat_zero" / "files" / "nat-bootstrap.sh"
# The lines around the bootstrap's nat_zero_nat_metrics part.
NAT_METRICS_BEGIN = "# >>> nat_zero_nat_metrics\n"
NAT_METRICS_END = "# <<< nat_zero_nat_metrics\n"
PREFIX = "nzdp"

PRIVATE_CIDR = "10.77.1.0/24"
WORKLOAD_IP = "10.77.1.10"
OUTSIDE_WORKLOAD_IP = "10.77.9.10"
NAT_PRIVATE_IP = "10.77.1.1"
NAT_PUBLIC_IP = "203.0.113.1"
SERVER_IP = "203.0.113.80"
PUBLIC_IFACE = "pub0"
PRIVATE_IFACE = "priv0"


def without_comment_lines(script: str, nat_metrics: bool = False) -> str:
    """The bootstrap as the user data installs it (nat_user_data.sh.j2 drops
    comment and blank lines and leading blanks to fit EC2's 16 KiB, and the
    nat_zero_nat_metrics part unless the NAT's metrics are on)."""
    head, rest = script.split(NAT_METRICS_BEGIN)
    metrics, tail = rest.split(NAT_METRICS_END)
    kept = [
        line.strip()
        for line in (head + (metrics if nat_metrics else "") + tail).strip().splitlines()
        if line.strip() and (line.startswith("#!") or not line.lstrip().startswith("#"))
    ]
    return "\n".join(kept) + "\n"


@cache
def installed_bootstrap() -> Path:
    """The bootstrap exactly as a NAT with nat_zero_nat_metrics runs it: what
    the tests run, so the user data's stripping is exercised too."""
    directory = Path(tempfile.mkdtemp(prefix="nat-zero-bootstrap-"))
    script = directory / "nat-bootstrap.sh"
    script.write_text(without_comment_lines(BOOTSTRAP.read_text(), nat_metrics=True))
    return script


def namespaces_unavailable() -> str | None:
    """Why this machine cannot build the topology, or None if it can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"'{tool}' is not installed (apt-get install iproute2 nftables)"
    probe = f"{PREFIX}probe{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def remove_orphaned_namespaces() -> None:
    """Namespaces left by a test run that was killed outright (its pid is in the name)."""
    listed = run("ip", "netns", "list", check=False).stdout.split()
    for name in listed:
        owner = re.fullmatch(rf"{PREFIX}(\d+)x[0-9a-f]{{6}}-\w+", name)
        if owner and not Path(f"/proc/{owner.group(1)}").exists():
            run("ip", "netns", "del", name, check=False)


def run(*args: str, check: bool = True, timeout: float = 30, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=timeout, **kwargs)


@dataclass
class Topology:
    """Four namespaces named <prefix>-{wl,nat,inet}; removed by destroy()."""

    prefix: str = field(default_factory=lambda: f"{PREFIX}{os.getpid()}x{uuid.uuid4().hex[:6]}")
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def workload(self) -> str:
        return f"{self.prefix}-wl"

    @property
    def nat(self) -> str:
        return f"{self.prefix}-nat"

    @property
    def internet(self) -> str:
        return f"{self.prefix}-inet"

    @property
    def names(self) -> list[str]:
        return [self.workload, self.nat, self.internet]

    def create(self) -> Topology:
        for ns in self.names:
            run("ip", "netns", "add", ns)
            self.ip(ns, "link", "set", "lo", "up")
        run(
            "ip",
            "link",
            "add",
            "wl0",
            "netns",
            self.workload,
            "type",
            "veth",
            "peer",
            "name",
            PRIVATE_IFACE,
            "netns",
            self.nat,
        )
        run(
            "ip",
            "link",
            "add",
            PUBLIC_IFACE,
            "netns",
            self.nat,
            "type",
            "veth",
            "peer",
            "name",
            "inet0",
            "netns",
            self.internet,
        )
        self.address(self.workload, "wl0", f"{WORKLOAD_IP}/24", f"{OUTSIDE_WORKLOAD_IP}/24")
        self.address(self.nat, PRIVATE_IFACE, f"{NAT_PRIVATE_IP}/24", "10.77.9.1/24")
        self.address(self.nat, PUBLIC_IFACE, f"{NAT_PUBLIC_IP}/24")
        self.address(self.internet, "inet0", f"{SERVER_IP}/24")
        self.ip(self.workload, "route", "add", "default", "via", NAT_PRIVATE_IP)
        self.ip(self.nat, "route", "add", "default", "via", SERVER_IP)
        self.ip(self.internet, "route", "add", "10.77.0.0/16", "via", NAT_PUBLIC_IP)
        return self

    def destroy(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=5)
        for ns in self.names:
            run("ip", "netns", "del", ns, check=False)

    def ip(self, ns: str, *args: str) -> subprocess.CompletedProcess:
        return run("ip", "-n", ns, *args)

    def address(self, ns: str, dev: str, *cidrs: str) -> None:
        for cidr in cidrs:
            self.ip(ns, "addr", "add", cidr, "dev", dev)
        self.ip(ns, "link", "set", dev, "up")

    def exec(
        self, ns: str, *args: str, check: bool = True, timeout: float = 30, env: dict | None = None
    ) -> subprocess.CompletedProcess:
        return run("ip", "netns", "exec", ns, *args, check=check, timeout=timeout, env=env)

    def start(self, ns: str, *args: str, env: dict | None = None) -> subprocess.Popen:
        process = subprocess.Popen(
            ["ip", "netns", "exec", ns, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.processes.append(process)
        return process

    def enable_plain_routing(self) -> None:
        """The NAT namespace as a bare router: forwarding on, no ruleset."""
        self.set_sysctl(self.nat, "net.ipv4.ip_forward", "1")

    # Through /proc/sys, so the tests need no procps.
    def sysctl(self, ns: str, key: str) -> list[str]:
        return self.exec(ns, "cat", f"/proc/sys/{key.replace('.', '/')}").stdout.split()

    def set_sysctl(self, ns: str, key: str, value: str) -> None:
        self.exec(ns, "sh", "-c", f'echo "$0" > /proc/sys/{key.replace(".", "/")}', value)

    def bootstrap(
        self, *args: str, state_dir: Path, check: bool = True, timeout: float = 30, **overrides: str
    ) -> subprocess.CompletedProcess:
        """Runs the real bootstrap script inside the NAT namespace, without IMDS."""
        return self.exec(
            self.nat,
            "bash",
            str(installed_bootstrap()),
            *args,
            check=check,
            timeout=timeout,
            env=bootstrap_env(state_dir, overrides),
        )

    def start_bootstrap(self, state_dir: Path, **overrides: str) -> subprocess.Popen:
        return self.start(self.nat, "bash", str(installed_bootstrap()), env=bootstrap_env(state_dir, overrides))

    def ruleset(self) -> str:
        return self.exec(self.nat, "nft", "list", "ruleset").stdout


def bootstrap_env(state_dir: Path, overrides: dict[str, str]) -> dict[str, str]:
    """Interfaces and CIDRs by override; IMDS pointed at a closed local port."""
    return {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "NAT_PUBLIC_IFACE": PUBLIC_IFACE,
        "NAT_PRIVATE_IFACE": PRIVATE_IFACE,
        "NAT_PRIVATE_CIDRS": PRIVATE_CIDR,
        "NAT_STATE_DIR": str(state_dir),
        "NAT_IFACE_WAIT_SECONDS": "2",
        "NAT_IMDS_ENDPOINT": "http://127.0.0.1:9",
        "NAT_REPORT": "0",
        "NAT_SSM_AGENT": "0",
        **overrides,
    }


# A TCP server that answers each connection with the peer address it saw, and
# echoes anything sent after that; the client side connects with a deadline.
PEER_SERVER = r"""
import socket, sys, threading
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((sys.argv[1], int(sys.argv[2])))
listener.listen(128)
print("ready", flush=True)
def serve(conn, peer):
    with conn:
        conn.sendall(peer[0].encode() + b"\n")
        while data := conn.recv(4096):
            conn.sendall(data)
while True:
    conn, peer = listener.accept()
    threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
"""

PEER_CLIENT = r"""
import socket, sys
source, host, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
try:
    conn = socket.create_connection((host, port), timeout=timeout, source_address=(source, 0))
    print(conn.makefile().readline().strip())
except OSError as error:
    print(f"error: {type(error).__name__}")
"""


# IMDSv2 for the NAT's two ENIs (MAC=device number arguments); prints each GET's
# path, so a caller can count the metadata lookups.
FAKE_IMDS = r"""
import http.server, sys
macs = dict(arg.split("=") for arg in sys.argv[2:])
paths = {"/latest/meta-data/network/interfaces/macs/": "".join(f"{m}/\n" for m in macs)}
for mac, number in macs.items():
    base = f"/latest/meta-data/network/interfaces/macs/{mac}/"
    paths[base + "device-number"] = number
    paths[base + "subnet-ipv4-cidr-block"] = "10.77.1.0/24" if number == "1" else "203.0.113.0/24"
class IMDS(http.server.BaseHTTPRequestHandler):
    def answer(self, code, body=""):
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body.encode())
    def do_PUT(self):
        print("PUT", self.path, flush=True)
        self.answer(200, "token-1") if self.path == "/latest/api/token" else self.answer(404)
    def do_GET(self):
        print("GET", self.path, flush=True)
        if self.headers.get("X-aws-ec2-metadata-token") != "token-1":
            return self.answer(401)
        self.answer(200, paths[self.path]) if self.path in paths else self.answer(404)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), IMDS)
print("ready", flush=True)
server.serve_forever()
"""


def start_fake_imds(topology: Topology, port: int) -> subprocess.Popen:
    """The fake IMDS in the NAT namespace, knowing the MACs of its two interfaces."""
    macs = {
        topology.exec(topology.nat, "cat", f"/sys/class/net/{dev}/address").stdout.strip(): number
        for dev, number in ((PUBLIC_IFACE, "0"), (PRIVATE_IFACE, "1"))
    }
    imds = topology.start(
        topology.nat, sys.executable, "-c", FAKE_IMDS, str(port), *(f"{mac}={number}" for mac, number in macs.items())
    )
    wait_until(lambda: imds.stdout.readline().strip() == "ready", timeout=10, what="fake IMDS")
    return imds


def start_peer_server(topology: Topology, ns: str, address: str, port: int) -> subprocess.Popen:
    server = topology.start(ns, sys.executable, "-c", PEER_SERVER, address, str(port))
    wait_until(lambda: server.stdout.readline().strip() == "ready", timeout=10, what=f"server on {address}:{port}")
    return server


def peer_seen_by_server(topology: Topology, ns: str, source: str, host: str, port: int, timeout: float = 1.5) -> str:
    """The address the server saw for a new connection, or 'error: <why>'."""
    done = topology.exec(
        ns, sys.executable, "-c", PEER_CLIENT, source, host, str(port), str(timeout), timeout=timeout + 10
    )
    return done.stdout.strip()


def wait_until(condition, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


# Cross-AZ failover: two AZs' NATs behind one VPC router, whose default route
# is the private route table of AZ a (0.0.0.0/0 -> a NAT's private ENI).
#
#   workload a (wl0 10.77.1.10) -- vpc router -- (priv0) NAT a (pub0 198.51.100.1) -- internet
#                                       \------- (priv0) NAT b (pub0 203.0.113.2)  --/
#
# The router's links to the NATs stand for the VPC fabric that delivers a
# packet to whichever ENI the route table names, in any AZ.
FAILOVER_PRIVATE_CIDRS = ("10.77.1.0/24", "10.77.2.0/24")
NAT_A_PUBLIC_IP = "198.51.100.1"
NAT_B_PUBLIC_IP = "203.0.113.2"
NAT_A_ENI_IP = "10.77.101.2"
NAT_B_ENI_IP = "10.77.102.2"


@dataclass
class FailoverTopology(Topology):
    """Namespaces <prefix>-{wl,vpc,nata,natb,inet}; removed by destroy()."""

    @property
    def router(self) -> str:
        return f"{self.prefix}-vpc"

    @property
    def nat_a(self) -> str:
        return f"{self.prefix}-nata"

    @property
    def nat_b(self) -> str:
        return f"{self.prefix}-natb"

    @property
    def names(self) -> list[str]:
        return [self.workload, self.router, self.nat_a, self.nat_b, self.internet]

    def link(self, ns_a: str, dev_a: str, ns_b: str, dev_b: str) -> None:
        run("ip", "link", "add", dev_a, "netns", ns_a, "type", "veth", "peer", "name", dev_b, "netns", ns_b)

    def create(self) -> FailoverTopology:
        for ns in self.names:
            run("ip", "netns", "add", ns)
            self.ip(ns, "link", "set", "lo", "up")
        self.link(self.workload, "wl0", self.router, "r-wl")
        self.address(self.workload, "wl0", f"{WORKLOAD_IP}/24")
        self.address(self.router, "r-wl", "10.77.1.1/24")
        self.ip(self.workload, "route", "add", "default", "via", "10.77.1.1")
        for nat, eni_ip, router_dev, public_ip, inet_dev in (
            (self.nat_a, NAT_A_ENI_IP, "r-nata", NAT_A_PUBLIC_IP, "inet-a"),
            (self.nat_b, NAT_B_ENI_IP, "r-natb", NAT_B_PUBLIC_IP, "inet-b"),
        ):
            router_ip = eni_ip.rsplit(".", 1)[0] + ".1"
            self.link(nat, PRIVATE_IFACE, self.router, router_dev)
            self.address(nat, PRIVATE_IFACE, f"{eni_ip}/30")
            self.address(self.router, router_dev, f"{router_ip}/30")
            self.link(nat, PUBLIC_IFACE, self.internet, inet_dev)
            self.address(nat, PUBLIC_IFACE, f"{public_ip}/24")
            self.address(self.internet, inet_dev, public_ip.rsplit(".", 1)[0] + ".80/24")
            self.ip(nat, "route", "add", "default", "via", public_ip.rsplit(".", 1)[0] + ".80")
            self.ip(nat, "route", "add", "10.77.0.0/16", "via", router_ip)
        self.set_sysctl(self.router, "net.ipv4.ip_forward", "1")
        self.route_private_subnet_to(NAT_A_ENI_IP)
        return self

    def route_private_subnet_to(self, nat_eni_ip: str) -> None:
        """ReplaceRoute on AZ a's private route table: 0.0.0.0/0 -> that NAT's ENI."""
        self.ip(self.router, "route", "replace", "default", "via", nat_eni_ip)

    def bootstrap_nat(self, ns: str, state_dir: Path, *args: str, **overrides: str) -> subprocess.CompletedProcess:
        env = bootstrap_env(state_dir, {"NAT_PRIVATE_CIDRS": ",".join(FAILOVER_PRIVATE_CIDRS), **overrides})
        return self.exec(ns, "bash", str(installed_bootstrap()), *args, env=env, check=False)
