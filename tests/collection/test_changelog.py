"""changelogs/: fragments that lint clean, and a CHANGELOG.rst generated from them."""

from __future__ import annotations

import shutil

import yaml

from tests.support.runs import BIN, REPO, run


def test_changelog_fragments_and_changelog_yaml_lint_clean():
    result = run([str(BIN / "antsibull-changelog"), "lint"], cwd=REPO, env=None)
    assert result.returncode == 0 and not result.output.strip(), result.output


def test_changelog_rst_is_what_antsibull_changelog_generates(tmp_path):
    for name in ("galaxy.yml", "CHANGELOG.rst"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "changelogs", tmp_path / "changelogs", ignore=shutil.ignore_patterns(".plugin-cache.yaml"))

    run([str(BIN / "antsibull-changelog"), "generate"], cwd=tmp_path, env=None).assert_ok()

    assert (tmp_path / "CHANGELOG.rst").read_text() == (REPO / "CHANGELOG.rst").read_text(), (
        "CHANGELOG.rst is stale: run `antsibull-changelog generate`"
    )


def test_the_version_galaxy_yml_builds_has_release_notes():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    releases = yaml.safe_load((REPO / "changelogs" / "changelog.yaml").read_text())["releases"]
    assert galaxy["version"] in releases
