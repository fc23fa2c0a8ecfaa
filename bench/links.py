"""How fast members' links answer, at a county's size and at the whole party's, next to bare Starlette.

    python bench/links.py [--sizes 340,40000] [--clients 16] [--duration 5] [--timeout 30]

For each register size: a project with that many invented members (as bench/send.py makes
it), `mailer serve` on 127.0.0.1 as the command line starts it, and `--clients` httpx clients
(16 connections, as issue 19 measured) that click for `--duration` seconds, each waiting for
its answer before the next click:
  GET and POST of unsubscribe links (POST as a mail client's one-click), GET and POST of
  RSVP links (POST records the answer), GET and POST of the preference page (POST saves the
  newsletter off, as the unsubscribe clicks before it left it: the choices as they stand, so
  no confirmation mail is built), each with a valid signed token for a real member;
and a bare Starlette endpoint that returns a small HTML page, on uvicorn with the same
settings, measured before the first size and after the last: the faster of the two is the
page the links are held to (the machine is shared, so its speed moves). Requests still in
flight when the time is up are waited for (up to `--timeout`), and requests/s counts every
answer over the time until the last one. The table at the end gives, per kind of link,
requests/s at each size, the ratio of the largest size to the smallest, and the ratio of the
largest size to the bare page (issue 19's figure).

It also times issue 10's start-up figure: the first `mailer run-due` on a fresh state with
the largest register and nothing due, against `mailer check` of the same project
(`--startup-repeat 0` leaves it out).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import send as send_bench

from mailer.delivery.tokens import Signer
from mailer.project import calendar
from mailer.project.folder import Project
from mailer.project.mailing_config import InvitationConfig
from mailer.web.preferences import csrf_value

SECRET = "bench-links-secret-0123456789"
NEWSLETTER = "nyhetsbrev"

# A page about the size of the unsubscribe page, served as `mailer serve` serves its app.
BARE = """\
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
PAGE = "<!doctype html><html lang=nb><meta charset=utf-8><title>Avmelding</title>" + "<p>Takk.</p>" * 60
async def page(request):
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-store"})
app = Starlette(routes=[Route("/", page), Route("/healthz", page)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), proxy_headers=True,
            forwarded_allow_ips="127.0.0.1", access_log=False, server_header=False, log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def started(args: list[str], port: int, env: dict[str, str]) -> Server:
    """The server in a new process, once it answers /healthz."""
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise SystemExit(f"{args} stopped at start:\n{err}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return Server(process, base)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{args} did not answer within 60 s")


# -- the clicks ----------------------------------------------------------------------------


@dataclass
class Clicks:
    """One kind of request: how to make the i-th one."""

    name: str
    method: str
    url: Callable[[int], str]
    form: dict[str, str] | Callable[[int], dict[str, str]] | None = None

    def data(self, i: int) -> dict[str, str] | None:
        return self.form(i) if callable(self.form) else self.form


@dataclass
class Figure:
    done: int = 0
    failed: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")


async def measure(base: str, clicks: Clicks, clients: int, duration: float, timeout: float) -> Figure:
    """`clients` clients, each clicking again when answered, for `duration` seconds.

    The clients are made and connected (one /healthz each) before the clock starts: an httpx
    client builds a TLS context, tens of milliseconds of CPU that are no part of a click.
    """
    figure = Figure()
    counter = iter(range(10**9))
    https = [httpx.AsyncClient(base_url=base, timeout=timeout) for _ in range(clients)]
    try:
        await asyncio.gather(*(http.get("/healthz") for http in https))
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        stop_at = t0 + duration
        last = t0

        async def client(http: httpx.AsyncClient) -> None:
            nonlocal last
            while time.perf_counter() < stop_at:
                i = next(counter)
                start = time.perf_counter()
                try:
                    response = await http.request(clicks.method, clicks.url(i), data=clicks.data(i))
                except httpx.HTTPError:
                    figure.failed += 1
                    continue
                end = time.perf_counter()
                figure.statuses[response.status_code] = figure.statuses.get(response.status_code, 0) + 1
                if response.status_code == 200:
                    figure.done += 1
                    figure.latencies.append(end - start)
                    last = max(last, end)
                else:
                    figure.failed += 1

        await asyncio.gather(*(client(http) for http in https))
        figure.seconds = max(last, stop_at) - t0
        figure.client_cpu = (time.process_time() - cpu0) / (time.perf_counter() - t0)
    finally:
        await asyncio.gather(*(http.aclose() for http in https))
    return figure


def warm_up(base: str, clicks: list[Clicks], clients: int) -> None:
    """One click of each kind first (the export imported, templates compiled, the state database
    made), then half a second of each with every client (the server's threads and connections)."""
    with httpx.Client(base_url=base, timeout=120) as http:
        for c in clicks:
            http.request(c.method, c.url(10**6 - 1), data=c.data(10**6 - 1))
    for c in clicks:
        asyncio.run(measure(base, c, clients, 0.5, 120))


def link_clicks(root: Path, rows: list[dict[str, str]], sample: int) -> list[Clicks]:
    """Unsubscribe and RSVP clicks with valid tokens for members spread over the register."""
    project = Project(root)
    now = dt.datetime.now(project.tz)
    members = [r["id"] for r in rows]
    chosen = random.Random(10).sample(members, min(sample, len(members)))
    signer = Signer(SECRET.encode())
    issued = now.date().toordinal()
    occurrence = next_meeting(project, now)
    u = [signer.sign("u", m, NEWSLETTER, issued) for m in chosen]
    r = [signer.sign("r", m, occurrence, issued) for m in chosen]
    i = [signer.sign("i", m, "", issued) for m in chosen]
    save = [{"csrf": csrf_value(signer.secret, t), "action": "save", "shown": NEWSLETTER} for t in i]
    n = len(chosen)
    return [
        Clicks("unsubscribe GET", "GET", lambda i: f"/u/{u[i % n]}"),
        Clicks("unsubscribe POST", "POST", lambda i: f"/u/{u[i % n]}", {"List-Unsubscribe": "One-Click"}),
        Clicks("RSVP GET", "GET", lambda i: f"/r/{r[i % n]}/yes"),
        Clicks("RSVP POST", "POST", lambda i: f"/r/{r[i % n]}/{'yes' if i % 2 else 'no'}", {}),
        Clicks("preferences GET", "GET", lambda k: f"/i/{i[k % n]}"),
        Clicks("preferences POST", "POST", lambda k: f"/i/{i[k % n]}", lambda k: save[k % n]),
    ]


def next_meeting(project: Project, now: dt.datetime) -> str:
    """An occurrence id whose meeting is still ahead, so that RSVPs are taken."""
    for day in range(120):
        date = now.date() + dt.timedelta(days=day)
        for series, cfg in project.config.mailings.items():
            if isinstance(cfg, InvitationConfig):
                occ = calendar.find(series, cfg.meeting, project.tz, date)  # type: ignore[arg-type]
                if occ is not None and not occ.cancelled and occ.end > now:
                    return f"{series}@{date.isoformat()}"
    raise SystemExit("no meeting in the next 120 days to answer")


# -- start-up ------------------------------------------------------------------------------


def nothing_due(root: Path) -> None:
    """Drop the invitations and the welcomes (the invented members joined lately, so welcomes
    would be due); newsletters and consultations wait for approval: nothing is due at any time."""
    path = root / "schedules.yaml"
    config = yaml.safe_load(path.read_text("utf-8"))
    config["mailings"] = {
        k: v for k, v in config["mailings"].items() if v.get("kind") not in ("invitation", "welcome")
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")


def startup(root: Path, env: dict[str, str], repeat: int) -> tuple[float, float, str]:
    """Seconds of the first run-due on a fresh state, and of `mailer check` (best of `repeat`)."""
    runs, checks = [], []
    out = ""
    for _ in range(repeat):
        shutil.rmtree(root / ".mailer", ignore_errors=True)
        run = send_bench.check(send_bench.mailer(root, "run-due", env=env), "run-due")
        runs.append(run.seconds)
        out = run.out
        shutil.rmtree(root / ".mailer", ignore_errors=True)  # a check on a fresh state imports the export too
        checks.append(send_bench.check(send_bench.mailer(root, "check", env=env), "check").seconds)
    return min(runs), min(checks), out


# -- the whole benchmark -------------------------------------------------------------------


def bare_page(env: dict[str, str], args: argparse.Namespace) -> Figure:
    """The bare Starlette page, on uvicorn as `mailer serve` runs it."""
    port = free_port()
    server = started([sys.executable, "-c", BARE, str(port)], port, env)
    try:
        clicks = Clicks("bare", "GET", lambda i: "/")
        warm_up(server.base, [clicks], args.clients)
        bare = asyncio.run(measure(server.base, clicks, args.clients, args.duration, 5))
    finally:
        server.stop()
    print(
        f"  bare Starlette page          {bare.rate:8.1f} req/s  median {bare.median_ms:7.1f} ms  "
        f"(clients used {bare.client_cpu:.0%} of a core: near 100% means they are the limit; "
        f"load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return bare


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="340,40000", help="register sizes, comma-separated")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (connections)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of clicking per figure")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one answer may take")
    parser.add_argument(
        "--startup-repeat", type=int, default=2, help="fresh-state run-dues to time (0: none)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="mailer-links-"))
    skip = ("MAILER_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)} | {
        "MAILER_SECRET": SECRET,
        "MAILER_WEB_REQUESTS_PER_MINUTE": str(10**9),  # every client is 127.0.0.1
    }
    print(
        f"sizes {sizes}, {args.clients} clients, {args.duration:g} s a figure, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    rates: dict[tuple[str, int], Figure] = {}
    bares: list[Figure] = []
    try:
        bares.append(bare_page(env, args))
        for size in sizes:
            root = send_bench.make_project(tmp / f"m{size}", size)
            rows = send_bench.fake_members.members(size, seed=2026, today=dt.date.today())
            clicks = link_clicks(root, rows, sample=2000)
            port = free_port()
            server = started(
                [sys.executable, "-m", "mailer", "--project", str(root), "serve", "--port", str(port)],
                port,
                env,
            )
            try:
                warm_up(server.base, clicks, args.clients)
                for c in clicks:
                    f = asyncio.run(measure(server.base, c, args.clients, args.duration, args.timeout))
                    rates[(c.name, size)] = f
                    print(
                        f"  {size:>7,} members  {c.name:<17} {f.rate:8.1f} req/s  "
                        f"median {f.median_ms:7.1f} ms  ({f.done} answered, {f.failed} not: {f.statuses}; "
                        f"clients used {f.client_cpu:.0%} of a core; load {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
            finally:
                server.stop()

        bares.append(bare_page(env, args))
        big = tmp / f"m{max(sizes)}"
        if args.startup_repeat:
            nothing_due(big)
            run_due, check, out = startup(big, env, args.startup_repeat)
            if out.strip():
                print(f"  (run-due said: {out.strip().splitlines()[-1]})")
    finally:
        if args.keep:
            print(f"projects kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    bare = max(bares, key=lambda f: f.rate)
    small, large = min(sizes), max(sizes)
    print()
    print(f"  {'':<17} {small:>9,} {large:>9,}  {large:,}/{small:,}  {large:,}/bare   (req/s)")
    for c in (
        "unsubscribe GET",
        "unsubscribe POST",
        "RSVP GET",
        "RSVP POST",
        "preferences GET",
        "preferences POST",
    ):
        a, b = rates[(c, small)].rate, rates[(c, large)].rate
        print(f"  {c:<17} {a:9.1f} {b:9.1f}  {b / a if a else 0:9.3f}  {b / bare.rate:9.3f}")
    other = ", ".join(f"{f.rate:.1f}" for f in bares)
    print(f"  {'bare Starlette':<17} {bare.rate:9.1f}   (the faster of {other}; {args.clients} connections)")
    print("  targets: 40k/340 >= 0.5 (issue 10); 40k/bare >= 0.3, GETs toward 0.5 (issue 19)")
    if args.startup_repeat:
        print()
        print(
            f"  first run-due, fresh state, {large:,} members, nothing due: {run_due:.2f} s; "
            f"mailer check: {check:.2f} s; ratio {run_due / check:.2f}  (target <= 3)"
        )


if __name__ == "__main__":
    main()
