"""Every setting is documented in docs/configuration.md, and nothing else is."""

from __future__ import annotations

import re

from app.core.settings import Settings
from tests import ROOT

CONFIGURATION = ROOT / "docs" / "configuration.md"


def test_the_configuration_reference_documents_every_setting_and_no_other() -> None:
    text = CONFIGURATION.read_text()
    documented = set(re.findall(r"^\| `OLLAMA_RAG_([A-Z_]+)` \|", text, re.M))
    assert documented == {name.upper() for name in Settings.model_fields}
