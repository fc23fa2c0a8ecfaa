"""What each command does and prints; `cli` only parses arguments and calls these."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import shutil
from collections import Counter
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from mailer import clock
from mailer.delivery.runner import Runner
from mailer.errors import ProblemList, UserError
from mailer.project.config_base import normalise_name
from mailer.project.coverage import clock_changes, empty_audiences, exhausted_series, no_board
from mailer.project.folder import Project
from mailer.project.members import export_warnings
from mailer.state import folder as privacy

Print = Callable[..., None]


def _counts_table(title: str, counts: Counter[str], out: Print) -> None:
    out(f"{title}:")
    width = max((len(k) for k in counts), default=0)
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        out(f"  {key:<{width}}  {n:>6}")


def check(project: Project, out: Print, warn: Print = print) -> list[str]:
    """Everything that is wrong, each on its own line (the command exits 1 if any)."""
    from mailer.delivery.template_check import draft_problems
    from mailer.delivery.template_check import problems as template_problems

    try:
        cfg = project.parsed_config
    except ProblemList as exc:
        return exc.problems
    config_problems = project.calendar_and_template_problems()
    problems = list(config_problems)
    runner = Runner(project, clock.now(project.tz))
    today = runner.now.date()
    try:
        store = runner.state.members
        store.refresh(project.member_inputs(), project.read_members)
        members = list(store.all(today))
        problems.extend(str(p) for p in store.problems(today))
        for line in export_warnings(project.recipients_dir, project.root, members, problems):
            warn(line)
        for path in privacy.readable_by_others([project.root / ".env", *project.member_inputs()[:-1]]):
            warn(
                f"{project.label_path(path)}: group and others can read it, and it holds member data "
                f"or secrets; run `chmod 600 {path}`"
            )
    except UserError as exc:
        return [*problems, str(exc)]
    finally:
        runner.close()
    try:
        drafts = project.drafts()
    except UserError as exc:
        problems.append(str(exc))
        drafts = []
    checked, renderer = [], runner.renderer
    try:  # the factories read members' choices: the state is open again until the end
        for draft in drafts if not config_problems else []:
            try:
                mailing = project.newsletter(draft, runner.now)
                problems += draft_problems(project, renderer, runner.factory, draft, members, runner.now)
                checked.append(mailing)
            except UserError as exc:
                label = str(project.label_path(draft.path))
                problems.append(str(exc) if str(exc).startswith(label) else f"{label}: {exc}")
                continue
            nynorsk = sum(1 for m in mailing.audience.select(members, today) if m.language == "nn")
            if nynorsk and draft.nynorsk is None:
                label = project.label_path(draft.path)
                line = (
                    f"{label}: {nynorsk} readers prefer nynorsk and "
                    f"{label.with_name(draft.id + '.nn.md')} does not exist; they get the bokmål text"
                )
                project.warn(line) if project.warn else out(f"warning: {line}")
        if not config_problems:
            from mailer.events.check import problems as event_problems

            problems += event_problems(project, runner)
            problems += template_problems(project, renderer, runner.factory, members, runner.now)
    finally:
        runner.close()
    addresses = Counter(m.address_key for m in members)
    shared = sum(1 for n in addresses.values() if n > 1)
    roles = {normalise_name(r): r for r in cfg.roles}
    out(
        f"{cfg.organisation.name}: {len(members)} members ({len(addresses)} addresses"
        + (f"; {shared} shared by several members, who get one message" if shared else "")
        + ")"
    )
    _counts_table("By region", Counter(m.region or "(none)" for m in members), out)
    _counts_table("By role", Counter(roles.get(r, r) for m in members for r in m.roles), out)
    _counts_table("By language", Counter(m.language for m in members), out)
    out(f"{len(cfg.audiences)} audiences, {len(cfg.mailings)} mailings, {len(drafts)} newsletter drafts")
    for empty in empty_audiences(cfg, members, today) if project.warn else []:
        project.warn(str(empty))
    where = str(project.label_path(project.config_path))
    if project.warn and not config_problems:
        for line in [*exhausted_series(cfg, where, runner.now), *clock_changes(cfg, runner.now, drafts)]:
            project.warn(line)
    for line in _archive_lines(runner, checked):
        out(line)
    if problems:
        out(f"{len(problems)} problems:")
    else:
        out("everything is in order")
    return problems


def _archive_lines(checked: Runner, mailings: list[Any]) -> list[str]:
    from mailer.delivery import archiving

    runner = Runner(checked.project, checked.now)  # the check's own run closed its state
    try:
        return archiving.publishing_lines(runner.project, runner.state.archive, mailings, runner.now)
    finally:
        runner.close()


def recipients(
    runner: Runner,
    audience: str | None,
    now: dt.datetime,
    as_json: bool,
    out: Print,
    emit: Callable[[Any], None],
) -> None:
    from mailer.project.audiences import Audience, Rule

    everyone = Rule(frozenset(), frozenset(), frozenset(), frozenset(), None)
    chosen = runner.project.audience(audience) if audience else Audience("everyone", everyone, None)
    members = list(chosen.select(runner.members(), now.date()))
    if as_json:
        emit(
            [
                {
                    "id": m.id,
                    "name": m.name,
                    "first_name": m.first_name,
                    "last_name": m.last_name,
                    "email": m.email,
                    "municipality": m.municipality,
                    "region": m.region,
                    "chapter": m.chapter,
                    "roles": sorted(m.roles),
                    "language": m.language,
                    "joined": m.joined.isoformat() if m.joined else None,
                }
                for m in members
            ]
        )
        return
    roles = {normalise_name(r): r for r in runner.project.config.roles}
    out(
        f"{chosen.name}: {len(members)} recipients"
        + (f" ({chosen.description})" if chosen.description else "")
    )
    _counts_table("By region", Counter(m.region or "(none)" for m in members), out)
    _counts_table("By role", Counter(roles.get(r, r) for m in members for r in m.roles), out)


def schedule(runner: Runner, days: int, as_json: bool, out: Print, emit: Callable[[Any], None]) -> None:
    from mailer.delivery import timing
    from mailer.delivery.ahead import nothing_ahead, stale_drafts
    from mailer.delivery.ahead import schedule as planned

    rows = planned(runner, days)
    if as_json:
        emit([r.as_json() for r in rows])
        return
    if not rows:
        out(nothing_ahead(runner, days))
        return
    width = max(len(r.mailing.id) for r in rows)
    for r in rows:
        m = r.mailing
        meeting = f"  meeting {m.event.start:%a %d.%m %H:%M}" if m.event else ""
        flag = "  OVERDUE" if r.overdue else ""
        out(
            f"{m.send_at:%Y-%m-%d %H:%M}  {m.id:<{width}}  {m.kind:<10}  {m.audience.name} "
            f"({r.recipients}){meeting}  [{r.state}]{flag}"
        )
    for m in stale_drafts(runner):
        out(f"not listed: {timing.stale(m, runner.now)}")


def find_mailing(runner: Runner, mailing_id: str):  # type: ignore[no-untyped-def]
    """Any mailing by its id as the ledger knows it now (a moved meeting's update included)."""
    from mailer.delivery import announcements

    return announcements.revision_by_id(
        runner.project, runner.state, mailing_id, runner.now
    ) or runner.project.mailing(mailing_id, runner.now)


_INDEX = """<!doctype html><html lang="nb"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:16px;background:#eee}}.row{{display:flex;gap:24px;
align-items:flex-start;flex-wrap:wrap}}iframe{{border:1px solid #999;background:#fff}}
pre{{white-space:pre-wrap;background:#fff;padding:12px;max-width:640px}}</style></head><body>
<h1>{title}</h1><p>Subject: <b>{subject}</b><br>To: {to}<br>Fingerprint: <code>{fingerprint}</code></p>
<div class="row"><div><h2>Desktop (1200 px)</h2><iframe src="{html}" width="1200" height="900"></iframe></div>
<div><h2>Phone (375 px)</h2><iframe src="{html}" width="375" height="740"></iframe></div></div>
<h2>Plain text</h2><pre>{text}</pre></body></html>"""


def preview(
    runner: Runner, mailing_id: str, out_dir: Path | None, member_id: str | None, to_board: bool, out: Print
) -> None:
    from mailer.delivery.test_copies import send_test_copies
    from mailer.exports import write_private
    from mailer.project.pictures import for_preview
    from mailer.render import sample

    project = runner.project
    mailing = runner.prepare(find_mailing(runner, mailing_id))
    compiled = runner.compiled(mailing)
    today = runner.now.date()
    if member_id is None:
        extra_keys = next((list(m.extra) for m in runner.members()), [])
        member = sample.sample_member(project.config, mailing.audience, "nb", today, extra_keys)
    else:
        member = runner.member(member_id, mailing)
    factory = runner.preview_factory(compiled) if member_id is None else runner.factory(compiled)
    copy = factory.copy(member)
    message = factory.build(member)
    folder = out_dir or project.state_dir / "previews" / mailing.id.replace("/", "_")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--out {folder}: that is a file, not a folder; name a folder (it is created)")
    try:  # a folder made here holds a member's copy: the owner's only, whatever the umask
        if not folder.is_dir():
            folder.mkdir(parents=True, mode=0o700)
            folder.chmod(0o700)
    except OSError as exc:
        raise UserError(f"cannot create {folder}: {exc.strerror}; choose another --out folder") from None
    paths = {"html": folder / "preview.html", "text": folder / "preview.txt", "eml": folder / "preview.eml"}
    write_private(paths["html"], copy.html)  # a member's copy (--as): readable by its owner only
    shown = paths["html"]
    if compiled.pictures:  # index.html is opened from disk: its frames show the pictures beside it
        shown = folder / "preview-offline.html"
        write_private(shown, for_preview(copy.html, compiled.pictures, folder))
    write_private(paths["text"], copy.text)
    write_private(paths["eml"], message.data)
    paths["index"] = folder / "index.html"
    write_private(
        paths["index"],
        _INDEX.format(
            title=html.escape(mailing.id),
            subject=html.escape(copy.subject),
            html=shown.name,
            to=html.escape(f"{member.name} <{member.email}>"),
            text=html.escape(copy.text),
            fingerprint=compiled.fingerprint,
        ),
    )
    runner.state.approvals.record_preview(mailing.id, compiled.fingerprint, runner.now)
    out(f"{mailing.id} as {member.name} ({member.id}), fingerprint {compiled.fingerprint}")
    for name in ("html", "text", "eml", "index"):
        out(f"  {name:<5} {paths[name]}")
    if mailing.needs_approval:
        from mailer.delivery import approvals

        have = approvals.names(runner.state, mailing.id, compiled.fingerprint)
        out(
            f"  approvals of this content: {len(have)} of {mailing.approvals_required}"
            + (f" ({', '.join(sorted(have))})" if have else "")
        )
    if to_board:
        board = project.audience(project.config.organisation.board_audience)
        members = list(board.select(runner.members(), runner.now.date()))
        if not members:
            raise UserError(no_board(project.config))
        shown = sample.sample_member(project.config, mailing.audience, "nb", today, member.extra)
        sent = send_test_copies(
            runner.get_transport(),
            runner.preview_factory(compiled, "[UTKAST] "),
            mailing,
            [sample.addressed_to(dataclasses.replace(shown, language=m.language), m) for m in members],
            project.config.organisation.sender.email,
        )
        where = f" (outbox: {runner.outbox})" if runner.outbox else ""
        out(f"test copy marked [UTKAST] sent to {sent} board members{where}; not recorded as a delivery")


def approve(runner: Runner, mailing_id: str, by: str, out: Print) -> None:
    from mailer.delivery import approvals, timing

    if "\n" in by or "\r" in by:
        raise UserError("--by needs the approver's name on one line")
    mailing = runner.prepare(find_mailing(runner, mailing_id))
    if not mailing.needs_approval:
        raise UserError(f"{mailing.id} is a {mailing.kind}; only newsletters are approved")
    compiled = runner.compiled(mailing)
    fingerprint = compiled.fingerprint
    if not runner.state.approvals.was_previewed(mailing.id, fingerprint):
        raise UserError(
            f"{mailing.id} has changed since it was last previewed (or was never previewed); "
            f"run `mailer preview {mailing.id}`, look at it, then approve"
        )
    board = runner.project.settings.board_users
    new = approvals.record(runner.state, board, mailing.id, fingerprint, by, runner.now)
    have = approvals.names(runner.state, mailing.id, fingerprint)
    need = mailing.approvals_required
    verb = "approved" if new else "already approved"
    out(
        f"{mailing.id} {verb} by {approvals.tidy(by)} (fingerprint {fingerprint}); "
        f"{len(have)} of {need} approvals" + ("; ready to send" if len(have) >= need else "")
    )
    when = timing.after_approval(mailing, runner.now) if len(have) >= need else None
    if when:
        out(when)


def status(
    runner: Runner, mailing_id: str | None, as_json: bool, out: Print, emit: Callable[[Any], None]
) -> None:
    state = runner.state
    counts = state.deliveries.status_counts(mailing_id)
    if mailing_id is None:  # messages to one person each count under what they are about
        single = state.notices.mailing_ids()
        counts = {m: c for m, c in counts.items() if m not in single}
        counts.update({f"{c} (notices)": n for c, n in state.notices.counts_by_category().items()})
    if mailing_id and not counts:
        raise UserError(f"the ledger has nothing for '{mailing_id}'; `mailer status` lists what it has")
    problems = state.deliveries.problems(mailing_id)
    keys = ("sent", "pending", "sending", "deferred", "failed", "expired", "dropped", "bounced")
    if as_json:
        emit(
            {
                "mailings": [
                    {"id": mid, **{k: c.get(k, 0) for k in keys}, "total": sum(c.values())}
                    for mid, c in sorted(counts.items())
                ],
                "problems": problems,
            }
        )
        return
    if not counts:
        out("the ledger is empty: nothing has been sent yet")
        return
    width = max(len(m) for m in counts)
    out(f"{'mailing':<{width}}  " + "  ".join(f"{k:>8}" for k in keys))
    for mid, c in sorted(counts.items()):
        out(f"{mid:<{width}}  " + "  ".join(f"{c.get(k, 0):>8}" for k in keys))
    tz = runner.project.tz
    for p in problems:
        when = ""
        if p["status"] == "deferred" and p["next_attempt_at"]:
            local = dt.datetime.fromisoformat(str(p["next_attempt_at"])).astimezone(tz)
            when = f", next attempt {local:%Y-%m-%d %H:%M}"
        out(
            f"  {p['mailing']}: {p['email'] or p['member_id']} {p['status']} after {p['attempts']} "
            f"attempt(s){when}: {p['reply']}"
        )


def init(folder: Path, out: Print) -> None:
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder; name a new folder")
    if folder.exists() and any(folder.iterdir()):
        raise UserError(f"{folder} is not empty; choose a new folder")
    skeleton = resources.files("mailer") / "skeleton"
    with resources.as_file(skeleton) as src:
        try:
            shutil.copytree(src, folder, dirs_exist_ok=True)
        except (NotADirectoryError, FileExistsError):
            raise UserError(
                f"{folder}: a part of that path is a file, not a folder; name a new folder"
            ) from None
        except OSError as exc:
            raise UserError(
                f"cannot create {folder}: {exc.strerror}; name a folder you may write to"
            ) from None
    (folder / "gitignore").rename(folder / ".gitignore")
    # the member export is personal data: the owner's alone, as `check` asks (copytree keeps 0644)
    (folder / "recipients").chmod(0o700)
    for path in (folder / "recipients").iterdir():
        path.chmod(0o600)
    out(
        f"started {folder}: fill in schedules.yaml, put the member export in recipients/, then run "
        f"`mailer --project {folder} check`"
    )


def hash_password(password: str, out: Print, warn: Print) -> None:
    from mailer.web.passwords import hash_password as make

    if len(password) < 10:
        raise UserError("use a password of at least 10 characters")
    hashed = make(password)
    out(hashed)
    warn(
        "put it in MAILER_BOARD_USERS with the board member's name, e.g. "
        f'MAILER_BOARD_USERS=\'{{"Kari Nordmann": "{hashed}"}}\''
    )
