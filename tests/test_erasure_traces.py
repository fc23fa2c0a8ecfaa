"""`mailer forget` leaves no file that names the person: not by their name in someone else's mail,
not by an address they had before, not by an address in another letter case or encoding.

Each test sends real mail into the outbox (no SMTP server is set), erases one person, and then
reads every file under `.mailer/` as a reader would: messages decoded with the `email` package
(headers, quoted-printable and base64 parts), HTML entities resolved, in any letter case.
"""

from __future__ import annotations

import email
import email.policy
import html
from pathlib import Path

import conftest
from conftest import DRAFT, MEMBERS_HEADER, mailer, small_project

WELCOME = conftest.WELCOME + "    chapter_notice: {}\n"
LEADER = '1,Aslaug,Østby,{address},Ås,Ås Sp,"medlem, lokallagsleder",2019-03-01,nb\n'
NEWCOMER = "2,Tone,Fjære,{address},Ås,Ås Sp,medlem,2026-11-20,nb\n"
OTHER = "3,Per,Hansen,per@example.org,Asker,Asker Sp,medlem,2026-11-21,nb\n"
WELCOME_DAY = "2026-11-22T10:00"


def run(root: Path, *args: str) -> str:
    result = mailer(root, *args)
    assert result.code == 0, (args, result.err)
    return result.out


def project(tmp_path: Path, leader: str, newcomer: str) -> Path:
    rows = LEADER.format(address=leader) + NEWCOMER.format(address=newcomer) + OTHER
    return small_project(tmp_path / "fylke", rows, WELCOME)


def set_members(root: Path, rows: str) -> None:
    (root / "recipients" / "members.csv").write_text(MEMBERS_HEADER + rows, "utf-8")


def readable(path: Path, root: Path) -> str:
    """The file's name and text as a reader sees it, casefolded, with white space made single."""
    data = path.read_bytes()
    pieces = [str(path.relative_to(root)), data.decode("utf-8", "replace")]
    if path.suffix == ".eml":
        message = email.message_from_bytes(data, policy=email.policy.default)
        for part in message.walk():
            pieces += [str(value) for value in part.values()]
            payload = None if part.is_multipart() else part.get_payload(decode=True)
            if payload:
                pieces.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return " ".join(html.unescape("\n".join(pieces)).casefold().split())


def address_forms(address: str) -> set[str]:
    local, _, domain = address.casefold().rpartition("@")
    return {f"{local}@{domain}", f"{local}@{domain.encode('idna').decode('ascii')}"}


def files_naming(root: Path, *needles: str) -> dict[str, list[str]]:
    """Every file under the state folder that holds one of `needles`, with those it holds."""
    wanted = {" ".join(n.casefold().split()) for n in needles}
    found = {}
    for path in sorted((root / ".mailer").rglob("*")):
        if path.is_file():
            text = readable(path, root)
            hits = sorted(n for n in wanted if n in text)
            if hits:
                found[str(path.relative_to(root))] = hits
    return found


def test_forget_erases_mail_to_others_that_names_the_person(tmp_path):
    root = project(tmp_path, "aslaug@example.org", "tone@example.org")
    run(root, "run-due", "--now", WELCOME_DAY)  # Tone's welcome: "Leder der er Aslaug Østby"
    named = files_naming(root, "Aslaug Østby")
    assert any(".eml" in f for f in named), "the welcome to Tone names her chapter leader"

    assert "erased aslaug@example.org" in run(root, "forget", "Aslaug@Example.org")

    assert files_naming(root, "Aslaug Østby", "Østby, Aslaug", "aslaug@example.org") == {}
    assert files_naming(root, "per@example.org"), "the welcome to Per (another chapter) stays"


