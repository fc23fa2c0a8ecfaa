"""A fuzzing pass over the members' links of the real `mailer serve`, with hypothesis.

Tried, against /u/ (unsubscribe), /r/ (RSVP) and /h/ (consultation form), GET and POST:
- tokens tampered (a character flipped, cut short, lengthened, doubled, swapped, padded,
  case-swapped), any unicode or base64url text, tokens of 1,000 to 20,000 characters;
- tokens signed with the real secret but for another purpose (u, r, h, p, i, …), another
  subject, a member nobody knows, a day too old or in the future, or a payload of the wrong shape;
- forms with unknown, duplicate and huge fields, broken or boundary-less multipart bodies,
  bytes that are not UTF-8, JSON; unicode and odd path segments on every route;
- X-Forwarded-For of every shape from a client that is not a trusted proxy (the rate limit
  still counts the real client) and through a trusted one (never a crash).
Every answer must be below 500 and carry the security headers; a refused request must leave
every table of the state database as it was. The helpers are in tests/fuzzing.py.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import base_env
from consultation_project import ID, TODAY, make_project
from fuzzing import (
    any_token,
    bodies,
    check_answer,
    form_fields,
    forwarded_for,
    nothing_recorded,
    path_segment,
    send,
    signed_token,
    tampered,
    wrong_tokens,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webapp import SECRET, WebServer, start_web

from mailer.web.limits import MAX_CLIENTS, SlidingWindow, client_of

KEY = SECRET.encode()
MEETING_DAY = TODAY + dt.timedelta(days=5)
OCCURRENCE = f"morgenmote@{MEETING_DAY.isoformat()}"
SERIES = f"""\
  morgenmote:
    kind: invitation
    template: invitation
    audience: ledere
    subject: "Morgenmøte"
    meeting:
      title: Morgenmøte
      location: Digitalt
      time: "08:00"
      duration: 45m
      dates: [{MEETING_DAY.isoformat()}]
