"""Rendering: MJML compiled once per language, per-member filling, text part, MIME like EmailMessage."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from conftest import DRAFT, REPO, small_project

from mailer.errors import UserError
from mailer.project.dates import date_and_time, long_date
from mailer.project.folder import Project
from mailer.project.members import Member
from mailer.render.messages import Links, MessageFactory, compile_mailing
from mailer.render.renderer import Renderer

OSLO = ZoneInfo("Europe/Oslo")


def member(i: int, first: str = "Åse", language: str = "nb") -> Member:
    return Member(
        str(i),
        first,
        "Ødegård",
        f"m{i}@example.org",
        "Ås",
        "Follo",
        "Ås Sp",
        frozenset({"medlem"}),
        None,
        language,
    )


@pytest.fixture
def newsletter(tmp_path):
    root = small_project(tmp_path / "p", "")
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    project = Project(root)
    mailing = project.mailing("nyhetsbrev-2026-12", dt.datetime(2026, 11, 22, 12, tzinfo=OSLO))
    return project, mailing


def factory_for(project, mailing, renderer=None):
    renderer = renderer or Renderer(project.templates_dir, project.root)
    compiled = compile_mailing(renderer, mailing)
    links = Links(
        lambda m, c: f"https://medlem.example/u/{m.id}-{c}",
        unsubscribe_mailto="av@example.org",
        one_click=True,
    )
    return MessageFactory(compiled, project.config.organisation, links, dt.datetime.now(OSLO))


def test_mjml_is_compiled_once_per_language_not_once_per_member(newsletter):
    project, mailing = newsletter
    renderer = Renderer(project.templates_dir, project.root)
    factory = factory_for(project, mailing, renderer)
    for i in range(500):
        factory.build(member(i, language="nn" if i % 3 else "nb"))
    assert renderer.compilations == 2


def test_each_member_gets_their_own_values_html_escaped_in_html_only(newsletter):
    project, mailing = newsletter
    factory = factory_for(project, mailing)
    copy = factory.copy(member(1, first="<Per & Pål>"))
    assert "Hei &lt;Per &amp; Pål&gt;!" in copy.html
    assert "Hei <Per & Pål>!" in copy.text


def test_the_fast_message_has_the_structure_email_message_would_give(newsletter):
    project, mailing = newsletter
    factory = factory_for(project, mailing)
    m = member(7, first="Ørjan")
    ours = email.message_from_bytes(factory.build(m).data, policy=email.policy.default)
    copy = factory.copy(m)
    reference = EmailMessage()
    for name in ("From", "Reply-To", "Subject", "To", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"):
        reference[name] = str(ours[name])
    reference.set_content(copy.text)
    reference.add_alternative(copy.html, subtype="html")
    reference = email.message_from_bytes(reference.as_bytes(), policy=email.policy.default)

    def shape(msg):
        return [(p.get_content_type(), p.get_content_charset()) for p in msg.walk()]

    assert shape(ours) == shape(reference)
    for name in ("From", "Reply-To", "Subject", "To", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"):
        assert str(ours[name]) == str(reference[name])

    def body(msg, kind):
        return msg.get_body((kind,)).get_content().replace("\r\n", "\n").rstrip("\n")

    assert body(ours, "plain") == body(reference, "plain")
    assert body(ours, "html") == body(reference, "html")
    assert ours["Subject"] == "Nyhetsbrev: Æ, Ø og Å i emnefeltet"
    assert ours["To"].addresses[0].display_name == "Ørjan Ødegård"
    raw = factory.build(m).data
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")), "SMTP line length limit"
    assert b"\n" not in raw.replace(b"\r\n", b""), "CRLF line ends only"


def test_the_text_part_is_readable(newsletter):
    project, mailing = newsletter
    copy = factory_for(project, mailing).copy(member(1))
    assert "Siste nytt\n----------" in copy.text
    assert "<" not in copy.text
    assert "Meld deg av nyhetsbrevet (https://medlem.example/u/1-nyhetsbrev)" in copy.text.replace("\n", " ")
    assert all(len(line) <= 76 or "http" in line for line in copy.text.splitlines())


def test_norwegian_dates_in_bokmal_and_nynorsk():
    when = dt.datetime(2026, 11, 24, 8, 0, tzinfo=OSLO)
    assert date_and_time(when, "nb") == "tirsdag 24. november kl. 08.00"
    assert date_and_time(when, "nn") == "tysdag 24. november kl. 08.00"
    assert long_date(when, "nn") == "tysdag 24. november"


def test_a_member_value_tested_in_a_template_is_explained(tmp_path):
    (tmp_path / "t.mjml").write_text(
        "<mjml><mj-body><mj-section><mj-column><mj-text>{% if member.first_name %}x{% endif %}"
        "</mj-text></mj-column></mj-section></mj-body></mjml>",
        "utf-8",
    )
    renderer = Renderer(tmp_path, tmp_path)
    with pytest.raises(UserError, match=r"member\.first_name is different for each member"):
        renderer.compile("t", "Emne", {}, "nb")


def test_every_example_mailing_renders_in_both_languages():
    project = Project(REPO)
    now = dt.datetime(2026, 11, 22, 12, tzinfo=OSLO)
    mailings = project.upcoming(now, now + dt.timedelta(days=400))
    kinds = {m.kind for m in mailings}
    assert kinds == {"newsletter", "invitation", "consultation", "event"}
    for m in mailings[:40] + [m for m in mailings if m.kind in ("consultation", "event")]:
        compiled = compile_mailing(Renderer(project.templates_dir, project.root), m)
        assert set(compiled.variants) == {"nb", "nn"}
