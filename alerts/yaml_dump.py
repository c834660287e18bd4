"""YAML that reads like the hand-written files: multi-line strings (PromQL, descriptions) as
literal blocks, keys in the order given.

    >>> print(dump({"expr": "a\\n/ b\\n"}))
    expr: |
      a
      / b
"""

from __future__ import annotations

from typing import Any

import yaml


class _BlockDumper(yaml.SafeDumper):
    pass


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _string)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, width=100,
                     allow_unicode=True)


def dump_all(documents: list[Any]) -> str:
    return yaml.dump_all(documents, Dumper=_BlockDumper, sort_keys=False, width=100,
                         allow_unicode=True)
