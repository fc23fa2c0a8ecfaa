"""Fuzzing the members' links of the real `mailer serve`: strategies, and the two things checked.

Reusable by every route that takes a token or a form (/u/, /r/, /h/, and the events' /p/ and
preferences' /i/ pages): draw requests with the strategies below, send them to a server from
`webapp.start_web`, and check each answer with `check_answer` inside `nothing_recorded`:

    with nothing_recorded(root):
        check_answer(client.post(f"/p/{token}", content=body, headers=headers))

- `check_answer`: never a 5xx (a crash is a bug to fix), and the security headers on every
  answer, refusals included.
- `nothing_recorded`: every table of the state database reads the same after the request as
  before it; the failure names the table that changed. Make one valid request first (the first
  request imports the member export into the store), then fuzz.

What is drawn: tokens tampered, cut, lengthened or made of any unicode; tokens properly signed
with the secret but for another purpose, subject, member or day (`signed_token`, and
`raw_token` for payloads of the wrong shape); forms with unknown, duplicate and huge fields,
broken multipart bodies and bytes that are not UTF-8; X-Forwarded-For values of every shape.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import sqlite3
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from hypothesis import strategies as st

from mailer.delivery.tokens import Signer

BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
PURPOSES = ("u", "r", "h", "p", "i", "x", "")
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options")


# -- what is checked -----------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table of the state database with its rows (read-only)."""
    path = root / ".mailer" / "state.db"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            n
            for (n,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: sorted(db.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        db.close()


@contextmanager
def nothing_recorded(root: Path) -> Iterator[None]:
    """Fails, naming the tables, when the block changed any row of the state database."""
    before = snapshot(root)
    yield
    after = snapshot(root)
    changed = sorted(n for n in after.keys() | before.keys() if before.get(n) != after.get(n))
    assert changed == [], f"a refused request recorded something in: {', '.join(changed)}"


def check_answer(response: httpx.Response) -> httpx.Response:
    """No crash, and the security headers even on a refusal."""
    assert response.status_code < 500, (
        f"{response.status_code} for {response.request.method} {response.request.url}"
    )
    for name in SECURITY_HEADERS:
        assert name in response.headers, (name, response.status_code, response.request.url)
    return response


def send(client: httpx.Client, method: str, path: str, **kwargs: object) -> httpx.Response | None:
    """One request; None when the server refused it at the HTTP level (closed the connection)."""
    try:
        return client.request(method, path, **kwargs)  # type: ignore[arg-type]
    except httpx.RemoteProtocolError:
        return None


# -- tokens --------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(secret: bytes, payload: object) -> str:
    """A token signed with the real secret around any JSON payload (the wrong shape included)."""
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()[:16]
    return f"{body}.{_b64(mac)}"


def signed_token(secret: bytes, purpose: str, member_id: str, subject: str, day: dt.date) -> str:
    """Signed as `mailer` signs; what the current form cannot carry (an empty purpose) is signed
    in the earlier form, which links from before December 2026 use and `verify` still reads."""
    try:
        return Signer(secret).sign(purpose, member_id, subject, day.toordinal())
    except ValueError:
        return raw_token(secret, [purpose, member_id, subject, day.toordinal()])


def tampered(token: str) -> st.SearchStrategy[str]:
    """A valid token changed the ways a copy-paste, a mail client or an attacker changes it."""
    n = len(token)
    position = st.integers(0, max(n - 1, 0))
    flip = st.builds(
        lambda i, c: token[:i] + c + token[i + 1 :], position, st.sampled_from(BASE64URL + ".=%~")
    )
    cut = st.builds(lambda i: token[:i], position)
    longer = st.builds(
        lambda extra: token + extra, st.text(alphabet=BASE64URL + ".=", min_size=1, max_size=50)
    )
    doubled = st.just(token + "." + token.split(".")[-1])
    swapped = st.just(".".join(reversed(token.split("."))))
    padded = st.just(token + "==")
    upper = st.just(token.swapcase())
    return st.one_of(flip, cut, longer, doubled, swapped, padded, upper)


def any_token() -> st.SearchStrategy[str]:
    """Anything in the token's place: base64url-looking, any unicode, overlong."""
    return st.one_of(
        st.text(alphabet=BASE64URL + ".", max_size=200),
        st.text(max_size=60),
        st.integers(1000, 20_000).map(lambda n: "A" * n + "." + "B" * 22),
    )


def wrong_tokens(
    secret: bytes, member_id: str, subject: str, purpose: str, today: dt.date
) -> st.SearchStrategy[str]:
    """Properly signed tokens that must still be refused for this page."""
    other_purpose = st.sampled_from([p for p in PURPOSES if p != purpose]).map(
        lambda p: signed_token(secret, p, member_id, subject, today)
    )
    expired = st.integers(401, 5000).map(
        lambda days: signed_token(secret, purpose, member_id, subject, today - dt.timedelta(days=days))
    )
    future = st.integers(2, 5000).map(
        lambda days: signed_token(secret, purpose, member_id, subject, today + dt.timedelta(days=days))
    )
    nobody = st.text(min_size=1, max_size=40).filter(lambda m: m != member_id)
    unknown_member = nobody.map(lambda m: signed_token(secret, purpose, m, subject, today))
    odd_subject = st.text(max_size=80).filter(lambda s: s != subject)
    other_subject = odd_subject.map(lambda s: signed_token(secret, purpose, member_id, s, today))
    wrong_shape = st.one_of(
        st.just([purpose, member_id, subject]),
        st.just([purpose, member_id, subject, "today"]),
        st.just([purpose, member_id, subject, 10**30]),
        st.just([purpose, member_id, subject, -5]),
        st.just({"purpose": purpose}),
        st.just(None),
        st.lists(st.integers(), max_size=6),
    ).map(lambda payload: raw_token(secret, payload))
    return st.one_of(other_purpose, expired, future, unknown_member, other_subject, wrong_shape)


def path_segment(text: str) -> str:
    """A token as it stands in a URL path (percent-encoded where needed)."""
    return urllib.parse.quote(text, safe="") or "%20"


# -- forms and headers ---------------------------------------------------------------------


def form_fields(known: tuple[str, ...] = ()) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Fields as a browser or a bot sends them: unknown names, the page's own names, duplicates."""
    name = st.one_of(st.text(max_size=30), st.sampled_from(known or ("x",)))
    value = st.one_of(st.text(max_size=200), st.integers(0, 100_000).map(lambda n: "x" * n))
    return st.lists(st.tuples(name, value), max_size=12)


def bodies() -> st.SearchStrategy[tuple[bytes, str]]:
    """(body, content type): urlencoded, multipart (whole or broken), JSON, bytes of any kind."""
    urlencoded = form_fields().map(
        lambda f: (urllib.parse.urlencode(f).encode(), "application/x-www-form-urlencoded")
    )
    broken_multipart = st.binary(max_size=500).map(
        lambda b: (
            b'--B\r\nContent-Disposition: form-data; name="x"\r\n\r\n' + b,
            "multipart/form-data; boundary=B",
        )
    )
    no_boundary = st.binary(max_size=200).map(lambda b: (b, "multipart/form-data"))
    not_utf8 = st.binary(max_size=500).map(lambda b: (b, "application/x-www-form-urlencoded"))
    huge = st.integers(20_000, 200_000).map(lambda n: (b"a=" + b"x" * n, "application/x-www-form-urlencoded"))
    json_body = st.just((b'{"List-Unsubscribe": "One-Click"}', "application/json"))
    return st.one_of(urlencoded, broken_multipart, no_boundary, not_utf8, huge, json_body)


def forwarded_for() -> st.SearchStrategy[str]:
    """X-Forwarded-For as clients forge it: addresses, lists, IPv6, garbage, very long."""
    ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
    ipv6 = st.just("2001:db8::1")
    garbage = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
    listed = st.lists(st.one_of(ipv4, ipv6, garbage), min_size=1, max_size=20).map(", ".join)
    shapes = st.one_of(ipv4, ipv6, garbage, listed, st.just("127.0.0.1"), st.just("unknown"))
    return shapes.map(str.strip).filter(bool)  # what an HTTP client can send at all
