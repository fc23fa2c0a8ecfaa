"""A mistake in a draft's text is named at the draft's own file and line, not the template's.

A draft's subject and body are rendered before the template that lays them out; a syntax
error or an unknown variable there used to be reported as `templates/newsletter.mjml:1`,
sending the secretary to a file they never touched.
"""

from __future__ import annotations

import pytest
from conftest import mailer, small_project
from test_bad_input import assert_clean_failure

ROWS = "1,Ola,Nordmann,ola@example.org,Asker,Asker Sp,medlem,2020-01-01,nb\n"
DRAFT = "drafts/nyhetsbrev-feil.md"


def write(root, text: str, name: str = DRAFT) -> None:
    (root / name).write_text(text, encoding="utf-8")


@pytest.fixture
def root(tmp_path):
    return small_project(tmp_path / "p", ROWS)


@pytest.mark.parametrize("command", ["check", "preview"])
def test_a_syntax_error_in_a_drafts_body_names_the_draft_and_its_line(root, command):
    write(root, '---\nsubject: "Nytt"\n---\nHei!\n\nVelkommen {{ member.first_name }!\n')
    args = ("preview", "nyhetsbrev-feil") if command == "preview" else ("check",)
    result = mailer(root, *args)
    assert_clean_failure(result, f"{DRAFT}:6: template syntax error: unexpected '}}'")
    assert "newsletter.mjml" not in result.err


def test_an_unknown_variable_in_a_drafts_body_names_the_draft_and_its_line(root):
    write(root, '---\nsubject: "Nytt"\nsend_at: 2026-12-01T18:00\n---\nHei!\n\n{{ kampanje.navn }}\n')
    result = mailer(root, "preview", "nyhetsbrev-feil")
    assert_clean_failure(result, f"{DRAFT}:7: 'kampanje' is undefined")


def test_a_syntax_error_in_a_drafts_subject_names_the_draft_and_its_subject(root):
    write(root, '---\nsubject: "Nytt {{ dato "\n---\nHei!\n')
    result = mailer(root, "preview", "nyhetsbrev-feil")
    assert_clean_failure(result, f"{DRAFT}: subject: template syntax error")
    assert "newsletter.mjml" not in result.err


def test_a_mistake_in_the_nynorsk_body_names_the_nynorsk_file(root):
    write(root, '---\nsubject: "Nytt"\n---\nHei!\n')
    write(root, '---\nsubject: "Nytt på nynorsk"\n---\nHei!\n\n\n{% if %}\n', "drafts/nyhetsbrev-feil.nn.md")
    result = mailer(root, "preview", "nyhetsbrev-feil")
    assert_clean_failure(result, "drafts/nyhetsbrev-feil.nn.md:7: template syntax error")
