"""``python -m alerts`` writes the SLO rules generated from ``alerts/slo.py``; ``--check``
fails when the committed file is stale."""

from __future__ import annotations

import argparse
import sys

from alerts.paths import ROOT, SLO_RULES
from alerts.slo_rules import render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alerts", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed file instead of writing it")
    args = parser.parse_args(argv)
    text = render()
    name = SLO_RULES.relative_to(ROOT)
    current = SLO_RULES.read_text() if SLO_RULES.exists() else None
    if args.check:
        if current != text:
            print(f"stale: {name} (run `python -m alerts`)", file=sys.stderr)
            return 1
        return 0
    if current != text:
        SLO_RULES.write_text(text)
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
