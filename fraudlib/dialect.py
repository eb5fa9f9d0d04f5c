"""Trino (Athena) SQL -> DuckDB SQL. Every known dialect gap is handled here, and only here.

Rules are written once in Trino SQL. sqlglot transpiles most of it; the gaps it leaves are
fixed by the transforms below, each pinned by a test in tests/test_dialect.py.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

READ = "trino"


def parse(trino_sql: str) -> exp.Expression:
    """Parse Trino SQL (one statement)."""
    return sqlglot.parse_one(trino_sql, read=READ)


def _whole_units_date_diff(node: exp.Expression) -> exp.Expression:
    # Trino's date_diff counts whole elapsed units (23:00 -> 01:00 next day is 0 days);
    # DuckDB's date_diff counts calendar boundaries crossed (1 day). DuckDB's date_sub has
    # Trino's semantics, so rewrite to it.
    if isinstance(node, exp.DateDiff):
        unit = node.args.get("unit")
        unit_text = unit.name if unit is not None else "day"
        return exp.Anonymous(
            this="date_sub",
            expressions=[exp.Literal.string(unit_text.lower()), node.expression, node.this],
        )
    return node


def to_duckdb(trino_sql: str | exp.Expression) -> str:
    """Translate a Trino statement to DuckDB, fixing the gaps sqlglot leaves."""
    tree = parse(trino_sql) if isinstance(trino_sql, str) else trino_sql.copy()
    tree = tree.transform(_whole_units_date_diff)
    return tree.sql(dialect="duckdb")


def to_trino(tree: exp.Expression, *, pretty: bool = True) -> str:
    """Render an expression tree as Trino SQL (what Athena runs and a reviewer reads)."""
    return tree.sql(dialect=READ, pretty=pretty)
