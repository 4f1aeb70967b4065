"""Fixtures for the NAT data plane: a fresh namespace topology per test, always removed."""

from __future__ import annotations

import pytest

from tests.dataplane.netns_topology import Topology, namespaces_unavailable, remove_orphaned_namespaces

_UNAVAILABLE: list[str | None] = []


def _why_unavailable() -> str | None:
    if not _UNAVAILABLE:
        _UNAVAILABLE.append(namespaces_unavailable())
        if _UNAVAILABLE[0] is None:
            remove_orphaned_namespaces()
    return _UNAVAILABLE[0]


@pytest.fixture
def topology():
    reason = _why_unavailable()
    if reason:
        pytest.skip(f"network namespaces impossible here: {reason}")
    built = Topology()
    try:
        yield built.create()
    finally:
        built.destroy()


@pytest.fixture
def state_dir(tmp_path):
    return tmp_path / "nat-zero-state"
