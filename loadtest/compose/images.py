"""Look-alikes of the images compose.yaml pins, built locally from Debian's packages of the
same versions: no image registry is reachable here.

- ``python:3.11.11-slim-bookworm``: Debian's python3.11 on a minbase bookworm, with
  ``/usr/local/bin/python``, no EXTERNALLY-MANAGED marker, and pip pointed at a wheelhouse
  of the locks' wheels downloaded on the host (inside a build, the package index is out of
  reach), so that the project's own Dockerfile builds unchanged.
- ``haproxy:2.6.12``: Debian's haproxy on a minbase bookworm, laid out as upstream's image
  (``/usr/local/etc/haproxy``, user haproxy, SIGUSR1 to stop).
- ``prom/prometheus:v2.42.0``, ``prom/alertmanager:v0.25.0``: Debian's binaries on an image
  of busybox, glibc and a nobody user, with the ENTRYPOINT, CMD, USER, WORKDIR and VOLUME of
  upstream's Dockerfiles.
- ``chromadb/chroma:1.5.9``: Chroma's own package (PyPI's ``chromadb``, whose ``chroma run``
  is the same Rust server), installed from ``requirements/chroma.txt``, on the python
  look-alike, laid out as upstream's image (``ENTRYPOINT ["chroma"]``,
  ``CMD ["run", "/config.yaml"]``, data in ``/data``, bash).
- Grafana's stand-in (``grafana_standin.py``), which compose-verify's override swaps in: no
  Grafana binary is reachable.

Each is built once and kept (labelled with what it was built from); the root filesystems
and packages are cached under ``CACHE`` between runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loadtest.compose.engine import run

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("OLLAMA_RAG_IMAGE_CACHE", "/var/cache/ollama-rag"))
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
STANDIN_GRAFANA = "ollama-rag-grafana-standin:local"
STANDIN_JAEGER = "ollama-rag-jaeger-standin:local"
CHROMA_TAG = "chromadb/chroma:1.5.9"
# Upstream's docker_single_node.yaml: what the image serves without a command.
CHROMA_CONFIG = 'port: 8000\nlisten_address: "0.0.0.0"\npersist_path: "/data"\n'

Say = Callable[[str], None]


@dataclass(frozen=True)
class LookAlike:
    tag: str
    build: Callable[[Path], None]  # fills a root filesystem
    dockerfile: str  # what upstream's Dockerfile sets, on top of that filesystem


def _cached(target: Path, fill: Callable[[Path], None]) -> Path:
    """``target``, filled once: a marker beside it says the filling finished."""
    done = target.with_name(target.name + ".complete")
    if not done.exists():
        shutil.rmtree(target, ignore_errors=True)
        fill(target)
        done.touch()
    return target


def _debootstrap(name: str, packages: list[str]) -> Path:
    """A cached minbase bookworm with ``packages``."""
    def fill(target: Path) -> None:
        run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", SUITE,
             str(target), MIRROR], timeout=900)
        shutil.rmtree(target / "var/cache/apt/archives", ignore_errors=True)
        (target / "var/cache/apt/archives/partial").mkdir(parents=True)

    return _cached(CACHE / f"rootfs-{name}", fill)


def _copy_tree(source: Path, rootfs: Path) -> None:
    run(["cp", "-a", f"{source}/.", str(rootfs)])


def _debian_package(name: str) -> Path:
    """The files of Debian's package ``name`` (downloaded once, unpacked)."""
    def fill(target: Path) -> None:
        target.mkdir(parents=True)
        if subprocess.run(["apt-get", "download", name], cwd=target,
                          capture_output=True).returncode != 0:
            run(["apt-get", "update", "-qq"], timeout=300)  # a machine that never updated
            run(["apt-get", "download", name], cwd=target, timeout=300)
        (deb,) = target.glob("*.deb")
        run(["dpkg-deb", "-x", str(deb), str(target / "files")])

    return _cached(CACHE / f"deb-{name}", fill) / "files"


# What the Dockerfile's `pip install` steps and Chroma's look-alike install: the locks.
LOCKS = tuple(ROOT / "requirements" / f"{name}.txt" for name in ("service", "loadtest", "chroma"))


def _wheelhouse(target: Path) -> None:
    """Every wheel the locks name for Python 3.11 on x86_64 Linux, hashes checked (one lock at
    a time: Chroma's may pin other versions than the service's)."""
    for lock in LOCKS:
        run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
             "--no-deps", "--require-hashes", "--python-version", "3.11",
             "--implementation", "cp", "--abi", "cp311", "--abi", "abi3", "--abi", "none",
             *(f"--platform={p}" for p in ("manylinux2014_x86_64", "manylinux_2_17_x86_64",
                                           "manylinux_2_28_x86_64", "any")),
             "--dest", str(target), "-r", str(lock)], timeout=600)
    shutil.copy2(ROOT / "requirements" / "chroma.txt", target / "chroma.txt")


