"""alerts/generated.py: generated files written, compared, and the stale ones named."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.generated import sync


def test_writes_what_differs_removes_what_is_no_longer_rendered_and_checks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "old.json").write_text("{}")
    (tmp_path / "same.json").write_text("same")
    rendered = {tmp_path / "same.json": "same", tmp_path / "sub" / "new.json": "new"}

    def owned() -> list[Path]:
        return sorted(tmp_path.glob("*.json"))

    assert sync(rendered, owned(), "python -m x", check=True) == 1
    err = capsys.readouterr().err
    assert f"stale: {tmp_path / 'sub' / 'new.json'} (run `python -m x`)" in err
    assert f"stale: {tmp_path / 'old.json'}" in err and "same.json" not in err
    assert (tmp_path / "old.json").exists()  # a check changes nothing

    assert sync(rendered, owned(), "python -m x", check=False) == 0
    assert (tmp_path / "sub" / "new.json").read_text() == "new"
    assert not (tmp_path / "old.json").exists()
    assert sync(rendered, owned(), "python -m x", check=True) == 0
