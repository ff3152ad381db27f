"""The case's `timeline` table: every timestamped fact in one sorted table, built with DuckDB.

Why DuckDB: the timeline is a union of the case's tables (files MACB times, logins, shell
commands, package installs, mail-log days, ...) sorted by time. DuckDB reads the Parquet
tables where they lie, sorts out of core under a memory limit (spilling to a folder the tool
creates in the case and removes), and hands back Arrow batches that are written as they
come: memory does not grow with the case.

Rows (columns in caseformat.schema.TIMELINE): time (ISO-8601 UTC), time_inferred, evidence_id,
source_table, kind, description, user, finding_id. Sources, each used only when its table
and columns exist in the case (an absent table adds no rows):
* files: one row per (file, distinct time) with mactime's MACB flags as kind (`file m.c.`);
  finding_id is `<evidence_id>:<path>` (files have no finding id; as in `correlations`);
  user from `accounts` (passwd) when present, else `uid N`.
* logins (time, result, method, remote_ip, ...), shell_history (rows with a time),
  package_log (installs, upgrades, removals).
* scheduled_tasks and authorized ssh_keys, placed at their file's mtime (when that crontab or
  authorized_keys file was last written).
* mail_log: one row per log file, MTA and day (windows added up), at its first line.
* cron_runs: one row per log file, day, user and command (cron runs seen in syslog), at the first run.
* web_access: clients and paths tagged admin/shell, at their first hit.
Zone-less log times (rows marked time_inferred from logins, package_log, mail_log, cron_runs)
are converted from the server's own zone (table `timezones`: /etc/timezone, sysconfig, TZif)
to UTC when the case has it, and the description says so; otherwise they stay read as UTC.
Sorted by time, then evidence_id, source_table, kind, description, finding_id, user.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from caseformat.schema import TIMELINE

BATCH_ROWS = 65_536
MEMORY_LIMIT = os.environ.get("SEIZED_TIMELINE_MEMORY", "512MB")  # DuckDB spills past it
# Tables whose inferred times are zone-less local times (syslog, dpkg, exim without a zone)
LOCAL_TIME_TABLES = ("logins", "package_log", "mail_log", "cron_runs")
ORDER = "time, evidence_id, source_table, kind, description, finding_id, \"user\", time_inferred"
ISO = "'%Y-%m-%dT%H:%M:%SZ'"


def _table(case: Path, name: str) -> str | None:
    path = case / "tables" / name / "part-0.parquet"
    return str(path) if path.is_file() else None


class _Sources:
    """Which tables and columns the case has, so a missing one adds nothing instead of failing."""

    def __init__(self, con, case: Path) -> None:
        self.con, self.case = con, case
        self.columns: dict[str, set[str]] = {}
        for name in ("files", "accounts", "logins", "shell_history", "scheduled_tasks", "ssh_keys", "mail_log",
                     "package_log", "web_access", "cron_runs", "timezones"):
            path = _table(case, name)
            if path:
                cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(path)})").fetchall()}
                self.columns[name] = cols

    def has(self, name: str, *cols: str) -> bool:
        return name in self.columns and set(cols) <= self.columns[name]

    def ref(self, name: str) -> str:
        return f"read_parquet({_lit(_table(self.case, name))})"


def _ident(name: str) -> str:
    return '"' + name + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _file_user(s: _Sources, alias: str) -> tuple[str, str]:
    """(join clause, user expression) for a files row aliased `alias`."""
    if s.has("accounts", "source", "user", "uid", "evidence_id"):
        join = (f"LEFT JOIN (SELECT evidence_id, uid, min(\"user\") AS name FROM {s.ref('accounts')} "
                f"WHERE source = 'passwd' GROUP BY evidence_id, uid) acc "
                f"ON acc.evidence_id = {alias}.evidence_id AND acc.uid = {alias}.uid")
        return join, f"coalesce(acc.name, 'uid ' || CAST({alias}.uid AS VARCHAR))"
    return "", f"'uid ' || CAST({alias}.uid AS VARCHAR)"


def _mtime_join(s: _Sources, alias: str) -> str:
    return (f"JOIN (SELECT evidence_id, path, max(mtime) AS mtime FROM {s.ref('files')} WHERE mtime IS NOT NULL "
            f"GROUP BY evidence_id, path) fm ON fm.evidence_id = {alias}.evidence_id AND fm.path = {alias}.path")


def _selects(s: _Sources) -> list[str]:
    out = []
    if s.has("files", "evidence_id", "path", "inode", "mtime", "atime", "ctime", "crtime", "uid", "allocated"):
        join, user = _file_user(s, "g")
        out.append(f"""
            WITH t AS (
                SELECT evidence_id, path, inode, stream, allocated, uid, mtime AS t, 'm' AS f FROM {s.ref('files')}
                    WHERE mtime IS NOT NULL
                UNION ALL SELECT evidence_id, path, inode, stream, allocated, uid, atime, 'a' FROM {s.ref('files')}
                    WHERE atime IS NOT NULL
                UNION ALL SELECT evidence_id, path, inode, stream, allocated, uid, ctime, 'c' FROM {s.ref('files')}
                    WHERE ctime IS NOT NULL
                UNION ALL SELECT evidence_id, path, inode, stream, allocated, uid, crtime, 'b' FROM {s.ref('files')}
                    WHERE crtime IS NOT NULL),
            g AS (SELECT evidence_id, path, inode, stream, bool_or(allocated) AS allocated, min(uid) AS uid, t,
                         (CASE WHEN bool_or(f = 'm') THEN 'm' ELSE '.' END) || (CASE WHEN bool_or(f = 'a') THEN 'a'
                          ELSE '.' END) || (CASE WHEN bool_or(f = 'c') THEN 'c' ELSE '.' END) ||
                         (CASE WHEN bool_or(f = 'b') THEN 'b' ELSE '.' END) AS macb
                  FROM t GROUP BY evidence_id, path, inode, stream, t)
            SELECT strftime(g.t, {ISO}) AS time, false AS time_inferred, g.evidence_id, 'files' AS source_table,
                   'file ' || g.macb AS kind,
                   coalesce(g.path, '(no name) inode ' || CAST(g.inode AS VARCHAR))
                       || coalesce(':' || g.stream, '') || CASE WHEN g.allocated THEN '' ELSE ' (deleted)' END
                       AS description,
                   {user} AS "user", g.evidence_id || ':' || coalesce(g.path, '') AS finding_id
            FROM g {join}""")
    if s.has("logins", "time", "evidence_id", "finding_id", "user", "result"):
        cols = s.columns["logins"]
        parts = ["coalesce(l.result, '?')"]
        parts += ["'by ' || l.method"] if "method" in cols else []
        parts += ["'user ' || l.\"user\""]
        parts += ["'from ' || l.remote_ip || coalesce(':' || CAST(l.remote_port AS VARCHAR), '')"] \
            if {"remote_ip", "remote_port"} <= cols else []
        parts += ["'key ' || l.key_fingerprint"] if "key_fingerprint" in cols else []
        parts += ["'on ' || l.terminal"] if "terminal" in cols else []
        parts += ["'(' || l.source || ')'"] if "source" in cols else []
        inferred = "coalesce(l.time_inferred, false)" if "time_inferred" in cols else "false"
        out.append(f"""SELECT l.time, {inferred}, l.evidence_id, 'logins', 'login ' || coalesce(l.result, '?'),
                           concat_ws(' ', {', '.join(parts)}), l."user", l.finding_id
                       FROM {s.ref('logins')} l WHERE l.time IS NOT NULL""")
    if s.has("shell_history", "time", "command", "evidence_id", "finding_id", "user"):
        shell = "coalesce(h.shell, 'shell')" if "shell" in s.columns["shell_history"] else "'shell'"
        out.append(f"""SELECT h.time, false, h.evidence_id, 'shell_history', 'command',
                           {shell} || ': ' || left(h.command, 200), h."user", h.finding_id
                       FROM {s.ref('shell_history')} h WHERE h.time IS NOT NULL""")
    if s.has("package_log", "time", "action", "package", "manager"):
        out.append(f"""SELECT p.time, p.time_inferred, p.evidence_id, 'package_log', 'package ' || p.action,
                           p.manager || ' ' || p.action || ' ' || p.package || coalesce(' ' || p.version, ''),
                           NULL, p.finding_id
                       FROM {s.ref('package_log')} p WHERE p.time IS NOT NULL""")
    if s.has("scheduled_tasks", "command", "evidence_id", "path", "finding_id") and s.has("files", "mtime"):
        cols = s.columns["scheduled_tasks"]
        sched = "coalesce(c.schedule || ' ', '')" if "schedule" in cols else "''"
        src = "coalesce(c.source, 'task')" if "source" in cols else "'task'"
        owner = 'c.owner' if "owner" in cols else "NULL"
        out.append(f"""SELECT strftime(fm.mtime, {ISO}), false, c.evidence_id, 'scheduled_tasks',
                           'scheduled task (file modified)',
                           {src} || ' ' || c.path || ': ' || {sched} || left(c.command, 200), {owner}, c.finding_id
                       FROM {s.ref('scheduled_tasks')} c {_mtime_join(s, 'c')}""")
    if s.has("ssh_keys", "kind", "evidence_id", "path", "finding_id") and s.has("files", "mtime"):
        cols = s.columns["ssh_keys"]
        desc = ["k.kind"] + [f"k.{c}" for c in ("key_type", "fingerprint", "comment") if c in cols]
        user = 'k."user"' if "user" in cols else "NULL"
        out.append(f"""SELECT strftime(fm.mtime, {ISO}), false, k.evidence_id, 'ssh_keys', 'ssh key (file modified)',
                           concat_ws(' ', {', '.join(desc)}) || ' in ' || k.path, {user}, k.finding_id
                       FROM {s.ref('ssh_keys')} k {_mtime_join(s, 'k')}
                       WHERE k.kind IN ('authorized_key', 'public_key', 'private_key')""")
    if s.has("mail_log", "day", "mta", "relay", "first", "received", "sent", "deferred", "bounced"):
        out.append(f"""SELECT min(m.first), bool_or(m.time_inferred), m.evidence_id, 'mail_log', 'mail day',
                           m.mta || ' ' || m.day || ': received ' || CAST(sum(m.received) AS VARCHAR) || ', sent '
                           || CAST(sum(m.sent) AS VARCHAR) || ', deferred ' || CAST(sum(m.deferred) AS VARCHAR)
                           || ', bounced ' || CAST(sum(m.bounced) AS VARCHAR) || ' (' || coalesce(m.path, '')
                           || coalesce(' ! ' || m.member, '') || ')', NULL, min(m.finding_id)
                       FROM {s.ref('mail_log')} m WHERE m.relay IS NULL AND m.first IS NOT NULL
                       GROUP BY m.evidence_id, m.path, m.member, m.day, m.mta""")
    if s.has("cron_runs", "day", "user", "command", "first", "last", "runs"):
        out.append(f"""SELECT min(r.first), bool_or(r.time_inferred), r.evidence_id, 'cron_runs', 'cron run',
                           'cron ran ' || left(r.command, 200) || ' as ' || r."user" || ': '
                           || CAST(sum(r.runs) AS VARCHAR) || ' time(s) on ' || r.day || ' until ' || max(r.last)
                           || ' (' || coalesce(r.path, '') || coalesce(' ! ' || r.member, '') || ')',
                           r."user", min(r.finding_id)
                       FROM {s.ref('cron_runs')} r WHERE r.first IS NOT NULL
                       GROUP BY r.evidence_id, r.path, r.member, r.day, r."user", r.command""")
    if s.has("web_access", "kind", "key", "first", "last", "count", "tags"):
        out.append(f"""SELECT min(w.first), false, w.evidence_id, 'web_access', 'web ' || w.kind || ' (first hit)',
                           w.kind || ' ' || w.key || ': ' || CAST(sum(w."count") AS VARCHAR) || ' hits until '
                           || max(w.last) || ', tags ' || array_to_string(list_sort(list_distinct(flatten(list(w.tags)))),
                           ',') || ' (' || coalesce(w.path, '') || coalesce(' ! ' || w.member, '') || ')',
                           NULL, min(w.finding_id)
                       FROM {s.ref('web_access')} w WHERE len(w.tags) > 0
                       GROUP BY w.evidence_id, w.path, w.member, w.kind, w.key""")
    return out


@dataclass(frozen=True)
class Filters:
    start: str | None = None  # ISO prefix: rows at or after it
    end: str | None = None  # ISO prefix: rows up to the end of it ("2011-03-16" takes the whole day)
    evidence: str | None = None  # evidence id or its prefix
    user: str | None = None


def connect():
    """An in-memory DuckDB that never fetches an extension (no network, ever): parquet, icu
    and json are built into the pinned wheel, and nothing else is used."""
    import duckdb

    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False})
    con.execute("SET enable_progress_bar = false")  # stdout is the examiner's, not DuckDB's
    return con


def _connect(case: Path):
    con = connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = {_lit(MEMORY_LIMIT)}")
    con.execute("SET preserve_insertion_order = true")
    return con


def _spill_dir(case: Path, con) -> Path:
    spill = Path(tempfile.mkdtemp(prefix=".timeline-tmp-", dir=case))  # its own, so removing it removes nothing else
    con.execute(f"SET temp_directory = {_lit(str(spill))}")
    return spill


def timeline_sql(con, case: Path) -> str | None:
    """The timeline as one SQL query over the case's tables (None: nothing has a time)."""
    selects = _selects(_Sources(con, case))
    if not selects:
        return None
    cols = ", ".join(_ident(c.name) for c in TIMELINE)
    body = " UNION ALL ".join(f"SELECT * FROM ({sel})" for sel in selects)
    union = f"SELECT * FROM ({body}) AS u({cols})"
    s = _Sources(con, case)
    if not s.has("timezones", "evidence_id", "source", "zone"):
        return f"SELECT {cols} FROM ({union}) WHERE time IS NOT NULL"
    # Zone-less log times (time_inferred) are local times of the server: convert them with the
    # zone it was set to (ICU's tz database, offline), when that zone is a name ICU knows.
    local = f"u.time_inferred AND u.source_table IN ({', '.join(_lit(t) for t in LOCAL_TIME_TABLES)}) " \
            f"AND tz.zone IS NOT NULL"
    return f"""
        WITH tz AS (
            SELECT evidence_id, arg_min(zone, CASE source WHEN '/etc/timezone' THEN 1
                                                          WHEN '/etc/sysconfig/clock' THEN 2 ELSE 3 END) AS zone
            FROM {s.ref('timezones')}
            WHERE zone IN (SELECT name FROM pg_timezone_names())
            GROUP BY evidence_id)
        SELECT CASE WHEN {local}
                    THEN strftime(CAST(rtrim(u.time, 'Z') AS TIMESTAMP) AT TIME ZONE tz.zone, {ISO})
                    ELSE u.time END AS time,
               u.time_inferred, u.evidence_id, u.source_table, u.kind,
               CASE WHEN {local} THEN u.description || ' [local time in ' || tz.zone || ']'
                    ELSE u.description END AS description,
               u."user", u.finding_id
        FROM ({union}) u LEFT JOIN tz ON tz.evidence_id = u.evidence_id
        WHERE u.time IS NOT NULL"""


