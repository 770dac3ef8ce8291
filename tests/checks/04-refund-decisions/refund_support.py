"""Helpers of kata 04's checks: building the learner's refund desk, placing orders, reading decisions.

Everything here observes behaviour only: the desk's public constructor, `request_refund`, `review_queue`,
the refund requests it returns and stores, and the rows of the `refund_audit` table read through a new
SQLite connection (so only what was committed counts).
"""

from __future__ import annotations

import inspect
import sqlite3
from pathlib import Path
from typing import Any

from kata.checks import expect, open_database
from kata.checks import plain as plain_value

EMAIL = "customer@example.com"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_PROMPT_VERSION = "refunds-v1"
SCHEMA_FIELDS = ("confidence", "rationale", "recommendation")  # sorted, as SentRequest.schema_fields lists them
AUDIT_COLUMNS = (
    "refund_id", "decision", "model", "prompt_version", "recommendation", "confidence", "rationale", "override_rule",
)
STATUS_OF = {"approve": "approved", "deny": "denied", "escalate": "in_review"}
CONFIDENCE_TOLERANCE = 1e-9
MAX_TIMEOUT = 60.0  # seconds: the longest read time-out the brief allows (the SDK's default is 600 s)
SDK_DEFAULT_TIMEOUT = 600.0


def plain(value: Any) -> Any:
    """A status, decision or rule as a plain value, whether the learner uses an Enum member or a string."""
    return plain_value(value)


# --------------------------------------------------------------------------- building the desk


def repository(learner: Any, db_path: Path) -> Any:
    """The learner's ShopRepository on `db_path`."""
    return learner.load("shop.repository").ShopRepository(db_path)


def make_desk(learner: Any, repo: Any, client: Any, **fields: Any) -> Any:
    """RefundDesk(repo, settings=Settings(db_path=..., **fields), client=client), failing clearly when the
    brief's signatures are missing (as in the starter)."""
    settings_cls = learner.load("shop.config").Settings
    desk_cls = learner.load("shop.service").RefundDesk
    shown = "".join(f", {name}={value!r}" for name, value in fields.items())
    try:
        inspect.signature(settings_cls).bind(db_path=repo.db_path, **fields)
    except TypeError as err:
        expect(
            False,
            observed=f"Settings(db_path=...{shown}) is refused ({err})",
            expected="Settings has the fields model ('gpt-4o-mini'), prompt_version ('refunds-v1') and "
            "confidence_threshold (0.7), next to auto_approve_limit (50.0)",
            hint="Add the three fields, with these defaults, to the Settings dataclass in shop/config.py.",
        )
    settings = settings_cls(db_path=repo.db_path, **fields)
    try:
        inspect.signature(desk_cls).bind(repo, settings=settings, client=client)
    except TypeError as err:
        expect(
            False,
            observed=f"RefundDesk(repo, settings=..., client=...) is refused ({err})",
            expected="RefundDesk(repo, settings=None, client=None), client being an openai.OpenAI",
            hint="Add a `client` parameter (default None) to RefundDesk and keep it for the model calls.",
        )
    return desk_cls(repo, settings=settings, client=client)


def add_order(learner: Any, repo: Any, total: float, *, fraud_flag: bool = False) -> int:
    """Store an order the way the checkout does and return its id."""
    order_cls = learner.load("shop.models").Order
    order = repo.add_order(order_cls(id=None, customer_email=EMAIL, total=total, fraud_flag=fraud_flag))
    return order.id


def request(learner: Any, desk: Any, amount: float, reason: str, *, total: float | None = None,
            fraud_flag: bool = False) -> Any:
    """A refund request on an order of its own (so earlier refunds never limit what is left to refund)."""
    order_id = add_order(learner, desk.repo, total if total is not None else max(100.0, amount), fraud_flag=fraud_flag)
    refund = desk.request_refund(order_id, amount, reason)
    expect(
        refund is not None and getattr(refund, "id", None) is not None,
        observed=f"request_refund(...) returned {refund!r}",
        expected="the stored refund request, with its id and ref",
        hint="Return the RefundRequest from request_refund(), as the legacy desk does.",
    )
    return refund


# --------------------------------------------------------------------------- reading what was decided


def status(refund: Any) -> Any:
    """The refund request's status as a plain value."""
    return plain(getattr(refund, "status", None))


def stored_status(learner: Any, db_path: Path, refund_id: int) -> Any:
    """The status stored for a refund, read through a new repository (a new connection)."""
    stored = repository(learner, db_path).get_refund(refund_id)
    expect(
        stored is not None,
        observed=f"after reopening the database, there is no refund request with id {refund_id}",
        expected="the refund request is stored and committed",
        hint="Commit the refund request to the database.",
    )
    return plain(stored.status)


def queue_refs(desk: Any) -> list[str]:
    """The refs of the requests in the desk's review queue, in its order."""
    return [refund.ref for refund in desk.review_queue()]


def audit_rows(db_path: Path, refund_id: int) -> list[dict[str, Any]]:
    """The refund_audit rows of one refund, oldest first, read through a new SQLite connection."""
    conn = open_database(db_path)
    try:
        present = {row["name"] for row in conn.execute("PRAGMA table_info(refund_audit)")}
        missing = [column for column in AUDIT_COLUMNS if column not in present]
        expect(
            not missing,
            observed="the refund_audit table has no column " + ", ".join(missing)
            if present
            else "there is no refund_audit table in the database",
            expected="refund_audit has the columns " + ", ".join(AUDIT_COLUMNS),
            hint="Add the new columns to the CREATE TABLE of refund_audit (nullable: agents' rows have no model).",
        )
        rows = conn.execute("SELECT * FROM refund_audit WHERE refund_id = ? ORDER BY id", (refund_id,)).fetchall()
        return [dict(row) for row in rows]
    finally:
        conn.close()


