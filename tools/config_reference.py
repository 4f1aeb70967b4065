#!/usr/bin/env python3
"""Render docs/configuration.md's variable table from the role's argument spec.

    python tools/config_reference.py          # rewrite docs/configuration.md
    python tools/config_reference.py --check  # exit 1 if it has drifted

The table lives between two marker lines; the prose around it is hand-written.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "roles" / "nat_zero" / "meta" / "argument_specs.yml"
DOC = REPO / "docs" / "configuration.md"
BEGIN = "<!-- BEGIN GENERATED from roles/nat_zero/meta/argument_specs.yml by tools/config_reference.py -->"
END = "<!-- END GENERATED -->"


def _plain(text) -> str:
    """ansible-doc markup (C(), O(), V(), I()) as Markdown, one line."""
    if isinstance(text, list):
        text = " ".join(text)
    text = re.sub(r"\b[COVI]\(([^)]*)\)", r"`\1`", str(text))
    return " ".join(text.split()).replace("|", "\\|")


def _default(option: dict) -> str:
    if option.get("required"):
        return "**required**"
    if "default" not in option:
        return ""
    value = option["default"]
    if value == "" or value is None:
        return '`""`'
    return f"`{yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}`"


def render_table(spec_path: Path = SPEC) -> str:
    options = yaml.safe_load(spec_path.read_text())["argument_specs"]["main"]["options"]
    lines = ["| variable | type | default | description |", "|---|---|---|---|"]
    for name, option in options.items():
        kind = option.get("type", "str")
        if option.get("elements"):
            kind += f" of {option['elements']}"
        description = _plain(option.get("description", ""))
        if option.get("choices"):
            description += " Choices: " + ", ".join(f"`{c}`" for c in option["choices"]) + "."
        lines.append(f"| `{name}` | {kind} | {_default(option)} | {description} |")
    return "\n".join(lines)


def rendered_document(current: str) -> str:
    before, _, rest = current.partition(BEGIN)
    _, _, after = rest.partition(END)
    return f"{before}{BEGIN}\n{render_table()}\n{END}{after}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/configuration.md is out of date")
    args = parser.parse_args()
    current = DOC.read_text()
    if BEGIN not in current or END not in current:
        print(f"{DOC}: marker lines missing", file=sys.stderr)
        return 1
    wanted = rendered_document(current)
    if args.check:
        if wanted != current:
            print(f"{DOC} is out of date: run python tools/config_reference.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
