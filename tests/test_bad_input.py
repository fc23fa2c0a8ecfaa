"""Bad input: one clear line naming the file and the key or line, exit 1, nothing sent, nothing lost."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys

import pytest
from aiosmtpd.controller import Controller
from conftest import DRAFT, Handler, base_env, free_port, mailer, small_project

ROWS = (
    '1,Åse,Ødegård,ase@example.org,Ås,,"medlem, fylkesstyremedlem",,nb\n'
    "2,Per,Berg,per@example.org,Bærum,,medlem,,nn\n"
)


@pytest.fixture
def root(tmp_path):
    root = small_project(tmp_path / "p", ROWS)
    (root / "drafts" / "nyhetsbrev-2026-12.md").write_text(DRAFT, encoding="utf-8")
    return root


def approved(root, env=None):
    assert mailer(root, "preview", "nyhetsbrev-2026-12", env=env).code == 0
    assert mailer(root, "approve", "nyhetsbrev-2026-12", "--by", "Åse", env=env).code == 0


def assert_clean_failure(result, *needles):
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in result.err, result.err


def edit(path, old, new):
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


def test_unknown_audience_in_schedules_names_the_key_path_and_line(root, smtp):
    edit(root / "schedules.yaml", "    audience: alle\n", "    audience: ingen-slike\n")
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=base_env(**smtp.env()))
    assert_clean_failure(
        result, "schedules.yaml:", "mailings.nyhetsbrev.audience: unknown audience 'ingen-slike'"
    )
    assert smtp.received == []


def test_unknown_audience_on_the_command_line(root):
    assert_clean_failure(
        mailer(root, "recipients", "--audience", "finnes-ikke"), "unknown audience 'finnes-ikke'"
    )


def test_unknown_template_is_named(root, smtp):
    edit(root / "schedules.yaml", "template: newsletter", "template: nyhetsbrev-mal")
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=base_env(**smtp.env()))
    assert_clean_failure(result, "template 'nyhetsbrev-mal' not found", "templates/nyhetsbrev-mal.mjml")
    check = mailer(root, "check")
    assert_clean_failure(check, "mailings.nyhetsbrev.template")
    assert smtp.received == []


def test_a_variable_missing_for_one_member_names_template_variable_and_member(root, smtp):
    (root / "recipients" / "members.csv").write_text(
        "id,first_name,last_name,email,municipality,roles,verv_tekst\n"
        "1,Åse,Ødegård,ase@example.org,Ås,medlem,leder\n",
        "utf-8",
    )
    (root / "recipients" / "more.csv").write_text(
        "id,first_name,last_name,email,municipality,roles\n2,Per,Berg,per@example.org,Bærum,medlem\n", "utf-8"
    )
    edit(root / "templates" / "newsletter.mjml", "{{ body }}", "{{ body }} <p>{{ member.verv_tekst }}</p>")
    env = base_env(**smtp.env())
    approved(root, env)
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert_clean_failure(result, "templates/newsletter.mjml", "member.verv_tekst", "member 2")
    assert smtp.received == []
    status = json.loads(mailer(root, "status", "--json").out)
    assert status["mailings"] == [], "nothing was planned: the whole audience or nobody"


def test_an_undefined_variable_in_a_template_names_file_line_and_variable(root, smtp):
    edit(root / "templates" / "newsletter.mjml", "{{ body }}", "{{ body }}\n{{ kampanje.navn }}")
    result = mailer(root, "preview", "nyhetsbrev-2026-12")
    assert_clean_failure(result, "templates/newsletter.mjml:", "'kampanje' is undefined")


def test_invalid_mjml_names_the_template(root, smtp):
    edit(root / "templates" / "newsletter.mjml", "<mj-text>", "<mj-text><mj-column>")
    edit(root / "templates" / "newsletter.mjml", "</mj-text>", "")
    result = mailer(root, "preview", "nyhetsbrev-2026-12")
    assert_clean_failure(result, "templates/newsletter.mjml: invalid MJML")


def test_a_wrong_key_in_schedules_names_the_key_path(root):
    edit(root / "schedules.yaml", "  timezone: Europe/Oslo\n", "  timezone: Europe/Oslo\n  tidssone: CET\n")
    result = mailer(root, "check")
    assert_clean_failure(result, "schedules.yaml:6: organisation.tidssone: unknown key")


def test_a_wrong_type_in_schedules_names_the_key_path(root):
    edit(root / "schedules.yaml", "approvals_required: 1", "approvals_required: mange")
    result = mailer(root, "send", "nyhetsbrev-2026-12")
    assert_clean_failure(result, "organisation.approvals_required:")


def test_an_unknown_time_zone_is_refused(root):
    edit(root / "schedules.yaml", "Europe/Oslo", "Europe/Lillestrøm")
    assert_clean_failure(
        mailer(root, "check"), "organisation.timezone: 'Europe/Lillestrøm' is not a known time zone"
    )


def test_a_missing_member_folder_is_an_error(root):
    for f in (root / "recipients").iterdir():
        f.unlink()
    (root / "recipients").rmdir()
    assert_clean_failure(mailer(root, "recipients"), "recipients: folder not found")


def test_an_empty_member_file_is_an_error(root, smtp):
    (root / "recipients" / "members.csv").write_text("", "utf-8")
    approved_result = mailer(root, "preview", "nyhetsbrev-2026-12")
    assert_clean_failure(approved_result, "recipients/members.csv: the file is empty")


def test_a_member_file_without_an_email_column_is_an_error(root, smtp):
    (root / "recipients" / "members.csv").write_text("id;navn;kommune\n1;Ola;Ås\n", "utf-8")
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=base_env(**smtp.env()))
    assert_clean_failure(result, "recipients/members.csv:1: no email column")
    assert smtp.received == []


def test_a_line_break_in_the_subject_is_refused(root, smtp):
    edit(
        root / "drafts" / "nyhetsbrev-2026-12.md",
        'subject: "Nyhetsbrev: Æ, Ø og Å i emnefeltet"',
        'subject: "Linje én\\nBcc: alle@example.org"',
    )
    result = mailer(root, "preview", "nyhetsbrev-2026-12")
    assert_clean_failure(result, "drafts/nyhetsbrev-2026-12.md:2: subject: the subject must be one line")
    assert smtp.received == []


def test_a_line_break_made_by_the_subject_template_is_refused(root, smtp):
    edit(
        root / "schedules.yaml",
        "    audience: alle\n",
        '    audience: alle\n    subject: "Hei\\nBcc: x@example.org"\n',
    )
    result = mailer(root, "preview", "nyhetsbrev-2026-12")
    assert_clean_failure(result, "the subject contains a line break")


def test_a_line_break_in_a_name_skips_the_row_and_never_reaches_a_header(root, smtp):
    (root / "recipients" / "members.csv").write_text(
        "id,first_name,last_name,email,municipality,roles\n"
        '1,"Åse\nBcc: spion@example.org",Ødegård,ase@example.org,Ås,medlem\n'
        "2,Per,Berg,per@example.org,Bærum,medlem\n",
        "utf-8",
    )
    env = base_env(**smtp.env())
    approved(root, env)
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert result.code == 0
    assert "the name contains a line break" in result.err
    assert [r.rcpt_tos for r in smtp.received] == [["per@example.org"]]
    assert b"spion" not in smtp.received[0].data


def test_now_that_is_not_iso_8601_is_refused(root):
    assert_clean_failure(mailer(root, "run-due", "--now", "i morgen"), "--now 'i morgen' is not ISO 8601")


def test_an_unknown_command_is_a_usage_error(root):
    assert mailer(root, "send-alt").code == 2


def _pending(root):
    return json.loads(mailer(root, "status", "--json").out)["mailings"]


def test_smtp_host_unreachable_says_so_and_keeps_everything_pending(root):
    approved(root)
    env = base_env(
        MAILER_SMTP_HOST="127.0.0.1", MAILER_SMTP_PORT=str(free_port()), MAILER_SMTP_SECURITY="none"
    )
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert_clean_failure(result, "SMTP server 127.0.0.1:", "cannot connect")
    assert len(result.err.strip().splitlines()) == 1
    [row] = _pending(root)
    assert (row["pending"], row["sent"], row["deferred"]) == (2, 0, 0)


def test_tls_refused_by_a_server_without_starttls(root, smtp):
    approved(root)
    env = base_env(**{**smtp.env(), "MAILER_SMTP_SECURITY": "starttls"})
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert_clean_failure(result, "TLS")
    assert smtp.received == []
    [row] = _pending(root)
    assert row["pending"] == 2


def test_implicit_tls_against_a_plain_server_fails_clearly(root, smtp):
    approved(root)
    env = base_env(**{**smtp.env(), "MAILER_SMTP_SECURITY": "tls", "MAILER_SMTP_TIMEOUT": "3"})
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert_clean_failure(result, "SMTP server 127.0.0.1:")
    assert smtp.received == []


@pytest.fixture
def auth_server(tmp_path):
    """An SMTP server with STARTTLS (self-signed) that accepts only ola / riktig."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        ok = auth_data.login == b"ola" and auth_data.password == b"riktig"
        return AuthResult(success=ok, handled=False)

    handler = Handler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    yield handler, port
    controller.stop()


