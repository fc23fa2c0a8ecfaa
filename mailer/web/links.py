"""The links members click in the mail: unsubscribe and RSVP, each a page first and a POST to act.

A GET is a member (or a link scanner) looking: what the page shows follows from the project's
files and the token alone, so it is kept per project (`Projects.memo`); only who the member
is and, for an RSVP, their answer so far are read from the state at each click.
"""

from __future__ import annotations

import logging

from starlette.responses import Response

from mailer.project.dates import date_and_time
from mailer.web import clicks, pages
from mailer.web.projects import Projects
from mailer.web.responses import page

log = logging.getLogger("mailer.web")


class MemberLinks:
    """Unsubscribe (`/u/TOKEN`) and RSVP (`/r/TOKEN/yes|no`)."""

    def __init__(self, projects: Projects):
        self.projects = projects

    def unsubscribe(self, token: str, form: dict[str, str] | None) -> Response:
        with self.projects.runner() as r:
            org = r.project.config.organisation
            contact = org.unsubscribe_email or (org.reply_to or org.sender).email
            try:
                click = clicks.verify(self.projects.signer(r), token, "u", r.now.date())
            except clicks.BadLink as exc:
                log.info("unsubscribe refused: %s", exc)
                return self._bad_link(org.name, org.language, contact)
            who = clicks.who(r, click.member_id)
            t = pages.texts(who.language)
            if who.address is None:
                text = t["not_found_text"].format(contact=contact)
                return page(pages.message(who.language, org.name, t["not_found"], text), 404)
            options = clicks.choices(click.subject)
            if form is None:

                def html() -> str:
                    labels = [(c, _capital(clicks.category_label(r.project, c, t))) for c in options]
                    return pages.render(
                        "unsubscribe.html",
                        lang=who.language,
                        org=org.name,
                        title=t["unsubscribe"],
                        choices=labels,
                        others=[],
                    )

                return page(self.projects.memo(r.project, ("u", who.language, click.subject), html))
            scope: str | None
            if "scope" in form:
                scope, source = form["scope"], "web"
            elif form.get("List-Unsubscribe") == "One-Click":
                scope, source = click.subject, "one-click"
            else:
                scope, source = None, ""
            if scope is None or scope not in options:
                log.info("unsubscribe refused: a POST without a known scope")
                return self._bad_link(org.name, who.language, contact)
            r.state.suppressions.add(who.address, scope, r.now, source)
            if scope == clicks.EVERYTHING:
                done = t["no_more_at_all"].format(org=org.name)
            else:
                done = t["no_more"].format(what=clicks.category_label(r.project, scope, t))
            regret = t["regret"].format(contact=(org.reply_to or org.sender).email)
            return page(pages.message(who.language, org.name, t["unsubscribed"], done, regret))

    def rsvp(self, token: str, answer: str, record: bool) -> Response:
        with self.projects.runner() as r:
            org = r.project.config.organisation
            contact = (org.reply_to or org.sender).email
            try:
                click = clicks.verify(self.projects.signer(r), token, "r", r.now.date())
            except clicks.BadLink as exc:
                log.info("rsvp refused: %s", exc)
                return self._bad_link(org.name, org.language, contact)
            who = clicks.who(r, click.member_id)
            t = pages.texts(who.language)
            if who.member is None:
                text = t["not_found_text"].format(contact=contact)
                return page(pages.message(who.language, org.name, t["not_found"], text), 404)
            project, occurrence, lang = r.project, click.subject, who.language
            meeting = self.projects.memo(
                project, ("m", occurrence), lambda: clicks.meeting(project, occurrence)
            )
            if meeting is None or meeting.cancelled or meeting.end <= r.now:
                title = t["meeting_over"] if meeting and not meeting.cancelled else t["meeting_cancelled"]
                return page(pages.message(who.language, org.name, title, t["closed_text"]), 410)
            title, start = meeting.title, meeting.start

            def context() -> dict[str, str]:
                return {
                    "lang": lang,
                    "org": org.name,
                    "title": title,
                    "meeting": title,
                    "when": _capital(date_and_time(start, lang)),
                    "answer": answer,
                }

            if not record:
                answered = r.state.rsvps.answer(occurrence, click.member_id)
                key = ("r", occurrence, lang, answer, answered)
                html = self.projects.memo(
                    project, key, lambda: pages.render("rsvp.html", answered=answered, **context())
                )
                return page(html)
            r.state.rsvps.record(occurrence, click.member_id, answer, r.now)
            other = "no" if answer == "yes" else "yes"
            return page(pages.render("rsvp_done.html", other=other, **context()))

    def _bad_link(self, org: str, lang: str, contact: str) -> Response:
        t = pages.texts(lang)
        text = t["bad_link_text"].format(contact=contact)
        return page(pages.message(lang, org, t["bad_link"], text), 400)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
