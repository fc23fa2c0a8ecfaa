"""The state on a PostgreSQL server: bad connections, counties side by side, several senders.

Every test runs against the throw-away cluster the fixtures start (tests/pgserver.py), in a
database of its own. The state tests of the rest of the suite run here too, through the
`engine` fixture; these are the things only a server has.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import Handler, base_env, free_port, mailer, running_smtp, small_project
from pgserver import PgServer

NEWSLETTER = "nyhetsbrev-neste"


def members(n: int, domain: str = "example.org", first: int = 1) -> str:
    return "".join(
        f"{i},Medlem{i},Etternavn,m{i}@{domain},Asker,,medlem,2020-01-01,nb\n"
        for i in range(first, first + n)
    )


def newsletter_project(root: Path, rows: str, organisation: str = "Testfylket Senterparti") -> Path:
    """A project with one newsletter due ten minutes ago (run-due sends it, whatever the day)."""
    root = small_project(root, rows)
    text = (root / "schedules.yaml").read_text("utf-8").replace("Testfylket Senterparti", organisation, 1)
    (root / "schedules.yaml").write_text(text, encoding="utf-8")
    due = (dt.datetime.now(ZoneInfo("Europe/Oslo")) - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    (root / "drafts" / f"{NEWSLETTER}.md").write_text(
        f"---\nsubject: Nytt fra fylket\nsend_at: {due}\n---\nHei {{{{ member.first_name }}}}!\n",
        encoding="utf-8",
    )
    return root


def approve(root: Path, env: dict[str, str]) -> None:
    assert mailer(root, "preview", NEWSLETTER, env=env).code == 0
    result = mailer(root, "approve", NEWSLETTER, "--by", "Kari Styre", env=env)
    assert result.code == 0, result.err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# -- bad connections ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, expected",
    [
        ("unreachable", "cannot reach the server"),
        ("password", "user name and password"),
        ("database", "the database does not exist"),
    ],
)
def test_a_server_that_cannot_be_used_is_one_line_naming_it_and_nothing_is_sent(
    tmp_path, smtp, pg_server: PgServer, case, expected
):
    root = newsletter_project(tmp_path / "p", members(3))
    url = {
        "unreachable": pg_server.url("postgres", port=free_port()),
        "password": pg_server.url(pg_server.new_database(), password="feil-passord"),
        "database": pg_server.url("finnes_ikke"),
    }[case]
    result = mailer(root, "run-due", env=base_env(MAILER_DATABASE_URL=url, **smtp.env()))
    assert result.code == 1
    line = one_line(result.err)
    assert expected in line and "PostgreSQL 127.0.0.1:" in line
    assert "feil-passord" not in line and "hemmelig" not in line, "the password is never shown"
    assert smtp.received == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://mailer:hemm%ZZelig@127.0.0.1:5432/db", "write a % in the password as %25"),
        ("postgresql://mailer:hemmelig passord@127.0.0.1:5432/db", "a space: write it as %20"),
        ("postgresql://mailer:hemmelig@passord@127.0.0.1:5432/db", "'@': write it as %40"),
        ("postgresql://mailer:hemmelig/passord@127.0.0.1:5432/db", "'/': write it as %2F"),
        ("postgresql://mailer:hemmelig@[127.0.0.1:5432/db", "MAILER_DATABASE_URL cannot be read"),
    ],
    ids=["percent", "space", "at", "slash", "bracket"],
)
def test_a_url_libpq_cannot_read_is_one_line_that_never_shows_the_password(tmp_path, smtp, url, expected):
    root = newsletter_project(tmp_path / "p", members(1))
    (root / ".env").write_text(f"MAILER_DATABASE_URL={url}\n")

    result = mailer(root, "run-due", env=base_env(**smtp.env()))

    assert result.code == 1
    line = one_line(result.err)
    assert expected in line and "hemm" not in line and "passord" not in line
    assert smtp.received == []


def test_a_url_that_is_not_postgresql_is_refused_at_start(tmp_path):
    root = newsletter_project(tmp_path / "p", members(1))
    result = mailer(root, "status", env=base_env(MAILER_DATABASE_URL="mysql://x@localhost/db"))
    assert result.code == 1
    assert "MAILER_DATABASE_URL" in one_line(result.err)


def test_a_schema_name_that_is_not_a_safe_identifier_is_refused_by_check(tmp_path, pg_url):
    root = newsletter_project(tmp_path / "p", members(1))
    text = (root / "schedules.yaml").read_text("utf-8")
    text = text.replace("  timezone:", '  database_schema: "akershus; DROP TABLE x"\n  timezone:', 1)
    (root / "schedules.yaml").write_text(text, encoding="utf-8")
    result = mailer(root, "check", env=base_env(MAILER_DATABASE_URL=pg_url))
    assert result.code == 1
    assert "organisation.database_schema" in result.err and "cannot be a schema name" in result.err


def test_a_schema_written_by_a_newer_release_is_refused_and_left_untouched(tmp_path, smtp, pg_server):
    database = pg_server.new_database()
    env = base_env(MAILER_DATABASE_URL=pg_server.url(database), **smtp.env())
    root = newsletter_project(tmp_path / "p", members(3))
    assert mailer(root, "status", env=env).code == 0
    schema = "testfylket_senterparti"
    pg_server.psql(f"UPDATE {schema}.schema_version SET version = 99", database)
    snapshot = f"SELECT count(*), string_agg(key || '=' || value, ',' ORDER BY key) FROM {schema}.meta"
    before = pg_server.psql(snapshot, database)
    result = mailer(root, "run-due", env=env)
    assert result.code == 1
    line = one_line(result.err)
    assert "version 99" in line and "newer release" in line and "nothing was changed" in line
    assert pg_server.psql(snapshot, database) == before
    assert pg_server.psql(f"SELECT version FROM {schema}.schema_version", database) == "99"
    assert pg_server.psql(f"SELECT count(*) FROM {schema}.members", database) == "0"
    assert smtp.received == []


# -- counties side by side ---------------------------------------------------------------------------


def test_a_county_whose_schedule_names_another_countys_schema_is_refused_before_it_reads_a_row(
    tmp_path, smtp, pg_server
):
    """A folder copied from Akershus (its database_schema line kept) and renamed Buskerud."""
    database = pg_server.new_database()
    env = base_env(MAILER_DATABASE_URL=pg_server.url(database), **smtp.env())
    akershus = newsletter_project(
        tmp_path / "akershus", members(3, "akershus.example"), "Akershus Senterparti"
    )
    assert mailer(akershus, "recipients", env=env).code == 0
    copied = newsletter_project(tmp_path / "buskerud", members(2, "buskerud.example"), "Buskerud Senterparti")
    text = (copied / "schedules.yaml").read_text("utf-8")
    (copied / "schedules.yaml").write_text(
        text.replace("  timezone:", "  database_schema: akershus_senterparti\n  timezone:", 1), "utf-8"
    )

    for command in (("status",), ("recipients",), ("run-due",)):
        result = mailer(copied, *command, env=env)
        assert result.code == 1, command
        line = one_line(result.err)
        assert "holds the state of 'Akershus Senterparti', not of 'Buskerud Senterparti'" in line
    assert smtp.received == []
    assert pg_server.psql("SELECT count(*) FROM akershus_senterparti.members", database) == "3"
    assert mailer(akershus, "status", env=env).code == 0


def test_two_counties_in_one_database_never_select_report_erase_or_export_each_others_members(
    tmp_path, smtp, pg_server
):
    database = pg_server.new_database()
    env = base_env(MAILER_DATABASE_URL=pg_server.url(database), **smtp.env())
    akershus = newsletter_project(
        tmp_path / "akershus", members(3, "akershus.example"), "Akershus Senterparti"
    )
    buskerud = newsletter_project(
        tmp_path / "buskerud", members(2, "buskerud.example", first=1), "Buskerud Senterparti"
    )
    for root in (akershus, buskerud):
        approve(root, env)
        sent = mailer(root, "send", NEWSLETTER, env=env)
        assert sent.code == 0, sent.err
    schemas = pg_server.psql("SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace", database)
    assert "akershus_senterparti" in schemas and "buskerud_senterparti" in schemas
    # the same member ids, each county its own people
    assert sorted(a for r in smtp.received for a in r.rcpt_tos) == sorted(
        [f"m{i}@akershus.example" for i in (1, 2, 3)] + [f"m{i}@buskerud.example" for i in (1, 2)]
    )

    def addresses(root: Path) -> set[str]:
        out = mailer(root, "recipients", "--json", env=env)
        assert out.code == 0, out.err
        return {m["email"] for m in json.loads(out.out)}

    assert addresses(buskerud) == {"m1@buskerud.example", "m2@buskerud.example"}
    report = json.loads(mailer(buskerud, "report", "mailings", "--json", env=env).out)
    assert [(r["mailing"], r["recipients"]) for r in report["mailings"]["rows"]] == [(NEWSLETTER, 2)]
    chapters = json.loads(mailer(buskerud, "report", "chapters", "--json", env=env).out)
    assert sum(r["members"] for r in chapters["regions"]["rows"]) == 2
    # Akershus erasing a Buskerud address finds nothing of it, and erases nothing in Buskerud
    erased = mailer(akershus, "forget", "m1@buskerud.example", env=env)
    assert erased.code == 1 and "nothing is known about m1@buskerud.example" in erased.err
    assert mailer(akershus, "unsubscribe", "m2@buskerud.example", env=env).code == 0
    status = json.loads(mailer(buskerud, "status", "--json", env=env).out)
    assert status["mailings"][0]["sent"] == 2
    assert json.loads(mailer(buskerud, "suppressions", "--json", env=env).out) == []
    assert addresses(buskerud) == {"m1@buskerud.example", "m2@buskerud.example"}
    assert pg_server.psql("SELECT count(*) FROM buskerud_senterparti.deliveries", database) == "2"
    assert "buskerud.example" not in mailer(akershus, "recipients", "--json", env=env).out


# -- erasure -----------------------------------------------------------------------------------------


def test_forget_leaves_no_trace_of_the_person_in_the_database_files(tmp_path, smtp, pg_server):
    database = pg_server.new_database()
    env = base_env(MAILER_DATABASE_URL=pg_server.url(database), **smtp.env())
    rows = "g-7,Gudrun,Fjellheim,gudrun.fjellheim@example.org,Ås,,medlem,2020-01-01,nb\n" + members(200)
    root = newsletter_project(tmp_path / "p", rows)
    approve(root, env)
    assert mailer(root, "send", NEWSLETTER, env=env).code == 0
    assert mailer(root, "unsubscribe", "gudrun.fjellheim@example.org", env=env).code == 0
    pg_server.psql("ANALYZE", database)  # what autovacuum does when it likes: samples into pg_statistic
    pg_server.psql("CHECKPOINT")
    files = pg_server.data_files(database)
    assert any(b"gudrun.fjellheim" in data for data in files.values()), "the files held her before"
    (root / "recipients" / "members.csv").write_text(
        (root / "recipients" / "members.csv").read_text("utf-8").replace(rows.splitlines()[0] + "\n", "")
    )
    result = mailer(root, "forget", "gudrun.fjellheim@example.org", env=env)
    assert result.code == 0, result.err
    pg_server.psql("CHECKPOINT")
    files = pg_server.data_files(database)
    left = [str(p) for p, data in files.items() if re.search(rb"(?i)gudrun|fjellheim", data)]
    assert left == []
    assert pg_server.psql("SELECT count(*) FROM testfylket_senterparti.deliveries", database) == "200"


# -- several senders ----------------------------------------------------------------------------------


def start_sender(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailer", "--project", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def slow_handler(seconds: float) -> Handler:
    def pause(n: int, envelope: object) -> None:
        time.sleep(seconds)
        return None

    return Handler(data_reply=pause)


def sent_count(line: str) -> int:
    found = re.search(r": (\d+) sent", line)
    assert found, line
    return int(found[1])


def test_two_senders_share_one_mailing_and_each_member_gets_one_copy(tmp_path, pg_url):
    root = newsletter_project(tmp_path / "p", members(300))
    # Slow enough (10 ms a message, one at a time: 3 s in all) that the second sender, starting
    # up on a busy machine, arrives while there is still work to claim.
    with running_smtp(slow_handler(0.01)) as smtp:
        env = base_env(MAILER_DATABASE_URL=pg_url, **smtp.env())
        approve(root, env)
        senders = [start_sender(root, env, "send", NEWSLETTER) for _ in range(2)]
        outs = [p.communicate(timeout=180) for p in senders]
    assert [p.returncode for p in senders] == [0, 0], outs
    counts = [sent_count(out) for out, _ in outs]
    assert sum(counts) == 300 and min(counts) > 0, counts
    received = Counter(a for r in smtp.received for a in r.rcpt_tos)
    assert len(received) == 300 and set(received.values()) == {1}


def test_a_sender_killed_halfway_loses_nothing_and_repeats_at_most_what_was_on_the_wire(tmp_path, pg_url):
    root = newsletter_project(tmp_path / "p", members(400))
    with running_smtp(slow_handler(0.01)) as smtp:
        env = base_env(MAILER_DATABASE_URL=pg_url, MAILER_POOL_SIZE="4", **smtp.env())
        approve(root, env)
        victim = start_sender(root, env, "run-due")
        other = start_sender(root, env, "run-due")
        deadline = time.monotonic() + 60
        while len(smtp.received) < 80 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        _, err = other.communicate(timeout=180)
        assert other.returncode == 0, err
        # the killed sender's connection went with it, so the other took over what it held
        assert len({a for r in smtp.received for a in r.rcpt_tos}) == 400
        again = mailer(root, "run-due", env=env)
        assert again.code == 0, again.err
        status = json.loads(mailer(root, "status", "--json", env=env).out)
    received = Counter(a for r in smtp.received for a in r.rcpt_tos)
    assert len(received) == 400, "nobody is lost"
    doubled = sum(n - 1 for n in received.values())
    assert doubled <= 4, f"{doubled} repeated: more than the 4 connections had on the wire"
    assert status["mailings"][0]["sent"] == 400 and status["mailings"][0]["total"] == 400


def test_forget_during_a_send_waits_for_it_and_nothing_of_the_person_comes_back(tmp_path, pg_server):
    """The sender read the members before the erasure: with the server's run lock, forget waits
    for it to end, so the send cannot mail the person or write them back after they are gone."""
    database = pg_server.new_database()
    root = newsletter_project(tmp_path / "p", members(150))
    with running_smtp(slow_handler(0.02)) as smtp:
        env = base_env(MAILER_DATABASE_URL=pg_server.url(database), MAILER_POOL_SIZE="2", **smtp.env())
        approve(root, env)
        sender = start_sender(root, env, "send", NEWSLETTER)
        deadline = time.monotonic() + 60
        while len(smtp.received) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        export = root / "recipients" / "members.csv"
        export.write_text(
            "".join(ln for ln in export.read_text("utf-8").splitlines(True) if "m140@" not in ln), "utf-8"
        )
        erased = mailer(root, "forget", "m140@example.org", env=env)
        sent_before_erasure = len(smtp.received)
        _, err = sender.communicate(timeout=120)
        received_then = len(smtp.received)
        again = mailer(root, "run-due", env=env)

    assert erased.code == 0, erased.err
    assert sent_before_erasure == 150, "forget returned while the send was still running"
    assert sender.returncode == 0, err
    assert len(smtp.received) == received_then and again.code == 0
    rows = pg_server.psql(
        "SELECT count(*) FROM testfylket_senterparti.deliveries WHERE address = 'm140@example.org'", database
    )
    assert rows == "0"


def test_the_server_going_away_mid_send_loses_nothing_and_the_next_run_finishes(tmp_path, pg_server):
    database = pg_server.new_database()
    root = newsletter_project(tmp_path / "p", members(300))
    with running_smtp(slow_handler(0.01)) as smtp:
        env = base_env(MAILER_DATABASE_URL=pg_server.url(database), MAILER_POOL_SIZE="4", **smtp.env())
        approve(root, env)
        sender = start_sender(root, env, "send", NEWSLETTER)
        deadline = time.monotonic() + 60
        while len(smtp.received) < 60 and time.monotonic() < deadline:
            time.sleep(0.02)
        pg_server.stop("immediate")
        try:
            _, err = sender.communicate(timeout=120)
        finally:
            pg_server.start()
        assert sender.returncode == 1
        line = one_line("\n".join(x for x in err.splitlines() if x.startswith("error:")))
        assert "PostgreSQL 127.0.0.1:" in line and "nothing was lost" in line
        before = len(smtp.received)
        assert before < 300
        again = mailer(root, "send", NEWSLETTER, env=env)
        assert again.code == 0, again.err
    received = Counter(a for r in smtp.received for a in r.rcpt_tos)
    assert len(received) == 300, "nobody is lost"
    assert sum(n - 1 for n in received.values()) <= 4, "at most the messages on the wire repeat"
    assert (
        pg_server.psql(
            "SELECT count(*) FROM testfylket_senterparti.deliveries WHERE status = 'sent'", database
        )
        == "300"
    )


# -- moving a county -----------------------------------------------------------------------------


def ledger(root: Path, env: dict[str, str]) -> dict[str, object]:
    """What a county's state says, through the program: its ledger, unsubscribes, members."""
    status = mailer(root, "status", "--json", env=env)
    assert status.code == 0, status.err
    return {
        "status": json.loads(status.out),
        "suppressions": json.loads(mailer(root, "suppressions", "--json", env=env).out),
        "members": json.loads(mailer(root, "recipients", "--json", env=env).out),
    }


