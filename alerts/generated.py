"""Committed generated files, written or compared: what ``python -m alerts``,
``python -m dashboards`` and ``python -m deploy`` share.

    >>> sync({JSON_DIR / "x.json": text}, owned=JSON_DIR.glob("*.json"),
    ...      command="python -m dashboards", check=args.check)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from alerts.paths import ROOT


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def sync(rendered: dict[Path, str], owned: Iterable[Path], command: str, check: bool) -> int:
    """Write each rendered file whose text differs and remove the ``owned`` files no longer
    rendered; with ``check``, only name them (exit status 1 if any)."""
    stale = sorted(path for path, text in rendered.items()
                   if not path.exists() or path.read_text() != text)
    extra = sorted(path for path in owned if path not in rendered)
    if check:
        for path in stale + extra:
            print(f"stale: {_name(path)} (run `{command}`)", file=sys.stderr)
        return 1 if stale or extra else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered[path])
        print(f"wrote {_name(path)}")
    for path in extra:
        path.unlink()
        print(f"removed {_name(path)}")
    return 0