def build_timeline(case: Path) -> tuple[Path, int]:
    """Write CASE/tables/timeline/part-0.parquet from the case's tables; (path, rows)."""
    from caseformat.tables import SortedTableWriter

    case = Path(case)
    con = _connect(case)
    spill = _spill_dir(case, con)
    writer = SortedTableWriter(case, "timeline", TIMELINE, check_order=False)  # DuckDB sorted it
    try:
        sql = timeline_sql(con, case)
        if sql is not None:
            reader = con.sql(f"{sql} ORDER BY {ORDER}").to_arrow_reader(BATCH_ROWS)
            for batch in reader:
                writer.append(pa.Table.from_batches([batch]).cast(TIMELINE))
        return writer.close(), writer.rows
    except BaseException:
        writer.abort()
        raise
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def query_timeline(case: Path, filters: Filters) -> Iterator[pa.RecordBatch]:
    """The filtered timeline in order, as Arrow batches: the written table when the report
    made one, else computed from the tables on the fly (nothing is written to the case; DuckDB
    spills, if it must, to a temporary folder removed afterwards)."""
    case = Path(case)
    con = _connect(case)
    spill = tempfile.mkdtemp(prefix="seized-timeline-")
    try:
        con.execute(f"SET temp_directory = {_lit(spill)}")
        written = _table(case, "timeline")
        if written:
            base = f"SELECT * FROM read_parquet({_lit(written)})"
        else:
            base = timeline_sql(con, case)
            if base is None:
                base = "SELECT " + ", ".join(f"CAST(NULL AS {'BOOLEAN' if c.name == 'time_inferred' else 'VARCHAR'}) "
                                             f"AS {_ident(c.name)}" for c in TIMELINE) + " WHERE false"
        where = []
        if filters.start:
            where.append(f"time >= {_lit(filters.start)}")
        if filters.end:
            where.append(f"time <= {_lit(filters.end + '~')}")  # '~' sorts after every ISO character
        if filters.evidence:
            where.append(f"starts_with(evidence_id, {_lit(filters.evidence)})")
        if filters.user:
            where.append(f"\"user\" = {_lit(filters.user)}")
        sql = f"SELECT * FROM ({base})" + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {ORDER}"
        for batch in con.sql(sql).to_arrow_reader(BATCH_ROWS):
            yield batch
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
