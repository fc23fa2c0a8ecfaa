"""The server engine: the state in one schema of a PostgreSQL database (psycopg 3).

Each project folder (county) has its own schema, and every connection's `search_path` is
that schema alone, so two counties on one server never see each other's rows. The SQL the
record modules write is the same as for SQLite: `?` placeholders become psycopg's `%s` here,
and a migration's `id INTEGER PRIMARY KEY` becomes an identity column (`postgres_dialect`). The schema version
is the one row of `schema_version`. Several senders may share the database (`shared`):
they claim deliveries with SELECT … FOR UPDATE SKIP LOCKED (see `state.deliveries`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import pq

from mailer.errors import UserError
from mailer.state.connection import SENDER, batched
from mailer.state.postgres_dialect import SCHEMA_NAME, check_schema, ddl, describe, explain, translate

VERSION_TABLE = "schema_version"
BATCH = 1000


class Pipelined:
    """Cursors whose results may still be on their way (inside a transaction's pipeline): the
    row count waits for the server only when someone asks for it."""

    def __init__(self, cursors: list[Any], db: PostgresDatabase):
        self.cursors = cursors
        self.db = db

    @property
    def rowcount(self) -> int:
        if self.db._pipeline is not None and any(c.pgresult is None for c in self.cursors):
            self.db._pipeline.sync()  # once: it brings the results of every statement sent so far
        return sum(max(c.rowcount, 0) for c in self.cursors)

    def fetchone(self) -> Any:
        return self.cursors[-1].fetchone()

    def fetchall(self) -> list[Any]:
        return self.cursors[-1].fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.cursors[-1])


RUN_LOCK = 0x6D61696C
"""The first key of mailer's advisory locks ('mail'); the second is the schema's hash."""


class PostgresDatabase:
    """A `Connection` over one psycopg connection in autocommit mode, inside one schema."""

    engine = "postgresql"
    shared = True
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(
        self,
        raw: psycopg.Connection[Any],
        schema: str,
        where: str,
        release: Any = None,
        url: str = "",
        wait: float = 30.0,
    ):
        self.raw = raw
        self.schema = schema
        self.where = where
        self.depth = 0
        self._release = release
        self._url, self._wait = url, wait
        self._pipelining: Any = None
        self._pipeline: Any = None

    def execute(self, sql: str, params: Any = ()) -> Any:
        cur = self.raw.execute(translate(sql), params)
        return cur if self._pipeline is None else Pipelined([cur], self)

    def executemany(self, sql: str, rows: Iterable[Any]) -> Pipelined:
        """In batches: psycopg pipelines a batch, and the rows may come from a query on this
        same connection (members streamed from the member store), which must not run inside it."""
        query, cursors = translate(sql), []
        for batch in batched(rows, BATCH):
            cur = self.raw.cursor()
            cur.executemany(query, batch)
            cursors.append(cur)
        return Pipelined(cursors, self)

    def begin(self) -> None:
        """A transaction is one pipeline: BEGIN, the writes and COMMIT travel together, and the
        server is waited for only where the code reads a result (one round trip, not four)."""
        self._pipelining = self.raw.pipeline()
        self._pipeline = self._pipelining.__enter__()
        self.raw.execute("BEGIN")

    def commit(self) -> None:
        self.raw.execute("COMMIT")
        pipelining, self._pipelining, self._pipeline = self._pipelining, None, None
        if pipelining is not None:
            pipelining.__exit__(None, None, None)

    def rollback(self) -> None:
        pipelining, self._pipelining, self._pipeline = self._pipelining, None, None
        if pipelining is not None:
            with suppress(psycopg.Error):  # the error that brought us here, raised again
                pipelining.__exit__(None, None, None)
        if self.raw.info.transaction_status != pq.TransactionStatus.IDLE:
            self.raw.execute("ROLLBACK")

    def lock(self, name: str) -> None:
        """Wait for (then hold, until the transaction ends) the lock `name` of this schema."""
        self.raw.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{self.schema}:{name}",))

    def relaxed(self) -> None:
        self.raw.execute("SET LOCAL synchronous_commit TO off")

    def version(self) -> int:
        row = self.raw.execute(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s",
            (self.schema, VERSION_TABLE),
        ).fetchone()
        if row is None:
            return 0
        found = self.raw.execute(f'SELECT max(version) FROM "{self.schema}".{VERSION_TABLE}').fetchone()
        return int(found[0] or 0)

    def set_version(self, number: int) -> None:
        self.raw.execute(f'DELETE FROM "{self.schema}".{VERSION_TABLE}')
        self.raw.execute(f'INSERT INTO "{self.schema}".{VERSION_TABLE} VALUES (%s)', (number,))
        self.no_statistics_of_text()

    def no_statistics_of_text(self) -> None:
        """The server's ANALYZE keeps samples of column values (most common values, histograms)
        in its own catalogue, pg_statistic, which an erasure cannot reach: names and addresses
        would stay there. So text columns get no statistics; the queries go by indexes anyway."""
        columns = self.raw.execute(
            "SELECT c.relname, a.attname FROM pg_catalog.pg_attribute a "
            "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
            "AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bytea'::regtype, 'bpchar'::regtype) "
            "AND a.attstattarget IS DISTINCT FROM 0",
            (self.schema,),
        ).fetchall()
        for table, column in columns:
            where = f'"{self.schema}"."{table}"'
            self.raw.execute(f'ALTER TABLE {where} ALTER COLUMN "{column}" SET STATISTICS 0')

    def prepare_schema(self) -> None:
        self.raw.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        self.raw.execute(
            f'CREATE TABLE IF NOT EXISTS "{self.schema}".{VERSION_TABLE} (version INTEGER NOT NULL)'
        )

    def ddl(self, statement: str) -> str:
        return ddl(statement)

    def after_erasure(self, tables: Iterable[str]) -> None:
        """VACUUM FULL the tables an erasure touched: their files are written anew without the
        deleted rows (a plain VACUUM frees the space but leaves the bytes until reused).

        What remains is in the server's WAL and backups (see the README on erasure).
        """
        names = sorted({t for t in tables if SCHEMA_NAME.fullmatch(t)})
        if names and not self.depth:  # FULL: a plain VACUUM leaves the old bytes in the pages
            self.raw.execute("VACUUM FULL " + ", ".join(f'"{self.schema}"."{t}"' for t in names))

    def erasure_pending(self) -> bool:
        """False: VACUUM FULL waits for the readers of a table, and is done when it returns."""
        return False

    def renumber(self, tables: Iterable[str]) -> None:
        """After rows came in with their own ids: each identity column goes on from the largest."""
        for table in tables:
            found = self.raw.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = %s AND is_identity = 'YES'",
                (self.schema, table),
            ).fetchone()
            if found:
                column = found[0]
                self.raw.execute(
                    f'SELECT setval(pg_get_serial_sequence(\'"{self.schema}"."{table}"\', %s), '
                    f'coalesce(max("{column}"), 0) + 1, false) FROM "{self.schema}"."{table}"',
                    (column,),
                )

    def twin(self) -> PostgresDatabase:
        """A connection of its own to the same schema, for a thread that claims the next page
        of a send while the event loop goes on (see `claims.Claims.open`)."""
        try:
            raw = connect_raw(self._url, self.schema, self._wait)
        except psycopg.Error as exc:
            raise UserError(explain(self.where, exc)) from None
        return PostgresDatabase(raw, self.schema, self.where, url=self._url, wait=self._wait)

    async def loop_ledger(self) -> LoopLedger:
        """A connection of its own that waits for the server on the event loop (the send's
        journal): each commit waits for a round trip and the flush of the server's disk, and
        meanwhile the loop keeps the SMTP connections busy, with no thread to hand it to."""
        try:
            options = connection_options(self.schema, self._wait)
            raw = await psycopg.AsyncConnection.connect(self._url, **options)
        except psycopg.Error as exc:
            raise UserError(explain(self.where, exc)) from None
        return LoopLedger(raw)

    def live_senders(self) -> list[str]:
        """Senders with a connection to this database now: a killed one's went with it."""
        rows = self.raw.execute(
            "SELECT DISTINCT substr(application_name, 8) FROM pg_catalog.pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE 'mailer %'"
        )
        return sorted({SENDER, *(r[0] for r in rows)})

    def tables(self) -> list[str]:
        rows = self.raw.execute(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename != %s "
            "ORDER BY tablename",
            (self.schema, VERSION_TABLE),
        )
        return [r[0] for r in rows]

    def columns(self, table: str) -> list[str]:
        rows = self.raw.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            (self.schema, table),
        )
        return [r[0] for r in rows]

    @contextmanager
    def held(self, alone: bool, wait: bool) -> Iterator[bool]:
        """The project's run lock on the server, for as long as this connection holds it:
        senders share it, so several send at once; an erasure holds it alone, so nothing it
        erased is planned or sent again by a run that read the members before it. A killed
        process's lock goes with its connection. Without `wait`, False when it is taken."""
        kind = "" if alone else "_shared"
        take = f"pg_advisory_lock{kind}" if wait else f"pg_try_advisory_lock{kind}"
        key = (RUN_LOCK, self.schema)
        try:
            got = self.raw.execute(f"SELECT {take}(%s, hashtext(%s))", key).fetchone()
        except psycopg.Error as exc:  # waited MAILER_STATE_WAIT seconds: a run is still sending
            raise UserError(explain(self.where, exc)) from None
        if got is not None and got[0] is False:
            yield False
            return
        try:
            yield True
        finally:
            with suppress(psycopg.Error):  # a server gone away released it with the session
                self.raw.execute(f"SELECT pg_advisory_unlock{kind}(%s, hashtext(%s))", key)

    def close(self) -> None:
        if self._release is not None:
            release, self._release = self._release, None
            release(self.raw)
        else:
            self.raw.close()


