"""Machine settings: SMTP, limits and secrets, from the environment or the project's `.env`."""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from mailer.errors import UserError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey


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
    database_url: SecretStr | None = None
    claim_seconds: float = Field(120.0, ge=2)
    state_wait: float = Field(30.0, gt=0)
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

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Only PostgreSQL takes a URL; SQLite is what an unset (or empty) one means."""
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "write postgresql://USER:PASSWORD@HOST:PORT/DATABASE, or leave it unset for SQLite"
            )
        url_problem = database_url_problem(value.get_secret_value())
        if url_problem:
            raise ValueError(url_problem)
        return value

    @field_validator("bounce_address")
    @classmethod
    def _bounce_address(cls, value: str | None) -> str | None:
        """Checked at load, so a typo stops every command instead of changing the envelope."""
        if value is None:
            return None
        from mailer.project.addresses import check_email

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


_ENCODE = {"@": "%40", " ": "%20", "/": "%2F", "?": "%3F", "#": "%23", "[": "%5B", "]": "%5D"}


def database_url_problem(url: str) -> str | None:
    """What keeps a PostgreSQL URL from being read as the operator meant it, without repeating
    it (it holds the password): a character of the user name or password that must be written
    percent-encoded, or a % that starts no code."""
    rest = url.split("://", 1)[-1]
    userinfo = rest.rsplit("@", 1)[0] if "@" in rest else ""
    for char, code in _ENCODE.items():
        if char in userinfo or (char == " " and any(c.isspace() for c in url)):
            what = "a space" if char == " " else f"'{char}'"
            return f"the user name or password holds {what}: write it as {code} in the URL"
    if re.search(r"%(?![0-9A-Fa-f]{2})", url):
        return "a % in the URL starts no code: write a % in the password as %25"
    return None


def load_settings(project_dir: Path) -> Settings:
    """Read settings; the project's `.env` fills in what the environment leaves unset."""
    env_file = project_dir / ".env"
    if env_file.is_file():
        _no_unknown_names(env_file)
    try:
        settings = Settings(_env_file=env_file if env_file.is_file() else None)  # type: ignore[call-arg]
    except SettingsError as exc:
        field = re.search(r'field "(\w+)"', str(exc))
        name = "MAILER_" + (field[1].upper() if field else "…")
        hint = ' (JSON: {"Name": "hash from `mailer hash-password`"})' if name == "MAILER_BOARD_USERS" else ""
        raise UserError(
            f"setting {name}: not valid JSON{hint}; check the environment or {env_file}"
        ) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        field = "MAILER_" + "_".join(str(p) for p in err["loc"]).upper()
        msg = err["msg"].removeprefix("Value error, ")
        raise UserError(f"setting {field}: {msg} (check the environment or {env_file})") from None
    return _checked_dkim(settings, project_dir)  # an unusable key stops every command now


def _no_unknown_names(env_file: Path) -> None:
    """A misspelt name in `.env` (MAILER_SMTP_HOSTT) would be ignored, and a send would go to the
    outbox with every delivery marked sent: refuse it, naming the line and the likely name."""
    known = {f"MAILER_{name.upper()}" for name in Settings.model_fields}
    lines = env_file.read_text("utf-8", "replace").splitlines()
    for number, line in enumerate(lines, 1):
        m = re.match(r"\s*(?:export\s+)?(MAILER_\w+)\s*=", line, re.IGNORECASE)
        if m and m[1].upper() not in known:
            close = difflib.get_close_matches(m[1].upper(), known, 1)
            hint = f"did you mean {close[0]}?" if close else "README.md lists the settings"
            raise UserError(f"{env_file}:{number}: {m[1]} is not a setting of mailer; {hint}")


def _checked_dkim(settings: Settings, project_dir: Path) -> Settings:
    """The settings with the key's path made absolute, or a UserError naming what is wrong."""
    key = settings.dkim_private_key if str(settings.dkim_private_key or "") not in ("", ".") else None
    selector = settings.dkim_selector or None
    if key is None and selector is None:
        return settings.model_copy(update={"dkim_private_key": None, "dkim_selector": None})
    if key is None:
        raise UserError("MAILER_DKIM_SELECTOR is set but MAILER_DKIM_PRIVATE_KEY is not; set both or neither")
    if not selector:
        raise UserError("MAILER_DKIM_PRIVATE_KEY is set but MAILER_DKIM_SELECTOR is not; set both or neither")
    path = key if key.is_absolute() else project_dir / key
    read_private_key(path)
    return settings.model_copy(update={"dkim_private_key": path})


def read_private_key(path: Path) -> RSAPrivateKey:
    """The DKIM key file, parsed by OpenSSL, or a UserError that says how to make a good one.

    It lives with the settings, not with the signing, so that reading the settings checks the
    key without reaching into the delivery code (which imports this).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(
            f"MAILER_DKIM_PRIVATE_KEY: cannot read {path}: {exc.strerror or exc}; nothing was sent"
        ) from None
    key = _parsed(data)
    if key is None:
        raise UserError(
            f"MAILER_DKIM_PRIVATE_KEY: {path} is not an RSA private key in PEM format "
            "(make one with `openssl genrsa -out dkim.key 2048`); nothing was sent"
        )
    return key


@functools.lru_cache(maxsize=2)
def _parsed(data: bytes) -> RSAPrivateKey | None:
    """The key, or None; parsed once per run though both the settings and the signer ask.

    OpenSSL's check of the primes takes about 0.1 s, at every start of every command; one
    signature checked against the key's public half turns away the same broken keys.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(data, password=None, unsafe_skip_rsa_key_validation=True)
        if not isinstance(key, RSAPrivateKey):
            return None
        probe = b"mailer"
        key.public_key().verify(
            key.sign(probe, padding.PKCS1v15(), hashes.SHA256()), probe, padding.PKCS1v15(), hashes.SHA256()
        )
    except (ValueError, TypeError, InvalidSignature):
        return None
    return key