def test_copy_moves_a_county_to_postgresql_and_back_with_every_row_and_the_secret(tmp_path, smtp, pg_url):
    root = newsletter_project(tmp_path / "p", members(25))
    on_sqlite = base_env(**smtp.env())
    on_server = base_env(MAILER_DATABASE_URL=pg_url, **smtp.env())
    approve(root, on_sqlite)
    assert mailer(root, "send", NEWSLETTER, env=on_sqlite).code == 0
    assert mailer(root, "unsubscribe", "m3@example.org", env=on_sqlite).code == 0
    export = root / "recipients" / "members.csv"
    export.write_text(
        export.read_text("utf-8").replace(
            "4,Medlem4,Etternavn,m4@example.org,Asker,,medlem,2020-01-01,nb\n", ""
        )
    )
    assert mailer(root, "forget", "m4@example.org", env=on_sqlite).code == 0  # a keyed hash stays
    before = ledger(root, on_sqlite)
    secret = (root / ".mailer" / "secret").read_bytes()

    there = mailer(root, "state", "copy", "--to", pg_url, env=on_sqlite)
    assert there.code == 0, there.err
    assert "row counts checked" in there.out and "hemmelig" not in there.out
    assert ledger(root, on_server) == before
    assert mailer(root, "send", NEWSLETTER, env=on_server).code == 0
    assert len(smtp.received) == 25, "nothing is sent again from the copy"

    (root / ".mailer" / "state.db").rename(tmp_path / "old.db")
    (root / ".mailer" / "secret").unlink()
    back = mailer(root, "state", "copy", "--to", "sqlite", env=on_server)
    assert back.code == 0, back.err
    assert (root / ".mailer" / "secret").read_bytes() == secret, "links in mail already sent still work"
    assert ledger(root, on_sqlite) == before
    with sqlite3.connect(root / ".mailer" / "state.db") as db:
        assert db.execute("SELECT count(*) FROM meta WHERE key = 'secret'").fetchone() == (0,)


