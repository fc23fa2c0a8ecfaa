"""Deliveries never wait for ever: pending past their mailing's lifetime, they end as expired."""

from __future__ import annotations

import datetime as dt
import json

from bounce_helpers import MEMBERS
from conftest import DRAFT, base_env, free_port, mailer, small_project


def test_deliveries_never_tried_because_the_server_was_down_expire_after_the_lifetime(tmp_path):
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    down = base_env(
        MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(free_port()), MAILER_SMTP_SECURITY="none"
    )
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=down).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=down).code == 0
    failed = mailer(root, "send", "nyhetsbrev-2026-12", env=down)
    assert failed.code == 1 and "nothing was lost" in failed.err
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=49)).isoformat(timespec="minutes")
    result = mailer(root, "run-due", "--now", later, env=down)
    assert "9 expired" in result.out, result.err
    data = json.loads(mailer(root, "status", "--json", env=down).out)
    [row] = data["mailings"]
    assert (row["expired"], row["pending"], row["sent"]) == (9, 0, 0)
    assert all(p["reply"].startswith("expired: its lifetime ended") for p in data["problems"])


def test_deliveries_within_the_lifetime_stay_pending(tmp_path):
    root = small_project(tmp_path / "fylke", MEMBERS)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    down = base_env(
        MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(free_port()), MAILER_SMTP_SECURITY="none"
    )
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=down).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Kari Styre", env=down).code == 0
    assert mailer(root, "send", "nyhetsbrev-2026-12", env=down).code == 1
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=47)).isoformat(timespec="minutes")
    mailer(root, "run-due", "--now", later, env=down)
    [row] = json.loads(mailer(root, "status", "--json", env=down).out)["mailings"]
    assert (row["expired"], row["pending"]) == (0, 9)
