"""A fuzzing pass over the events' registration pages (`/p/`) of the real `mailer serve`.

With the helpers of tests/fuzzing.py, as for /u/, /r/ and /h/: tokens tampered, cut, overlong
or any unicode; tokens signed with the real secret but for another purpose, event, person, day
or payload shape; forms on a valid link and on a public event's form with unknown, duplicate
and huge fields, broken multipart, bytes that are not UTF-8; odd paths. Every answer is below
500 with the security headers, and a refused request leaves every table as it was.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import base_env
from event_project import EVENT, NOW, event_block, make_project
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
from webapp import SECRET, WebServer, start_web

KEY = SECRET.encode()
TODAY = NOW.date()
PUBLIC = "temamote"
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
FIELDS = ("csrf", "action", "name", "email", "website", "q.fodselsdato", "q.hensyn")


def valid() -> str:
    return signed_token(KEY, "p", "1", EVENT, TODAY)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Path, WebServer]]:
    project = make_project(
        tmp_path_factory.mktemp("fuzz") / "fylke", event_block(), event_block(PUBLIC, open_to="public")
    )
    env = base_env(MAILER_SECRET=SECRET, MAILER_WEB_REQUESTS_PER_MINUTE="1000000")
    server = start_web(project, env)
    with server.client() as client:  # the first request imports the member export
        check_answer(client.get(f"/p/{valid()}"))
        check_answer(client.get(f"/p/{PUBLIC}"))
    yield project, server
    server.stop()


def fuzz(served, method: str, path: str, **kwargs: object) -> None:
    project, server = served
    with server.client() as client, nothing_recorded(project):
        response = send(client, method, path, **kwargs)
        if response is not None:
            check_answer(response)


@FUZZ
@given(data=st.data(), method=st.sampled_from(["GET", "POST"]))
def test_tampered_cut_overlong_and_unicode_tokens_are_refused_and_record_nothing(served, data, method):
    token = data.draw(st.one_of(tampered(valid()), any_token()))
    if token in (valid(), EVENT, PUBLIC):
        return
    fuzz(
        served, method, f"/p/{path_segment(token)}", data={"action": "register", "q.fodselsdato": "1.1.1990"}
    )


@FUZZ
@given(data=st.data(), method=st.sampled_from(["GET", "POST"]))
def test_tokens_signed_for_another_purpose_event_person_or_day_are_refused(served, data, method):
    token = data.draw(wrong_tokens(KEY, "1", EVENT, "p", TODAY))
    fuzz(
        served, method, f"/p/{path_segment(token)}", data={"action": "register", "q.fodselsdato": "1.1.1990"}
    )


@FUZZ
@given(
    fields=st.lists(st.tuples(st.sampled_from(FIELDS), st.text(max_size=300)), max_size=10),
    extra=form_fields(FIELDS),
    public=st.booleans(),
)
def test_forms_without_the_pages_csrf_value_record_nothing_whatever_they_hold(served, fields, extra, public):
    body = urllib.parse.urlencode([(k, v) for k, v in fields + extra if k != "csrf"])
    path = f"/p/{PUBLIC}" if public else f"/p/{valid()}"
    fuzz(served, "POST", path, content=body, headers={"content-type": "application/x-www-form-urlencoded"})


@FUZZ
@given(body=bodies(), public=st.booleans())
def test_broken_multipart_non_utf8_json_and_huge_bodies_record_nothing(served, body, public):
    content, ctype = body
    path = f"/p/{PUBLIC}" if public else f"/p/{valid()}"
    fuzz(served, "POST", path, content=content, headers={"content-type": ctype})


@FUZZ
@given(
    segment=st.text(min_size=1, max_size=80),
    tail=st.sampled_from(["", "/", "/x", "/%2e%2e/%2e%2e/etc/passwd", "/checkin"]),
    method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE"]),
    prefix=st.sampled_from(["/p/", "/board/p/"]),
)
def test_unicode_and_odd_paths_never_crash_and_record_nothing(served, segment, tail, method, prefix):
    fuzz(served, method, prefix + urllib.parse.quote(segment, safe="") + tail)
