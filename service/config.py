"""Service settings, read once from ``WUSHE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


def _default_sample() -> str:
    # The repository's sample dataset when running from a checkout; empty when
    # installed as a wheel (then nothing is seeded).
    p = Path(__file__).resolve().parent.parent / "data" / "sample"
    return str(p) if p.is_dir() else ""


class Settings(BaseSettings):
    """Everything the service reads from its environment.

    Nothing else in the service reads ``os.environ``.
    """

    model_config = SettingsConfigDict(env_prefix="WUSHE_", extra="ignore")

    database_url: str = "sqlite:///var/wushe.sqlite3"
    #: dataset folder imported into an empty database on first start ("" = none)
    seed_data: str = _default_sample()
    #: an admin API key created on first start when set (else none is printed)
    bootstrap_admin_key: str = ""
    max_upload_mb: float = 20.0
    suggestions_k: int = 5
    #: seconds after which a match-run lock whose holder stopped beating is stale
    #: (a live run beats every third of this)
    lock_stale_seconds: float = 30.0
    #: origins allowed to call the API from a browser (CORS); empty: none but the page's own
    cors_origins: list[str] = []
    log_level: str = "INFO"
    #: threads serving plain (CPU-bound) routes in each worker process
    threads: int = 4
    #: fit the engine in the background at start-up, so the first request does not wait
    warm_up: bool = True
    #: bad keys (missing or invalid) one client address may send within the window before
    #: its further bad keys get 429; counted in each worker process; 0 = no limit
    bad_key_limit: int = 20
    bad_key_window_seconds: float = 60.0
    #: client addresses tracked for that (the one that failed least recently goes first)
    bad_key_clients: int = 10_000
    #: where first-start keys are written when stderr is not a terminal (owner-only file);
    #: "" = first-start-keys.txt next to the SQLite database, else var/first-start-keys.txt
    first_start_keys_file: str = ""


@lru_cache
def get_settings() -> Settings:
    return Settings()