def test_login_rejected_says_which_user_and_that_nothing_was_lost(root, auth_server):
    handler, port = auth_server
    approved(root)
    env = base_env(
        MAILER_SMTP_HOST="127.0.0.1",
        MAILER_SMTP_PORT=str(port),
        MAILER_SMTP_SECURITY="starttls",
        MAILER_SMTP_USERNAME="ola",
        MAILER_SMTP_PASSWORD="feil",
        MAILER_SMTP_VALIDATE_CERTS="false",
    )
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert_clean_failure(result, "login rejected for ola", "nothing was lost")
    assert handler.received == []
    env["MAILER_SMTP_PASSWORD"] = "riktig"
    result = mailer(root, "send", "nyhetsbrev-2026-12", env=env)
    assert result.code == 0, result.err
    assert sorted(r.rcpt_tos[0] for r in handler.received) == ["ase@example.org", "per@example.org"]


def test_settings_come_from_the_project_env_file(root, auth_server):
    handler, port = auth_server
    approved(root)
    (root / ".env").write_text(
        f"MAILER_SMTP_HOST=127.0.0.1\nMAILER_SMTP_PORT={port}\nMAILER_SMTP_SECURITY=starttls\n"
        "MAILER_SMTP_USERNAME=ola\nMAILER_SMTP_PASSWORD=riktig\nMAILER_SMTP_VALIDATE_CERTS=false\n",
        "utf-8",
    )
    result = mailer(root, "send", "nyhetsbrev-2026-12")
    assert result.code == 0, result.err
    assert len(handler.received) == 2


def test_no_traceback_for_a_missing_project(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mailer", "--project", str(tmp_path / "nope"), "check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
