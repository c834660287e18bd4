"""The documentation holds together: every relative link in the README and docs/ reaches a
file that exists and, with an anchor, a heading of that file; the README starts with running
the service and stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import ROOT

DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\]\(([^)\s]+)\)")
README_MAX_LINES = 250
QUICK_START_BY_LINE = 40


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_relative_links_reach_a_file_and_a_heading(document: Path) -> None:
    broken = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        file_part, _, anchor = target.partition("#")
        path = (document.parent / file_part).resolve() if file_part else document
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert not broken, f"{document.name}: {broken}"


def test_the_slug_is_githubs() -> None:
    assert slug("Overload, shutdown and callers who hang up") == (
        "overload-shutdown-and-callers-who-hang-up")
    assert slug("On a Docker engine: `make compose-verify`") == (
        "on-a-docker-engine-make-compose-verify")


def test_the_readme_starts_with_running_it_and_stays_short() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < README_MAX_LINES, len(lines)
    quick_start = next(i for i, line in enumerate(lines, 1) if line.startswith("## Quick start"))
    assert quick_start < QUICK_START_BY_LINE
    assert any("python -m app" in line for line in lines[quick_start:QUICK_START_BY_LINE + 10])
