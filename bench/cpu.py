"""Where a send's CPU goes: the sender, the counting SMTP server and the PostgreSQL server.

    python bench/cpu.py [--members 10000] [--connections 8] [--rounds 3]
                        [--database postgresql://USER:PASSWORD@HOST:PORT/DATABASE]

`send.py` gives the ratios of wall times; this says what they are made of. Round after round,
it sends the example newsletter to N invented members, in turn: with the state in SQLite,
and with `--database` also in PostgreSQL (one sender) and with two senders at once (half the
connections each). Every send is of a fresh copy of the approved project. For each it prints
the wall time; the CPU seconds of the sender process(es) (their own `wait4` figures), of the
counting server and of the PostgreSQL server's processes; how long the counting server was
ready to run but waited for a core; and the transactions the database committed. The counting
server does the same work in every send, so a send's wall time held to its CPU (`wall/sink`)
cancels much of a shared machine's drift in speed, which moves single wall times by a third.

The PostgreSQL server's CPU is read from /proc (its postmaster, the postmaster's children
now, and those it reaped): the server must run on this machine, visible to this user (root,
or the same user); otherwise that column is empty.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness as bench

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, reaped: bool = False) -> float:
    """User and system CPU of a process (and, with `reaped`, of its children it waited for)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / TICKS


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def waited_for_a_core(pid: int) -> float:
    """Seconds a process was ready to run but not running (/proc/PID/schedstat)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


class Server:
    """The PostgreSQL server's processes, found from a connection's own server process."""

    def __init__(self, url: str):
        import psycopg

        self.url = url
        with psycopg.connect(url, autocommit=True) as db:
            backend = db.execute("SELECT pg_backend_pid()").fetchone()[0]
        try:
            self.postmaster: int | None = parent_of(backend)
        except OSError:  # on another machine, or not ours to read
            self.postmaster = None

    def cpu(self) -> float | None:
        if self.postmaster is None:
            return None
        total = cpu_seconds(self.postmaster, reaped=True)
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    if parent_of(int(entry.name)) == self.postmaster:
                        total += cpu_seconds(int(entry.name))
                except OSError:  # it ended meanwhile: the postmaster's reaped figure has it
                    continue
        return total


@dataclass
class Sample:
    kind: str
    wall: float
    sender: float
    sink: float
    server: float | None
    sink_wait: float
    commits: int | None

    def line(self) -> str:
        server = f"{self.server:5.2f}" if self.server is not None else "    -"
        commits = f"{self.commits:,}" if self.commits is not None else "-"
        return (
            f"{self.kind:<9} wall {self.wall:6.2f} s  sender {self.sender:5.2f}  sink {self.sink:5.2f}  "
            f"server {server}  sink waited {self.sink_wait:4.2f}  wall/sink {self.wall / self.sink:4.2f}  "
            f"commits {commits}"
        )


def timed_send(
    kind: str, project: Path, env: dict[str, str], senders: int, members: int, server: Server | None
) -> Sample:
    """One send by `senders` processes at once, with the CPU each part used meanwhile."""
    sink = bench.SINK[0]
    sink.reset()
    before_commits = bench.commits(server.url) if server else None
    sink_cpu, sink_wait = cpu_seconds(sink.process.pid), waited_for_a_core(sink.process.pid)
    server_cpu = server.cpu() if server else None
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            bench.command(project, ("send", bench.MAILING), False),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(senders)
    ]
    sender_cpu, failed = 0.0, []
    for process in processes:
        _, status, usage = os.wait4(process.pid, 0)  # its own CPU, which Popen.wait does not give
        process.returncode = os.waitstatus_to_exitcode(status)
        sender_cpu += usage.ru_utime + usage.ru_stime
        if process.returncode:
            failed.append(process.stderr.read().decode() if process.stderr else "")
    wall = time.perf_counter() - started
    if failed or sink.count != members:
        raise SystemExit(f"{kind}: {sink.count} of {members} counted; {' '.join(failed)}")
    after_server = server.cpu() if server else None
    return Sample(
        kind,
        wall,
        sender_cpu,
        cpu_seconds(sink.process.pid) - sink_cpu,
        after_server - server_cpu if after_server is not None and server_cpu is not None else None,
        waited_for_a_core(sink.process.pid) - sink_wait,
        bench.commits(server.url) - before_commits if server and before_commits is not None else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", help="postgresql://… : also send with the state in PostgreSQL")
    args = parser.parse_args()

    sink = bench.start_sink()
    bench.SINK[:] = [sink]
    tmp = Path(tempfile.mkdtemp(prefix="mailer-cpu-"))
    env = bench.sending_env(sink, args.connections)
    server = Server(args.database) if args.database else None
    pg_env = env | {"MAILER_DATABASE_URL": args.database} if args.database else env
    schemas: list[str] = []
    samples: list[Sample] = []
    print(f"{args.members:,} invented members, {args.connections} connections, {os.cpu_count()} cores")
    if server and server.postmaster is None:
        print("the PostgreSQL server is not on this machine (or not visible): no server CPU")
    try:
        pristine = bench.make_project(tmp / "pristine", args.members)
        bench.prepare(pristine, env)
        for round_ in range(1, args.rounds + 1):
            project = tmp / f"sqlite-{round_}"
            shutil.copytree(pristine, project)
            samples.append(timed_send("sqlite", project, env, 1, args.members, None))
            print(samples[-1].line(), flush=True)
            for kind, senders in (("pg", 1), ("pg, two", 2)) if server else ():
                schemas.append(f"cpu_{os.getpid()}_{len(schemas) + 1}")
                project = bench.on_schema(bench.make_project(tmp / schemas[-1], args.members), schemas[-1])
                bench.prepare(project, pg_env)
                half = pg_env | {"MAILER_POOL_SIZE": str(max(1, args.connections // senders))}
                samples.append(timed_send(kind, project, half, senders, args.members, server))
                print(samples[-1].line(), flush=True)
    finally:
        sink.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        if server and schemas:
            bench.drop_schemas(server.url, schemas)
    print()
    for kind in dict.fromkeys(s.kind for s in samples):
        mine = [s for s in samples if s.kind == kind]
        fields = ("wall", "sender", "sink", "sink_wait")
        mean = {f: statistics.mean(getattr(s, f) for s in mine) for f in fields}
        servers = [s.server for s in mine if s.server is not None]
        server_part = f"  server {statistics.mean(servers):5.2f}" if servers else ""
        print(
            f"{kind:<9} mean of {len(mine)}: wall {mean['wall']:6.2f} s  sender {mean['sender']:5.2f}  "
            f"sink {mean['sink']:5.2f}{server_part}  sink waited {mean['sink_wait']:4.2f}  "
            f"wall/sink {statistics.mean(s.wall / s.sink for s in mine):4.2f}"
        )


if __name__ == "__main__":
    main()
