"""The organisation's look: its logo (a picture like a draft's) and the colours templates use."""

from __future__ import annotations

from pathlib import Path

from mailer.errors import UserError
from mailer.project.config import Organisation
from mailer.project.pictures import PictureRef, check


def logo(root: Path, org: Organisation, config_label: str, cache: Path | None = None) -> PictureRef | None:
    """`organisation.logo` as a picture to scale and deliver; UserError when it cannot be used.
    `cache`: where checked and scaled pictures are kept (see `picture_cache`)."""
    if not org.logo:
        return None
    where = f"{config_label}: organisation.logo"
    base = root.resolve()
    path = (base / org.logo).resolve()
    if not path.is_relative_to(base):
        raise UserError(f"{where}: {org.logo} is outside the project folder; put the logo in it")
    if not path.is_file():
        raise UserError(f"{where}: {org.logo} does not exist; give a path relative to the project folder")
    ref = PictureRef(org.logo, path, org.name, where, cache)
    check(ref)
    return ref


def problems(root: Path, org: Organisation, config_label: str, cache: Path | None = None) -> list[str]:
    """What `mailer check` reports about the look."""
    try:
        logo(root, org, config_label, cache)
    except UserError as exc:
        return [str(exc)]
    return []
