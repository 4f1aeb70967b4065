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

    python tools/trim_service_model.py          # regenerate
    python tools/trim_service_model.py --check  # exit 1 if the committed copy differs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import botocore.session

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lambda_src"))

from nat_zero.aws import EC2_OPERATIONS, EC2_PAGINATORS, MODEL_DIR  # noqa: E402

_DROP = {"documentation", "documentationUrl", "deprecatedMessage"}


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    drifted = []
    for relative, text in trimmed_models().items():
        path = Path(MODEL_DIR) / relative
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
