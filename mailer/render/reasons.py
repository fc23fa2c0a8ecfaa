"""Why a member got an invitation, for its footer: the office, region, chapter or membership.

The audience in schedules.yaml decides who is invited; the footer names the part of it that
picked this member, so the 200-odd members without any office are not told it was their office.
"""

from __future__ import annotations

from collections.abc import Callable

from mailer.project.config import AudienceConfig, Config
from mailer.project.config_base import normalise_name
from mailer.project.mailing_config import InvitationConfig
from mailer.project.mailings import Mailing
from mailer.project.members import Member


def reason(cfg: AudienceConfig | None, member: Member, config: Config) -> str:
    """The footer's reason, a phrase that follows "Du får denne invitasjonen"."""
    nn = member.language == "nn"
    if cfg is not None:
        for role in cfg.roles:
            if normalise_name(role) in member.roles:
                return f"på grunn av vervet ditt som {_display_role(role, config)}"
        if cfg.regions and member.region:
            return f"fordi du er medlem i {member.region}"
        if cfg.chapters and member.chapter:
            return f"fordi du er medlem i lokallaget {member.chapter}"
        if cfg.municipalities and member.municipality:
            return f"fordi du er medlem i {member.municipality}"
        if cfg.joined_within_days is not None:
            return "fordi du nyleg har vorte medlem" if nn else "fordi du nylig ble medlem"
    org = config.organisation.name
    return f"fordi du er medlem i {org}" if nn else f"fordi du er medlem av {org}"


def _display_role(role: str, config: Config) -> str:
    """A role as schedules.yaml spells it under `roles`."""
    wanted = normalise_name(role)
    return next((r for r in config.roles if normalise_name(r) == wanted), role)


def explainer(mailing: Mailing, config: Config) -> Callable[[Member], str]:
    """`member.reason` for one mailing; an update or cancellation explains by the series' audience."""
    series = config.mailings.get(mailing.series)
    name = series.audience if isinstance(series, InvitationConfig) else mailing.audience.name
    cfg = config.audiences.get(name)
    return lambda member: reason(cfg, member, config)
