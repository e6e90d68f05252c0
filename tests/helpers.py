"""Small helpers shared by tests (no fixtures here: those live in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
COOKBOOK = REPO.parent / "shared" / "aiconfig-cookbook"
SAMPLES = REPO / "sample_configs"


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def chain(prompts: list[dict[str, Any]], **metadata: Any) -> dict[str, Any]:
    """A minimal valid AIConfig document around ``prompts``."""
    meta: dict[str, Any] = {"parameters": {}, "models": {}, "default_model": "echo"}
    meta.update(metadata)
    return {"name": "test", "schema_version": "latest", "metadata": meta, "prompts": prompts}
