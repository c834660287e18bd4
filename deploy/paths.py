"""Where the files of ``deploy/`` are."""

from __future__ import annotations

from pathlib import Path

DEPLOY_DIR = Path(__file__).resolve().parent
ROOT = DEPLOY_DIR.parent
CONFIG = DEPLOY_DIR / "config.yaml"
MIXIN_DIR = DEPLOY_DIR / "mixin"
KUBERNETES_DIR = DEPLOY_DIR / "kubernetes"
BASE_DIR = KUBERNETES_DIR / "base"
STAGING_DIR = KUBERNETES_DIR / "staging"
