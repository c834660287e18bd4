"""The locks in requirements/ are what pyproject.toml declares, resolved: every package they
pin, and no other, is needed by a declared requirement; every declared range admits its pin;
every pin has hashes; and what is installed is what they pin. A change to pyproject.toml
that is not followed by `make lock` fails here."""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib import metadata

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests import ROOT

LOCKS = ROOT / "requirements"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?: ; (.+?))? \\$", re.M)
# Each project lock and the extras it resolves.
PROJECT_LOCKS = {"service.txt": (), "loadtest.txt": ("loadtest",), "dev.txt": ("dev", "bench")}


def pins(lock: str, everywhere: bool = False) -> dict[str, str]:
    """Name -> version of the lock's pins that apply on this machine (or on any)."""
    text = (LOCKS / lock).read_text()
    return {canonicalize_name(name): version for name, version, marker in PIN.findall(text)
            if everywhere or not marker or Marker(marker).evaluate()}


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    build = (LOCKS / "build.in").read_text().splitlines()
    texts = [*PROJECT["project"]["dependencies"],
             *(r for extra in extras for r in PROJECT["project"]["optional-dependencies"][extra]),
             *(line for line in build if line.strip() and not line.startswith("#"))]
    return [Requirement(text) for text in texts]


def needed(roots: list[Requirement]) -> set[str]:
    """The names these requirements need here, walked through the installed packages'
    own declared requirements (extras followed)."""
    names: set[str] = set()
    walked: set[tuple[str, str]] = set()
    todo = [(requirement, "") for requirement in roots]
    while todo:
        requirement, parents_extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": parents_extra}):
            continue
        name = canonicalize_name(requirement.name)
        names.add(name)
        for extra in ("", *sorted(requirement.extras)):
            if (name, extra) not in walked:
                walked.add((name, extra))
                todo += [(Requirement(r), extra) for r in metadata.requires(name) or []]
    return names


@pytest.mark.parametrize("lock", sorted(PROJECT_LOCKS))
def test_each_lock_pins_exactly_what_pyproject_declares(lock: str) -> None:
    roots = declared(PROJECT_LOCKS[lock])
    pinned = pins(lock)
    missing = sorted(needed(roots) - set(pinned))
    extra = sorted(set(pinned) - needed(roots))
    assert not missing and not extra, (
        f"requirements/{lock} and pyproject.toml disagree (missing {missing}, not needed "
        f"{extra}): run `make lock`")
    for requirement in roots:
        version = pinned[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements/{lock} pins {requirement.name}=={version}, outside pyproject's "
            f"{requirement}: run `make lock`")


def test_every_pin_has_its_hashes() -> None:
    for lock in (*PROJECT_LOCKS, "chroma.txt"):
        text = (LOCKS / lock).read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        for entry in entries:
            assert "--hash=sha256:" in entry, f"requirements/{lock}: {entry.splitlines()[0]}"


def test_the_image_and_the_tests_run_the_same_versions() -> None:
    dev = pins("dev.txt", everywhere=True)
    for lock in ("service.txt", "loadtest.txt"):
        differ = {n: (v, dev.get(n)) for n, v in pins(lock, everywhere=True).items()
                  if dev.get(n) != v}
        assert not differ, f"requirements/{lock} differs from dev.txt: {differ}"


def test_what_is_installed_is_what_the_lock_pins() -> None:
    differ = {name: (version, metadata.version(name)) for name, version in pins("dev.txt").items()
              if metadata.version(name) != version}
    assert not differ, f"installed versions differ from requirements/dev.txt: {differ}"


def test_chromas_lock_is_the_server_of_the_client_and_the_image() -> None:
    client = next(Requirement(r) for r in PROJECT["project"]["dependencies"]
                  if r.startswith("chromadb-client"))
    chroma = pins("chroma.txt")
    image = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["chroma"]["image"]
    assert f"=={chroma['chromadb']}" == str(client.specifier) and image.endswith(
        f":{chroma['chromadb']}")
    server = ROOT / ".chroma" / "bin" / "python"
    if server.exists():  # `make test` installs it; a bare `pytest` may not have
        listed = subprocess.run([str(server), "-c", "import importlib.metadata as m, json; "
                                 "print(json.dumps({d.metadata['Name']: d.version "
                                 "for d in m.distributions()}))"],
                                capture_output=True, text=True, check=True).stdout
        installed = {canonicalize_name(k): v for k, v in yaml.safe_load(listed).items()}
        assert {n: installed.get(n) for n in chroma} == chroma


def test_make_and_the_dockerfile_install_from_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes --no-deps -r requirements/dev.txt" in makefile
    assert "--require-hashes --no-deps -r requirements/chroma.txt" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = re.findall(r"pip install ([^\n&\\]+)", dockerfile)
    assert installs == ["--require-hashes --no-deps -r requirements/service.txt",
                        "--no-deps --no-build-isolation . ",
                        "--require-hashes --no-deps -r requirements/loadtest.txt"], installs
