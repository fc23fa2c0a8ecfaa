"""A second organisation starts its own folder and runs the same program on it."""

from __future__ import annotations

import subprocess
import sys

from conftest import base_env, mailer


def init(tmp_path, name="buskerud"):
    folder = tmp_path / name
    result = subprocess.run(
        [sys.executable, "-m", "mailer", "init", str(folder)], capture_output=True, text=True, env=base_env()
    )
    assert result.returncode == 0, result.stderr
    return folder


def test_init_writes_templates_a_schedule_an_empty_member_file_and_a_gitignore(tmp_path):
    folder = init(tmp_path)
    assert (folder / "schedules.yaml").is_file()
    assert {p.name for p in (folder / "templates").iterdir()} >= {
        "base.mjml",
        "newsletter.mjml",
        "invitation.mjml",
        "welcome.mjml",
    }
    header = (folder / "recipients" / "medlemmer.csv").read_text("utf-8")
    assert header.strip().split(",")[:4] == ["medlemsnummer", "fornavn", "etternavn", "e-post"]
    ignored = (folder / ".gitignore").read_text("utf-8").split()
    assert "recipients/" in ignored and ".mailer/" in ignored and ".env" in ignored


def test_the_new_folder_passes_check_as_it_is(tmp_path):
    result = mailer(init(tmp_path), "check")
    assert result.code == 0, result.err
    assert "0 members" in result.out


def test_check_of_a_new_folder_names_no_archive_address_without_a_host(tmp_path):
    result = mailer(init(tmp_path), "check")
    assert result.code == 0, result.err
    published = [line for line in result.out.splitlines() if "will be published" in line]
    assert published and all("/arkiv/" not in line for line in published), published
    assert all("organisation.base_url" in line for line in published), published


def test_the_member_files_are_ignored_by_git(tmp_path):
    folder = init(tmp_path)
    (folder / "recipients" / "medlemmer.csv").write_text("x\n", "utf-8")
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    status = subprocess.run(
        ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "recipients" not in status and "schedules.yaml" in status


def test_init_refuses_a_folder_that_is_not_empty(tmp_path):
    folder = init(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "mailer", "init", str(folder)], capture_output=True, text=True
    )
    assert result.returncode == 1 and "is not empty" in result.stderr


def test_a_second_organisation_keeps_its_own_state(tmp_path, example, smtp):
    other = init(tmp_path, "buskerud")
    (other / "recipients" / "medlemmer.csv").write_text(
        "medlemsnummer,fornavn,etternavn,e-post,kommune,verv\n1,Kari,Dal,kari@example.net,Kommune A,medlem\n",
        "utf-8",
    )
    env = base_env(**smtp.env())
    assert mailer(other, "preview", "nyhetsbrev-eksempel", env=env).code == 0
    for who in ("A", "B"):
        assert mailer(other, "approve", "nyhetsbrev-eksempel", "--by", who, env=env).code == 0
    assert mailer(other, "send", "nyhetsbrev-eksempel", env=env).code == 0
    assert [r.rcpt_tos for r in smtp.received] == [["kari@example.net"]]
    assert (other / ".mailer" / "state.db").is_file() and not (example / ".mailer").exists()
