"""Machine settings: SMTP, limits and secrets, from the environment or the project's `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mailer.errors import UserError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAILER_", extra="ignore")

    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout: float = Field(30.0, gt=0)
    smtp_validate_certs: bool = True
    pool_size: int = Field(4, ge=1, le=64)
    rate_per_minute: int | None = Field(None, ge=1)
    rate_per_hour: int | None = Field(None, ge=1)
    rate_per_day: int | None = Field(None, ge=1)
    state_dir: Path | None = None
    secret: SecretStr | None = None
    dkim_selector: str | None = None
    dkim_private_key: Path | None = None
    dkim_domain: str | None = None
    board_users: dict[str, str] = Field(default_factory=dict)
    web_requests_per_minute: int = Field(60, ge=1)
    web_trusted_proxies: str = "127.0.0.1"
    organiser_email: str | None = None
    bounce_address: str | None = None
    bounce_soft_limit: int = Field(5, ge=1)
    bounce_soft_days: int = Field(7, ge=1)
    bounce_imap_host: str | None = None
    bounce_imap_port: int = Field(993, ge=1, le=65535)
    bounce_imap_username: str | None = None
    bounce_imap_password: SecretStr | None = None
    bounce_imap_folder: str = "INBOX"
    bounce_imap_done_folder: str = "mailer-processed"
    bounce_imap_cafile: Path | None = None

    @field_validator("bounce_address")
    @classmethod
    def _bounce_address(cls, value: str | None) -> str | None:
        """Checked at load, so a typo stops every command instead of changing the envelope."""
        if value is None:
            return None
        from mailer.addresses import check_email

        try:
            address = check_email(value.strip())
        except ValueError as exc:
            raise ValueError(f"'{value}' is not an email address ({exc}); e.g. bounces@example.org") from None
        if "+" in address.split("@")[0]:
            raise ValueError("leave out the '+'; mailer adds '+token' itself")
        return address

    @property
    def port(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return {"tls": 465, "starttls": 587, "none": 25}[self.smtp_security]


def load_settings(project_dir: Path) -> Settings:
    """Read settings; the project's `.env` fills in what the environment leaves unset."""
    env_file = project_dir / ".env"
    try:
        settings = Settings(_env_file=env_file if env_file.is_file() else None)  # type: ignore[call-arg]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = "MAILER_" + "_".join(str(p) for p in err["loc"]).upper()
        raise UserError(f"setting {field}: {err['msg']} (check the environment or {env_file})") from None
    if settings.dkim_private_key is not None or settings.dkim_selector is not None:
        from mailer.dkim import check_settings

        settings = check_settings(settings, project_dir)  # an unusable key stops every command now
    return settings