def connection_options(schema: str, wait: float) -> dict[str, Any]:
    """Every connection's: autocommit, and a search path of the county's schema alone."""
    return {
        "autocommit": True,
        "connect_timeout": max(1, int(wait)),
        "options": f"-c search_path={schema} -c lock_timeout={int(wait * 1000)}",
        "application_name": f"mailer {SENDER}",
    }


def connect_raw(url: str, schema: str, wait: float) -> psycopg.Connection[Any]:
    """One connection whose search path is the county's schema alone."""
    return psycopg.connect(url, **connection_options(schema, wait))


class LoopLedger:
    """A PostgreSQL connection on the event loop (psycopg's AsyncConnection), for writes that
    must not hold the loop while the server works: see `PostgresDatabase.loop_ledger`."""

    def __init__(self, raw: psycopg.AsyncConnection[Any]):
        self.raw = raw

    async def write(self, statements: list[tuple[str, list[object]]]) -> None:
        """The statements, committed together (a single one commits by itself)."""
        if len(statements) == 1:
            [(sql, params)] = statements
            await self.raw.execute(translate(sql), params)
            return
        async with self.raw.transaction():
            for sql, params in statements:
                await self.raw.execute(translate(sql), params)

    async def close(self) -> None:
        await self.raw.close()


_pools: dict[tuple[str, str], Any] = {}


