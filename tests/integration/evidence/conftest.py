"""Evidence tests keep their files in a temporary directory store, never in the repo's var/."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import Settings


@pytest.fixture(scope="session")
def evidence_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evidence")


@pytest.fixture
def settings(settings: Settings, evidence_root: Path) -> Settings:
    return settings.model_copy(update={"evidence_dir": str(evidence_root)})
