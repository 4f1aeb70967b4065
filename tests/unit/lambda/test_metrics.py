"""The reconciler's CloudWatch Embedded Metric Format lines, checked against the
EMF specification's required fields (the structure CloudWatch Logs extracts
metrics from; a line that breaks it is kept as a log line and yields nothing)."""

import json

import jsonschema
import pytest

from nat_zero.metrics import documents
from tests.support.world import SWEEP_EVENT, state_change_event

AZ_A = "us-east-1a"

# The EMF specification's JSON schema, as published in the CloudWatch user
# guide ("Specification: Embedded metric format"): _aws with an integer
# Timestamp and CloudWatchMetrics; each directive a Namespace, at most 30
# dimensions per set, at most 100 metrics each with a Name and an optional
# Unit of CloudWatch's units and a StorageResolution of 1 or 60.
UNITS = [
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
]  # fmt: skip
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                        "Unit": {"enum": UNITS},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def emf_violations(document: dict) -> list[str]:
    """What keeps a document from being EMF: the schema, and the spec's rule that
    every dimension (a string) and every metric (a number, or up to 100) is a
    top-level member."""
    problems = [error.message for error in jsonschema.Draft7Validator(EMF_SCHEMA).iter_errors(document)]
    if problems:
        return problems
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for name in {n for dimension_set in directive["Dimensions"] for n in dimension_set}:
            if not isinstance(document.get(name), str):
                problems.append(f"dimension {name!r} is not a top-level string member")
        for metric in directive["Metrics"]:
            value = document.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            if (
                not values
                or len(values) > 100
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            ):
                problems.append(f"metric {metric['Name']!r} is not a top-level number member")
    return problems


def emf_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"_aws"' in line]


@pytest.fixture
def with_metrics(world, monkeypatch):
    monkeypatch.setenv("NAT_ZERO_METRICS", "true")
    return world


def test_a_workload_event_writes_valid_emf_for_its_az_and_the_invocation(with_metrics, reconcile, capsys):
    world = with_metrics
    workload = world.launch_workload(AZ_A)
    capsys.readouterr()

    reconcile(state_change_event(workload, "pending"))

    zone, invocation = emf_lines(capsys.readouterr().out)
    for document in (zone, invocation):
        assert emf_violations(document) == []
        assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "NatZero"
    assert zone["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["AZ", "Deployment"]]
    assert (zone["Deployment"], zone["AZ"]) == (world.name, AZ_A)
    assert zone["Workloads"] == 1 and zone["Actions.create_nat"] == 1 and zone["Actions"] >= 1
    assert invocation["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Deployment"]]
    assert invocation["Errors"] == 0 and invocation["Duration"] > 0


def test_a_sweep_reports_nat_running_per_az(with_metrics, reconcile, capsys):
    world = with_metrics
    reconcile(state_change_event(world.launch_workload(AZ_A), "pending"))
    capsys.readouterr()

    reconcile(SWEEP_EVENT)

    *zones, invocation = emf_lines(capsys.readouterr().out)
    running = {z["AZ"]: z["NatRunning"] for z in zones}
    assert running == {AZ_A: 1, "us-east-1b": 0}
    assert all(emf_violations(d) == [] for d in [*zones, invocation])


def test_without_nat_zero_metrics_no_emf_line_is_written(world, reconcile, capsys):
    reconcile(state_change_event(world.launch_workload(AZ_A), "pending"))
    assert emf_lines(capsys.readouterr().out) == []


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [
        (lambda d: d.pop("AZ"), "dimension 'AZ' is not a top-level string member"),
        (lambda d: d.update(Workloads="3"), "metric 'Workloads' is not a top-level number member"),
        (lambda d: d["_aws"].pop("Timestamp"), "'Timestamp' is a required property"),
        (lambda d: d["_aws"].update(Timestamp=1.5), "1.5 is not of type 'integer'"),
    ],
)
def test_the_emf_check_rejects_what_the_spec_rejects(breakage, problem):
    zone = {"az": AZ_A, "observed": {"workloads": 3, "nats": []}, "actions": []}
    document = documents("prod", {"zones": [zone], "duration_ms": 5.0}, 1_700_000_000_000)[0]
    assert emf_violations(document) == []
    breakage(document)
    assert problem in emf_violations(document)
