"""``python -m deploy`` writes the mixin's outputs and the generated Kubernetes objects
from ``deploy/config.yaml``; ``--check`` fails when a committed one is stale."""

from __future__ import annotations

import argparse
import sys

from alerts.config import ConfigError
from alerts.generated import sync
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
    files = {DEPLOY_DIR / name: text for name, text in rendered.items()}
    return sync(files, owned=(DEPLOY_DIR / DASHBOARDS_DIR).glob("*"),
                command="python -m deploy", check=args.check)


if __name__ == "__main__":
    sys.exit(main())
