"""Compose's targets writer: every address of the service's DNS name, and a replica that
vanished kept as a (down) target until it is back."""

from __future__ import annotations

import json
from pathlib import Path

from loadtest.stack import dns_targets
from loadtest.stack.dns_targets import Targets


def test_dns_targets_writes_every_address(tmp_path: Path) -> None:
    out = tmp_path / "ollama-rag.json"
    assert dns_targets.main(["--name", "localhost", "--port", "8000", "--out", str(out),
                             "--once"]) == 0
    targets = json.loads(out.read_text())[0]["targets"]
    assert "127.0.0.1:8000" in targets
    assert not dns_targets.write_targets(out, targets)  # unchanged: not rewritten
    assert dns_targets.resolve("no-such-host.invalid", 8000) == []
    dns_targets.write_targets(out, [])
    assert json.loads(out.read_text()) == []


def test_a_vanished_replica_stays_a_target_until_it_is_back() -> None:
    """A replica that died an hour ago is still a (down) target: its ticket, and the page
    when it was the last one, hold until it is back, not for a grace period."""
    targets = Targets()
    assert targets.update(["10.0.0.2:8000", "10.0.0.3:8000"], now=0) == [
        "10.0.0.2:8000", "10.0.0.3:8000"]
    assert targets.update(["10.0.0.2:8000"], now=10) == ["10.0.0.2:8000", "10.0.0.3:8000"]
    assert targets.update(["10.0.0.2:8000"], now=3600) == ["10.0.0.2:8000", "10.0.0.3:8000"]
    assert targets.update(["10.0.0.2:8000"], now=86_400) == ["10.0.0.2:8000", "10.0.0.3:8000"]
    assert targets.update(["10.0.0.2:8000", "10.0.0.3:8000"], now=86_410) == [
        "10.0.0.2:8000", "10.0.0.3:8000"]



def test_a_grace_period_when_one_is_asked_for() -> None:
    targets = Targets(grace=600)
    targets.update(["a:1", "b:1"], now=0)
    assert targets.update(["a:1"], now=10) == ["a:1", "b:1"]  # b:1 vanished
    assert targets.update(["a:1"], now=609) == ["a:1", "b:1"]
    assert targets.update(["a:1"], now=611) == ["a:1"]



def test_a_replica_back_under_a_new_address_replaces_the_vanished_one() -> None:
    targets = Targets(grace=600)
    targets.update(["a:1", "b:1", "c:1"], now=0)
    targets.update(["a:1", "b:1"], now=5)  # c stopped
    assert targets.update(["a:1", "b:1", "d:1"], now=20) == ["a:1", "b:1", "d:1"]
    assert targets.update(["a:1", "b:1", "d:1", "e:1"], now=30) == [
        "a:1", "b:1", "d:1", "e:1"]  # scaled up: nothing to replace
    assert targets.update(["a:1", "b:1", "d:1", "e:1"], now=40) == [
        "a:1", "b:1", "d:1", "e:1"]
