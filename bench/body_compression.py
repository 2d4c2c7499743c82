"""What a delivery's INSERT costs the PostgreSQL server, by the body column's compression method.

    .venv/bin/python bench/body_compression.py [--rows 3000] [--rounds 2] [--url postgresql://...]

The intake writes every delivery with its body (`deliveries.body`), the same statement as
`store/repositories.py` `DeliveryWriter` (`INSERT … ON CONFLICT DO NOTHING RETURNING id`, one row, in
autocommit). A real Jira body (9.3 KB) is over PostgreSQL's TOAST threshold, so the server compresses it
before the row is written. Each round creates the table afresh with `pglz` (PostgreSQL's default) and
then with `lz4` (migration 0012), inserts `--rows` deliveries with fresh ids on one connection, and prints
the server process's CPU per insert (`/proc/<pg_backend_pid()>/stat`, so the server must run on this
host) and the stored size of a body (`pg_column_size`). Works in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
BODY = (ROOT / "tests/fixtures/jira/webhooks/webhook-issue-updated-resolved.json").read_text()
METHODS = ("pglz", "lz4")


def backend_cpu(pid: int) -> float:
    """User + system CPU seconds of one server process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_round(connection: psycopg.Connection, schema: str, method: str, rows: int) -> tuple[float, float]:
    """(server CPU µs per insert, mean stored bytes of a body) for one table compressed with `method`."""
    table = sql.Identifier(schema, "deliveries")
    connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
    connection.execute(
        sql.SQL(
            "CREATE TABLE {} (id bigserial PRIMARY KEY, source varchar(16) NOT NULL,"
            " delivery_id varchar(128) NOT NULL, received_at timestamptz NOT NULL DEFAULT now(), body text,"
            " UNIQUE (source, delivery_id))"
        ).format(table)
    )
    connection.execute(
        sql.SQL("ALTER TABLE {} ALTER COLUMN body SET COMPRESSION {}").format(table, sql.SQL(method))
    )
    insert = sql.SQL(
        "INSERT INTO {} (source, delivery_id, body) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING id"
    ).format(table)
    pid = connection.info.backend_pid
    start = backend_cpu(pid)
    for _ in range(rows):
        connection.execute(insert, ("jira", uuid.uuid4().hex, BODY))
    used = backend_cpu(pid) - start
    stored = connection.execute(sql.SQL("SELECT avg(pg_column_size(body)) FROM {}").format(table)).fetchone()
    return used / rows * 1e6, float(stored[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rows", type=int, default=3000, help="inserts per table")
    parser.add_argument("--rounds", type=int, default=2, help="pglz then lz4, this many times")
    args = parser.parse_args()
    schema = f"bench_{secrets.token_hex(4)}_compression"
    results: dict[str, list[float]] = {method: [] for method in METHODS}
    sizes: dict[str, float] = {}
    with psycopg.connect(args.url, autocommit=True) as connection:
        allowed = connection.execute(
            "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
        ).fetchone()[0]
        if "lz4" not in allowed:
            raise SystemExit(f"this PostgreSQL server was built without LZ4 (compression methods: {allowed})")
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            print(f"{len(BODY):,} byte body, {args.rows:,} inserts per table, {os.cpu_count()} CPUs")
            for round_ in range(1, args.rounds + 1):
                for method in METHODS:
                    cpu_us, sizes[method] = one_round(connection, schema, method, args.rows)
                    results[method].append(cpu_us)
                    print(
                        f"  round {round_} {method:<4}: {cpu_us:6.0f} us server CPU / insert,"
                        f" {sizes[method]:,.0f} bytes stored"
                    )
        finally:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    base = statistics.median(results["pglz"])
    for method in METHODS:
        figure = statistics.median(results[method])
        print(
            f"{method:<4}: median {figure:.0f} us server CPU / insert ({figure / base:.2f}x pglz),"
            f" {sizes[method]:,.0f} bytes a body"
        )


if __name__ == "__main__":
    main()
