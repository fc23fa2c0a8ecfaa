"""The newsletter from draft to inboxes: preview, approval by the board, send, send again."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

from conftest import DRAFT, approve_and_preview, base_env, mailer, small_project

MEMBERS = """\
1,Åse,Ødegård,ase@example.org,Ås,,"medlem, tillitsvalgt",2020-01-01,nb
2,Bjørn,Bråten,bjorn@example.org,Bærum,,medlem,2021-05-05,nn
3,Kari,Styre,kari@example.org,Asker,,medlem|fylkesstyremedlem,2019-01-01,nb
4,Per,Styre,per@example.org,Nordre Follo,,medlem;fylkesstyremedlem,2019-01-01,nb
5,Hilde,Hus,felles@example.org,Ås,,medlem,2022-01-01,nb
6,Hans,Hus,Felles@Example.org,Ås,,medlem,2022-01-01,nb
"""


def project_with_draft(tmp_path: Path, approvals: int = 1) -> Path:
    root = small_project(tmp_path / "fylke", MEMBERS, approvals=approvals)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    return root


def approve(root: Path, env: dict[str, str] | None = None) -> None:
    """The one board member this small project needs previews and approves the newsletter."""
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=env).code == 0


def test_example_newsletter_reaches_every_member_once_with_everything_a_mail_needs(example, smtp):
    env = base_env(**smtp.env())
    approve_and_preview(example, "nyhetsbrev-2026-12", env)
    result = mailer(example, "send", "nyhetsbrev-2026-12", env=env)
    assert result.code == 0, result.err
    with open(example / "recipients/medlemmer.csv", encoding="utf-8") as f:
        rows = [(row["email"].lower(), row["language"]) for row in csv.DictReader(f)]
    with open(example / "recipients/nye-medlemmer-excel.csv", encoding="cp1252") as f:
        rows += [(row["E-post"].lower(), row["Målform"]) for row in csv.DictReader(f, delimiter=";")]
    members = {email for email, _ in rows}
    nynorsk_members = {email for email, language in rows if language == "nn"}
    subjects = {
        "nb": "Nyhetsbrev desember: budsjettseier, lokalvalget 2027 og julemøter",
        "nn": "Nyhendebrev desember: budsjettsigrar, lokalvalet 2027 og julemøte",
    }
    assert len(smtp.received) >= 340
    assert "340 sent" in result.out
    message_ids = set()
    for got in smtp.received:
        msg = got.message
        assert len(got.rcpt_tos) == 1
        assert msg.get_all("To") and len(msg.get_all("To")) == 1
        assert "," not in str(msg["To"].addresses[0].addr_spec)
        assert msg["To"].addresses[0].addr_spec.lower() == got.rcpt_tos[0].lower()
        language = "nn" if got.rcpt_tos[0].lower() in nynorsk_members else "nb"
        assert msg["Subject"] == subjects[language]
        assert msg.get_content_type() == "multipart/alternative"
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        first = msg["To"].addresses[0].display_name.split()[0]
        assert f"Hei {first}," in text and f"Hei {first}," in html
        school = {"nb": "videregående skolen i", "nn": "vidaregåande skulen i"}[language]
        words = " ".join(text.split())
        assert school in words and "Aurskog-Høland" in words
        assert msg["List-Unsubscribe"].startswith("<https://medlem.akershus-sp.example/u/")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["Message-ID"].endswith("@akershus-sp.example>")
        assert msg["From"].addresses[0].display_name == "Akershus Senterparti"
        assert msg["Reply-To"].addresses[0].display_name == "Fylkessekretæren"
        assert msg["Date"] is not None
        for other in members - {got.rcpt_tos[0].lower()}:
            assert other.encode() not in got.data.lower()
        message_ids.add(msg["Message-ID"])
    assert len(message_ids) == len(smtp.received)
    nynorsk = [r for r in smtp.received if "nyhendebrevet" in r.message.get_body(("plain",)).get_content()]
    assert nynorsk_members and {r.rcpt_tos[0].lower() for r in nynorsk} == nynorsk_members


def test_sending_again_sends_nothing_new(tmp_path, smtp):
    root = project_with_draft(tmp_path)
    env = base_env(**smtp.env())
    approve(root, env)
    first = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert first.code == 0, first.err
    count = len(smtp.received)
    second = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert second.code == 0
    assert len(smtp.received) == count == 5
    assert "0 sent" in second.out


def test_a_shared_household_address_gets_one_message(tmp_path, smtp):
    root = project_with_draft(tmp_path)
    env = base_env(**smtp.env())
    approve(root, env)
    assert mailer(root, "send", "nyhetsbrev-2026-12", env=env).code == 0
    assert len(smtp.handler.to("felles@example.org")) == 1


def test_subject_names_and_body_keep_norwegian_letters(tmp_path, smtp):
    root = project_with_draft(tmp_path)
    env = base_env(**smtp.env())
    approve(root, env)
    assert mailer(root, "send", "nyhetsbrev-2026-12", env=env).code == 0
    msg = smtp.handler.to("ase@example.org")[0].message
    assert msg["Subject"] == "Nyhetsbrev: Æ, Ø og Å i emnefeltet"
    assert msg["To"].addresses[0].display_name == "Åse Ødegård"
    assert b"\xc3" not in msg.as_bytes().split(b"\n\n", 1)[0], "headers are RFC 2047 encoded"
    assert "Hei Åse! Dette er brødteksten med æøå." in msg.get_body(("plain",)).get_content()
    assert "Dette er brødteksten med æøå." in msg.get_body(("html",)).get_content()


def test_send_refuses_a_newsletter_that_is_not_approved(tmp_path, smtp):
    root = project_with_draft(tmp_path)
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=base_env(**smtp.env()))
    assert result.code == 1
    assert "not approved" in result.err and "mailer preview" in result.err
    assert "Traceback" not in result.err
    assert smtp.received == []


def test_two_approvals_are_needed_when_the_schedule_says_so(tmp_path, smtp):
    root = project_with_draft(tmp_path, approvals=2)
    env = base_env(**smtp.env())
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    one = mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=env)
    assert "1 of 2 approvals" in one.out
    refused = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert refused.code == 1 and "1 of 2 approvals" in refused.err
    again = mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=env)
    assert "1 of 2 approvals" in again.out, "the same person approving twice counts once"
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Per Styre", env=env).code == 0
    assert mailer(root, "send", "nyhetsbrev-2026-12", env=env).code == 0
    assert len(smtp.received) == 5


def test_a_draft_changed_after_approval_is_refused(tmp_path, smtp):
    root = project_with_draft(tmp_path)
    env = base_env(**smtp.env())
    approve(root, env)
    draft = root / "drafts" / "nyhetsbrev-2026-12.md"
    draft.write_text(draft.read_text() + "\nEn setning lagt til etterpå.\n", encoding="utf-8")
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert result.code == 1
    assert "changed since it was approved" in result.err
    assert smtp.received == []


def test_a_template_or_subject_changed_after_approval_is_refused(tmp_path, smtp):
    root = project_with_draft(tmp_path)
    env = base_env(**smtp.env())
    approve(root, env)
    template = root / "templates" / "newsletter.mjml"
    template.write_text(template.read_text().replace("Hei {{ member.first_name }},", "Hallo!"), "utf-8")
    assert mailer(root, "send", "nyhetsbrev-2026-12", env=env).code == 1
    template.write_text(template.read_text().replace("Hallo!", "Hei {{ member.first_name }},"), "utf-8")
    schedules = root / "schedules.yaml"
    schedules.write_text(schedules.read_text() + '    subject: "Nytt emne"\n', "utf-8")
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert result.code == 1 and "changed since it was approved" in result.err
    assert smtp.received == []


def test_approval_needs_a_preview_of_exactly_that_content(tmp_path):
    root = project_with_draft(tmp_path)
    result = mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre")
    assert result.code == 1 and "previewed" in result.err
    assert mailer(root, "preview", "nyhetsbrev-2026-12").code == 0
    draft = root / "drafts" / "nyhetsbrev-2026-12.md"
    draft.write_text(draft.read_text().replace("Siste nytt", "Enda nyere nytt"), encoding="utf-8")
    result = mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre")
    assert result.code == 1 and "changed since it was last previewed" in result.err


def test_preview_writes_html_text_and_eml_of_one_member_and_prints_the_fingerprint(tmp_path):
    root = project_with_draft(tmp_path)
    out = tmp_path / "preview"
    result = mailer(root, "preview", "nyhetsbrev-2026-12", "--out", str(out), "--as", "2")
    assert result.code == 0, result.err
    assert "fingerprint" in result.out
    paths = [
        Path(line.split()[-1]) for line in result.out.splitlines() if line.startswith("  ") and "/" in line
    ]
    assert {p.suffix for p in paths} >= {".html", ".txt", ".eml"}
    assert all(p.is_file() and p.parent == out for p in paths)
    text = (out / "preview.txt").read_text("utf-8")
    assert "Hei Bjørn!" in text and "nyhendebrevet" in text
    import email
    import email.policy

    msg = email.message_from_bytes((out / "preview.eml").read_bytes(), policy=email.policy.default)
    assert msg["To"].addresses[0].addr_spec == "bjorn@example.org"
    assert "Bjørn" in (out / "preview.html").read_text("utf-8")


def test_preview_to_board_sends_marked_copies_only_to_the_board_and_records_no_delivery(tmp_path, smtp):
    root = project_with_draft(tmp_path)
    env = base_env(**smtp.env())
    result = mailer(root, "preview", "nyhetsbrev-2026-12", "--to-board", env=env)
    assert result.code == 0, result.err
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == ["kari@example.org", "per@example.org"]
    assert all(r.message["Subject"].startswith("[UTKAST] ") for r in smtp.received)
    status = json.loads(mailer(root, "status", "--json", env=env).out)
    assert status["mailings"] == []


def test_status_shows_sent_per_mailing_and_failures_with_the_reply(tmp_path, smtp):
    root = project_with_draft(tmp_path)
    smtp.handler.reject["bjorn@example.org"] = "550 5.1.1 Mailbox does not exist"
    env = base_env(**smtp.env())
    approve(root, env)
    assert mailer(root, "send", "nyhetsbrev-2026-12", env=env).code == 0
    data = json.loads(mailer(root, "status", "--json", env=env).out)
    [row] = data["mailings"]
    assert (row["id"], row["sent"], row["failed"]) == ("nyhetsbrev-2026-12", 4, 1)
    [problem] = data["problems"]
    assert problem["email"] == "bjorn@example.org" and "550 5.1.1" in problem["reply"]
    human = mailer(root, "status", "nyhetsbrev-2026-12", env=env)
    assert "550 5.1.1 Mailbox does not exist" in human.out


def test_the_ledger_records_each_delivery_with_its_message_id(tmp_path, smtp):
    root = project_with_draft(tmp_path)
    env = base_env(**smtp.env())
    approve(root, env)
    assert mailer(root, "send", "nyhetsbrev-2026-12", env=env).code == 0
    db = sqlite3.connect(root / ".mailer" / "state.db")
    rows = db.execute("SELECT member_id, status, message_id, attempts FROM deliveries").fetchall()
    assert sorted(r[0] for r in rows) == ["1", "2", "3", "4", "5"]
    assert {r[1] for r in rows} == {"sent"} and all(r[3] == 1 for r in rows)
    sent_ids = {r.message["Message-ID"] for r in smtp.received}
    assert {r[2] for r in rows} == sent_ids


def test_schedule_lists_newsletters_with_a_planned_time(tmp_path):
    root = project_with_draft(tmp_path)
    result = mailer(root, "schedule", "--json", "--days", "30", "--now", "2026-11-20T12:00")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    [row] = rows
    assert row["id"] == "nyhetsbrev-2026-12" and row["kind"] == "newsletter"
    assert row["send_at"].startswith("2026-12-03T18:00") and row["recipients"] == 5
    assert row["overdue"] is False


def test_without_an_smtp_host_the_messages_go_to_the_outbox_and_the_command_says_so(tmp_path):
    root = project_with_draft(tmp_path)
    assert mailer(root, "preview", "nyhetsbrev-2026-12").code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre").code == 0
    result = mailer(root, "send", "nyhetsbrev-2026-12")
    assert result.code == 0
    assert "no SMTP host set" in result.out and ".mailer/outbox/nyhetsbrev-2026-12" in result.out
    files = sorted((root / ".mailer" / "outbox" / "nyhetsbrev-2026-12").glob("*.eml"))
    assert len(files) == 5


def test_dry_run_sends_and_records_nothing(tmp_path, smtp):
    root = project_with_draft(tmp_path)
    env = base_env(**smtp.env())
    result = mailer(root, "send", "nyhetsbrev-2026-12", "--dry-run", env=env)
    assert result.code == 0
    assert "5 would be sent" in result.out and "NOT SENDABLE" in result.out
    assert smtp.received == []
    assert json.loads(mailer(root, "status", "--json").out)["mailings"] == []
