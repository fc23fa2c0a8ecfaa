"""A real IMAP server for tests: Dovecot on 127.0.0.1 over TLS, everything under tmp_path.

A self-signed certificate made with openssl (the client trusts it through
MAILER_BOUNCE_IMAP_CAFILE), a passwd-file user, a Maildir. Run as root, Dovecot's login and
mail processes drop to its own users, so the folders they read are opened up to them.
"""

from __future__ import annotations

import getpass
import imaplib
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conftest import free_port
from ports import listens

DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD = "sekretaer@testfylket.example", "hemmelig-passord"

CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {run}
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = {uid}
first_valid_gid = {gid}
auth_mechanisms = plain
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
"""


@dataclass
class IMAPServer:
    root: Path
    port: int

    @property
    def cafile(self) -> Path:
        return self.root / "cert.pem"

    def env(self, password: str = PASSWORD) -> dict[str, str]:
        return {
            "MAILER_BOUNCE_IMAP_HOST": "127.0.0.1",
            "MAILER_BOUNCE_IMAP_PORT": str(self.port),
            "MAILER_BOUNCE_IMAP_USERNAME": USER,
            "MAILER_BOUNCE_IMAP_PASSWORD": password,
            "MAILER_BOUNCE_IMAP_CAFILE": str(self.cafile),
        }

    @contextmanager
    def client(self) -> Iterator[imaplib.IMAP4_SSL]:
        context = ssl.create_default_context(cafile=str(self.cafile))
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context, timeout=10)
        imap.login(USER, PASSWORD)
        try:
            yield imap
        finally:
            imap.logout()

    def deliver(self, data: bytes, folder: str = "INBOX") -> None:
        with self.client() as imap:
            typ, _ = imap.append(folder, None, None, data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
            assert typ == "OK"

    def count(self, folder: str) -> int:
        with self.client() as imap:
            typ, data = imap.select(f'"{folder}"', readonly=True)
            return int(data[0]) if typ == "OK" else -1


def _open_to_others(path: Path) -> None:
    """As root, Dovecot's own users must pass through tmp_path's parents (traverse only)."""
    for p in [path, *path.parents]:
        if p == Path("/tmp") or p == Path("/"):
            return
        p.chmod(p.stat().st_mode | 0o001)


@contextmanager
def running_dovecot(root: Path) -> Iterator[IMAPServer]:
    root.mkdir(parents=True)
    for sub in ("state", "home"):
        (root / sub).mkdir()
    # Unix sockets live in base_dir, and their paths may not pass 107 bytes: a short folder of
    # its own, since tmp_path under pytest-xdist is already most of that.
    run = Path(tempfile.mkdtemp(prefix="dovecot-"))
    run.chmod(0o755)
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    if os.geteuid() == 0:
        mail = pwd.getpwnam("dovecot")
        uid, gid, login, internal = mail.pw_uid, mail.pw_gid, "dovenull", "dovecot"
        _open_to_others(root)
        (root / "passwd").chmod(0o644)
        os.chown(root / "home", uid, gid)
    else:
        uid, gid = os.getuid(), os.getgid()
        login = internal = getpass.getuser()
    conf = root / "dovecot.conf"
    users = {"uid": uid, "gid": gid, "login_user": login, "internal_user": internal}
    for attempt in range(5):  # another process may take the port before Dovecot binds it
        port = free_port()
        conf.write_text(CONF.format(root=root, run=run, port=port, **users))
        proc = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=_real_clock(),
        )
        try:
            _wait_for(port, proc, root)
            break
        except RuntimeError as exc:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if "Address already in use" not in str(exc) or attempt == 4:
                raise
    try:
        yield IMAPServer(root, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(run, ignore_errors=True)


def _real_clock() -> dict[str, str]:
    """Dovecot keeps the machine's clock when the suite runs under libfaketime (its many
    processes and timers then stall under load); what is tested is mailer, not Dovecot's clock."""
    return {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}


def _wait_for(port: int, proc: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot exited: {proc.stdout.read().decode() if proc.stdout else ''} {log}")
        if listens(proc.pid, port):  # its own socket, not another process's that took the port
            return
        time.sleep(0.1)
    raise RuntimeError("dovecot did not start listening within 15 s")