def all_audit_rows(db_path: Path) -> list[dict[str, Any]]:
    """Every row of refund_audit, oldest first (after audit_rows has checked the table)."""
    conn = open_database(db_path)
    try:
        return [dict(row) for row in conn.execute("SELECT * FROM refund_audit ORDER BY id")]
    finally:
        conn.close()


def only_row(db_path: Path, refund: Any, *, hint: str = "") -> dict[str, Any]:
    """The one audit row of a refund decided by request_refund(); fails unless there is exactly one."""
    rows = audit_rows(db_path, refund.id)
    expect(
        len(rows) == 1,
        observed=f"{len(rows)} refund_audit rows for {refund.ref} after one request_refund()"
        + (": " + "; ".join(show_row(row) for row in rows) if rows else ""),
        expected="exactly one row per decision, written once the business rules have decided",
        hint=hint
        or "Write the audit row once, with the final decision and the model's recommendation in the same "
        "row; commit it.",
    )
    return rows[0]


def last_row(db_path: Path, refund: Any) -> dict[str, Any]:
    """The latest audit row of a refund (checks about the decision itself do not count rows)."""
    rows = audit_rows(db_path, refund.id)
    expect(
        bool(rows),
        observed=f"no refund_audit row for {refund.ref}",
        expected="one row recording the decision",
        hint="Every decision writes one row to refund_audit, committed.",
    )
    return rows[-1]


def show_row(row: dict[str, Any]) -> str:
    """An audit row for messages (no prompt; the rationale shortened)."""
    rationale = row.get("rationale")
    if isinstance(rationale, str) and len(rationale) > 40:
        rationale = rationale[:37] + "..."
    return (
        f"decision={row.get('decision')!r}, recommendation={row.get('recommendation')!r}, "
        f"confidence={row.get('confidence')!r}, override_rule={row.get('override_rule')!r}, "
        f"model={row.get('model')!r}, prompt_version={row.get('prompt_version')!r}, rationale={rationale!r}"
    )


def same_confidence(stored: Any, expected: float) -> bool:
    """A stored confidence equals the model's (a number, not text)."""
    return isinstance(stored, int | float) and abs(float(stored) - expected) < CONFIDENCE_TOLERANCE


def expect_outcome(refund: Any, row: dict[str, Any], *, decision: str, recommendation: str | None,
                   override_rule: str | None, situation: str, hint: str) -> None:
    """The refund's status and its audit row say `decision`, `recommendation` and `override_rule`."""
    observed = (f"{refund.ref} ({situation}) came back with status {status(refund)!r}; its audit row has "
                + show_row(row))
    expect(
        status(refund) == STATUS_OF[decision]
        and row.get("decision") == decision
        and row.get("recommendation") == recommendation
        and row.get("override_rule") == override_rule,
        observed=observed,
        expected=f"status {STATUS_OF[decision]!r}; audit row decision={decision!r}, "
        f"recommendation={recommendation!r}, override_rule={override_rule!r}",
        hint=hint,
    )


# --------------------------------------------------------------------------- a database of the legacy release

# The starter's schema, exactly as shop/repository.py of release 4.8 creates it: a database made by that
# release has these tables and nothing more.
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_email TEXT NOT NULL,
    total          REAL NOT NULL,
    fraud_flag     INTEGER NOT NULL DEFAULT 0,
    placed_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refund_requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    amount     REAL NOT NULL,
    reason     TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refund_audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    refund_id  INTEGER NOT NULL REFERENCES refund_requests (id),
    decision   TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
"""
LEGACY_ORDERS = [
    (1, "anna@example.com", 80.0, 0, "2025-03-03T09:12:00+01:00"),
    (2, "ben@example.com", 120.0, 0, "2025-03-04T17:40:00+01:00"),
]
# RF-1001 approved by the rules; RF-1002 above the limit, waiting for an agent.
LEGACY_REFUNDS = [
    (1, 1, 20.0, "The strap broke after a week.", "approved", "2025-03-05T10:00:00+01:00"),
    (2, 2, 95.0, "The parcel never arrived.", "in_review", "2025-03-06T11:30:00+01:00"),
]
LEGACY_AUDIT = [
    (1, 1, "approve", "rules", "2025-03-05T10:00:01+01:00"),
    (2, 2, "escalate", "rules", "2025-03-06T11:30:01+01:00"),
]


def build_legacy_database(path: Path) -> None:
    """Write a shop database as release 4.8 left it: its schema and a few decided refunds.

    The grader writes this file itself, before any learner code runs; afterwards it reads the file only
    through the learner's repository and `open_database` (a private copy)."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(LEGACY_SCHEMA)
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", LEGACY_ORDERS)
        conn.executemany("INSERT INTO refund_requests VALUES (?, ?, ?, ?, ?, ?)", LEGACY_REFUNDS)
        conn.executemany("INSERT INTO refund_audit VALUES (?, ?, ?, ?, ?)", LEGACY_AUDIT)
        conn.commit()
    finally:
        conn.close()


# --------------------------------------------------------------------------- time-outs


def timeout_ok(timeout: Any) -> bool:
    """A read time-out the brief allows: a positive number of at most MAX_TIMEOUT seconds."""
    return isinstance(timeout, int | float) and 0 < timeout <= MAX_TIMEOUT


def show_timeout(timeout: Any) -> str:
    """How a request's read time-out reads in a message."""
    if timeout is None:
        return "with no read time-out at all"
    if isinstance(timeout, int | float) and timeout == SDK_DEFAULT_TIMEOUT:
        return f"with a {timeout:g} s time-out (the SDK's default)"
    return f"with a {timeout:g} s time-out" if isinstance(timeout, int | float) else f"with time-out {timeout!r}"
