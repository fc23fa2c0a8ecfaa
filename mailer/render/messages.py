"""Messages: a mailing compiled once per language, then each member's copy as MIME bytes."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from mailer.project import pictures, reader_calendar
from mailer.project.config import Organisation
from mailer.project.mailings import Mailing
from mailer.project.members import Member
from mailer.project.reader_calendar import RSVP_PREFIX
from mailer.render import mime
from mailer.render.origins import draft_file, subject_origin
from mailer.render.renderer import LANGUAGES, Copy, MissingValue, Renderer, Variant, fill

LOGO_WIDTH = 400
"""A logo is shown at most 200 px wide; twice that stays sharp on high-density screens."""
PERSONAL = (
    "unsubscribe_url",
    "rsvp_yes_url",
    "rsvp_no_url",
    "consultation_url",
    "registration_url",
    "preferences_url",
)
_MEMBER_FIELDS = {
    "id": lambda m: m.id,
    "first_name": lambda m: m.first_name,
    "last_name": lambda m: m.last_name,
    "name": lambda m: m.name,
    "email": lambda m: m.email,
    "municipality": lambda m: m.municipality,
    "region": lambda m: m.region,
    "chapter": lambda m: m.chapter,
    "roles": lambda m: ", ".join(sorted(m.roles)),
    "joined": lambda m: m.joined.strftime("%d.%m.%Y") if m.joined else "",
}


@dataclass(frozen=True)
class Links:
    """Per-member links (unsubscribe, RSVP), given by the caller so this module stays pure."""

    unsubscribe: Callable[[Member, str], str]
    rsvp: Callable[[Member, str, str], str] | None = None
    unsubscribe_mailto: str | None = None
    one_click: bool = False
    consultation: Callable[[Member, str], str] | None = None
    registration: Callable[[Member, str], str] | None = None
    preferences: Callable[[Member], str] | None = None


@dataclass(frozen=True)
class CompiledMailing:
    """A mailing rendered and compiled for each language, and the fingerprint the board approves."""

    mailing: Mailing
    variants: Mapping[str, Variant]
    attachments: tuple[tuple[str, str, bytes], ...]
    pictures: tuple[pictures.Picture, ...] = ()
    compile_group: Callable[[str, tuple[str, ...]], Variant] | None = field(default=None, compare=False)
    _groups: dict[tuple[str, tuple[str, ...]], Variant] = field(default_factory=dict, compare=False)

    def group_variant(self, language: str, group: tuple[str, ...]) -> Variant:
        """The copy for readers invited to `group`'s meeting series: compiled once per group."""
        key = (language if language in self.variants else "nb", group)
        if key not in self._groups:
            assert self.compile_group is not None
            self._groups[key] = self.compile_group(*key)
        return self._groups[key]

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        m = self.mailing
        audience = {
            "name": m.audience.name,
            "include": repr(m.audience.include),
            "exclude": repr(m.audience.exclude),
        }
        org = m.context.get("organisation")
        sender = [str(getattr(org, "sender", "")), str(getattr(org, "reply_to", ""))]  # From, Reply-To
        h.update(json.dumps([m.id, m.template, audience, sender], sort_keys=True).encode())
        for lang in sorted(self.variants):
            h.update(self.variants[lang].digest().encode())
        if m.calendar:
            h.update(reader_calendar.digest(m.calendar).encode())
        if m.archive is not None:  # publishing is part of what the board approves
            h.update(f"archive:{m.archive}".encode())
        for name, ctype, data in self.attachments:
            h.update(f"{name}\x00{ctype}\x00".encode() + hashlib.sha256(data).digest())
        return h.hexdigest()[:16]

    def variant(self, language: str) -> Variant:
        return self.variants.get(language) or self.variants["nb"]

    def fallbacks(self) -> list[str]:
        """Template files used in place of a missing nynorsk version."""
        return sorted({v.template_file for v in self.variants.values() if v.fallback})