def test_copy_takes_the_password_from_a_pgpass_file_so_it_is_never_on_the_command_line(
    tmp_path, smtp, pg_url
):
    """`ps` and the shell's history show a command line: README's --to names no password."""
    from urllib.parse import urlsplit

    url = urlsplit(pg_url)
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"{url.hostname}:{url.port}:{url.path[1:]}:{url.username}:{url.password}\n")
    passfile.chmod(0o600)  # libpq ignores a password file others can read
    without_password = pg_url.replace(f":{url.password}@", "@")
    assert url.password and url.password not in without_password
    root = newsletter_project(tmp_path / "p", members(4))
    env = base_env(PGPASSFILE=str(passfile), **smtp.env())
    approve(root, env)
    assert mailer(root, "send", NEWSLETTER, env=env).code == 0

    copied = mailer(root, "state", "copy", "--to", without_password, env=env)

    assert copied.code == 0, copied.err
    on_server = {**env, "MAILER_DATABASE_URL": without_password}
    assert len(json.loads(mailer(root, "recipients", "--json", env=on_server).out)) == 4
    assert json.loads(mailer(root, "status", "--json", env=on_server).out) == json.loads(
        mailer(root, "status", "--json", env=env).out
    )


def test_copy_refuses_a_target_that_holds_a_state_and_changes_nothing(tmp_path, smtp, pg_url):
    env = base_env(**smtp.env())
    root = newsletter_project(tmp_path / "p", members(5))
    other = newsletter_project(tmp_path / "other", members(3))
    assert mailer(other, "recipients", env=base_env(MAILER_DATABASE_URL=pg_url)).code == 0
    assert mailer(root, "recipients", env=env).code == 0
    result = mailer(root, "state", "copy", "--to", pg_url, env=env)
    assert result.code == 1
    line = one_line(result.err)
    assert "already holds a state" in line and "members (3 rows)" in line and "nothing was copied" in line
    assert (
        len(json.loads(mailer(other, "recipients", "--json", env=base_env(MAILER_DATABASE_URL=pg_url)).out))
        == 3
    )


