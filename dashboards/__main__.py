"""``python -m dashboards`` writes the dashboards' JSON; ``--check`` fails when it is stale."""

from __future__ import annotations

import argparse
import sys

from alerts.generated import sync
from dashboards.paths import JSON_DIR as OUTPUT_DIR
from dashboards.render import render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed JSON instead of writing it")
    args = parser.parse_args(argv)
    rendered = {OUTPUT_DIR / name: text for name, text in render().items()}
    return sync(rendered, owned=OUTPUT_DIR.glob("*.json"), command="python -m dashboards",
                check=args.check)


if __name__ == "__main__":
    sys.exit(main())
