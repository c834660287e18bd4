"""``python -m deploy`` writes the mixin's outputs and the generated Kubernetes objects
from ``deploy/config.yaml``; ``--check`` fails when a committed one is stale."""

from __future__ import annotations

import argparse
import sys

from alerts.config import ConfigError
from deploy.kubernetes import kubernetes_files
from deploy.mixin import DASHBOARDS_DIR, mixin_files
from deploy.paths import DEPLOY_DIR
from deploy.settings import read_settings


def render() -> dict[str, str]:
    settings = read_settings()
    return {**mixin_files(settings.rules), **kubernetes_files(settings)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed files instead of writing them")
    args = parser.parse_args(argv)
    try:
        rendered = render()
    except ConfigError as error:
        print(f"cannot render deploy/: {error}", file=sys.stderr)
        return 2
    stale = sorted(name for name, text in rendered.items()
                   if not (DEPLOY_DIR / name).exists() or (DEPLOY_DIR / name).read_text() != text)
    extra = sorted(str(p.relative_to(DEPLOY_DIR)) for p in (DEPLOY_DIR / DASHBOARDS_DIR).glob("*")
                   if str(p.relative_to(DEPLOY_DIR)) not in rendered)
    if args.check:
        for name in stale + extra:
            print(f"stale: deploy/{name} (run `python -m deploy`)", file=sys.stderr)
        return 1 if stale or extra else 0
    for name in stale:
        (DEPLOY_DIR / name).parent.mkdir(parents=True, exist_ok=True)
        (DEPLOY_DIR / name).write_text(rendered[name])
        print(f"wrote deploy/{name}")
    for name in extra:
        (DEPLOY_DIR / name).unlink()
        print(f"removed deploy/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
