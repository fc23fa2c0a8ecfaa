"""How fast `mailer send` is, next to what this machine can do at all.

    python bench/send.py [--members 10000] [--connections 8] [--memory-members 100000] [--runs 1]
                         [--database postgresql://USER:PASSWORD@HOST:PORT/DATABASE]

In one run, against an SMTP server that only counts (aiosmtpd, in a separate process):
  (a) `mailer send` of the example newsletter to N invented members, end to end: a new
      process, start-up, member loading, planning, the ledger, every message built;
  (b) the machine's limit: the very messages (a) sends, built beforehand (a send of the same
      copy into the outbox), sent as raw bytes over the same number of aiosmtplib connections
      (its `sendmail`, which runs two regular expressions over every message that mailer's
      transport does without, so (a) can pass it);
  (c) (a) again on a copy of the project, with every message DKIM-signed (a fresh 2048-bit key);
`--runs N` repeats (a)/(b) N times (a fresh copy of the approved project each time), since one
run on a shared machine says little about the next. Each (a) is held to (b) run just before
and just after it: the machine's speed drifts by a third within a minute here, and the mean of
the two cancels a steady drift (the ratio to the faster of the two is printed beside it);
and also the MJML compilations of (a), the peak memory of a send to `--memory-members`
members, and how long `mailer run-due` with nothing due and `mailer --help` take.
With `--database` (an empty database the role may create schemas in), also, `--runs` times,
in the order (a) (d) (e) (d) (a), so that each ratio is taken between means around the same moment:
  (d) (a) with the state in PostgreSQL (a schema of its own, dropped afterwards);
  (e) two `mailer send` processes at once on one more such project, half the connections each.
Each figure carries the load average (1 min) when it was taken: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    MAILING,
    SINK,
    Run,
    check,
    command,
    commits,
    counted_send,
    drop_schemas,
    mailer,
    make_project,
    on_schema,
    prepare,
    sending_env,
    start_sink,
)

COMPILATIONS_TARGET = (
    "target: one per language and per calendar group of the newsletter (`calendar: true` gives readers "
    "with different meetings different compiled variants; 19 for the example), not one a member"
)


# -- peak memory, the messages (b) sends, DKIM ---------------------------------------------


# Forks the command from a small process and writes its resident-set high-water mark (wait4).
LAUNCHER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as peak:
    peak.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_memory(project: Path, *args: str, env: dict[str, str]) -> Run:
    """Like `mailer`, with the resident-set high-water mark of exactly that process.

    Linux counts in a child's high-water mark that of the memory it started from (the parent's,
    which subprocess's vfork shares until exec): this bench, holding (b)'s messages, made a send
    to 100,000 read 142 MB instead of 115. So a small process forks the command and reports."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        peak = Path(folder) / "peak"
        launch = [sys.executable, "-c", LAUNCHER, str(peak), *command(project, args, False)]
        proc = subprocess.run(launch, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        kb = int(peak.read_text()) if peak.is_file() else 0
    return Run(seconds, proc.returncode, kb / 1024, proc.stdout, proc.stderr)


def messages_of(pristine: Path, folder: Path, env: dict[str, str], members: int) -> list[bytes]:
    """The messages a send of the approved project makes, byte for byte: a copy sent into the
    outbox (no SMTP server set). (b) sends these, so the server reads the same bytes in (a)
    and (b). It used to repeat the preview's one message, 16,378 bytes against a mean of
    17,687 (readers with meetings in their calendar get longer copies): (b) did less work."""
    project = folder / "outbox-copy"
    shutil.copytree(pristine, project)
    outbox_env = {k: v for k, v in env.items() if not k.startswith("MAILER_SMTP_")}
    check(mailer(project, "send", MAILING, env=outbox_env), "send into the outbox")
    files = sorted((project / ".mailer" / "outbox" / MAILING).glob("*.eml"))
    if len(files) != members:
        raise SystemExit(f"the outbox has {len(files)} messages of {members}")
    messages = [f.read_bytes() for f in files]
    shutil.rmtree(project)
    return messages


def compilations(err: str) -> int:
    for line in err.splitlines():
        if line.startswith("bench: compilations="):
            return int(line.split("=", 1)[1])
    return -1


def dkim_key(folder: Path) -> dict[str, str]:
    """A new RSA key and the settings that sign with it (nobody verifies here, so no DNS)."""
    key = folder / "dkim.key"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    return {"MAILER_DKIM_PRIVATE_KEY": str(key), "MAILER_DKIM_SELECTOR": "bench"}


# -- (b): raw bytes over aiosmtplib ---------------------------------------------------------


async def raw_send(port: int, messages: list[bytes], connections: int) -> float:
    """Seconds to send `messages` over `connections` connections."""
    import aiosmtplib

    next_index = iter(range(len(messages)))

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, use_tls=False, start_tls=False)
        await client.connect()
        for i in next_index:
            await client.sendmail("post@akershus-sp.example", [f"m{i}@example.org"], messages[i])
        await client.quit()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - t0


