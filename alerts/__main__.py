"""``python -m alerts`` writes the SLO rules generated from ``alerts/slo.py``; ``--check``
fails when the committed file is stale. ``--config FILE --out DIR`` writes every rule file
rendered for another deployment (a YAML mapping of the settings in ``alerts/config.py``,
e.g. ``selector: 'job="my-rag", namespace="llm"'``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from alerts.config import ConfigError, RulesConfig
from alerts.generated import sync
from alerts.paths import SLO_RULES
from alerts.render import render_rule_files
from alerts.slo_rules import render


def read_config(path: Path) -> RulesConfig:
    """The settings in a YAML file; a clear ``ConfigError`` for anything it cannot use."""
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    return RulesConfig.from_mapping(values)


def _write_rendered(config_path: Path, out: Path) -> int:
    try:
        config = read_config(config_path)
    except (ConfigError, TypeError, OSError, yaml.YAMLError) as error:
        print(f"cannot render the rules: {error}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render_rule_files(config).items():
        (out / name).write_text(text)
        print(f"wrote {out / name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alerts", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed file instead of writing it")
    parser.add_argument("--config", type=Path, help="a YAML file of settings to render with")
    parser.add_argument("--out", type=Path, help="where --config's rule files are written")
    args = parser.parse_args(argv)
    if (args.config is None) != (args.out is None):
        parser.error("--config and --out go together")
    if args.config is not None:
        return _write_rendered(args.config, args.out)
    return sync({SLO_RULES: render()}, owned=[], command="python -m alerts",
                check=args.check)


if __name__ == "__main__":
    sys.exit(main())
