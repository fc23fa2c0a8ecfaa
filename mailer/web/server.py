"""`mailer serve`: check the project and settings, then run the application on uvicorn."""

from __future__ import annotations

import logging
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

from mailer.delivery import approvals
from mailer.errors import ProblemList, UserError
from mailer.project.folder import Project
from mailer.web.logs import SafeFormatter
from mailer.web.passwords import check_hash

_INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Co", "Cn"}
"""Control, format (bidi overrides, zero-width), separator, private and unassigned characters:
a name shown to the board as who approved must read as it is."""


def check(project: Project, warn: Callable[[str], None]) -> None:
    """Fail now on what would fail every request; warn about what makes the server less useful."""
    org = project.config.organisation
    settings = project.settings
    problems = []
    for name, encoded in settings.board_users.items():
        try:
            check_hash(encoded)
        except ValueError as exc:
            problems.append(f"MAILER_BOARD_USERS: the password hash for '{name}' is {exc}")
        if ":" in name or not name.strip():
            problems.append(f"MAILER_BOARD_USERS: '{name}' cannot be a login name (no ':' and not empty)")
        elif name != name.strip() or any(unicodedata.category(c) in _INVISIBLE for c in name):
            shown = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in _INVISIBLE else c for c in name)
            problems.append(
                f"MAILER_BOARD_USERS: '{shown}' has spaces at its ends or an invisible or control "
                "character; write the name as the board member types it at the login"
            )
    same: dict[str, str] = {}
    for name in settings.board_users:
        other = same.setdefault(approvals.key(name), name)
        if other != name:
            problems.append(
                f"MAILER_BOARD_USERS: '{other}' and '{name}' are one person to the approvals "
                "(case and spacing aside); keep one of them"
            )
    if problems:
        raise ProblemList(problems)
    if not org.base_url:
        warn("organisation.base_url is not set in schedules.yaml: messages carry no links to this server")
    elif not org.base_url.startswith("https://"):
        warn(f"organisation.base_url {org.base_url} is not https: mail gets no one-click unsubscribe")
    if not settings.board_users:
        warn("MAILER_BOARD_USERS is not set: the board's pages refuse every login")


def serve(root: Path, host: str, port: int, out: Callable[..., None], warn: Callable[[str], None]) -> None:
    project = Project(root, warn=warn)
    check(project, warn)
    import uvicorn

    from mailer.web.app import create_app

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(message)s"))
    web_log = logging.getLogger("mailer.web")
    web_log.addHandler(handler)
    web_log.setLevel(logging.INFO)
    _review_archive(project, warn)
    app = create_app(root)
    base = project.config.organisation.base_url or "(no base_url)"
    out(f"serving {root} on http://{host}:{port}, published as {base}; stop with Ctrl-C or SIGTERM")
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            proxy_headers=True,
            forwarded_allow_ips=project.settings.web_trusted_proxies,
            access_log=False,
            server_header=False,
            log_level="warning",
        )
    except SystemExit as exc:
        if exc.code:
            raise UserError(f"could not serve on {host}:{port} (is the port in use?)") from None


def _review_archive(project: Project, warn: Callable[[str], None]) -> None:
    """Issues archived by an older release are judged before `/arkiv` is served (hidden until then)."""
    from mailer import clock
    from mailer.delivery import archiving
    from mailer.delivery.runner import Runner

    runner = Runner(project, clock.now(project.tz))
    try:
        for line in archiving.review(runner.state.archive, project, runner.now):
            warn(line)
    finally:
        runner.close()