def test_copy_to_a_server_that_cannot_be_reached_names_the_to_url_not_the_setting(tmp_path):
    root = newsletter_project(tmp_path / "p", members(2))
    assert mailer(root, "recipients", env=base_env()).code == 0

    result = mailer(root, "state", "copy", "--to", f"postgresql://nobody@127.0.0.1:{free_port()}/x")

    assert result.code == 1
    line = one_line(result.err)
    assert "cannot reach the server" in line and "the --to URL" in line
    assert "MAILER_DATABASE_URL" not in line


def test_the_same_sql_runs_on_both_engines_with_question_marks_and_percent_signs(tmp_path, pg_url):
    from mailer.state.database import Location, connect, transaction

    for db in (connect(tmp_path / "state.db"), connect(Location(url=pg_url, schema="oversettelse"))):
        try:
            with transaction(db):
                db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("spørsmål?", "100%"))
                db.execute("INSERT INTO meta (key, value) VALUES (?, '?') ON CONFLICT DO NOTHING", ("b",))
            rows = db.execute(
                "SELECT key, value FROM meta WHERE value LIKE '%\\%%' ESCAPE '\\' OR value = '?' ORDER BY key"
            ).fetchall()
            assert [tuple(r) for r in rows] == [("b", "?"), ("spørsmål?", "100%")], db.engine
            assert db.executemany("DELETE FROM meta WHERE key = ?", [("b",), ("x",)]).rowcount == 1
        finally:
            db.close()


