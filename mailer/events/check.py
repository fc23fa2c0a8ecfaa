"""`mailer check` for events: each invitation and every kind of mail to a registrant renders.

A board member who edits `templates/event-offer.nn.mjml` hears of a mistake from `mailer check`,
not from the member whose offer could not be sent.
"""

from __future__ import annotations

from mailer.delivery import notices
from mailer.delivery.runner import Runner
from mailer.errors import UserError
from mailer.events.messages import samples
from mailer.project import event_mailings
from mailer.project.folder import Project
from mailer.render.messages import compile_mailing


def problems(project: Project, runner: Runner) -> list[str]:
    """Each event's invitation and every kind of mail to a registrant, rendered for an invented one."""
    out = []
    for name, cfg in project.config.events.items():
        try:
            invitation = event_mailings.invitation(project, name, cfg)
            if invitation is not None:
                compile_mailing(runner.renderer, invitation)
            for sample in samples(runner, name, cfg):
                notices.preview(runner, sample)
        except UserError as exc:
            out.append(f"events.{name}: {exc}")
    return out