def _python(rootfs: Path) -> None:
    _copy_tree(_debootstrap("python", ["python3.11", "python3-pip", "ca-certificates"]), rootfs)
    (rootfs / "usr/local/bin").mkdir(parents=True, exist_ok=True)
    for name, target in (("python", "/usr/bin/python3.11"), ("python3", "/usr/bin/python3.11"),
                         ("pip", "/usr/bin/pip3")):
        (rootfs / "usr/local/bin" / name).symlink_to(target)
    for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    _wheelhouse(rootfs / "wheels")
    (rootfs / "etc/pip.conf").write_text(
        "# Look-alike only: the package index is out of reach inside a build.\n"
        "[global]\nno-index = true\nfind-links = /wheels\n")


def _haproxy(rootfs: Path) -> None:
    _copy_tree(_debootstrap("haproxy", ["haproxy"]), rootfs)
    (rootfs / "usr/local/etc/haproxy").mkdir(parents=True, exist_ok=True)
    (rootfs / "usr/local/sbin").mkdir(parents=True, exist_ok=True)
    (rootfs / "usr/local/sbin/haproxy").symlink_to("/usr/sbin/haproxy")
    entrypoint = rootfs / "usr/local/bin/docker-entrypoint.sh"
    entrypoint.parent.mkdir(parents=True, exist_ok=True)
    # Upstream's: options alone mean haproxy's; haproxy runs in the foreground, master-worker.
    entrypoint.write_text('#!/bin/sh\nset -e\nif [ "${1#-}" != "$1" ]; then set -- haproxy "$@"; '
                          'fi\nif [ "$1" = haproxy ]; then shift; set -- haproxy -W -db "$@"; fi\n'
                          'exec "$@"\n')
    entrypoint.chmod(0o755)


def _busybox_glibc(rootfs: Path, files: Path, binaries: dict[str, str],
                   owned: list[str]) -> None:
    """busybox, glibc, a nobody user, ``binaries`` (name in /bin -> path in the package's
    ``files``) and directories ``owned`` by nobody: what upstream's prom images are made
    of."""
    busybox = _debian_package("busybox-static") / "bin/busybox"
    for folder in ("bin", "etc", "lib/x86_64-linux-gnu", "lib64", "tmp"):
        (rootfs / folder).mkdir(parents=True, exist_ok=True)
    (rootfs / "tmp").chmod(0o1777)
    shutil.copy2(busybox, rootfs / "bin/busybox")
    applets = run([str(busybox), "--list"]).stdout.split()
    for applet in applets:
        if not (rootfs / "bin" / applet).exists():
            (rootfs / "bin" / applet).symlink_to("busybox")
    for name, source in binaries.items():
        shutil.copy2(files / source, rootfs / "bin" / name)
    for library in ("/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"):
        shutil.copy2(Path(library).resolve(), rootfs / library.lstrip("/"))
    (rootfs / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                       "nobody:x:65534:65534:nobody:/home:/bin/false\n")
    (rootfs / "etc/group").write_text("root:x:0:\nnobody:x:65534:\n")
    for folder in owned:
        (rootfs / folder).mkdir(parents=True, exist_ok=True)
        os.chown(rootfs / folder, 65534, 65534)
    # Debian's builds read their web assets and templates from here, not from the binary.
    shutil.copytree(files / "usr/share/prometheus", rootfs / "usr/share/prometheus",
                    symlinks=True)


def _prometheus(rootfs: Path) -> None:
    files = _debian_package("prometheus")
    _busybox_glibc(rootfs, files, {"prometheus": "usr/bin/prometheus",
                                   "promtool": "usr/bin/promtool"},
                   ["prometheus", "etc/prometheus"])
    shutil.copy2(files / "etc/prometheus/prometheus.yml", rootfs / "etc/prometheus")


def _alertmanager(rootfs: Path) -> None:
    files = _debian_package("prometheus-alertmanager")
    _busybox_glibc(rootfs, files, {"alertmanager": "usr/bin/prometheus-alertmanager",
                                   "amtool": "usr/bin/amtool"},
                   ["alertmanager", "etc/alertmanager"])
    (rootfs / "etc/alertmanager/alertmanager.yml").write_text(
        "route:\n  receiver: default\nreceivers:\n  - name: default\n")