# -- (d) and (e): the state in PostgreSQL ----------------------------------------------------


def postgres_figures(args, tmp: Path, env: dict[str, str], pristine: Path, figure) -> None:  # type: ignore[no-untyped-def]
    """(d) one sender, (e) two at once, with the state in PostgreSQL, between SQLite sends (a);
    every project is previewed and approved before the timed sends; schemas dropped after."""
    pg_env = env | {"MAILER_DATABASE_URL": args.database}
    half = pg_env | {"MAILER_POOL_SIZE": str(max(1, args.connections // 2))}
    schemas: list[str] = []

    def on_postgres(name: str) -> Path:
        schemas.append(f"bench_{os.getpid()}_{len(schemas) + 1}")
        project = on_schema(make_project(tmp / name, args.members), schemas[-1])
        prepare(project, pg_env)
        return project

    def sqlite_send(name: str) -> float:
        project = tmp / name
        shutil.copytree(pristine, project)
        return counted_send(project, env, "send", args.members)

    try:
        for run in range(1, args.runs + 1):
            one, two, one_again = (on_postgres(f"pg{run}-{n}") for n in ("d", "e", "d2"))
            a1 = sqlite_send(f"pg{run}-a")
            before = commits(args.database)
            d1 = counted_send(one, pg_env, "send on PostgreSQL", args.members)
            made = commits(args.database) - before
            e, shares = two_senders(two, half, args.members)
            d2 = counted_send(one_again, pg_env, "send on PostgreSQL", args.members)
            a2 = sqlite_send(f"pg{run}-a2")
            a, d = (a1 + a2) / 2, (d1 + d2) / 2
            suffix = "" if run == 1 else f", run {run}"
            figure(
                f"(d) mailer send, state in PostgreSQL{suffix}",
                f"{args.members / d:,.0f} msg/s",
                f"{d1:.2f} s and {d2:.2f} s",
            )
            figure(
                f"(d) / (a){suffix}",
                f"{a / d:.0%}",
                f"target >= 90%; (a) {a1:.2f} s and {a2:.2f} s around it; "
                f"{a1 / d1:.0%} and {a2 / d2:.0%} pair by pair",
            )
            figure(
                f"(d) transactions committed{suffix}",
                f"{made:,}",
                f"{made / args.members:.2f} a message (the journal groups the marks of many)",
            )
            figure(
                f"(e) two senders at once, PostgreSQL{suffix}",
                f"{args.members / e:,.0f} msg/s",
                f"{e:.2f} s ({shares} sent)",
            )
            figure(
                f"(e) / (d){suffix}",
                f"{d / e:.0%}",
                f"target >= 100%; (d) {d1:.2f} s before, {d2:.2f} s after",
            )
    finally:
        drop_schemas(args.database, schemas)


def two_senders(project: Path, env: dict[str, str], members: int) -> tuple[float, str]:
    """Seconds of two `mailer send` at once on one project, and how the work was shared."""
    sink = SINK[0]
    sink.reset()
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            command(project, ("send", MAILING), False),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - t0
    if any(p.returncode for p in procs) or sink.count != members:
        raise SystemExit(f"two senders: exit {[p.returncode for p in procs]}, {sink.count} sent: {outs}")
    return seconds, " + ".join(o.strip().split(": ", 1)[-1].split(" sent")[0] for o, _ in outs)


def bracket_note(sent: float, before: float, after: float, load: float) -> str:
    strict = min(before, after) / sent
    return (
        f"target >= 90%; {strict:.1%} against the faster (b); "
        f"load {load:.1f} at the start, {os.getloadavg()[0]:.1f} now"
    )


# -- the whole benchmark --------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--memory-members", type=int, default=100_000, help="members for the peak-memory send (0: skip)"
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="(a)/(b) this many times, each with its own (b) before and after"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects")
    parser.add_argument("--database", help="postgresql://… : also send with the state in PostgreSQL")
    args = parser.parse_args()

    sink = start_sink()
    SINK[:] = [sink]
    tmp = Path(tempfile.mkdtemp(prefix="mailer-bench-"))
    env = sending_env(sink, args.connections)
    rows: list[tuple[str, str, str]] = []

    def figure(what: str, value: str, note: str = "") -> None:
        note = f"{note}  [load {os.getloadavg()[0]:.1f}]".strip()
        rows.append((what, value, note))
        print(f"  {what}: {value}  {note}".rstrip(), flush=True)

    load = os.getloadavg()[0]
    print(
        f"{args.members:,} invented members, {args.connections} connections, "
        f"{os.cpu_count()} cores, load {load:.1f}"
    )
    try:
        project = make_project(tmp / "speed", args.members)
        prepare(project, env)
        pristine = tmp / "pristine"
        shutil.copytree(project, pristine)  # previewed and approved, nothing sent yet
        messages = messages_of(pristine, tmp, env, args.members)

        def raw() -> float:
            return asyncio.run(raw_send(sink.port, messages, args.connections))

        raw_before = raw()
        sink.reset()
        send = check(mailer(project, "send", MAILING, env=env, counting=True), "send")
        received = sink.count
        if received < args.members:
            raise SystemExit(f"the server counted {received} messages of {args.members}:\n{send.err}")
        raw_after = raw()
        raw_seconds = (raw_before + raw_after) / 2
        rate_a, rate_b = args.members / send.seconds, args.members / raw_seconds
        figure("(a) mailer send, end to end", f"{rate_a:,.0f} msg/s", f"{send.seconds:.2f} s")
        figure(
            "(b) raw bytes over aiosmtplib",
            f"{rate_b:,.0f} msg/s",
            f"{raw_before:.2f} s before (a), {raw_after:.2f} s after",
        )
        figure("(a) / (b)", f"{rate_a / rate_b:.1%}", bracket_note(send.seconds, raw_before, raw_after, load))
        for run in range(2, args.runs + 1):
            again = tmp / f"run{run}"
            shutil.copytree(pristine, again)
            before, start = raw(), os.getloadavg()[0]
            sent = check(mailer(again, "send", MAILING, env=env), "send")
            after = raw()
            a, b = args.members / sent.seconds, args.members / ((before + after) / 2)
            figure(f"(a) / (b), run {run}", f"{a / b:.1%}", bracket_note(sent.seconds, before, after, start))
            shutil.rmtree(again, ignore_errors=True)
        signed = make_project(tmp / "dkim", args.members)
        signed_env = env | dkim_key(tmp)
        prepare(signed, signed_env)
        sealed = counted_send(signed, signed_env, "send with DKIM", args.members)
        rate_c = args.members / sealed
        figure("(c) mailer send, DKIM on", f"{rate_c:,.0f} msg/s", f"{sealed:.2f} s")
        figure("(c) / (b)", f"{rate_c / rate_b:.0%}", "target >= 50%")
        sizes = [len(m) for m in messages]
        mean_size = f"{statistics.mean(sizes):,.0f} bytes"
        figure("message size", mean_size, f"the mean; {min(sizes):,} to {max(sizes):,}")
        figure("MJML compilations in (a)", str(compilations(send.err)), COMPILATIONS_TARGET)
        if args.database:
            postgres_figures(args, tmp, env, pristine, figure)

        # The first run-due catches up on whatever is due at this moment (invitations); then nothing is.
        due = [check(mailer(project, "run-due", env=env), "run-due").seconds for _ in range(4)]
        figure("mailer run-due, nothing due", f"{min(due[1:]):.2f} s", "target < 0.5 s")
        helps = [check(mailer(project, "--help", env=env), "--help").seconds for _ in range(3)]
        figure("mailer --help", f"{min(helps):.2f} s", "target < 0.3 s")

        if args.memory_members:
            big = make_project(tmp / "memory", args.memory_members)
            prepare(big, env)
            run = check(peak_memory(big, "send", MAILING, env=env), "send (memory)")
            figure(
                f"peak memory, send to {args.memory_members:,}",
                f"{run.peak_mb:.0f} MB",
                f"target < 150 MB ({args.memory_members / run.seconds:,.0f} msg/s end to end)",
            )
    finally:
        sink.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"projects kept in {tmp}")

    print()
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print(f"  {r[0]:<{width[0]}}  {r[1]:>{width[1]}}  {r[2]}".rstrip())


if __name__ == "__main__":
    main()
