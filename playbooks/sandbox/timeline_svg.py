"""The demo's timeline as a picture: per AZ, the workloads, the NAT's state,
whose NAT its route goes to and its Elastic IP after each step; a red mark
over a step where a human broke something. Plain SVG from the standard library, so
no browser or plotting package is needed to make it, and any browser shows it."""

from __future__ import annotations

from xml.sax.saxutils import escape

STEP_WIDTH = 64
LANE_HEIGHT = 26
LABEL_WIDTH = 150
TOP = 40
# Width of one character of the legend, about: the widest line sets the picture's width.
CHAR_WIDTH = 7
FONT = 'font-family="sans-serif" font-size="12"'
# Fill of each NAT state (several NATs in one AZ: the first state shown).
NAT_COLOURS = {
    "none": "#e0e0e0",
    "pending": "#9ccc65",
    "running": "#2e7d32",
    "stopping": "#ffb74d",
    "stopped": "#90a4ae",
    "shutting-down": "#e57373",
}
WORKLOAD_COLOUR, EIP_COLOUR, EMPTY_COLOUR = "#1565c0", "#6a1b9a", "#f5f5f5"
# The route through the AZ's own NAT, or moved to another AZ's (failover).
OWN_ROUTE_COLOUR, FAILOVER_COLOUR, FAULT_COLOUR = "#2e7d32", "#ef6c00", "#c62828"
LANES = ("workloads", "NAT", "route", "Elastic IP")


def zones_of(rows: list[dict]) -> list[str]:
    """The AZs in the order the steps first name them."""
    return list(dict.fromkeys(zone["az"] for row in rows for zone in row["zones"]))


def cell(row: dict, az: str, lane: str) -> tuple[str, str]:
    """(fill, text) of one lane of one AZ after one step."""
    zone = next((z for z in row["zones"] if z["az"] == az), None)
    if zone is None:
        return EMPTY_COLOUR, ""
    if lane == "workloads":
        count = zone.get("workloads", 0)
        return (WORKLOAD_COLOUR if count else EMPTY_COLOUR), str(count)
    if lane == "NAT":
        state = zone["nat"].split(",")[0]
        return NAT_COLOURS.get(state, EMPTY_COLOUR), state
    if lane == "route":
        return route_cell(row, zone)
    return (EIP_COLOUR, "EIP") if zone["eip"] else (EMPTY_COLOUR, "-")


def route_cell(row: dict, zone: dict) -> tuple[str, str]:
    """ "own" when the AZ's default route targets its own private ENI, "via <AZ
    suffix>" when another AZ's; empty before the deployment exists."""
    target = zone.get("route_target")
    if not target:
        return EMPTY_COLOUR, ""
    if target == zone.get("private_eni"):
        return OWN_ROUTE_COLOUR, "own"
    owner = next((z["az"] for z in row["zones"] if z.get("private_eni") == target), None)
    return FAILOVER_COLOUR, f"via {owner.split('-')[-1]}" if owner else "other"


def fault_mark(index: int, fault: str) -> str:
    """A red triangle over the step's column; its tooltip says what was broken."""
    x = LABEL_WIDTH + index * STEP_WIDTH + STEP_WIDTH - 14
    points = f"{x},{TOP - 16} {x + 10},{TOP - 16} {x + 5},{TOP - 6}"
    return f'<polygon points="{points}" fill="{FAULT_COLOUR}"><title>fault: {escape(fault)}</title></polygon>'


def text(x: float, y: float, content: str, extra: str = "") -> str:
    return f'<text x="{x}" y="{y}" {FONT} {extra}>{escape(content)}</text>'


def lane_elements(rows: list[dict], az: str, lane: str, y: int) -> list[str]:
    elements = [text(8, y + 17, f"{az} {lane}")]
    for index, row in enumerate(rows):
        fill, content = cell(row, az, lane)
        x = LABEL_WIDTH + index * STEP_WIDTH
        colour = "white" if fill not in (EMPTY_COLOUR, NAT_COLOURS["none"]) else "black"
        elements.append(
            f'<rect x="{x}" y="{y}" width="{STEP_WIDTH - 2}" height="{LANE_HEIGHT - 4}" fill="{fill}">'
            f"<title>{escape(row['step'])}: {escape(content)}</title></rect>"
        )
        elements.append(text(x + (STEP_WIDTH - 2) / 2, y + 15, content, f'fill="{colour}" text-anchor="middle"'))
    return elements


def legend_line(index: int, row: dict) -> str:
    mark = (f"  [fault: {row['fault']}]" if row.get("fault") else "") + ("" if row["ok"] else "  (FAILED)")
    return f"step {index + 1}: {row['step']}{mark}"


def render(rows: list[dict]) -> str:
    """The SVG document of a timeline's rows (demo.Timeline.rows)."""
    zones = zones_of(rows)
    lanes = [(az, lane) for az in zones for lane in LANES]
    legend_top = TOP + len(lanes) * LANE_HEIGHT + 24
    legend = [legend_line(index, row) for index, row in enumerate(rows)]
    width = max(LABEL_WIDTH + max(len(rows), 1) * STEP_WIDTH, max(map(len, legend), default=0) * CHAR_WIDTH) + 16
    height = legend_top + len(rows) * 16 + 16
    elements = [text(8, 20, "natzero.aws demo: per AZ after each step", 'font-weight="bold"')]
    for index, row in enumerate(rows):
        elements.append(text(LABEL_WIDTH + index * STEP_WIDTH + 4, TOP - 6, f"step {index + 1}"))
        if row.get("fault"):
            elements.append(fault_mark(index, row["fault"]))
    for number, (az, lane) in enumerate(lanes):
        elements += lane_elements(rows, az, lane, TOP + number * LANE_HEIGHT)
    for index, line in enumerate(legend):
        elements.append(text(8, legend_top + index * 16, line))
    body = "\n  ".join(elements)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">\n  <rect width="100%" height="100%" fill="white"/>\n  {body}\n</svg>\n'
    )