def test_a_sender_that_waited_for_another_ones_planning_does_not_read_the_members_again(pg_url):
    """Two senders started together: the second waits for the first's plan of the mailing and
    then writes nothing and reads no member (the first planned from the same inputs)."""
    import threading

    import psycopg

    from mailer.state import State
    from mailer.state.database import Location
    from mailer.state.deliveries import Planned

    where = Location(url=pg_url, schema="to_sendere")
    first, second = State(where, None), State(where, None)
    now = dt.datetime(2030, 1, 7, 18, tzinfo=dt.UTC)
    answers: list[object] = []

    def read_again():
        raise AssertionError("the second sender read the member list again")
        yield  # a generator, as planning's candidates are

    def plan_second() -> None:
        try:
            planned = second.deliveries.plan("brev", "newsletter", "brev", read_again(), now, "inputs", None)
            answers.append(planned)
        except Exception as exc:
            answers.append(exc)

    waiting = threading.Thread(target=plan_second)

    def members():
        for i in range(100):
            if i == 50:  # the second sender starts now, and must wait for this transaction
                waiting.start()
                with psycopg.connect(pg_url, autocommit=True) as watch:
                    for _ in range(100):
                        row = watch.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        ).fetchone()
                        if row and row[0]:
                            break
                        time.sleep(0.05)
                    else:
                        raise AssertionError("the second sender never waited for the first one's plan")
            yield Planned(f"m{i}", f"m{i}@example.org", {"id": f"m{i}"})

    try:
        assert first.deliveries.plan("brev", "newsletter", "brev", members(), now, "inputs", None) == 100
        waiting.join(30)
        assert answers == [None]
        assert len(first.deliveries.member_ids("brev")) == 100
    finally:
        first.close()
        second.close()