"""
ROUTES = {
    "u": ("/u/{}", ("u", "1", "nyhetsbrev")),
    "r": ("/r/{}/yes", ("r", "1", OCCURRENCE)),
    "h": ("/h/{}", ("h", "1", ID)),
}
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def project_with_links(root: Path) -> Path:
    project = make_project(root)
    with (project / "schedules.yaml").open("a", encoding="utf-8") as f:
        f.write(SERIES)
    return project


def valid(purpose: str) -> str:
    _, (p, member, subject) = ROUTES[purpose]
    return signed_token(KEY, p, member, subject, TODAY)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Path, WebServer]]:
    """One project and one server for every fuzzing test that must record nothing."""
    project = project_with_links(tmp_path_factory.mktemp("fuzz") / "fylke")
    server = start_web(project, base_env(MAILER_SECRET=SECRET, MAILER_WEB_REQUESTS_PER_MINUTE="1000000"))
    with server.client() as client:
        for purpose in ROUTES:  # the first request imports the member export
            check_answer(client.get(ROUTES[purpose][0].format(valid(purpose))))
    yield project, server
    server.stop()


def fuzz(served, method: str, path: str, **kwargs: object) -> None:
    project, server = served
    with server.client() as client, nothing_recorded(project):
        response = send(client, method, path, **kwargs)
        if response is not None:
            check_answer(response)
            assert response.status_code != 200 or method == "GET", f"a refused {path} answered 200"


@FUZZ
@given(data=st.data(), purpose=st.sampled_from(sorted(ROUTES)), method=st.sampled_from(["GET", "POST"]))
def test_tampered_cut_overlong_and_unicode_tokens_are_refused_and_record_nothing(
    served, data, purpose, method
):
    token = data.draw(st.one_of(tampered(valid(purpose)), any_token()))
    if token == valid(purpose):
        return
    fuzz(
        served, method, ROUTES[purpose][0].format(path_segment(token)), data={"List-Unsubscribe": "One-Click"}
    )


@FUZZ
@given(data=st.data(), purpose=st.sampled_from(sorted(ROUTES)), method=st.sampled_from(["GET", "POST"]))
def test_tokens_signed_for_another_purpose_subject_member_or_day_are_refused(served, data, purpose, method):
    _, (p, member, subject) = ROUTES[purpose]
    token = data.draw(wrong_tokens(KEY, member, subject, p, TODAY))
    if purpose == "u" and method == "POST":
        # a signed token for another category is ours to make; a POST without a choice is refused
        fuzz(served, method, ROUTES[purpose][0].format(path_segment(token)), data={"x": "1"})
        return
    fuzz(
        served, method, ROUTES[purpose][0].format(path_segment(token)), data={"List-Unsubscribe": "One-Click"}
    )


NOT_A_CHOICE = st.one_of(st.text(max_size=40), st.integers(0, 30_000).map(lambda n: "x" * n)).filter(
    lambda v: v not in ("nyhetsbrev", "*", "One-Click")
)


@FUZZ
@given(
    purpose=st.sampled_from(["u", "h"]),
    fields=st.lists(
        st.tuples(
            st.sampled_from(["scope", "List-Unsubscribe", "csrf", "based_on", "q.saker"]), NOT_A_CHOICE
        ),
        max_size=8,
    ),
    extra=form_fields(),
)
def test_forms_on_valid_links_with_unknown_duplicate_or_huge_fields_record_nothing(
    served, purpose, fields, extra
):
    body = urllib.parse.urlencode(fields + extra)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    fuzz(served, "POST", ROUTES[purpose][0].format(valid(purpose)), content=body, headers=headers)


@FUZZ
@given(purpose=st.sampled_from(["u", "h"]), body=bodies())
def test_broken_multipart_non_utf8_json_and_huge_bodies_record_nothing(served, purpose, body):
    content, ctype = body
    fuzz(
        served,
        "POST",
        ROUTES[purpose][0].format(valid(purpose)),
        content=content,
        headers={"content-type": ctype},
    )


@FUZZ
@given(
    prefix=st.sampled_from(["/u/", "/r/", "/h/", "/arkiv/", "/bilder/", "/board/m/", "/static/", "/"]),
    segment=st.text(min_size=1, max_size=80),
    tail=st.sampled_from(["", "/yes", "/no", "/nn", "/%2e%2e/%2e%2e/etc/passwd", "/x/y/z"]),
    method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE"]),
)
def test_unicode_and_odd_paths_never_crash_and_record_nothing(served, prefix, segment, tail, method):
    fuzz(served, method, prefix + urllib.parse.quote(segment, safe="") + tail)


@FUZZ
@given(xff=forwarded_for(), proto=st.sampled_from(["https", "http", "gopher", "", "https, http"]))
def test_forwarded_headers_through_a_trusted_proxy_never_crash(served, xff, proto):
    """The default trusts 127.0.0.1 (the proxy on this machine), which is where the tests connect from."""
    headers = {"X-Forwarded-For": xff, "X-Forwarded-Proto": proto}
    fuzz(served, "GET", ROUTES["u"][0].format(valid("u")), headers=headers)


def test_an_rsvp_post_with_any_form_records_only_the_answer_of_its_link(tmp_path):
    project = project_with_links(tmp_path / "fylke")
    server = start_web(project, base_env(MAILER_SECRET=SECRET))
    try:
        with server.client() as client:
            path = f"/r/{valid('r')}/no"
            body = "answer=yes&answer=no&member=2&occurrence=x" + "&pad=" + "y" * 10_000
            response = check_answer(client.post(path, content=body, headers={"content-type": "text/plain"}))
    finally:
        server.stop()
    assert response.status_code == 200
    db = sqlite3.connect(project / ".mailer" / "state.db")
    assert db.execute("SELECT occurrence, member_id, answer FROM rsvps").fetchall() == [
        (OCCURRENCE, "1", "no")
    ]
    db.close()


def test_duplicate_fields_take_the_first_value(tmp_path):
    project = project_with_links(tmp_path / "fylke")
    server = start_web(project, base_env(MAILER_SECRET=SECRET))
    try:
        with server.client() as client:
            body = "scope=nyhetsbrev&scope=%2A"
            headers = {"content-type": "application/x-www-form-urlencoded"}
            assert (
                check_answer(client.post(f"/u/{valid('u')}", content=body, headers=headers)).status_code
                == 200
            )
    finally:
        server.stop()
    db = sqlite3.connect(project / ".mailer" / "state.db")
    assert db.execute("SELECT address, category FROM suppressions").fetchall() == [
        ("ase@example.org", "nyhetsbrev")
    ]
    db.close()


def test_forged_x_forwarded_for_from_an_untrusted_client_never_escapes_the_rate_limit(tmp_path):
    project = project_with_links(tmp_path / "fylke")
    env = base_env(
        MAILER_SECRET=SECRET, MAILER_WEB_REQUESTS_PER_MINUTE="5", MAILER_WEB_TRUSTED_PROXIES="10.9.9.9"
    )
    server = start_web(project, env)
    answered: list[int] = []

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(xff=forwarded_for(), path=st.sampled_from(["/", f"/u/{valid('u')}", "/arkiv", "/h/x"]))
    def one(xff: str, path: str) -> None:
        with server.client() as client:
            response = send(client, "GET", path, headers={"X-Forwarded-For": xff, "X-Real-IP": xff})
            if response is not None:
                answered.append(check_answer(response).status_code)

    try:
        with server.client() as client:  # the first request imports the member export
            assert check_answer(client.get(f"/u/{valid('u')}")).status_code == 200
        with nothing_recorded(project):
            one()
    finally:
        server.stop()
    assert len(answered) >= 6 and sum(1 for code in answered if code != 429) <= 4, answered


def test_a_flood_of_distinct_clients_keeps_the_limiter_s_memory_bounded():
    window = SlidingWindow(1, 60.0, clock=lambda: 0.0)
    for n in range(MAX_CLIENTS * 2):
        window.hit(f"198.51.{n // 256}.{n % 256}")
    assert len(window.hits) <= MAX_CLIENTS + 1
    assert window.hit("203.0.113.1") == 0, "a new client is still served"


def test_a_client_that_only_asks_is_not_remembered():
    window = SlidingWindow(1, 60.0, clock=lambda: 0.0)
    for n in range(1000):
        assert window.retry_after(f"198.51.100.{n % 256}:{n}") == 0
    assert window.hits == {}


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("198.51.100.7", "198.51.100.7"),
        ("::ffff:198.51.100.7", "::ffff:198.51.100.7"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_an_ipv6_client_counts_by_its_64_network(host, key):
    assert client_of({"client": (host, 443)}) == key
