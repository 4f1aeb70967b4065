"""`make demo-ecs` end to end: the ECS Fargate Spot handler's flow on the emulator."""

import json

import pytest

from tests.support.runs import REPO, run


@pytest.mark.integration
def test_demo_ecs_forces_one_deployment_for_a_wave_and_leaves_nothing(collection_link):
    completed = run(["make", "demo-ecs"], REPO, env=None, timeout=900).assert_ok()

    report = json.loads((REPO / "build" / "sandbox" / "ecs_spot_report.json").read_text())
    assert report["ok"] is True and all(report["checks"].values())
    outcomes = [row["outcome"] for row in report["events"]]
    assert outcomes.count("deployed") == 1 and outcomes.count("skipped") == 11
    (forced,) = [row["deployment_id"] for row in report["events"] if row["outcome"] == "deployed"]
    (old,) = report["deployments_before"]
    assert report["deployments_after"] == [{"id": forced, "status": "PRIMARY"}, {"id": old["id"], "status": "ACTIVE"}]
    assert report["left_after_teardown"] == []
    assert f"PRIMARY  {forced}" in completed.output

    log = [json.loads(line) for line in (REPO / "build" / "sandbox" / "ecs_spot_handler.log").read_text().splitlines()]
    assert [line["deployment_id"] for line in log if line["message"] == "forced a new deployment"] == [forced]
