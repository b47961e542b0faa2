"""What the app itself records beside the transcripts: hook events, plan-quota samples, API keys, insights,
budgets and their alerts, session notes and tags, and linked git commits."""

from __future__ import annotations

from peewee import AutoField, BigIntegerField, BooleanField, CompositeKey, FloatField, IntegerField, TextField

from store.models.base import BaseModel


class HookEvent(BaseModel):
    """A Claude Code hook payload as received (HTTP hook or the ``devhelion hook`` relay), kept verbatim in ``raw``.

    ``event_name`` is Claude Code's ``hook_event_name``, whatever it is: new events need no schema change.
    """

    id = AutoField()
    received_ms = BigIntegerField(index=True)
    session_id = TextField(null=True, index=True)
    event_name = TextField(index=True)
    tool_name = TextField(null=True)
    cwd = TextField(null=True)
    transcript_path = TextField(null=True)
    raw = TextField()  # the payload as JSON text


class QuotaSample(BaseModel):
    """Plan quota seen by the statusline relay: one rate-limit window (``five_hour`` | ``seven_day``) at one time.

    The statusline JSON is the only credential-free source of the real quota, so every change is kept as history.
    """

    id = AutoField()
    ts_ms = BigIntegerField()
    session_id = TextField(null=True)
    window = TextField()
    used_percentage = FloatField(null=True)
    resets_at_ms = BigIntegerField(null=True)
    total_cost_usd = TextField(null=True)  # the session's cost as Claude Code reported it, as written
    model = TextField(null=True)

    class Meta:
        indexes = ((("window", "ts_ms"), False),)


class ApiKey(BaseModel):
    """A key of the data API: only its SHA-256 is stored (the full key is shown once, at creation).

    ``sk_live_`` keys (mode ``live``) read the archive, ``sk_test_`` keys (mode ``test``) the built-in demo
    archive. The local key (``$DEVHELION_HOME/api-key``) is a live key with ``is_local`` set and no expiry.
    """

    id = AutoField()
    public_id = TextField(unique=True)  # key_<hex>: a stable handle that is not the secret
    name = TextField()
    mode = TextField()  # live | test
    key_hash = TextField(unique=True)  # sha256 hex of the full key
    prefix = TextField()  # the key's first characters, for lists and `keys revoke PREFIX`
    created_ms = BigIntegerField()
    expires_ms = BigIntegerField(null=True)  # None: never (the local key)
    last_used_ms = BigIntegerField(null=True)
    revoked_ms = BigIntegerField(null=True)
    is_local = BooleanField(default=False)


class Insight(BaseModel):
    """A finding of the local insights engine; its id is derived from (rule, subject, period), so each rule
    creates at most one insight per subject and period, whatever the number of runs."""

    id = TextField(primary_key=True)  # ins_<hex>
    rule = TextField()
    subject = TextField()
    period = TextField()
    title = TextField()
    description = TextField()
    value = TextField()
    type = TextField()  # trend | anomaly | tip
    category = TextField()  # cost | performance | quality | usage
    created_ms = BigIntegerField(index=True)
    read_ms = BigIntegerField(null=True)
    data = TextField(null=True)  # the numbers behind the text, as JSON


class Budget(BaseModel):
    """A spending limit over a local day, week or month, optionally scoped to a project and a model.

    ``amount`` is a decimal string (money stays exact); ``warning_threshold`` is the fraction of it that warns.
    """

    id = AutoField()
    name = TextField()
    amount = TextField()
    period = TextField()  # daily | weekly | monthly
    warning_threshold = FloatField(default=0.8)
    project = TextField(null=True)  # full path or last path component, as the reports' --project
    model = TextField(null=True)  # model id, or a part of it ("opus")
    warn_on_forecast = BooleanField(default=False)
    muted = BooleanField(default=False)
    created_ms = BigIntegerField()
    updated_ms = BigIntegerField()


class BudgetAlert(BaseModel):
    """One level (forecast | warning | exceeded) a budget reached in one period, and what its notification did.

    Kept in the archive so a restart never notifies twice; ``outcome`` says whether the notification was sent,
    deferred (quiet hours, no notification service yet) or deliberately not sent (muted, disabled, superseded).
    """

    id = AutoField()
    budget_id = IntegerField()
    period_key = TextField()  # "<period>:<first local date>"
    level = TextField()
    first_ms = BigIntegerField()
    notified_ms = BigIntegerField(null=True)
    outcome = TextField(default="pending")
    attempts = IntegerField(default=0)

    class Meta:
        indexes = ((("budget_id", "period_key", "level"), True),)


class SessionNote(BaseModel):
    """The user's own note on a session. Ingest, sync reset and retention never touch it (nor ``SessionTag``):
    it is kept even while its session is absent, and shows again when the session is re-read."""

    session_id = TextField(primary_key=True)
    notes = TextField()
    updated_ms = BigIntegerField()


class SessionTag(BaseModel):
    """A tag the user put on a session (lower case, trimmed); the user's own data like ``SessionNote``."""

    session_id = TextField()
    tag = TextField(index=True)
    created_ms = BigIntegerField()

    class Meta:
        primary_key = CompositeKey("session_id", "tag")


class GitLink(BaseModel):
    """Outcome of the last git look-up for a session: ``linked``, ``no_cwd``, ``no_repo``, ``no_git`` or ``error``
    (an absent repository or git is a recorded outcome, not a failure)."""

    session_id = TextField(primary_key=True)
    status = TextField()
    repo_root = TextField(null=True)
    branch = TextField(null=True)  # the branch searched; None: every ref (unknown or detached branch)
    detail = TextField(null=True)
    synced_ms = BigIntegerField()


class GitCommit(BaseModel):
    """A commit made in a session's repository during the session, on its branch (found by ``git log``)."""

    session_id = TextField()
    sha = TextField()
    repo_root = TextField()
    author_name = TextField(null=True)
    author_email = TextField(null=True)
    committed_ms = BigIntegerField()  # committer date: when the commit was made in this repository
    authored_ms = BigIntegerField(null=True)
    subject = TextField()
    body = TextField(null=True)
    files_changed = IntegerField(default=0)
    insertions = IntegerField(default=0)
    deletions = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("session_id", "sha")
