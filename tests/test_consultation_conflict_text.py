"""Two leaders of one chapter answer at once: the second one's words are never lost from the page.

Åse and Bjørn (who reads nynorsk) both open the empty form; Åse saves first. Bjørn's answer is
kept but does not stand (409): the page shows him the answer that stands and his own answers
back in the form, escaped as any text, so he can compare and send his own again on purpose.
Through the real `mailer serve`, the real SMTP server for the links, and SQLite.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from browser import chromium
from conftest import base_env, mailer
from consultation_project import ID, form_link, make_project, send_consultation
from webapp import SECRET, start_web

SCRIPT = '</textarea><script>alert("x")</script> & <b>fet</b>'


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET=SECRET, **smtp.env())


@pytest.fixture
def sent(tmp_path: Path, env, smtp):
    """A consultation sent to the leaders, `mailer serve` for its form, and each leader's link path."""
    project = make_project(tmp_path / "fylke")
    send_consultation(project, env)
    server = start_web(project, env)
    yield project, server, {a: server.local(form_link(r)) for r in smtp.received for a in r.rcpt_tos}
    server.stop()


class Form(HTMLParser):
    """What a browser would send back from the page's form: hidden fields, text areas, ticked radios."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, str] = {}
        self._area: str | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "textarea":
            self._area = a["name"]
            self.fields[self._area or ""] = ""
        elif tag == "input" and (a.get("type") == "hidden" or "checked" in a):
            self.fields[a["name"] or ""] = a.get("value") or ""

    def handle_data(self, data: str) -> None:
        if self._area is not None:
            self.fields[self._area] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._area = None


def both_open_then_ase_saves(server, links: dict[str, str], **bjorn: str) -> httpx.Response:
    """Both open the empty form, Åse saves, then Bjørn sends his (q.* values); his response."""
    ase, bjorns = links["ase@example.org"], links["bjorn@example.org"]
    with server.client() as client:
        forms = [Form(client.get(link).text).fields for link in (ase, bjorns)]
        first = {"q.saker": "Åses svar <i>kursiv</i>", "q.fylkessak": "Veier", "q.beredskap": "2"}
        assert client.post(ase, data={**forms[0], **first}).status_code == 200
        return client.post(bjorns, data={**forms[1], **bjorn})


def send_again(server, link: str, page: str, **changed: str) -> httpx.Response:
    """Press the button on `page` (after changing the `changed` fields, as the leader would)."""
    with server.client() as client:
        return client.post(link, data={**Form(page).fields, **changed})


def standing(project: Path, env: dict[str, str]) -> dict:
    result = mailer(project, "consultation", "status", ID, "--json", env=env)
    assert result.code == 0, result.err
    return {c["name"]: c for c in json.loads(result.out)["chapters"]}["Ås Senterparti"]


BJORN = {"q.saker": "Bjørns svar:\nskule og veg", "q.fylkessak": "Skoler", "q.beredskap": "4"}


def test_after_a_conflict_the_form_holds_the_second_leaders_own_answers(sent):
    _, server, links = sent

    conflict = both_open_then_ase_saves(server, links, **BJORN)

    assert conflict.status_code == 409
    fields = Form(conflict.text).fields
    assert fields["q.saker"] == "Bjørns svar:\nskule og veg"
    assert fields["q.fylkessak"] == "Skoler" and fields["q.beredskap"] == "4"


def test_after_a_conflict_the_page_still_shows_the_standing_answer_and_who_gave_it(sent):
    _, server, links = sent

    conflict = both_open_then_ase_saves(server, links, **BJORN)

    assert conflict.status_code == 409 and "Åse Ødegård lagra eit svar" in conflict.text
    shown = conflict.text.split("<h2>Svaret som gjeld no</h2>", 1)[1].split("<form", 1)[0]
    assert "Åses svar &lt;i&gt;kursiv&lt;/i&gt;" in shown and "Veier" in shown
    assert "<i>" not in conflict.text


def test_sending_the_conflict_page_again_makes_the_second_leaders_answer_stand(sent, env):
    project, server, links = sent
    conflict = both_open_then_ase_saves(server, links, **BJORN)

    again = send_again(server, links["bjorn@example.org"], conflict.text)

    assert again.status_code == 200 and "Svaret er registrert" in again.text
    ås = standing(project, env)
    assert ås["by"] == "Bjørn Bråten"
    assert ås["answers"] == {"saker": "Bjørns svar:\nskule og veg", "fylkessak": "Skoler", "beredskap": "4"}


def test_markup_typed_by_the_second_leader_comes_back_escaped_and_is_saved_as_typed(sent, env):
    project, server, links = sent

    conflict = both_open_then_ase_saves(server, links, **{**BJORN, "q.saker": SCRIPT})
    again = send_again(server, links["bjorn@example.org"], conflict.text)

    assert conflict.status_code == 409
    assert "<script>" not in conflict.text and "<b>" not in conflict.text
    assert "&lt;/textarea&gt;&lt;script&gt;" in conflict.text
    assert again.status_code == 200
    assert standing(project, env)["answers"]["saker"] == SCRIPT


def test_a_form_sent_back_to_be_corrected_does_not_overwrite_an_answer_saved_meanwhile(sent, env):
    project, server, links = sent
    refused = both_open_then_ase_saves(server, links, **{"q.saker": "Bjørns svar"})  # no fylkessak
    assert refused.status_code == 400

    corrected = send_again(server, links["bjorn@example.org"], refused.text, **{"q.fylkessak": "Skoler"})

    assert corrected.status_code == 409 and "Åse Ødegård lagra eit svar" in corrected.text
    assert standing(project, env)["by"] == "Åse Ødegård"


def test_in_chromium_the_second_leader_sees_their_text_after_a_conflict_and_sends_it_again(sent, env):
    project, server, links = sent
    with chromium() as browser:
        page = browser.new_page(java_script_enabled=False)
        page.goto(links["bjorn@example.org"])  # Bjørn opens the empty form first
        ase = links["ase@example.org"]
        with server.client() as client:
            first = {"q.saker": "Åses svar", "q.fylkessak": "Veier"}
            assert client.post(ase, data={**Form(client.get(ase).text).fields, **first}).status_code == 200
        page.fill("textarea[name='q.saker']", SCRIPT)
        page.check("input[name='q.fylkessak'][value='Skoler']")
        with page.expect_navigation():
            page.click("button[type=submit]")
        kept = page.input_value("textarea[name='q.saker']")
        with page.expect_navigation():
            page.click("button[type=submit]")
        text = page.evaluate("document.body.innerText")

    assert kept == SCRIPT
    assert "Svaret er registrert" in text
    assert standing(project, env)["answers"]["saker"] == SCRIPT