def compile_mailing(renderer: Renderer, mailing: Mailing) -> CompiledMailing:
    """Render and compile each language once (MJML runs here, never per member)."""
    from mailer.render.blocks import DEFAULT_ACCENT, Blocks

    own = {
        "invitation": PERSONAL[:3],
        "consultation": ("unsubscribe_url", "consultation_url"),
        "event": ("unsubscribe_url", "registration_url"),
    }
    personal = (*own.get(mailing.kind, PERSONAL[:1]), "preferences_url")
    logo = (mailing.logo,) if mailing.logo else ()
    scaled = pictures.scale_all((*logo, *mailing.pictures), max_width={ref.src: LOGO_WIDTH for ref in logo})
    shown = pictures.shown(scaled, mailing.pictures_inline, _base_url(mailing))
    org = mailing.context.get("organisation")
    blocks = Blocks(shown, org.colours.primary if isinstance(org, Organisation) else DEFAULT_ACCENT)
    looks = {"logo": shown[mailing.logo.src] if mailing.logo else None, "reader_calendar": []}

    origin = functools.partial(subject_origin, renderer.label_root, mailing)

    def compile_one(lang: str, group: tuple[str, ...] = ()) -> Variant:
        body, extra = mailing.language_versions.get(lang, (mailing.markdown_body, {}))
        context = {**mailing.context, **looks, **extra}
        keys: tuple[str, ...] = personal
        if group:
            entries = reader_calendar.entries_for(mailing.calendar, group, mailing.calendar_shown_from)
            context["reader_calendar"] = entries
            keys = (*personal, *(e.rsvp_key for e in entries))
        draft = draft_file(mailing, lang)
        return renderer.compile(
            mailing.template, mailing.subject, context, lang, keys, body, blocks, origin, draft
        )

    variants = {lang: compile_one(lang) for lang in LANGUAGES}
    attachments = []
    for path in mailing.event.attachments if mailing.event else mailing.attachments:
        ctype = "application/pdf" if path.suffix.lower() == ".pdf" else "application/octet-stream"
        attachments.append((path.name, ctype, path.read_bytes()))
    group = compile_one if mailing.calendar else None
    return CompiledMailing(mailing, variants, tuple(attachments), scaled, group)


def _base_url(mailing: Mailing) -> str:
    org = mailing.context.get("organisation")
    return (getattr(org, "base_url", None) or "") if org is not None else ""


def _getter(
    key: str, mailing: Mailing, links: Links, fields: Mapping[str, Callable[[Member], str]]
) -> Callable[[Member], str | None]:
    if key == "unsubscribe_url":
        return lambda m: links.unsubscribe(m, mailing.category)
    if key.startswith(RSVP_PREFIX):
        rsvp_link = links.rsvp
        day = key.removeprefix(RSVP_PREFIX)
        return (lambda m: "") if rsvp_link is None else (lambda m: rsvp_link(m, day, "yes"))
    if key in ("rsvp_yes_url", "rsvp_no_url"):
        answer = "yes" if key == "rsvp_yes_url" else "no"
        occurrence = mailing.id.split("/")[0]
        if links.rsvp is None:
            return lambda m: ""
        rsvp = links.rsvp
        return lambda m: rsvp(m, occurrence, answer)
    if key == "preferences_url":
        page = links.preferences
        return (lambda m: "") if page is None else page
    if key == "consultation_url":
        form, consultation_id = links.consultation, mailing.id.split("/")[0]
        return (lambda m: "") if form is None else (lambda m: form(m, consultation_id))
    if key == "registration_url":
        register, event_id = links.registration, mailing.series
        return (lambda m: "") if register is None else (lambda m: register(m, event_id))
    _, _, name = key.partition(".")
    known = _MEMBER_FIELDS.get(name) or fields.get(name)
    if known:
        return known
    return lambda m: m.extra.get(name)


@dataclass
class Outgoing:
    """One member's message, ready for the transport."""

    member: Member
    data: bytes
    message_id: str


@dataclass
class _LanguageParts:
    variant: Variant
    getters: list[Callable[[Member], str | None]]
    required: list[int]
    subject: str | None
    html: mime.BodyTemplate
    text: mime.BodyTemplate
    unsubscribe: int | None
    member_required: list[int]