def from_pool(url: str, schema: str, wait: float, size: int) -> PostgresDatabase | None:
    """A connection from this process's pool for the schema (`mailer serve`: one per request,
    at most `size` at once), or None before the first plain connection checked and migrated."""
    pool = _pools.get((url, schema))
    if pool is None:
        return None
    try:
        raw = pool.getconn(timeout=wait)
    except Exception as exc:
        raise UserError(explain(describe(url, schema), exc)) from None
    return PostgresDatabase(raw, schema, describe(url, schema), release=pool.putconn, url=url, wait=wait)


def start_pool(url: str, schema: str, wait: float, size: int) -> None:
    """After a plain connection found the schema current: later ones come from a pool."""
    from psycopg_pool import ConnectionPool

    if (url, schema) in _pools:
        return
    _pools[url, schema] = ConnectionPool(
        url,
        min_size=1,
        max_size=size,
        timeout=wait,
        open=True,
        name=f"mailer-{schema}",
        kwargs=connection_options(schema, wait),
    )


def open_database(url: str, schema: str, wait: float, newest: int) -> PostgresDatabase:
    """Connect and check the version before anything is written; errors are one line."""
    check_schema(schema)
    where = describe(url, schema)
    try:
        raw = connect_raw(url, schema, wait)
    except psycopg.Error as exc:
        raise UserError(explain(where, exc)) from None
    db = PostgresDatabase(raw, schema, where, url=url, wait=wait)
    try:
        version = db.version()
    except psycopg.Error as exc:
        db.close()
        raise UserError(explain(where, exc)) from None
    if version > newest:
        db.close()
        raise UserError(
            f"{where}: the state is version {version}, written by a newer release of mailer "
            f"(this one reads up to version {newest}); upgrade mailer, nothing was changed"
        )
    return db
