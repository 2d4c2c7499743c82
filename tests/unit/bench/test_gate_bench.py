"""The gate benchmark measures a real judged answer: the change it seeds is ready to deploy, not to close."""

from __future__ import annotations

import sys
from pathlib import Path

from connector.config import Settings
from connector.evidence.gate import gate
from connector.evidence.rulebook import RuleBook
from connector.store.db import Database

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from bench.gate import KEY, seed  # noqa: E402


def test_the_seeded_change_may_deploy_and_may_not_close(tmp_path):
    seed(tmp_path / "data")
    database = Database.from_settings(Settings(data_dir=tmp_path / "data"))
    try:
        with database.session() as session:
            assert gate(session, KEY, "deployed", RuleBook())["allowed"] is True
            closing = gate(session, KEY, "closed", RuleBook())
    finally:
        database.dispose()
    assert [v["rule"] for v in closing["violations"]] == ["R6", "R7", "R8"]
