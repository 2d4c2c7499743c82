"""Settings, read once from the environment (prefix `ECM_`), validated, failing fast.

`load_settings()` is the only way in. A missing or bad value raises `ConfigError` with one line that names
the variable (`ECM_DATABASE_URL: not a valid database URL`); secret values never appear in messages, in
`repr()` or in `str()`. Every secret may instead come from a file: `ECM_<NAME>_FILE=/run/secrets/x` (the
trailing newline is stripped), which is how Docker and Kubernetes secrets are mounted.

The database schema: `ECM_DATABASE_SCHEMA` (PostgreSQL only) puts every table in that schema through the
connection's `search_path`; unset means the server's default (`public`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from connector.errors import ConfigError
from connector.store.url import backend_of

PREFIX = "ECM_"
SECRET_NAMES = (
    "DATABASE_URL",
    "JIRA_TOKEN",
    "JIRA_WEBHOOK_SECRET",
    "JIRA_WEBHOOK_TOKEN",
    "SERVICENOW_PASSWORD",
    "SERVICENOW_WEBHOOK_SECRET",
    "GITHUB_WEBHOOK_SECRET",
    "DEPLOY_WEBHOOK_SECRET",
    "DEPLOY_WEBHOOK_TOKEN",
    "GITHUB_APP_PRIVATE_KEY",
    "ADMIN_TOKEN",
    "GATE_TOKEN",
)
SUPPORTED_DRIVERS = ("sqlite", "postgresql")


class JiraFlavor(StrEnum):
    CLOUD = "cloud"
    DATACENTER = "datacenter"


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="ignore")

    data_dir: Path = Path("./.data")
    database_url: SecretStr | None = None  # may carry a password
    database_schema: str | None = None
    jira_url: str | None = None
    jira_user: str | None = None
    jira_token: SecretStr | None = None
    jira_flavor: JiraFlavor = JiraFlavor.CLOUD
    jira_webhook_secret: SecretStr | None = None
    jira_webhook_token: SecretStr | None = None
    servicenow_url: str | None = None
    servicenow_user: str | None = None
    servicenow_password: SecretStr | None = None
    servicenow_webhook_secret: SecretStr | None = None
    github_webhook_secret: SecretStr | None = None  # the secret of the GitHub webhook (deployments)
    deploy_webhook_secret: SecretStr | None = None  # signs a pipeline's POST /webhooks/deploy
    deploy_webhook_token: SecretStr | None = None  # or a bearer token, for senders that cannot sign
    github_app_id: str | None = None  # the GitHub App that answers deployment protection rules
    github_app_private_key: SecretStr | None = None  # its private key (PEM)
    github_api_url: str = "https://api.github.com"
    admin_token: SecretStr | None = None
    gate_token: SecretStr | None = None  # opens only the pipeline gate, /api/changes/{key}/gate
    mappings: str = ""
    public_url: str | None = None
    log_format: LogFormat = LogFormat.JSON
    log_level: str = "INFO"
    audit_retention_years: int = 6
    audit_signing_key_file: Path | None = None  # unset: created in the data directory (not for production)
    audit_anchor: Path | None = None  # unset: <data dir>/audit-anchors.jsonl
    audit_checkpoint_entries: int = 100  # sign a checkpoint once this many entries are unsigned ...
    audit_checkpoint_seconds: float = 60.0  # ... or once the oldest unsigned entry is this old

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        **_: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what `load_settings` passes in: it reads the environment once, itself."""
        return (init_settings,)

    @field_validator("database_url")
    @classmethod
    def _database_url_is_supported(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        if backend_of(value.get_secret_value()) not in SUPPORTED_DRIVERS:
            raise ValueError("not a valid database URL (use sqlite:/// or postgresql+psycopg://)")
        return value

    @field_validator("jira_url", "servicenow_url", "public_url")
    @classmethod
    def _is_http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("log_level")
    @classmethod
    def _is_log_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value.upper()

    @field_validator("audit_retention_years", "audit_checkpoint_entries")
    @classmethod
    def _is_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("audit_checkpoint_seconds")
    @classmethod
    def _is_a_period(cls, value: float) -> float:
        if not 0.1 <= value <= 86400:
            raise ValueError("must be between 0.1 and 86400 seconds")
        return value

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the SQLite file inside the data directory."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'ecm.sqlite3').resolve()}"

    @property
    def signing_key_path(self) -> Path:
        """The audit signing key (Ed25519, PEM): ECM_AUDIT_SIGNING_KEY_FILE or one in the data directory."""
        return self.audit_signing_key_file or self.data_dir / "audit-signing-key.pem"

    @property
    def anchor_path(self) -> Path:
        """The append-only file every signed checkpoint is also written to."""
        return self.audit_anchor or self.data_dir / "audit-anchors.jsonl"

    @property
    def github_app_missing(self) -> tuple[str, ...]:
        """The settings of the GitHub App that answers deployment protection rules that are not set."""
        missing = ("ECM_GITHUB_APP_ID",) if not self.github_app_id else ()
        return missing + (("ECM_GITHUB_APP_PRIVATE_KEY",) if self.github_app_private_key is None else ())

    @property
    def mapping_files(self) -> tuple[Path, ...]:
        return tuple(Path(p.strip()) for p in self.mappings.split(",") if p.strip())


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; create the data directory. Raises `ConfigError`."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {
        key[len(PREFIX) :].lower(): value
        for key, value in env.items()
        if key.startswith(PREFIX) and value != ""
    }
    for name in SECRET_NAMES:
        file_var = f"{PREFIX}{name}_FILE"
        if env.get(file_var):
            values[name.lower()] = _read_secret_file(file_var, env[file_var])
    known = set(Settings.model_fields)
    try:
        settings = Settings(**{k: v for k, v in values.items() if k in known})
    except ValidationError as exc:
        raise ConfigError(_first_problem(exc)) from None
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{PREFIX}DATA_DIR: cannot create {settings.data_dir}: {exc.strerror}") from None
    return settings


def _read_secret_file(variable: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"{variable}: cannot read {path}: {exc.strerror}") from None


def _first_problem(exc: ValidationError) -> str:
    """One line naming the variable; pydantic's `input` (maybe a secret) is left out on purpose."""
    error = exc.errors(include_input=False, include_url=False)[0]
    field = str(error["loc"][0]) if error["loc"] else "?"
    message = error["msg"].removeprefix("Value error, ")
    return f"{PREFIX}{field.upper()}: {message}"
