#!/usr/bin/env python3
"""Generate the reconciler's botocore data directory from the installed botocore.

botocore spends most of a cold start decoding EC2's full service model (some
5 MB of JSON for 700+ operations), the 1.2 MB endpoints.json, and listing the
data directories of 400 services. The reconciler calls ten EC2 operations.
This writes lambda_src/nat_zero/botocore_data/, the only data directory the
reconciler's botocore loader searches:

- ec2 service-2 and paginators-1 with only those operations and the shapes
  they reach (documentation stripped);
- endpoints.json with every partition but only the ec2 service;
- EC2's endpoint rule set, partitions.json and sdk-default-configuration.json
  as they are.

It is still botocore that builds, signs, sends and parses every request; only
the data it reads is smaller.

It also writes tests/unit/lambda/ec2_endpoints.json: the EC2 endpoint a full
client of this botocore resolves in every region of every partition, plain,
FIPS and dual-stack. The reconciler's tests hold its client to that table on
the older botocore of Lambda's runtimes too (make test-lambda-botocore).

    python tools/trim_service_model.py          # regenerate
    python tools/trim_service_model.py --check  # exit 1 if the committed copy differs
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import BotoCoreError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lambda_src"))

from nat_zero.aws import EC2_OPERATIONS, EC2_PAGINATORS, MODEL_DIR  # noqa: E402

_DROP = {"documentation", "documentationUrl", "deprecatedMessage"}
ENDPOINT_TABLE = REPO / "tests" / "unit" / "lambda" / "ec2_endpoints.json"
# The endpoint variants, as the environment variables a Lambda function sets.
VARIANTS = {
    "plain": {},
    "fips": {"AWS_USE_FIPS_ENDPOINT": "true"},
    "dualstack": {"AWS_USE_DUALSTACK_ENDPOINT": "true"},
    "fips+dualstack": {"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
}


def _reachable(shapes: dict, roots) -> set:
    seen, stack = set(), [r for r in roots if r]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = shapes[name]
        refs = [m["shape"] for m in shape.get("members", {}).values()]
        refs += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
        stack.extend(refs)
    return seen


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _DROP}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _dump(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"


def _endpoints(loader) -> dict:
    endpoints = loader.load_data("endpoints")
    partitions = []
    for partition in endpoints["partitions"]:
        trimmed = dict(partition)
        trimmed["services"] = {k: v for k, v in partition.get("services", {}).items() if k == "ec2"}
        partitions.append(trimmed)
    return dict(endpoints, partitions=partitions)


def trimmed_models() -> dict:
    """{relative path: JSON text} of the data directory's files."""
    loader = botocore.session.get_session().get_component("data_loader")
    api_version = loader.determine_latest_version("ec2", "service-2")
    model = loader.load_service_model("ec2", "service-2", api_version)
    operations = {name: model["operations"][name] for name in EC2_OPERATIONS}
    roots = []
    for operation in operations.values():
        roots.append(operation.get("input", {}).get("shape"))
        roots.append(operation.get("output", {}).get("shape"))
        roots.extend(error["shape"] for error in operation.get("errors", ()))
    shapes = {name: model["shapes"][name] for name in sorted(_reachable(model["shapes"], roots))}
    service = _strip(
        {
            "version": model.get("version", "2.0"),
            "metadata": model["metadata"],
            "operations": operations,
            "shapes": shapes,
        }
    )
    paginators = loader.load_service_model("ec2", "paginators-1", api_version)
    pages = {"pagination": {name: paginators["pagination"][name] for name in EC2_PAGINATORS}}
    return {
        f"ec2/{api_version}/service-2.json": _dump(service),
        f"ec2/{api_version}/paginators-1.json": _dump(pages),
        f"ec2/{api_version}/endpoint-rule-set-1.json": _dump(
            loader.load_service_model("ec2", "endpoint-rule-set-1", api_version)
        ),
        "endpoints.json": _dump(_endpoints(loader)),
        "partitions.json": _dump(loader.load_data("partitions")),
        "sdk-default-configuration.json": _dump(loader.load_data("sdk-default-configuration")),
    }


class _EmptyAddresses:
    def stream(self, **_):
        yield b"<DescribeAddressesResponse><addressesSet/></DescribeAddressesResponse>"


def resolved_endpoint(make_client) -> str:
    """The URL a new client sends DescribeAddresses to (nothing is sent), or
    botocore's refusal, at client creation or at the call, of a variant the
    region lacks."""
    sent = []

    def capture(request, **_):
        sent.append(request.url)
        return AWSResponse(request.url, 200, {}, _EmptyAddresses())

    try:
        client = make_client()
        client.meta.events.register_first("before-send.ec2", capture)
        client.describe_addresses()
    except BotoCoreError as refused:
        return f"refused: {type(refused).__name__}: {refused}"
    return sent[0]


def regions(session) -> dict:
    """{partition: every region botocore knows in it}: the rule set's list and the legacy endpoints.json's."""
    loader = session.get_component("data_loader")
    legacy = loader.load_data("endpoints")["partitions"]
    known = {}
    for partition in loader.load_data("partitions")["partitions"]:
        names = set(partition["regions"])
        names |= {r for p in legacy if p["partition"] == partition["id"] for r in p.get("regions", {})}
        known[partition["id"]] = sorted(names)
    return known


def endpoint_table() -> dict:
    """{partition: {variant: {region: endpoint}}} of a full client of the installed botocore."""
    session = botocore.session.get_session()
    table = {}
    for partition, names in regions(session).items():
        table[partition] = {}
        for variant, settings in VARIANTS.items():
            config = Config(
                use_fips_endpoint="AWS_USE_FIPS_ENDPOINT" in settings,
                use_dualstack_endpoint="AWS_USE_DUALSTACK_ENDPOINT" in settings,
            )
            table[partition][variant] = {
                region: resolved_endpoint(
                    partial(
                        session.create_client,
                        "ec2",
                        region_name=region,
                        config=config,
                        aws_access_key_id="x",
                        aws_secret_access_key="x",
                    )
                )
                for region in names
            }
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    drifted = []
    files = {Path(MODEL_DIR) / relative: text for relative, text in trimmed_models().items()}
    files[ENDPOINT_TABLE] = json.dumps(endpoint_table(), indent=1, sort_keys=True) + "\n"
    for path, text in files.items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                drifted.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if drifted:
        print("out of date (run python tools/trim_service_model.py): " + ", ".join(drifted), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