LOOK_ALIKES = (
    LookAlike("python:3.11.11-slim-bookworm", _python,
              'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin '
              'LANG=C.UTF-8\nCMD ["python3"]\n'),
    LookAlike("haproxy:2.6.12", _haproxy,
              "USER haproxy\nWORKDIR /var/lib/haproxy\nSTOPSIGNAL SIGUSR1\n"
              'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]\n'
              'CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]\n'),
    LookAlike("prom/prometheus:v2.42.0", _prometheus,
              'USER nobody\nEXPOSE 9090\nVOLUME ["/prometheus"]\nWORKDIR /prometheus\n'
              'ENTRYPOINT ["/bin/prometheus"]\n'
              'CMD ["--config.file=/etc/prometheus/prometheus.yml", '
              '"--storage.tsdb.path=/prometheus"]\n'),
    LookAlike("prom/alertmanager:v0.25.0", _alertmanager,
              'USER nobody\nEXPOSE 9093\nVOLUME ["/alertmanager"]\nWORKDIR /alertmanager\n'
              'ENTRYPOINT ["/bin/alertmanager"]\n'
              'CMD ["--config.file=/etc/alertmanager/alertmanager.yml", '
              '"--storage.path=/alertmanager"]\n'),
)
LABEL = "org.ollama-rag.look-alike"


def _recipe(look_alike: LookAlike) -> str:
    """What the image is built from: a change rebuilds it."""
    source = Path(__file__).read_text() + look_alike.dockerfile
    if look_alike.tag.startswith("python:"):
        source += "".join(lock.read_text() for lock in LOCKS)
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def _current(tag: str, recipe: str) -> bool:
    found = subprocess.run(["docker", "image", "inspect", "--format",
                            f'{{{{index .Config.Labels "{LABEL}"}}}}', tag],
                           capture_output=True, text=True)
    return found.returncode == 0 and found.stdout.strip() == recipe


def build_look_alike(look_alike: LookAlike, say: Say) -> None:
    recipe = _recipe(look_alike)
    if _current(look_alike.tag, recipe):
        return
    say(f"building the look-alike of {look_alike.tag}")
    with tempfile.TemporaryDirectory(prefix="ollama-rag-rootfs-", dir=CACHE) as tmp:
        rootfs = Path(tmp) / "rootfs"
        rootfs.mkdir()
        look_alike.build(rootfs)
        base = f"{look_alike.tag}-rootfs"
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                               stdout=subprocess.PIPE)
        run(["docker", "import", "-", base], stdin=tar.stdout, timeout=600)
        tar.wait()
    dockerfile = f"FROM {base}\n{look_alike.dockerfile}LABEL {LABEL}={recipe}\n"
    run(["docker", "build", "--quiet", "-t", look_alike.tag, "-"], input=dockerfile,
        timeout=600)
    run(["docker", "image", "rm", base])


def _build_standin(tag: str, user: str, ports: str, command: str, say: Say) -> None:
    """A stand-in on the service's image (built by compose first) plus busybox's wget,
    which the healthcheck of the service it stands in for calls."""
    say(f"building {tag}")
    with tempfile.TemporaryDirectory(prefix="ollama-rag-standin-") as tmp:
        context = Path(tmp)
        shutil.copy2(_debian_package("busybox-static") / "bin/busybox", context / "busybox")
        (context / "Dockerfile").write_text(
            "FROM ollama-rag:0.1.0\nUSER root\nCOPY busybox /bin/busybox\n"
            f"RUN ln -s /bin/busybox /usr/local/bin/wget\nUSER {user}\nEXPOSE {ports}\n"
            f"CMD {command}\n")
        run(["docker", "build", "--quiet", "-t", tag, str(context)], timeout=600)


def build_standins(say: Say) -> None:
    """Grafana's stand-in (its checks of what Grafana is given) and Jaeger's (the trace
    receiver, on Jaeger's OTLP/HTTP and query ports)."""
    _build_standin(STANDIN_GRAFANA, "472", "3000",
                   '["python", "-m", "loadtest.compose.grafana_standin"]', say)
    _build_standin(STANDIN_JAEGER, "10001", "4318 16686",
                   '["python", "-m", "loadtest.stack.trace_receiver"]', say)


def build_chroma(say: Say) -> None:
    """Chroma's look-alike, on the python look-alike (whose wheelhouse holds chromadb)."""
    config = CHROMA_CONFIG.replace("\n", "\\n")  # printf's escapes, on one line
    dockerfile = ("FROM python:3.11.11-slim-bookworm\n"
                  "RUN pip install --require-hashes --no-deps -r /wheels/chroma.txt "
                  f"&& printf '{config}' > /config.yaml && mkdir /data\n"
                  "ENV ANONYMIZED_TELEMETRY=False\nEXPOSE 8000\nVOLUME [\"/data\"]\n"
                  'ENTRYPOINT ["chroma"]\nCMD ["run", "/config.yaml"]\n')
    recipe = hashlib.sha256((dockerfile + _recipe(LOOK_ALIKES[0])).encode()).hexdigest()[:16]
    if _current(CHROMA_TAG, recipe):
        return
    say(f"building the look-alike of {CHROMA_TAG}")
    run(["docker", "build", "--quiet", "-t", CHROMA_TAG, "-"],
        input=f"{dockerfile}LABEL {LABEL}={recipe}\n", timeout=900)


def build_look_alikes(say: Say) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    for look_alike in LOOK_ALIKES:
        build_look_alike(look_alike, say)
    build_chroma(say)
