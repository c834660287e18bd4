"""The rule files as data: their groups and alert rules, read in one place for the tests,
the verifier and the live run's compression.

    >>> [rule["alert"] for rule in alert_rules()][:2]
    >>> alert_rules(read=compressed_rules)  # the live run's copy of the same rules
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from alerts.paths import RULE_FILES


def rule_groups(read: Callable[[Path], str] = Path.read_text) -> list[dict[str, Any]]:
    """Every rule group of ``alerts/rules/``, in file order; ``read`` turns a file's path
    into its text (the live run reads compressed copies)."""
    return [group for path in RULE_FILES for group in yaml.safe_load(read(path))["groups"]]


def alert_rules(read: Callable[[Path], str] = Path.read_text) -> list[dict[str, Any]]:
    """Every alert rule, in file order (recording rules left out)."""
    return [rule for group in rule_groups(read) for rule in group["rules"] if "alert" in rule]
