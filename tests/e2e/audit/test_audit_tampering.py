"""After the demo, each way an insider with write access to the database could rewrite history is named by
`ecm audit verify` (exit 1); the untouched log verifies with the public key alone."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from connector.cli import cli
from connector.store.audit import GENESIS_HASH, entry_hash
from connector.store.db import Database
from connector.store.tables import AuditRow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data_dir = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "--data-dir", str(data_dir)], env={"ECM_DATABASE_URL": None})
    assert result.exit_code == 0, result.output
    return data_dir, result.output


@pytest.fixture(scope="module")
def played(demo_run: tuple[Path, str]) -> Path:
    return demo_run[0]


def test_the_auditors_commands_the_demo_prints_run_as_printed(demo_run, tmp_path):
    """The demo's services are gone when it ends; the commands it prints for the auditor still work, pasted
    into a shell from where the demo was run (here on a copy of its data, which the other tests share)."""
    played, output = demo_run
    line = next(line for line in output.splitlines() if line.startswith("Auditor's view: "))
    assert f"ECM_DATA_DIR={played} " in line
    copy = shutil.copytree(played, tmp_path / "auditor")
    packet, verify = line.removeprefix("Auditor's view: ").replace(str(played), str(copy)).split("; ")
    assert "--keep-running" in next(line for line in output.splitlines() if line.startswith("Where to look"))
    shown = pasted(packet)
    assert shown.returncode == 0, shown.stderr
    assert "<html" in shown.stdout.lower() and "EMG-1" in shown.stdout
    verified = pasted(verify)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def pasted(command: str) -> subprocess.CompletedProcess[str]:
    """`command` as a person pastes it into a shell, without this run's ECM_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECM_")}
    return subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=120)  # noqa: S602


@pytest.fixture
def data_dir(played: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(played, copy)
    return copy


def ecm(data_dir: Path, *args: str):
    env = {"ECM_DATA_DIR": str(data_dir), "ECM_DATABASE_URL": None, "ECM_AUDIT_SIGNING_KEY_FILE": None}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def last(data_dir: Path) -> int:
    """The demo's last audit entry, which its one checkpoint signs."""
    database = Database(f"sqlite:///{data_dir / 'ecm.sqlite3'}")
    with database.engine.connect() as connection:
        seq = connection.execute(text("SELECT max(seq) FROM audit_log")).scalar_one()
    database.dispose()
    return seq


def sql(data_dir: Path, statement: str, **params: object) -> None:
    database = Database(f"sqlite:///{data_dir / 'ecm.sqlite3'}")
    with database.engine.begin() as connection:
        connection.execute(text(statement), params)
    database.dispose()


def rewrite_an_approval(data_dir: Path) -> None:
    """Edit an approval entry and recompute every later hash with the documented algorithm."""
    database = Database(f"sqlite:///{data_dir / 'ecm.sqlite3'}")
    with database.session() as session:
        rows = list(session.scalars(select(AuditRow).order_by(AuditRow.seq)))
        approval = next(row for row in rows if row.action.startswith("approval"))
        approval.actor = "someone-else"
        previous = GENESIS_HASH
        for row in rows:
            row.prev_hash = previous
            row.hash = previous = entry_hash(row)
        session.commit()
    database.dispose()


def test_the_untouched_log_verifies_with_the_public_key_alone(
    data_dir: Path, tmp_path: Path, last: int
) -> None:
    public = tmp_path / "audit-public.pem"
    public.write_text(ecm(data_dir, "audit", "public-key").output)
    assert "PRIVATE" not in public.read_text() and "BEGIN PUBLIC KEY" in public.read_text()
    (data_dir / "audit-signing-key.pem").unlink()  # the auditor has no private key
    result = ecm(data_dir, "audit", "verify", "--public-key", str(public))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK: {last} entries verified, 1 checkpoints signed by key")
    assert "1 found in the anchor" in result.output


def test_a_rewritten_chain_with_recomputed_hashes_is_named(data_dir: Path, last: int) -> None:
    rewrite_an_approval(data_dir)
    result = ecm(data_dir, "audit", "verify")
    assert result.exit_code == 1
    assert f"FAILED: rewritten: entry seq={last} no longer has the hash signed" in result.output


def test_a_truncated_tail_is_named_with_how_many_entries_went(data_dir: Path, last: int) -> None:
    sql(data_dir, "DELETE FROM audit_log WHERE seq > :seq", seq=last - 3)
    result = ecm(data_dir, "audit", "verify")
    assert result.exit_code == 1
    assert (
        f"FAILED: truncated: checkpoint seq={last}" in result.output
        and "(3 entries removed)" in result.output
    )


def test_a_checkpoint_deleted_from_the_database_is_named_from_the_anchor(data_dir: Path, last: int) -> None:
    sql(data_dir, "DELETE FROM audit_checkpoints")
    result = ecm(data_dir, "audit", "verify")
    assert result.exit_code == 1
    assert (
        f"FAILED: deleted: checkpoint seq={last}" in result.output
        and "missing from the database" in result.output
    )


def test_a_forged_checkpoint_is_named(data_dir: Path, last: int) -> None:
    rewrite_an_approval(data_dir)
    database = Database(f"sqlite:///{data_dir / 'ecm.sqlite3'}")
    with database.engine.begin() as connection:
        seq = {"seq": last}
        new_hash = connection.execute(text("SELECT hash FROM audit_log WHERE seq = :seq"), seq).scalar()
        connection.execute(
            text("UPDATE audit_checkpoints SET hash = :h WHERE seq = :seq"), {"h": new_hash, **seq}
        )
    database.dispose()
    result = ecm(data_dir, "audit", "verify")
    assert result.exit_code == 1
    assert (
        f"FAILED: forged: checkpoint seq={last} in the database does not verify with the public key"
        in result.output
    )
    assert (
        f"FAILED: rewritten: entry seq={last}" in result.output
    )  # the anchor's copy still says what was signed


def test_a_deleted_anchor_file_is_named(data_dir: Path) -> None:
    (data_dir / "audit-anchors.jsonl").unlink()
    result = ecm(data_dir, "audit", "verify")
    assert result.exit_code == 1 and "FAILED: anchor:" in result.output and "does not exist" in result.output