@dataclass
class MessageFactory:
    """Builds each member's MIME bytes from a compiled mailing; the hot path of every send."""

    compiled: CompiledMailing
    organisation: Organisation
    links: Links
    now: dt.datetime
    subject_prefix: str = ""
    fields: Mapping[str, Callable[[Member], str]] = field(default_factory=dict)
    seal: Callable[[bytes], bytes] | None = None
    language_of: Callable[[Member], str] | None = None
    """The language a member chose for their mail, when it may differ from the export's."""
    every_series: bool = False
    """The board's preview: the reader's calendar holds every series (the invented reader is
    invited to none, and the template's calendar part would never be seen before approval)."""
    _parts: dict[str, _LanguageParts] = field(default_factory=dict)
    _calendar: tuple[str, str] | None = None
    _domain: str = ""
    _static: bytes = b""
    _attachments: list[bytes] = field(default_factory=list)
    _related: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        m = self.compiled.mailing
        org = self.organisation
        self._domain = org.sender.email.rsplit("@", 1)[1]
        for lang, variant in self.compiled.variants.items():
            self._parts[lang] = self._make_parts(variant)
        headers = [f"From: {mime.mailbox(org.sender.name, org.sender.email)}"]
        if org.reply_to:
            headers.append(f"Reply-To: {mime.mailbox(org.reply_to.name, org.reply_to.email)}")
        headers.append("MIME-Version: 1.0")
        if m.kind == "newsletter":
            headers.append(f"List-Id: {mime.header_value(org.name)} <{m.series}.{self._domain}>")
        if m.kind not in ("welcome", "notice") and self.links.one_click:
            headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        headers.append("X-Mailer-Mailing: " + m.id)
        self._static = ("\r\n".join(headers) + "\r\n").encode()
        if m.event:
            method = "CANCEL" if m.change == "cancel" else "REQUEST"
            # icalendar takes a tenth of a second to import; only invitations need it
            from mailer.render import ics

            self._calendar = ics.calendar_halves(
                m.event, method, self.now, self._description(), self.organisation.tz
            )
        self._attachments = [
            mime.attachment(name, ctype, data) for name, ctype, data in self.compiled.attachments
        ]
        if m.pictures_inline:
            self._related = [
                mime.inline_picture(p.name, p.content_type, p.data, p.cid) for p in self.compiled.pictures
            ]

    def _make_parts(self, variant: Variant) -> _LanguageParts:
        getters = [_getter(k, self.compiled.mailing, self.links, self.fields) for k in variant.slot_keys]
        used = variant.subject.slots | variant.html.slots | variant.text.slots
        subject = None
        if not variant.subject.slots:
            subject = mime.header_value(self.subject_prefix + variant.subject.fill([]))
        keys = variant.slot_keys
        return _LanguageParts(
            variant,
            getters,
            sorted(used),
            subject,
            mime.BodyTemplate.of(variant.html, html.escape),
            mime.BodyTemplate.of(variant.text),
            keys.index("unsubscribe_url") if "unsubscribe_url" in keys else None,
            [i for i in sorted(used) if keys[i] not in PERSONAL and not keys[i].startswith(RSVP_PREFIX)],
        )

    def _parts_of(self, member: Member) -> _LanguageParts:
        """The member's language, and their calendar group when the newsletter has a calendar."""
        chosen = self.language_of(member) if self.language_of else member.language
        lang = chosen if chosen in self._parts else "nb"
        dates = self.compiled.mailing.calendar
        if dates and self.every_series:
            group: tuple[str, ...] = tuple(s.series for s in dates)
        else:
            group = reader_calendar.group_of(dates, member, self.now.date()) if dates else ()
        if not group:
            return self._parts[lang]
        key = f"{lang}|{','.join(group)}"
        if key not in self._parts:
            self._parts[key] = self._make_parts(self.compiled.group_variant(lang, group))
        return self._parts[key]

    def _description(self) -> str:
        event = self.compiled.mailing.event
        assert event is not None
        parts = [event.description]
        if event.video_url:
            parts.append(f"Lenke til møtet: {event.video_url}")
        if event.agenda and not event.agenda.endswith(".md"):
            parts.append(event.agenda.strip())
        return "\n\n".join(p for p in parts if p)

    def values(self, member: Member) -> tuple[_LanguageParts, list[str]]:
        parts = self._parts_of(member)
        values = [g(member) for g in parts.getters]
        for i in parts.required:
            if values[i] is None:
                key = parts.variant.slot_keys[i]
                raise MissingValue(parts.variant.missing(key, member.id))
        return parts, [v or "" for v in values]

    def copy(self, member: Member) -> Copy:
        parts, values = self.values(member)
        return fill(parts.variant, dict(zip(parts.variant.slot_keys, values, strict=True)), member.id)

    def check(self, member: Member) -> None:
        """Raise MissingValue now if this member's copy cannot be filled in (links always can)."""
        variant, keys = self.missing(member)
        if keys:
            raise MissingValue(variant.missing(keys[0], member.id))

    def missing(self, member: Member) -> tuple[Variant, list[str]]:
        """The member's copy and the values it prints that this member has none of."""
        parts = self._parts_of(member)
        lacking = [i for i in parts.member_required if parts.getters[i](member) is None]
        return parts.variant, [parts.variant.slot_keys[i] for i in lacking]

    def may_lack_values(self) -> bool:
        """Whether a copy prints a column of the member files, which some member may not have."""
        own = {*_MEMBER_FIELDS, *self.fields}
        return any(
            parts.variant.slot_keys[i].partition(".")[2] not in own
            for parts in self._parts.values()
            for i in parts.member_required
        )

    def build(self, member: Member) -> Outgoing:
        parts, values = self.values(member)
        m = self.compiled.mailing
        message_id = f"<{secrets.token_hex(10)}.{m.series}@{self._domain}>"
        subject = parts.subject
        if subject is None:
            subject = mime.header_value(self.subject_prefix + parts.variant.subject.fill(values))
        head = [
            f"Date: {mime.date_header()}",
            f"Message-ID: {message_id}",
            f"Subject: {subject}",
            f"To: {mime.mailbox(member.name, member.email)}",
        ]
        if m.kind not in ("welcome", "notice"):
            url = values[parts.unsubscribe] if parts.unsubscribe is not None else None
            head.append(f"List-Unsubscribe: {self._list_unsubscribe(member, url)}")
        text = mime.leaf('text/plain; charset="utf-8"', parts.text.encode(values), "quoted-printable")
        html_part = mime.leaf('text/html; charset="utf-8"', parts.html.encode(values), "quoted-printable")
        if self._related:
            related, body = mime.multipart("related", [html_part, *self._related], mime.new_boundary())
            html_part = f"Content-Type: {related}\r\n\r\n".encode() + body
        alternatives = [text, html_part]
        ics_text = None
        if self._calendar:
            method = "CANCEL" if m.change == "cancel" else "REQUEST"
            from mailer.render import ics

            ics_text = self._calendar[0] + ics.attendee_line(member.name, member.email) + self._calendar[1]
            alternatives.append(
                mime.leaf(
                    f'text/calendar; charset="utf-8"; method={method}',
                    mime.qp(ics_text) + mime.CRLF,  # the last CRLF before a boundary is the boundary's
                    "quoted-printable",
                )
            )
        ctype, body = mime.multipart("alternative", alternatives, mime.new_boundary())
        if ics_text is not None or self._attachments:
            outer = [f"Content-Type: {ctype}\r\n\r\n".encode() + body]
            if ics_text is not None:
                outer.append(mime.attachment("invitasjon.ics", "application/ics", ics_text.encode()))
            outer.extend(self._attachments)
            ctype, body = mime.multipart("mixed", outer, mime.new_boundary())
        data = self._static + ("\r\n".join(head) + f"\r\nContent-Type: {ctype}\r\n\r\n").encode() + body
        if self.seal is not None:
            data = self.seal(data)
        return Outgoing(member, data, message_id)

    def _list_unsubscribe(self, member: Member, url: str | None = None) -> str:
        links = []
        url = url or self.links.unsubscribe(member, self.compiled.mailing.category)
        if url.startswith("http"):
            links.append(f"<{url}>")
        if self.links.unsubscribe_mailto:
            links.append(
                f"<mailto:{self.links.unsubscribe_mailto}?subject=unsubscribe%20"
                f"{self.compiled.mailing.category}>"
            )
        return ", ".join(links)
