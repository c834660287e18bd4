"""``python -m dashboards`` writes the dashboards' JSON; ``--check`` fails when it is stale."""

from __future__ import annotations

import argparse
import sys

from dashboards.paths import JSON_DIR as OUTPUT_DIR
from dashboards.render import render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed JSON instead of writing it")
    args = parser.parse_args(argv)
    rendered = render()
    stale = sorted(
        name for name, text in rendered.items()
        if not (OUTPUT_DIR / name).exists() or (OUTPUT_DIR / name).read_text() != text
    )
    extra = sorted(p.name for p in OUTPUT_DIR.glob("*.json") if p.name not in rendered)
    if args.check:
        for name in stale + extra:
            print(f"stale: dashboards/json/{name}", file=sys.stderr)
        return 1 if stale or extra else 0
    OUTPUT_DIR.mkdir(exist_ok=True)
    for name in stale:
        (OUTPUT_DIR / name).write_text(rendered[name])
        print(f"wrote dashboards/json/{name}")
    for name in extra:
        (OUTPUT_DIR / name).unlink()
        print(f"removed dashboards/json/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
