"""Bad input and abuse of consultations: bad links, late, long or forged answers, and bad schedules.

Each refused answer leaves nothing recorded; each bad schedule or draft makes `mailer check`
name the key to fix.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from conftest import base_env, mailer
from consultation_project import DRAFT, ID, TODAY, form_link, make_project, send_consultation
from webapp import SECRET, start_web

from mailer.delivery.tokens import Signer


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, **smtp.env())


@pytest.fixture
def sent(tmp_path: Path, env, smtp):
    """A consultation sent to the leaders, and `mailer serve` for its form."""
    project = make_project(tmp_path / "fylke")
    send_consultation(project, env)
    server = start_web(project, env)
    yield project, server, {a: form_link(r) for r in smtp.received for a in r.rcpt_tos}
    server.stop()


def token(member_id: str, subject: str, purpose: str = "h", issued: dt.date = TODAY) -> str:
    return Signer(SECRET.encode()).sign(purpose, member_id, subject, issued.toordinal())


def answered(project: Path, env: dict[str, str]) -> int:
    result = mailer(project, "consultation", "status", ID, "--json", env=env)
    assert result.code == 0, result.err
    return json.loads(result.out)["answered"]


def hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def post(server, link: str, **values: str):
    with server.client() as client:
        form = hidden(client.get(server.local(link)).text)
        return client.post(server.local(link), data={**form, **values})


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda link: link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"), id="tampered"),
        pytest.param(lambda link: link.rsplit("/", 1)[0] + "/" + token("1", ID, "u"), id="unsubscribe-token"),
        pytest.param(
            lambda link: link.rsplit("/", 1)[0] + "/" + token("1", "nyhetsbrev-2026-12"), id="other"
        ),
        pytest.param(
            lambda link: link.rsplit("/", 1)[0] + "/" + token("1", ID, issued=TODAY - dt.timedelta(days=401)),
            id="expired",
        ),
    ],
)
def test_a_bad_link_shows_a_page_saying_so_and_records_nothing(sent, env, bad):
    project, server, links = sent
    link = bad(links["ase@example.org"])

    with server.client() as client:
        shown = client.get(server.local(link))
        posted = client.post(server.local(link), data={"q.saker": "x", "q.fylkessak": "Veier"})

    assert shown.status_code == posted.status_code == 400
    assert "Lenken virker ikke" in shown.text
    assert answered(project, env) == 0


def test_a_member_outside_the_audience_cannot_answer(sent, env):
    project, server, links = sent
    link = links["ase@example.org"].rsplit("/", 1)[0] + "/" + token("4", ID)

    response = post(server, link, **{"q.saker": "x", "q.fylkessak": "Veier"})

    assert response.status_code == 403
    assert answered(project, env) == 0


def test_an_over_long_answer_is_refused_with_the_form_kept_and_nothing_recorded(sent, env):
    project, server, links = sent

    response = post(server, links["ase@example.org"], **{"q.saker": "æ" * 201, "q.fylkessak": "Veier"})

    assert response.status_code == 400
    assert "Svaret er for langt: høyst 200 tegn." in response.text
    assert "æ" * 201 in response.text
    assert answered(project, env) == 0


def test_a_choice_outside_its_options_is_refused_and_nothing_recorded(sent, env):
    project, server, links = sent

    response = post(server, links["bjorn@example.org"], **{"q.saker": "Ja", "q.fylkessak": "<script>"})

    assert response.status_code == 400
    assert "Vel eitt av alternativa." in response.text
    assert "<script>" not in response.text
    assert answered(project, env) == 0


def test_a_missing_required_answer_is_refused_and_nothing_recorded(sent, env):
    project, server, links = sent

    response = post(server, links["ase@example.org"], **{"q.saker": "Vei"})

    assert response.status_code == 400 and "Dette spørsmålet må besvares." in response.text
    assert answered(project, env) == 0


def test_a_post_without_the_forms_csrf_value_is_refused(sent, env):
    project, server, links = sent

    with server.client() as client:
        link = server.local(links["ase@example.org"])
        response = client.post(link, data={"q.saker": "x", "q.fylkessak": "Veier", "based_on": "0"})

    assert response.status_code == 403
    assert answered(project, env) == 0


def test_a_post_from_another_site_is_refused(sent, env):
    project, server, links = sent
    link = server.local(links["ase@example.org"])

    with server.client() as client:
        form = hidden(client.get(link).text)
        response = client.post(
            link,
            data={**form, "q.saker": "x", "q.fylkessak": "Veier"},
            headers={"Origin": "https://evil.example"},
        )

    assert response.status_code == 403
    assert answered(project, env) == 0


def test_a_body_too_large_is_refused(sent, env):
    project, server, links = sent

    response = post(server, links["ase@example.org"], **{"q.saker": "x" * 70_000, "q.fylkessak": "Veier"})

    assert response.status_code == 413
    assert answered(project, env) == 0


def test_after_the_deadline_the_form_is_read_only_and_an_answer_is_not_recorded(tmp_path, env, smtp):
    send_day = TODAY - dt.timedelta(days=10)
    project = make_project(
        tmp_path / "fylke",
        deadline=(TODAY - dt.timedelta(days=1)).isoformat(),
        send_at=f"{send_day.isoformat()}T09:00",
        reminders="[]",
    )
    send_consultation(project, env, now=f"{send_day.isoformat()}T09:00")
    [received] = smtp.handler.to("ase@example.org")
    server = start_web(project, env)
    try:
        link = server.local(form_link(received))
        with server.client() as client:
            shown = client.get(link)
            posted = client.post(link, data={**hidden(shown.text), "q.saker": "Sent", "q.fylkessak": "Veier"})
    finally:
        server.stop()

    assert shown.status_code == 200 and "Fristen er ute" in shown.text
    assert "<button" not in shown.text and "readonly" in shown.text
    assert posted.status_code == 410 and "Det er ikke lenger mulig å svare" in posted.text
    assert answered(project, env) == 0


def test_control_characters_in_an_answer_never_reach_the_secretarys_terminal_or_the_export(
    sent, env, tmp_path
):
    project, server, links = sent
    hostile = "\x1b]0;pwned\x07\x1b[31mRØD\x1b[0m\x00slutt"

    response = post(server, links["ase@example.org"], **{"q.saker": hostile, "q.fylkessak": "Veier"})

    assert response.status_code == 200
    status = mailer(project, "consultation", "status", ID, env=env)
    export = tmp_path / "svar.csv"
    assert mailer(project, "consultation", "export", ID, "--out", str(export), env=env).code == 0
    for shown in (status.out, export.read_text("utf-8")):
        assert "RØD" in shown and "slutt" in shown
        assert not any(ch in shown for ch in "\x1b\x07\x00")


def test_a_form_whose_based_on_is_no_small_number_is_answered_without_a_server_error(sent, env):
    """Åse and Bjørn answer for the same chapter: the first answer stands whatever its form
    claims to be based on (nothing stood), the second is a conflict, not a server error."""
    project, server, links = sent
    fields = {"q.saker": "x", "q.fylkessak": "Veier"}

    first = post(server, links["ase@example.org"], **fields, based_on="9" * 30)
    second = post(server, links["bjorn@example.org"], **fields, based_on="²")

    assert first.status_code == 200 and "Takk" in first.text
    assert second.status_code == 409
    assert answered(project, env) == 1


# -- mailer check ----------------------------------------------------------------------------------


def check(project: Path) -> tuple[int, str]:
    result = mailer(project, "check")
    return result.code, result.out + result.err


def test_check_refuses_a_consultation_without_questions(tmp_path):
    no_questions = re.sub(r"questions:.*?---", "---", DRAFT, flags=re.DOTALL)
    project = make_project(tmp_path / "fylke", draft=no_questions)

    code, out = check(project)

    assert code == 1
    assert f"drafts/{ID}.md: questions: a consultation needs at least one question" in out


def test_check_refuses_a_deadline_before_the_send_time(tmp_path):
    project = make_project(
        tmp_path / "fylke", deadline="2026-01-05", send_at="2026-01-10T09:00", reminders="[]"
    )

    code, out = check(project)

    assert code == 1
    assert f"drafts/{ID}.md: send_at: 2026-01-10 09:00 is not before mailings.horing.deadline" in out


def test_check_refuses_a_reminder_after_the_deadline(tmp_path):
    project = make_project(
        tmp_path / "fylke", deadline="2027-02-01T12:00", reminders='[{days_before: 0, at: "13:00"}]'
    )

    code, out = check(project)

    assert code == 1
    assert (
        "schedules.yaml:" in out
        and "mailings.horing.reminders.0: 2027-02-01 13:00 is not before the deadline" in out
    )


def test_check_names_the_draft_line_of_a_choice_with_one_option(tmp_path):
    one_option = DRAFT.replace("options: [Veier, Skoler, Tannhelse]", "options: [Veier]")
    project = make_project(tmp_path / "fylke", draft=one_option)

    code, out = check(project)

    assert code == 1
    assert f"drafts/{ID}.md:" in out and "questions.1" in out and "at least two options" in out