def test_planning_writes_each_member_once_across_its_statements_on_both_engines(tmp_path, pg_url):
    """Planning writes a few hundred deliveries a statement: an address met again in a later
    statement, or a member planned by an earlier run, is skipped and not counted, on either
    engine. On the server the deliveries' pages keep room for a send's updates."""
    from mailer.state import State
    from mailer.state.database import Location
    from mailer.state.deliveries import PLAN_ROWS, Planned

    def planned(ids: range, same_address: int) -> list[Planned]:
        return [
            Planned(f"m{i}", f"m{same_address if i == PLAN_ROWS + 1 else i}@example.org", {"first_name": "Å"})
            for i in ids
        ]

    now = dt.datetime(2030, 1, 7, 18, tzinfo=dt.UTC)
    first, more = range(PLAN_ROWS * 2 + 10), range(PLAN_ROWS * 2 + 60)
    for where in (tmp_path / "state.db", Location(url=pg_url, schema="planlegging")):
        state = State(where, None)
        try:
            plan, deliveries = state.deliveries.plan, state.deliveries
            assert plan("brev", "newsletter", "brev", planned(first, 3), now, "a", None) == len(first) - 1
            assert plan("brev", "newsletter", "brev", planned(more, 3), now, "b", None) == 50
            rows = state.db.execute("SELECT member_id, address, member FROM deliveries ORDER BY id")
            rows = rows.fetchall()
            assert len(rows) == len(more) - 1 and len({r[1] for r in rows}) == len(rows), where
            assert f"m{PLAN_ROWS + 1}" not in {r[0] for r in rows}
            assert [json.loads(r[2]) for r in rows[:1]] == [{"first_name": "Å"}]
            assert deliveries.count_open("brev") == len(more) - 1
        finally:
            state.db.close()
    import psycopg

    with psycopg.connect(pg_url) as server:
        options = server.execute(
            "SELECT c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'planlegging' AND c.relname = 'deliveries'"
        ).fetchone()
    assert options == (["fillfactor=50"],)


