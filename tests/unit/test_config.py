"""Settings come from ECM_* variables (or *_FILE secrets), are checked at start, and never show secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import JiraFlavor, LogFormat, load_settings
from connector.errors import ConfigError
from connector.store.db import Database


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"ECM_DATA_DIR": str(tmp_path / "data")}


def test_defaults_use_a_sqlite_file_in_the_data_directory_which_is_created(env: dict[str, str]) -> None:
    settings = load_settings(env)
    assert Path(env["ECM_DATA_DIR"]).is_dir()
    assert settings.effective_database_url == f"sqlite:///{Path(env['ECM_DATA_DIR']).resolve()}/ecm.sqlite3"
    assert (settings.jira_flavor, settings.log_format, settings.log_level) == (
        JiraFlavor.CLOUD,
        LogFormat.JSON,
        "INFO",
    )
    assert settings.audit_retention_years == 6
    assert settings.mapping_files == ()
    data = Path(env["ECM_DATA_DIR"])
    assert (settings.signing_key_path, settings.anchor_path) == (
        data / "audit-signing-key.pem",
        data / "audit-anchors.jsonl",
    )
    assert (settings.audit_checkpoint_entries, settings.audit_checkpoint_seconds) == (100, 60.0)


def test_the_audit_key_and_anchor_can_live_outside_the_data_directory(
    env: dict[str, str], tmp_path: Path
) -> None:
    env["ECM_AUDIT_SIGNING_KEY_FILE"] = str(tmp_path / "vault" / "audit.pem")
    env["ECM_AUDIT_ANCHOR"] = str(tmp_path / "worm" / "anchors.jsonl")
    settings = load_settings(env)
    assert settings.signing_key_path == tmp_path / "vault" / "audit.pem"
    assert settings.anchor_path == tmp_path / "worm" / "anchors.jsonl"


def test_values_are_read_from_the_environment(env: dict[str, str]) -> None:
    env.update(
        ECM_DATABASE_URL="postgresql+psycopg://ecm@db/ecm",
        ECM_JIRA_URL="https://example.atlassian.net/",
        ECM_JIRA_FLAVOR="datacenter",
        ECM_MAPPINGS="mappings/jira-cloud.yaml, mappings/servicenow.yaml",
        ECM_LOG_FORMAT="text",
        ECM_LOG_LEVEL="debug",
        ECM_AUDIT_RETENTION_YEARS="7",
    )
    settings = load_settings(env)
    assert settings.effective_database_url == "postgresql+psycopg://ecm@db/ecm"
    assert settings.jira_url == "https://example.atlassian.net"
    assert settings.jira_flavor is JiraFlavor.DATACENTER
    assert settings.mapping_files == (Path("mappings/jira-cloud.yaml"), Path("mappings/servicenow.yaml"))
    assert (settings.log_format, settings.log_level, settings.audit_retention_years) == (
        LogFormat.TEXT,
        "DEBUG",
        7,
    )


def test_a_secret_can_come_from_a_file_without_its_trailing_newline(
    env: dict[str, str], tmp_path: Path
) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("s3cr3t-token\n", encoding="utf-8")
    env["ECM_JIRA_TOKEN_FILE"] = str(secret_file)
    assert load_settings(env).jira_token.get_secret_value() == "s3cr3t-token"


def test_secrets_never_show_in_repr_or_str(env: dict[str, str]) -> None:
    env.update(
        ECM_JIRA_TOKEN="tok-123456",
        ECM_ADMIN_TOKEN="adm-123456",
        ECM_SERVICENOW_PASSWORD="pw-123456",
        ECM_JIRA_WEBHOOK_SECRET="hook-123456",
        ECM_DATABASE_URL="postgresql+psycopg://ecm:dbpw-123456@db/ecm",
    )
    settings = load_settings(env)
    for shown in (repr(settings), str(settings)):
        assert "123456" not in shown
    assert settings.admin_token.get_secret_value() == "adm-123456"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ECM_DATABASE_URL", "not a url", "ECM_DATABASE_URL: not a valid database URL"),
        ("ECM_DATABASE_URL", "mysql://root:pw-123456@db/ecm", "ECM_DATABASE_URL: not a valid database URL"),
        ("ECM_JIRA_FLAVOR", "server", "ECM_JIRA_FLAVOR: "),
        ("ECM_JIRA_URL", "example.atlassian.net", "ECM_JIRA_URL: must start with http:// or https://"),
        ("ECM_LOG_FORMAT", "xml", "ECM_LOG_FORMAT: "),
        ("ECM_LOG_LEVEL", "loud", "ECM_LOG_LEVEL: must be one of"),
        ("ECM_AUDIT_RETENTION_YEARS", "0", "ECM_AUDIT_RETENTION_YEARS: must be at least 1"),
        ("ECM_AUDIT_CHECKPOINT_ENTRIES", "0", "ECM_AUDIT_CHECKPOINT_ENTRIES: must be at least 1"),
        ("ECM_AUDIT_CHECKPOINT_SECONDS", "0", "ECM_AUDIT_CHECKPOINT_SECONDS: must be between 0.1 and 86400"),
        ("ECM_ADMIN_TOKEN_FILE", "/nonexistent/pw-123456", "ECM_ADMIN_TOKEN_FILE: cannot read"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    env: dict[str, str], variable: str, value: str, message: str
) -> None:
    env[variable] = value
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    text = str(raised.value)
    assert text.startswith(message)
    assert "\n" not in text
    if variable != "ECM_ADMIN_TOKEN_FILE":
        assert "pw-123456" not in text


def test_a_data_directory_that_cannot_be_created_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="^ECM_DATA_DIR: cannot create"):
        load_settings({"ECM_DATA_DIR": str(blocker / "data")})


def test_the_database_follows_the_settings_including_its_schema(env: dict[str, str]) -> None:
    env.update(ECM_DATABASE_URL="postgresql://ecm:pw-123456@db/ecm", ECM_DATABASE_SCHEMA="ecm_prod")
    database = Database.from_settings(load_settings(env))
    assert (database.dialect, database.schema) == ("postgresql", "ecm_prod")
    assert database.url.drivername == "postgresql+psycopg"
    assert "pw-123456" not in repr(database)
