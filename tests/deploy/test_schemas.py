"""The npm packages the manifests are checked with are pinned as the Python ones are: exact
versions in package.json, every package of the lock with its integrity hash (npm ci checks
it), and the lock agreeing with package.json."""

from __future__ import annotations

import json
import re

from tests.deploy.manifests import SCHEMAS_DIR


def test_the_schema_packages_are_pinned_and_locked() -> None:
    wanted = json.loads((SCHEMAS_DIR / "package.json").read_text())["devDependencies"]
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in wanted.values()), wanted
    lock = json.loads((SCHEMAS_DIR / "package-lock.json").read_text())["packages"]
    assert lock[""]["devDependencies"] == wanted
    for name, version in wanted.items():
        assert lock[f"node_modules/{name}"]["version"] == version
    unhashed = [n for n, p in lock.items() if n and not p.get("integrity")]
    assert not unhashed, unhashed