def test_forget_after_an_address_change_erases_the_old_address_too(tmp_path):
    old, new = "aslaug.ostby@gammel.example", "Aslaug.Ostby@Ny.Example"
    root = project(tmp_path, old, "tone@example.org")
    run(root, "run-due", "--now", WELCOME_DAY)  # the chapter's notice goes to the old address
    run(root, "unsubscribe", old, "--from", "velkommen")
    set_members(root, LEADER.format(address=new) + NEWCOMER.format(address="tone@example.org") + OTHER)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    run(root, "preview", "nyhetsbrev-2026-12")
    run(root, "approve", "nyhetsbrev-2026-12", "--by", "Per Hansen")
    run(root, "run-due", "--now", "2026-12-03T18:05")  # the newsletter goes to the new one
    assert files_naming(root, old), "the state knew the old address"

    assert f"erased {new.casefold()}" in run(root, "forget", new)

    assert files_naming(root, "Aslaug Østby", *address_forms(old), *address_forms(new)) == {}


def test_forget_finds_an_address_in_any_letter_case_and_encoding(tmp_path):
    """Her name is one word, so only her address can find her mail (a name alone names many)."""
    address = "ÅSE.Ørnhøi@Bjørnøya.Example"
    root = project(tmp_path, "aslaug@example.org", address)
    newcomer = NEWCOMER.format(address=address).replace("Tone,Fjære", "Åse,")
    set_members(root, LEADER.format(address="aslaug@example.org") + newcomer + OTHER)
    run(root, "run-due", "--now", WELCOME_DAY)  # her welcome, and the leader's notice quoting her address
    assert len(files_naming(root, *address_forms(address))) >= 2, "the outbox holds her address"

    assert f"erased {address.casefold()}" in run(root, "forget", address.casefold())

    assert files_naming(root, *address_forms(address)) == {}
    assert files_naming(root, "per@example.org"), "the welcome to Per stays"


def test_the_fast_reading_of_a_message_holds_every_part_the_email_package_decodes(tmp_path):
    """`traces.readable_text` walks the MIME tree by hand (the `email` parser is several times
    slower on a large outbox): on real mail of every kind here, nothing the parser decodes is
    missing from it."""
    from mailer.state.traces import readable_text

    root = project(tmp_path, "aslaug@example.org", "TONE.Fjære@Bjørnøya.example.org")
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    run(root, "run-due", "--now", WELCOME_DAY)
    run(root, "preview", "nyhetsbrev-2026-12", "--now", WELCOME_DAY)
    run(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Nordmann", "--now", WELCOME_DAY)
    run(root, "send", "nyhetsbrev-2026-12", "--now", WELCOME_DAY)
    messages = sorted((root / ".mailer" / "outbox").rglob("*.eml"))
    assert len(messages) >= 4

    for path in messages:
        text = " ".join(readable_text(path).split())
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for part in message.walk():
            for value in part.values():
                assert " ".join(str(value).casefold().split()) in text, (path.name, value)
            payload = None if part.is_multipart() else part.get_payload(decode=True)
            if payload:
                decoded = payload.decode(part.get_content_charset() or "utf-8", "replace")
                assert " ".join(decoded.casefold().split()) in text, (path.name, part.get_content_type())


def test_an_address_quoted_in_a_bounce_reason_is_found_in_any_letter_case_on_sqlite(tmp_path):
    """SQLite's own lower() folds only A-Z: 'ÅSE.ØRNHØI@…' in a remote server's text was not
    found by an erasure looking for 'åse.ørnhøi@…' (PostgreSQL's lower() knows Å)."""
    from mailer.state import State
    from mailer.state.erasure import erase_person, is_known

    state = State(tmp_path / "state.db", None)
    state.db.execute(
        "INSERT INTO unverified_bounces (address, kind, reason, why, source, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            "postmaster@example.org",
            "hard",
            "550 ÅSE.ØRNHØI@EXAMPLE.ORG: user unknown",
            "x",
            "imap",
            "2026-12-01",
        ),
    )

    assert is_known(state, "åse.ørnhøi@example.org")
    erase_person(state, None, "åse.ørnhøi@example.org")
    assert state.db.execute("SELECT count(*) FROM unverified_bounces").fetchone()[0] == 0
    state.close()