def test_planning_that_fails_after_statements_went_out_plans_nobody_on_both_engines(tmp_path, pg_url):
    """The server may already be writing the first statements of a planning when a later member
    turns out bad (on PostgreSQL they are sent without waiting for each): nobody is planned,
    the connection is fit for the next planning, and that one counts every member."""
    from mailer.state import State
    from mailer.state.database import Location
    from mailer.state.deliveries import PLAN_ROWS, Planned

    class BadMember(Exception):
        pass

    def audience(fail_at: int | None) -> Iterator[Planned]:
        for i in range(PLAN_ROWS * 3):
            if i == fail_at:
                raise BadMember(i)
            yield Planned(f"m{i}", f"m{i}@example.org", {"first_name": "Å"})

    now = dt.datetime(2030, 1, 7, 18, tzinfo=dt.UTC)
    for where in (tmp_path / "state.db", Location(url=pg_url, schema="halvveis")):
        state = State(where, None)
        try:
            plan = state.deliveries.plan
            with pytest.raises(BadMember):
                plan("brev", "newsletter", "brev", audience(PLAN_ROWS * 2 + 5), now, "a", None)
            assert state.db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0, where
            assert state.deliveries.inputs("brev") is None, where
            assert plan("brev", "newsletter", "brev", audience(None), now, "a", None) == PLAN_ROWS * 3
            assert state.deliveries.count_open("brev") == PLAN_ROWS * 3, where
        finally:
            state.db.close()
