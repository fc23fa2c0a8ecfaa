"""A fuzzing pass over `/i/` (the preference page) and `/c/` (its confirmation), with hypothesis.

Reuses tests/fuzzing.py (the strategies and checks written for /u/, /r/ and /h/). Tried:
- tampered, cut, overlong and unicode tokens, and tokens properly signed for another purpose,
  member, subject or day, GET and POST, on both routes: never a 5xx, the security headers on
  every answer, and not one row of the state database changed;
- every kind of body on a valid link without the page's CSRF value: nothing changed;
- any mix of the page's own fields (action, shown, on, language, months, text) with a valid
  CSRF value: never a 5xx, and never, however the POST is crafted, a suppression of what the
  member's office requires.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Handler, running_smtp
from fuzzing import (
    any_token,
    bodies,
    check_answer,
    form_fields,
    nothing_recorded,
    path_segment,
    send,
    signed_token,
    tampered,
    wrong_tokens,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prefs_project import TODAY, csrf, env_for, make_project
from webapp import SECRET, WebServer, start_web

KEY = SECRET.encode()
ROUTES = {"i": ("/i/{}", ("i", "3", "")), "c": ("/c/{}", ("c", "3", "no-such-request"))}
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
FIELDS = ("action", "shown", "on", "language", "months", "text", "csrf")
VALUES = st.one_of(
    st.sampled_from(
        ["save", "pause", "resume", "export", "report", "nyhetsbrev", "lederforum", "regionmote-follo", "*"]
    ),
    st.sampled_from(["nb", "nn", "1", "3", "6", "0", "-1"]),
    st.text(max_size=60),
)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Path, WebServer]]:
    with running_smtp(Handler()) as smtp:
        project = make_project(tmp_path_factory.mktemp("fuzz"))
        server = start_web(project, {**env_for(smtp.env()), "MAILER_WEB_REQUESTS_PER_MINUTE": "1000000"})
        with server.client() as client:
            check_answer(client.get(ROUTES["i"][0].format(valid("i"))))  # imports the member export
        yield project, server
        server.stop()


def valid(purpose: str) -> str:
    _, (p, member, subject) = ROUTES[purpose]
    return signed_token(KEY, p, member, subject, TODAY)


def fuzz(served, method: str, path: str, **kwargs: object) -> None:
    project, server = served
    with server.client() as client, nothing_recorded(project):
        response = send(client, method, path, **kwargs)
        if response is not None:
            check_answer(response)
            assert response.status_code != 200 or method == "GET", f"a refused {path} answered 200"


def page_csrf(server: WebServer) -> str:
    with server.client() as client:
        return csrf(client.get(ROUTES["i"][0].format(valid("i"))).text)


@FUZZ
@given(data=st.data(), purpose=st.sampled_from(sorted(ROUTES)), method=st.sampled_from(["GET", "POST"]))
def test_tampered_cut_overlong_and_unicode_tokens_are_refused_and_record_nothing(
    served, data, purpose, method
):
    token = data.draw(st.one_of(tampered(valid(purpose)), any_token()))
    if token == valid(purpose):
        return
    body = urllib.parse.urlencode(
        [("csrf", page_csrf(served[1])), ("action", "save"), ("shown", "nyhetsbrev")]
    )
    headers = {"content-type": "application/x-www-form-urlencoded"}
    fuzz(served, method, ROUTES[purpose][0].format(path_segment(token)), content=body, headers=headers)


@FUZZ
@given(data=st.data(), purpose=st.sampled_from(sorted(ROUTES)), method=st.sampled_from(["GET", "POST"]))
def test_tokens_signed_for_another_purpose_member_subject_or_day_are_refused(served, data, purpose, method):
    _, (p, member, subject) = ROUTES[purpose]
    token = data.draw(wrong_tokens(KEY, member, subject, p, TODAY))
    body = urllib.parse.urlencode([("action", "save"), ("shown", "nyhetsbrev")])
    headers = {"content-type": "application/x-www-form-urlencoded"}
    project, server = served
    with server.client() as client, nothing_recorded(project):
        response = send(
            client, method, ROUTES[purpose][0].format(path_segment(token)), content=body, headers=headers
        )
        if response is not None:
            check_answer(response)


@FUZZ
@given(body=bodies(), extra=form_fields(FIELDS))
def test_any_body_without_the_pages_csrf_value_records_nothing(served, body, extra):
    content, ctype = body
    fuzz(served, "POST", ROUTES["i"][0].format(valid("i")), content=content, headers={"content-type": ctype})
    fields = [(k, v) for k, v in extra if k != "csrf"]
    fuzz(
        served,
        "POST",
        ROUTES["i"][0].format(valid("i")),
        content=urllib.parse.urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


@FUZZ
@given(fields=st.lists(st.tuples(st.sampled_from(FIELDS[:-1]), VALUES), max_size=10))
def test_no_post_however_crafted_turns_off_what_the_office_requires(served, fields):
    project, server = served
    body = urllib.parse.urlencode([("csrf", page_csrf(server)), *fields])
    with server.client() as client:
        response = send(
            client,
            "POST",
            ROUTES["i"][0].format(valid("i")),
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    if response is not None:
        check_answer(response)
    db = sqlite3.connect(f"file:{project / '.mailer' / 'state.db'}?mode=ro", uri=True)
    try:
        held = db.execute("SELECT category FROM suppressions WHERE address = 'hilde@example.org'").fetchall()
    finally:
        db.close()
    assert ("lederforum",) not in held and ("*",) not in held
