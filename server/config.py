"""Settings from the environment and an optional .env file."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_URL = f"sqlite+aiosqlite:///{ROOT / 'var' / 'fieldsales.db'}"


class Settings(BaseSettings):
    """Everything configurable. Build one explicitly and pass it to create_app()."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default="", alias="DATABASE_URL")
    secret_key: str = Field(default="", alias="SECRET_KEY")
    debug: bool = Field(default=False, alias="DEBUG")
    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8000, alias="PORT")
    scheduler_enabled: bool = Field(default=True, alias="SCHEDULER")
    # Web Push (VAPID). `fieldsales vapid` writes these to var/vapid.env (outside git).
    vapid_private_key: str = Field(default="", alias="VAPID_PRIVATE_KEY")
    vapid_public_key: str = Field(default="", alias="VAPID_PUBLIC_KEY")
    vapid_subject: str = Field(default="mailto:ops@fieldsales.example", alias="VAPID_SUBJECT")
    push_timeout_s: float = Field(default=10.0, alias="PUSH_TIMEOUT_S")
    push_concurrency: int = Field(default=8, alias="PUSH_CONCURRENCY")
    # Test-only: accept http://127.0.0.1 / localhost push endpoints (the local fake push service).
    push_allow_insecure_localhost: bool = Field(default=False, alias="PUSH_ALLOW_INSECURE_LOCALHOST")
    # Push endpoints must be on one of these host suffixes (comma-separated; empty = any public
    # host). The default is the push services of Chrome/Edge/Android, Firefox, Safari and Windows.
    push_allowed_hosts: str = Field(
        default="fcm.googleapis.com,android.googleapis.com,push.services.mozilla.com,"
        "push.apple.com,notify.windows.com",
        alias="PUSH_ALLOWED_HOSTS",
    )
    # Sessions and tokens
    session_days: int = Field(default=14, alias="SESSION_DAYS")
    token_hours: int = Field(default=12, alias="TOKEN_HOURS")
    cookie_secure: bool | None = Field(default=None, alias="COOKIE_SECURE")
    # Login throttling (services/auth/throttle.py): attempts allowed freely per account + client
    # address and per address alone; past them each attempt waits a doubling delay.
    login_window_s: int = Field(default=900, alias="LOGIN_WINDOW_S")
    login_max_per_account: int = Field(default=5, alias="LOGIN_MAX_PER_ACCOUNT")
    login_max_per_ip: int = Field(default=100, alias="LOGIN_MAX_PER_IP")
    login_delay_base_s: float = Field(default=30.0, alias="LOGIN_DELAY_BASE_S")
    login_delay_max_s: float = Field(default=900.0, alias="LOGIN_DELAY_MAX_S")
    # Addresses whose X-Forwarded-For/-Proto uvicorn believes (comma-separated IPs or CIDRs, or
    # "*"): set it to the reverse proxy's address, or every user shares the proxy's address.
    forwarded_allow_ips: str = Field(default="127.0.0.1", alias="FORWARDED_ALLOW_IPS")
    max_body_bytes: int = Field(default=1_048_576, alias="MAX_BODY_BYTES")
    db_pool_size: int = Field(default=10, alias="DB_POOL_SIZE")
    db_timeout_s: float = Field(default=5.0, alias="DB_TIMEOUT_S")
    # Seconds a token's holder is remembered (PostgreSQL only; 0 turns the cache off). Changes reach
    # every process at once through LISTEN/NOTIFY: the TTL only bounds a silently lost listener.
    token_cache_ttl_s: float = Field(default=60.0, alias="TOKEN_CACHE_TTL_S")
    instance_name: str = Field(default="", alias="INSTANCE_NAME")
    log_json: bool = Field(default=False, alias="LOG_JSON")
    # When set, /metrics requires `Authorization: Bearer <token>`.
    metrics_token: str = Field(default="", alias="METRICS_TOKEN")
    # Who approves a plan or adjustment an executive submitted (never the submitter themself):
    # "executive,admin" (default), "executive" (another executive only) or "admin".
    plan_exec_submission_approvers: str = Field(
        default="executive,admin", alias="PLAN_EXEC_SUBMISSION_APPROVERS"
    )

    # Visit photos (docs/evidence.md): where their files go and what an upload may be.
    evidence_store: str = Field(default="dir", alias="EVIDENCE_STORE")  # dir | s3
    evidence_dir: str = Field(default="", alias="EVIDENCE_DIR")  # default var/evidence
    evidence_s3_bucket: str = Field(default="", alias="EVIDENCE_S3_BUCKET")
    evidence_s3_prefix: str = Field(default="", alias="EVIDENCE_S3_PREFIX")
    evidence_s3_endpoint: str = Field(default="", alias="EVIDENCE_S3_ENDPOINT")  # MinIO, R2, OSS ...
    evidence_s3_region: str = Field(default="", alias="EVIDENCE_S3_REGION")
    photo_max_bytes: int = Field(default=5_242_880, alias="PHOTO_MAX_BYTES")
    # Decompression bombs: a small file that decodes to a huge bitmap is refused before decoding.
    photo_max_pixels: int = Field(default=40_000_000, alias="PHOTO_MAX_PIXELS")
    photo_thumb_px: int = Field(default=320, alias="PHOTO_THUMB_PX")

    @cached_property
    def effective_database_url(self) -> str:
        return self.database_url or DEFAULT_SQLITE_URL

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @cached_property
    def effective_secret_key(self) -> str:
        """SECRET_KEY, else a key generated once and kept in var/secret.key (not in git)."""
        if self.secret_key:
            return self.secret_key
        return _local_secret()

    @property
    def evidence_path(self) -> Path:
        """The directory store's root (EVIDENCE_DIR, else var/evidence)."""
        return Path(self.evidence_dir) if self.evidence_dir else ROOT / "var" / "evidence"


def _local_secret() -> str:
    import secrets

    path = ROOT / "var" / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(**overrides: Any) -> Settings:
    """Settings from env/.env plus var/vapid.env (generated keys), with explicit overrides."""
    env_files = [".env", str(ROOT / "var" / "vapid.env")]
    return Settings(_env_file=env_files, **overrides)  # type: ignore[call-arg]
