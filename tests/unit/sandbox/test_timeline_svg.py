"""The demo's timeline picture is an SVG document with one lane per AZ and
kind (workloads, NAT, route, Elastic IP) and one cell per step, as the rows
say, and a mark over a step where a human broke something."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from playbooks.sandbox import timeline_svg

SVG = "{http://www.w3.org/2000/svg}"


def zone(az, nat="none", eip="", workloads=0):
    return {"az": az, "nat": nat, "nat_ids": [], "eip": eip, "workloads": workloads}


ROWS = [
    {"step": "Deploy", "ok": True, "zones": [zone("us-east-1a"), zone("us-east-1b")]},
    {
        "step": "Workload up in us-east-1a",
        "ok": True,
        "zones": [zone("us-east-1a", "running", "203.0.113.7", 1), zone("us-east-1b")],
    },
    {"step": "Workload <stopped>", "ok": False, "zones": [zone("us-east-1a", "stopped"), zone("us-east-1b")]},
]


def cells(root) -> list[str]:
    """Each cell's tooltip: "<step>: <what the cell shows>"."""
    return [r.find(f"{SVG}title").text for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]


def test_it_is_an_svg_document_with_a_cell_per_step_and_lane():
    root = ET.fromstring(timeline_svg.render(ROWS))
    assert root.tag == f"{SVG}svg"
    # 2 AZs x 4 lanes x 3 steps.
    assert len(cells(root)) == 24
    labels = [t.text for t in root.iter(f"{SVG}text")]
    for az in ("us-east-1a", "us-east-1b"):
        for lane in timeline_svg.LANES:
            assert f"{az} {lane}" in labels


def test_the_cells_say_what_each_step_left_in_each_az():
    tooltips = cells(ET.fromstring(timeline_svg.render(ROWS)))
    assert "Workload up in us-east-1a: running" in tooltips
    assert "Workload up in us-east-1a: EIP" in tooltips
    assert "Workload up in us-east-1a: 1" in tooltips
    assert "Workload <stopped>: stopped" in tooltips


def test_a_failed_step_is_marked_and_text_is_escaped():
    svg = timeline_svg.render(ROWS)
    assert "step 3: Workload &lt;stopped&gt;  (FAILED)" in svg
    ET.fromstring(svg)


def test_the_nat_colour_follows_its_state():
    running = timeline_svg.cell(ROWS[1], "us-east-1a", "NAT")
    stopped = timeline_svg.cell(ROWS[2], "us-east-1a", "NAT")
    assert running == (timeline_svg.NAT_COLOURS["running"], "running")
    assert stopped == (timeline_svg.NAT_COLOURS["stopped"], "stopped")


def routed(az, private_eni, route_target):
    return dict(zone(az, "running", "203.0.113.7", 1), private_eni=private_eni, route_target=route_target)


FAILOVER = {
    "step": "Crash the NAT in us-east-1a",
    "ok": True,
    "fault": "NAT in us-east-1a crashed by hand",
    "zones": [routed("us-east-1a", "eni-a", "eni-b"), routed("us-east-1b", "eni-b", "eni-b")],
}


def test_the_route_lane_says_whose_nat_each_az_goes_through():
    assert timeline_svg.cell(FAILOVER, "us-east-1a", "route") == (timeline_svg.FAILOVER_COLOUR, "via 1b")
    assert timeline_svg.cell(FAILOVER, "us-east-1b", "route") == (timeline_svg.OWN_ROUTE_COLOUR, "own")
    # Before the deployment exists there is no route to show.
    assert timeline_svg.cell(ROWS[0], "us-east-1a", "route") == (timeline_svg.EMPTY_COLOUR, "")


def test_a_fault_is_marked_over_its_step_and_named_in_the_legend():
    svg = timeline_svg.render([*ROWS, FAILOVER])
    root = ET.fromstring(svg)
    marks = [p.find(f"{SVG}title").text for p in root.iter(f"{SVG}polygon")]
    assert marks == ["fault: NAT in us-east-1a crashed by hand"]
    assert "step 4: Crash the NAT in us-east-1a  [fault: NAT in us-east-1a crashed by hand]" in svg
    assert "Crash the NAT in us-east-1a: via 1b" in cells(root)
