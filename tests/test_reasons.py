"""The invitation's footer names why the member got it: the office, the region or membership."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import base_env, mailer, small_project

DAY = dt.date.today() + dt.timedelta(days=7)
MEMBERS = (
    "1,Åse,Ødegård,ase@example.org,Ås,Ås,medlem,2020-01-01,nb\n"
    "2,Bjørn,Bråten,bjorn@example.org,Bærum,Bærum,medlem|lokallagsleder,2021-05-05,nn\n"
    "3,Kari,Nordmann,kari@example.org,Nordre Follo,Nordre Follo,fylkesstyremedlem,2019-01-01,nb\n"
)


def series(name: str, audience: str) -> str:
    return f"""\
  {name}:
    kind: invitation
    template: invitation
    audience: {audience}
    subject: "Møte {{{{ meeting.start|date }}}}"
    meeting:
      title: Møte for {audience}
      location: Lillestrøm
      time: "18:00"
      duration: 1h
      dates: [{DAY.isoformat()}]
"""


@pytest.fixture
def footers(tmp_path, smtp):
    """(series, address) → the plain-text footer sentence of each series' invitation they got."""
    extra = series("open", "alle") + series("office", "tillitsvalgte") + series("region", "follo")
    root = small_project(tmp_path / "fylke", MEMBERS, extra)
    env = base_env(**smtp.env())
    for name in ("open", "office", "region"):
        result = mailer(root, "send", f"{name}@{DAY.isoformat()}", env=env)
        assert result.code == 0, result.err
    out: dict[tuple[str, str], str] = {}
    for got in smtp.received:
        text = " ".join(got.message.get_body(("plain",)).get_content().split())
        [sentence] = re.findall(r"Du får denne invitasjonen [^.]*\.", text)
        out[(got.message["X-Mailer-Mailing"].split("@")[0], got.rcpt_tos[0])] = sentence
    return out


def test_a_member_without_office_invited_to_an_open_meeting_is_told_it_is_membership(footers):
    assert footers[("open", "ase@example.org")] == (
        "Du får denne invitasjonen fordi du er medlem av Testfylket Senterparti."
    )


def test_a_member_chosen_by_office_is_told_which_office(footers):
    assert footers[("office", "bjorn@example.org")] == (
        "Du får denne invitasjonen på grunn av vervet ditt som lokallagsleder."
    )


def test_a_member_chosen_by_region_is_told_the_region(footers):
    assert footers[("region", "kari@example.org")] == "Du får denne invitasjonen fordi du er medlem i Follo."


def test_nynorsk_members_read_the_membership_reason_in_nynorsk(footers):
    assert footers[("open", "bjorn@example.org")] == (
        "Du får denne invitasjonen fordi du er medlem i Testfylket Senterparti."
    )
