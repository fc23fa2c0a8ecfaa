"""`mailer forget` of an address a household shares erases no one until the secretary says who.

Åse and Ola share one mailbox (they get one message); an erasure of the address alone would
erase both, and cannot be undone. So it is refused, naming each member, and `--member ID`
erases only the one asked for: the rows under that id and the files naming them, while the
address and what was chosen for it stay with the one who still uses it. Each test runs the real
command line against a newsletter sent through a real SMTP server.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import approve_and_preview, base_env, mailer, small_project, state_rows

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,Ås Senterparti,medlem,2020-01-01,nb
4,Per,Vanlig,per@example.org,Asker,Asker Senterparti,medlem,2019-01-01,nb
6,Ola,Ødegård,Ase@Example.org,Ås,Ås Senterparti,medlem,2021-03-03,nb
"""
ADDRESS = "ase@example.org"
NAME = "nyhetsbrev-forget"
REFUSED = (
    "error: ase@example.org is shared by 2 members: 1 Åse Ødegård, 6 Ola Ødegård; "
    "erase one with `mailer forget ase@example.org --member ID`; nothing was erased\n"
)


@pytest.fixture
def env(smtp) -> dict[str, str]:
    return base_env(MAILER_SECRET="s3cret-for-the-tests-only", **smtp.env())


@pytest.fixture
def project(tmp_path: Path, env, smtp) -> Path:
    """The newsletter went to the household once (under Åse's id) and to Per; the household
    then stopped the newsletter."""
    root = small_project(tmp_path / "fylke", MEMBERS)
    send_at = dt.datetime.now(ZoneInfo("Europe/Oslo")) - dt.timedelta(hours=1)
    draft = f'---\nsubject: "Nyhetsbrev"\nsend_at: {send_at:%Y-%m-%dT%H:%M}\n---\nHei alle sammen!\n'
    (root / "drafts" / f"{NAME}.md").write_text(draft, encoding="utf-8")
    approve_and_preview(root, NAME, env)
    sent = mailer(root, "send", NAME, env=env)
    assert sent.code == 0, sent.err
    assert sorted(r.rcpt_tos[0].casefold() for r in smtp.received) == [ADDRESS, "per@example.org"]
    stopped = mailer(root, "unsubscribe", ADDRESS, "--from", "nyhetsbrev", env=env)
    assert stopped.code == 0, stopped.err
    return root


def snapshot(root: Path) -> dict[str, list[tuple[object, ...]]]:
    return {
        "deliveries": state_rows(root, "SELECT member_id, address, status FROM deliveries ORDER BY id"),
        "member_register": state_rows(
            root, "SELECT member_id, address FROM member_register ORDER BY member_id"
        ),
        "members": state_rows(root, "SELECT id, address FROM members ORDER BY id"),
        "suppressions": state_rows(root, "SELECT address, category FROM suppressions"),
    }


def test_forget_of_an_address_two_members_share_is_refused_naming_both(project, env):
    before = snapshot(project)

    result = mailer(project, "forget", ADDRESS, env=env)

    assert (result.code, result.out, result.err) == (1, "", REFUSED)
    assert snapshot(project) == before, "nothing was erased"


def test_forget_of_a_shared_address_is_refused_also_when_one_of_them_left_the_export(project, env):
    members = project / "recipients" / "members.csv"
    members.write_text(members.read_text("utf-8").replace(MEMBERS.splitlines()[2] + "\n", ""), "utf-8")
    assert mailer(project, "run-due", env=env).code == 0  # the register notes that Ola left
    before = snapshot(project)

    result = mailer(project, "forget", ADDRESS, env=env)

    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "error: ase@example.org is shared by 2 members: 1 Åse Ødegård, 6 (name not kept); "
        "erase one with `mailer forget ase@example.org --member ID`; nothing was erased\n"
    )
    assert snapshot(project) == before


def test_forget_member_erases_only_that_member_of_a_shared_address(project, env):
    result = mailer(project, "forget", ADDRESS.upper(), "--member", "1", env=env)

    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "erased member 1 (Åse Ødegård) of ase@example.org: 1 deliveries folded into anonymous counts; "
        "the address and its choices stay with 6 Ola Ødegård; "
        "remove the person from the member export too, or they are added again\n"
    )
    after = snapshot(project)
    assert after["deliveries"] == [("4", "per@example.org", "sent")]
    assert after["member_register"] == [("4", "per@example.org"), ("6", ADDRESS)]
    assert after["members"] == [("4", "per@example.org"), ("6", ADDRESS)]
    assert after["suppressions"] == [(ADDRESS, "nyhetsbrev")], "the household's choice stays"
    assert state_rows(project, "SELECT count FROM erased_counts") == [(1,)]


def test_forget_member_of_the_one_who_did_not_get_the_mail_leaves_the_household_mail(project, env):
    result = mailer(project, "forget", ADDRESS, "--member", "6", env=env)

    assert (result.code, result.err) == (0, "")
    assert result.out.startswith("erased member 6 (Ola Ødegård) of ase@example.org: 0 deliveries")
    after = snapshot(project)
    assert after["deliveries"] == [("1", ADDRESS, "sent"), ("4", "per@example.org", "sent")]
    assert after["member_register"] == [("1", ADDRESS), ("4", "per@example.org")]
    assert after["members"] == [("1", ADDRESS), ("4", "per@example.org")]


def test_forget_member_who_does_not_have_the_address_is_refused(project, env):
    before = snapshot(project)

    result = mailer(project, "forget", ADDRESS, "--member", "4", env=env)

    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "error: member 4 does not have the address ase@example.org "
        "(1 Åse Ødegård, 6 Ola Ødegård); nothing was erased\n"
    )
    assert snapshot(project) == before


def test_forget_of_an_address_one_member_has_erases_them_as_before(project, env):
    result = mailer(project, "forget", "per@example.org", env=env)

    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "erased per@example.org: 1 deliveries folded into anonymous counts; "
        "remove the person from the member export too, or they are added again\n"
    )
    assert [r[0] for r in snapshot(project)["member_register"]] == ["1", "6"]
