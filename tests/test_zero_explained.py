"""A run that reaches fewer members than its audience says why, one line per reason, and in JSON.

Every command of a test runs at the same `--now`, so no test depends on the day it runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from bounce_helpers import MEMBERS
from conftest import DRAFT, base_env, free_port, mailer, small_project

ID = "nyhetsbrev-2026-12"
NOW = "2026-12-03T12:00"  # before the draft's send_at (18:00): `send` sends it early, by hand
DUE = "2026-12-03T18:01"
NO_ADDRESS = "10,Uten,Adresse,,Ås,,medlem,2022-01-01,nb\n"
SKIPPED = (
    "  1 row of the member export skipped: no usable address or another problem (`mailer check` names them)"
)


def project(tmp_path: Path, members: str = MEMBERS + NO_ADDRESS) -> Path:
    root = small_project(tmp_path / "fylke", members)
    (root / "drafts" / f"{ID}.md").write_text(DRAFT, encoding="utf-8")
    env = outbox()
    assert mailer(root, "preview", ID, "--now", NOW, env=env).code == 0
    assert mailer(root, "approve", ID, "--by", "Kari Styre", "--now", NOW, env=env).code == 0
    unsubscribed = mailer(root, "unsubscribe", "ola@example.com", "--from", "nyhetsbrev", env=env)
    assert unsubscribed.code == 0, unsubscribed.err
    return root


def outbox() -> dict[str, str]:
    return base_env()  # no MAILER_SMTP_HOST: the messages go to .mailer/outbox/


def test_a_send_short_of_its_audience_names_each_reason_with_its_count(tmp_path):
    root = project(tmp_path)
    result = mailer(root, "send", ID, "--now", NOW, env=outbox())
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "nyhetsbrev-2026-12: 8 sent",
        "  9 in the audience",
        "  1 suppressed: unsubscribed or bouncing",
        SKIPPED,
        f"no SMTP host set (MAILER_SMTP_HOST): messages are in {root / '.mailer' / 'outbox' / ID}",
    ]


def test_send_json_carries_the_same_counts(tmp_path):
    root = project(tmp_path)
    result = mailer(root, "send", ID, "--json", "--now", NOW, env=outbox())
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert {
        k: data[k] for k in ("mailing", "sent", "audience", "suppressed", "skipped_rows", "already_sent")
    } == {
        "mailing": ID,
        "sent": 8,
        "audience": 9,
        "suppressed": 1,
        "skipped_rows": 1,
        "already_sent": 0,
    }
    assert data["outbox"] == str(root / ".mailer" / "outbox" / ID)
    assert (data["expired"], data["dropped"], data["still_to_send"], data["late"]) == (0, 0, 0, None)


def test_run_due_json_carries_the_same_counts_per_mailing(tmp_path):
    root = project(tmp_path)
    result = mailer(root, "run-due", "--json", "--now", DUE, env=outbox())
    assert result.code == 0, result.err
    data = json.loads(result.out)
    [mailing] = data["mailings"]
    assert (mailing["mailing"], mailing["sent"], mailing["audience"], mailing["suppressed"]) == (ID, 8, 9, 1)
    assert mailing["skipped_rows"] == 1 and data["errors"] == [] and data["gap"] is None
    assert data["outbox"] == str(root / ".mailer" / "outbox")


def test_run_due_prints_the_reasons_under_the_mailing_they_explain(tmp_path):
    root = project(tmp_path)
    result = mailer(root, "run-due", "--now", DUE, env=outbox())
    assert result.out.splitlines()[:3] == [
        "nyhetsbrev-2026-12: 8 sent",
        "  9 in the audience",
        "  1 suppressed: unsubscribed or bouncing",
    ]


def test_a_second_send_names_no_outbox_because_it_wrote_nothing_there(tmp_path):
    root = project(tmp_path)
    assert mailer(root, "send", ID, "--now", NOW, env=outbox()).code == 0
    again = mailer(root, "send", ID, "--now", NOW, env=outbox())
    assert again.code == 0 and "outbox" not in again.out
    assert "  8 already sent earlier" in again.out.splitlines()


def test_run_due_with_nothing_to_send_prints_nothing_and_names_no_outbox(tmp_path):
    root = project(tmp_path)
    result = mailer(root, "run-due", "--now", NOW, env=outbox())
    assert (result.code, result.out) == (0, "")
    assert not (root / ".mailer" / "outbox").exists()


def test_a_send_that_writes_nothing_never_names_a_folder_that_does_not_exist(tmp_path):
    root = project(tmp_path)
    (root / "recipients" / "members.csv").write_text(
        "id,first_name,last_name,email,municipality,chapter,roles,joined,language\n" + NO_ADDRESS, "utf-8"
    )
    result = mailer(root, "send", ID, "--now", NOW, env=outbox())
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "nyhetsbrev-2026-12: 0 sent",
        "  0 in the audience: it selects nobody in the member export now",
        SKIPPED,
    ]


def test_members_who_left_the_export_before_their_message_are_counted_as_dropped(tmp_path, smtp):
    root = project(tmp_path, MEMBERS)
    down = base_env(
        MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(free_port()), MAILER_SMTP_SECURITY="none"
    )
    assert mailer(root, "send", ID, "--now", NOW, env=down).code == 1  # 8 wait in the ledger
    members = root / "recipients" / "members.csv"
    members.write_text(
        "".join(line for line in members.read_text("utf-8").splitlines(True) if "kjell@" not in line)
    )
    result = mailer(root, "send", ID, "--now", NOW, env=base_env(**smtp.env()))
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "nyhetsbrev-2026-12: 7 sent, 1 dropped",
        "  8 in the audience",
        "  1 suppressed: unsubscribed or bouncing",
        "  1 dropped: left the member export or the audience",
    ]


NOBODY_ON_THE_BOARD = "1,Åse,Ødegård,ase@example.org,Ås,,medlem,2020-01-01,nb\n"
BOARD_MEETINGS = """\
  styremote:
    kind: invitation
    template: invitation
    audience: styret
    subject: "Styremøte {{ meeting.start|datetime }}"
    meeting:
      title: Styremøte
      location: Digitalt
      time: "08:00"
      duration: 45m
      recurrence: {frequency: weekly, weekday: tirsdag, start: 2027-02-02, until: 2027-06-29}
    invite: {days_before: 3, at: "09:00"}
"""


def test_run_due_says_once_that_a_due_mailing_reached_nobody_and_the_schedule_drops_it(tmp_path):
    """An audience empty on the day a mailing falls due: run-due names it with the reason once,
    not every minute, and the schedule no longer lists it as overdue."""
    root = small_project(tmp_path / "fylke", NOBODY_ON_THE_BOARD, BOARD_MEETINGS)

    first = mailer(root, "run-due", "--now", "2027-02-27T09:05", env=outbox())
    again = mailer(root, "run-due", "--now", "2027-02-27T09:10", env=outbox())
    ahead = mailer(root, "schedule", "--now", "2027-02-27T09:10", env=outbox())

    assert first.code == 0, first.err
    assert "styremote@2027-03-02: 0 sent" in first.out
    assert "0 in the audience: it selects nobody" in first.out
    assert "styremote@2027-03-02" not in again.out
    assert ahead.code == 0 and "styremote@2027-03-02" not in ahead.out
    assert "styremote@2027-03-09" in ahead.out
