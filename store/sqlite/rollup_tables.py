"""How a trigger-kept rollup table is described and maintained (:class:`RollupTable`), with the day numbers,
keys and constants every day rollup and its readers share."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date

# The dashboard answers any range within milliseconds, so its figures come from aggregates per local day of one
# time zone (the "rollup zone", recorded in schema_meta), kept exact by triggers like ``usage_rollup``. A row's
# local day is looked up in ``zone_day`` (one row per local midnight), so the triggers stay the same when the
# zone changes: only that table and the day-keyed rollups are rebuilt. Text keys store NULL as the blob x'00'
# (a key cannot be NULL, and no text equals a blob). Rollups by project also count every row under project -1,
# "all projects", so unfiltered queries read one row per day and key.
ZONE_FIRST_DAY = date(2024, 1, 1)  # local days outside [first, end) fall into the EARLY / LATE buckets
ZONE_END_DAY = date(2064, 1, 1)
DAY_NO_PREV, DAY_UNDATED, DAY_EARLY, DAY_LATE = -3, -2, -1, 99_999
ALL_PROJECTS = -1
NULL_KEY = "x'00'"
KIND_REQUESTS, KIND_MODEL, KIND_TOOL, KIND_SKILL, KIND_MCP, KIND_PATTERN = 1, 2, 3, 4, 5, 6  # session_key_day.kind


def day_of(ts: str) -> str:
    """SQL: the rollup zone's local day number of an epoch-ms expression (UNDATED for NULL, EARLY/LATE outside
    the covered days)."""
    return (f"(CASE WHEN {ts} IS NULL THEN {DAY_UNDATED} ELSE coalesce((SELECT z.day FROM zone_day z "
            f"WHERE z.start_ms <= {ts} ORDER BY z.start_ms DESC LIMIT 1), {DAY_EARLY}) END)")


def nullable(expr: str) -> str:
    """A nullable text key as stored (NULL becomes x'00')."""
    return f"ifnull({expr}, {NULL_KEY})"


SESSION_PROJECT = "coalesce((SELECT project_id FROM session WHERE session_id = {r}.session_id), 0)"


@dataclass(frozen=True)
class Presum:
    """For rebuilds of a big source: its rows already summed per session and 15-minute slot (``source``, a SELECT
    whose columns ``keys`` and ``sums`` read as ``{r}``). A slot lies within one local day of any zone whose days
    start on slots, so grouping those few rows per day gives the same table, several times faster."""

    source: str
    keys: tuple[str, ...]
    sums: dict[str, str]


@dataclass(frozen=True)
class Rollup:
    """How one source table feeds a rollup table; triggers keep the table equal to a GROUP BY over the source.

    Expressions read a source row as ``{r}``. ``key_columns`` are the source columns the keys and ``where`` read
    (a change moves the row between keys), ``sum_columns`` those only the sums read (a change adds the
    difference). ``follow_sessions``: the project is the session's, so a session's rows move when it changes.
    """

    name: str
    source: str
    keys: tuple[str, ...]  # one expression per key column of the table (after project_id)
    sums: dict[str, str]  # column -> expression summed; table columns not named here get 0
    key_columns: tuple[str, ...]
    sum_columns: tuple[str, ...] = ()
    where: str = "1"
    follow_sessions: bool = False
    maxes: dict[str, str] = field(default_factory=dict)
    presum: Presum | None = None


@dataclass(frozen=True)
class RollupTable:
    """A rollup table: key columns (``project_id`` first when ``project`` says how a row finds its project),
    summed and max columns, and the rollups (one per source) that feed it."""

    table: str
    keys: tuple[str, ...]
    sums: tuple[str, ...]
    feeds: tuple[Rollup, ...]
    project: str | None = None
    all_projects: bool = True
    maxes: tuple[str, ...] = ()

    @property
    def key_names(self) -> tuple[str, ...]:
        return (("project_id",) if self.project else ()) + self.keys

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key_names, *self.sums, *self.maxes)

    @property
    def empty(self) -> str:
        return " AND ".join(f"{c} = 0" for c in self.sums)

    def upsert(self, select: str, adding: bool) -> str:
        sets = [f"{c} = {c} + excluded.{c}" for c in self.sums]
        if adding:
            sets += [f"{m} = CASE WHEN {m} IS NULL OR excluded.{m} > {m} THEN excluded.{m} ELSE {m} END"
                     for m in self.maxes]
        return (f"INSERT INTO {self.table} ({', '.join(self.columns)}) {select} "
                f"ON CONFLICT ({', '.join(self.key_names)}) DO UPDATE SET {', '.join(sets)};")

    def _projects(self, r: str) -> str:
        union = f" UNION ALL SELECT {ALL_PROJECTS}" if self.all_projects else ""
        return f" FROM (SELECT {self.project.format(r=r)} AS pid{union}) q"

    def _values(self, feed: Rollup, r: str, sign: str, maxes: bool) -> str:
        keys = [k.format(r=r) for k in feed.keys]
        sums = [f"{sign}({feed.sums[c].format(r=r)})" if c in feed.sums else "0" for c in self.sums]
        top = [feed.maxes[m].format(r=r) if maxes and m in feed.maxes else "NULL" for m in self.maxes]
        return ", ".join((["q.pid"] if self.project else []) + keys + sums + top)

    def change(self, feed: Rollup, r: str, sign: str) -> str:
        """Add (``+``) or remove (``-``) one source row ``r`` (NEW or OLD)."""
        source = self._projects(r) if self.project else ""
        select = f"SELECT {self._values(feed, r, sign, sign == '+')}{source} WHERE {feed.where.format(r=r)}"
        return self.upsert(select, sign == "+")

    def delta(self, feed: Rollup) -> str:
        """Add NEW minus OLD (no key column changed)."""
        keys = [k.format(r="NEW") for k in feed.keys]
        sums = [f"({feed.sums[c].format(r='NEW')}) - ({feed.sums[c].format(r='OLD')})" if c in feed.sums else "0"
                for c in self.sums]
        values = ", ".join((["q.pid"] if self.project else []) + keys + sums + ["NULL"] * len(self.maxes))
        source = self._projects("NEW") if self.project else ""
        return self.upsert(f"SELECT {values}{source} WHERE {feed.where.format(r='NEW')}", False)

    def _match(self, feed: Rollup, r: str) -> str:
        match = [f"{k} = {e.format(r=r)}" for k, e in zip(self.keys, feed.keys, strict=True)]
        if self.project:
            ids = self.project.format(r=r) + (f", {ALL_PROJECTS}" if self.all_projects else "")
            match.insert(0, f"project_id IN ({ids})")
        return " AND ".join(match)

    def drop_empty(self, feed: Rollup, r: str) -> str:
        return f"DELETE FROM {self.table} WHERE {self._match(feed, r)} AND {self.empty};"

    def _largest(self, feed: Rollup, column: str) -> str:
        """The largest value of a max column over the source rows of the rollup row being updated."""
        match = [f"{e.format(r='t')} = {self.table}.{k}" for k, e in zip(self.keys, feed.keys, strict=True)]
        if self.project:
            match.append(f"({self.project.format(r='t')} = {self.table}.project_id OR {self.table}.project_id = "
                         f"{ALL_PROJECTS})")
        return (f"(SELECT max({feed.maxes[column].format(r='t')}) FROM {feed.source} t "
                f"WHERE {feed.where.format(r='t')} AND {' AND '.join(match)})")

    def refresh_maxes(self, feed: Rollup, r: str) -> str:
        """Recompute the maxes the removed row ``r`` may have held."""
        return "".join(f"UPDATE {self.table} SET {m} = {self._largest(feed, m)} WHERE {self._match(feed, r)} "
                       f"AND {m} = {e.format(r=r)};" for m, e in feed.maxes.items())

    def grouped(self, feed: Rollup, project: str | None, sid: str | None = None, sign: str = "+",
                slotted: bool = False) -> str:
        """SELECT of the source rows (one session's, with ``sid``) summed per key under ``project``; ``slotted``
        reads the feed's :class:`Presum` instead (the zone's days start on slots)."""
        presum = feed.presum if slotted and sid is None else None
        key_exprs, sum_exprs = (presum.keys, presum.sums) if presum else (feed.keys, feed.sums)
        keys = [k.format(r="r") for k in key_exprs]
        sums = [f"{sign}sum({sum_exprs[c].format(r='r')})" if c in sum_exprs else "0" for c in self.sums]
        top = [f"max({feed.maxes[m].format(r='r')})" if sign == "+" and m in feed.maxes else "NULL"
               for m in self.maxes]
        values = ([project] if project else []) + keys + sums + top
        values = [f"{v} AS {c}" for v, c in zip(values, self.columns, strict=True)]
        only = f" AND r.session_id = {sid}" if sid else ""
        source = f"({presum.source}) r WHERE 1" if presum else f"{feed.source} r WHERE {feed.where.format(r='r')}"
        width = len(self.key_names)
        return f"SELECT {', '.join(values)} FROM {source}{only} GROUP BY {', '.join(str(i + 1) for i in range(width))}"

    def move(self, feed: Rollup, sid: str, old: str, new: str) -> str:
        """Move one session's rows from project ``old`` to ``new`` (the all-projects rows stay)."""
        keys = ", ".join(k.format(r="r") for k in feed.keys)
        refresh = "".join(
            f"UPDATE {self.table} SET {m} = {self._largest(feed, m)} WHERE project_id = {old} AND "
            f"({', '.join(self.keys)}) IN (SELECT {keys} FROM {feed.source} r WHERE r.session_id = {sid} AND "
            f"{feed.where.format(r='r')});" for m in feed.maxes)
        only = f" AND session_id = {sid}" if "session_id" in self.keys else ""  # not a scan of the old project
        return (f"{self.upsert(self.grouped(feed, old, sid, '-'), False)} "
                f"{self.upsert(self.grouped(feed, new, sid), True)} "
                f"DELETE FROM {self.table} WHERE project_id = {old}{only} AND {self.empty} AND EXISTS "
                f"(SELECT 1 FROM {feed.source} WHERE session_id = {sid});{refresh}")

    def triggers(self) -> list[str]:
        result = []
        for feed in self.feeds:
            t, s = f"dr_{feed.name}", feed.source
            new, old = feed.where.format(r="NEW"), feed.where.format(r="OLD")
            changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in feed.key_columns)
            result += [
                f"CREATE TRIGGER IF NOT EXISTS {t}_ins AFTER INSERT ON {s} WHEN {new} BEGIN "
                f"{self.change(feed, 'NEW', '+')} END",
                f"CREATE TRIGGER IF NOT EXISTS {t}_del AFTER DELETE ON {s} WHEN {old} BEGIN "
                f"{self.change(feed, 'OLD', '-')} {self.drop_empty(feed, 'OLD')} {self.refresh_maxes(feed, 'OLD')} "
                "END",
                f"CREATE TRIGGER IF NOT EXISTS {t}_key AFTER UPDATE ON {s} WHEN {changed} BEGIN "
                f"{self.change(feed, 'OLD', '-')} {self.change(feed, 'NEW', '+')} {self.drop_empty(feed, 'OLD')} "
                f"{self.refresh_maxes(feed, 'OLD')} END",
            ]
            if feed.sum_columns:
                same = " AND ".join(f"OLD.{c} IS NEW.{c}" for c in feed.key_columns)
                moved = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in feed.sum_columns)
                result.append(f"CREATE TRIGGER IF NOT EXISTS {t}_sum AFTER UPDATE ON {s} WHEN {same} AND "
                              f"({moved}) AND {new} BEGIN {self.delta(feed)} END")
            if feed.follow_sessions:
                relinked = self.move(feed, "NEW.session_id", "coalesce(OLD.project_id, 0)",
                                     "coalesce(NEW.project_id, 0)")
                result += [
                    f"CREATE TRIGGER IF NOT EXISTS {t}_sp AFTER UPDATE OF project_id ON session WHEN "
                    f"OLD.project_id IS NOT NEW.project_id BEGIN {relinked} END",
                    f"CREATE TRIGGER IF NOT EXISTS {t}_si AFTER INSERT ON session WHEN NEW.project_id IS NOT NULL "
                    f"BEGIN {self.move(feed, 'NEW.session_id', '0', 'NEW.project_id')} END",
                    f"CREATE TRIGGER IF NOT EXISTS {t}_sd AFTER DELETE ON session WHEN OLD.project_id IS NOT NULL "
                    f"BEGIN {self.move(feed, 'OLD.session_id', 'OLD.project_id', '0')} END",
                ]
        return result

    def expected(self, slotted: bool = False) -> str:
        """SELECT of the rows a rebuild makes (every column, in order)."""
        project = self.project.format(r="r") if self.project else None
        parts = " UNION ALL ".join(self.grouped(feed, project, slotted=slotted) for feed in self.feeds)
        width = len(self.key_names)
        merged = ", ".join([*self.key_names, *(f"sum({c}) AS {c}" for c in self.sums),
                            *(f"max({m}) AS {m}" for m in self.maxes)])
        rows = f"SELECT {merged} FROM ({parts}) GROUP BY {', '.join(str(i + 1) for i in range(width))}"
        if not (self.project and self.all_projects):
            return rows
        every = ", ".join([str(ALL_PROJECTS), *self.keys, *(f"sum({c})" for c in self.sums),
                           *(f"max({m})" for m in self.maxes)])
        return (f"WITH rows AS ({rows}) SELECT * FROM rows UNION ALL SELECT {every} FROM rows "
                f"GROUP BY {', '.join(str(i + 2) for i in range(len(self.keys)))}")

    def rebuild(self, conn: sqlite3.Connection, slotted: bool = False) -> None:
        conn.execute(f"DELETE FROM {self.table}")
        conn.execute(f"INSERT INTO {self.table} ({', '.join(self.columns)}) {self.expected(slotted)}")

    def differences(self, conn: sqlite3.Connection) -> list[tuple]:
        """Rows where the table and a rebuild disagree (empty when consistent)."""
        table = f"SELECT {', '.join(self.columns)} FROM {self.table} WHERE NOT ({self.empty})"
        expected = self.expected()
        return conn.execute(f"WITH e AS ({expected}) SELECT * FROM ({table} EXCEPT SELECT * FROM e) "
                            f"UNION ALL SELECT * FROM (SELECT * FROM e EXCEPT {table})").fetchall()
