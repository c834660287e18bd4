"""Every setting is documented."""

from __future__ import annotations

from app.core.settings import Settings
from tests import ROOT


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in Settings.model_fields
               if f"`OLLAMA_RAG_{name.upper()}`" not in readme]
    assert not missing, f"settings missing from the README: {missing}"
