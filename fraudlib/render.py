"""Turn a rule's SQL text and typed parameter values into one Trino statement.

Parameters are `:name` placeholders in the SQL. They are replaced by *literal nodes* in the
parsed tree (sqlglot quotes and escapes them), never by string formatting, so a hostile value
in a config file stays a value. Supported value types: bool, int, float, str, list of str
(only inside `in (:name)`), datetime (a timestamp literal), timedelta (an interval), Month.

One macro keeps partition pruning readable and checkable:
`partition_range(anio, mes, :from_month, :to_month)` expands to an explicit predicate on the
partition columns — `(anio = '2024' and mes in ('11', '12')) or (anio = '2025' and mes in
('01'))` — which both Athena (partition projection) and DuckDB (hive pruning) prune on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlglot import exp

from fraudlib import dialect
from fraudlib.contract import TRANSACTIONS
from fraudlib.errors import ConfigError
from fraudlib.month import Month, month_range

PARTITION_MACRO = "partition_range"


def render(sql_text: str, values: Mapping[str, object], *, source: str = "query") -> str:
    """Substitute every `:name` placeholder and expand the partition macro; return Trino SQL."""
    tree = dialect.parse(sql_text)
    check_partition_bounded(tree, source=source)
    missing = sorted({p.name for p in tree.find_all(exp.Placeholder)} - set(values))
    if missing:
        raise ConfigError(f"{source}: no value for parameter(s) {', '.join(missing)}")

    def substitute(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.In) and _is_list_placeholder(node, values):
            return _in_list(node, values[node.expressions[0].name], source)
        if _is_macro(node):
            return _partition_predicate(node, values, source)
        if isinstance(node, exp.Placeholder):
            return literal(values[node.name], name=node.name, source=source)
        return node

    return dialect.to_trino(tree.transform(substitute))


def literal(value: object, *, name: str = "value", source: str = "query") -> exp.Expression:
    """A SQL literal node for a validated Python value."""
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{source}: parameter {name} must be a finite number, got {value}")
        return exp.Literal.number(repr(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, Month):
        return exp.Literal.string(str(value))
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return exp.cast(exp.Literal.string(text), exp.DataType.build("timestamp"))
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds != int(seconds):
            raise ConfigError(f"{source}: parameter {name} must be whole seconds, got {value}")
        return exp.Interval(this=exp.Literal.string(str(int(seconds))), unit=exp.var("SECOND"))
    raise ConfigError(f"{source}: parameter {name} has unsupported type {type(value).__name__}")


def _is_list_placeholder(node: exp.In, values: Mapping[str, object]) -> bool:
    items = node.expressions
    return (
        len(items) == 1
        and isinstance(items[0], exp.Placeholder)
        and isinstance(values.get(items[0].name), list | tuple)
    )


def _in_list(node: exp.In, items: list | tuple, source: str) -> exp.Expression:
    if not items:
        # `x in ()` is not valid SQL. `x <> x` is false for a value and null for null, which
        # is exactly how `x in (<non-empty list without x>)` behaves, so NOT keeps the same
        # null semantics too.
        return exp.NEQ(this=node.this.copy(), expression=node.this.copy())
    literals = [literal(item, name="list item", source=source) for item in items]
    return exp.In(this=node.this.copy(), expressions=literals)


def _is_macro(node: exp.Expression) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == PARTITION_MACRO


def _partition_predicate(node: exp.Anonymous, values: Mapping[str, object], source: str):
    args = node.expressions
    if len(args) != 4 or not all(isinstance(a, exp.Placeholder) for a in args[2:]):
        raise ConfigError(f"{source}: use {PARTITION_MACRO}(anio, mes, :from_month, :to_month)")
    anio, mes = args[0], args[1]
    first, last = (Month.parse(values[a.name]) for a in args[2:])
    by_year: dict[str, list[str]] = {}
    for month in month_range(first, last):
        by_year.setdefault(month.anio, []).append(month.mes)
    disjuncts = [
        exp.and_(
            exp.EQ(this=anio.copy(), expression=exp.Literal.string(year)),
            exp.In(this=mes.copy(), expressions=[exp.Literal.string(m) for m in months]),
        )
        for year, months in by_year.items()
    ]
    return exp.Paren(this=exp.or_(*disjuncts))


def check_partition_bounded(tree: exp.Expression, *, source: str = "query") -> None:
    """Every scan of `transacciones` must sit in a SELECT whose WHERE bounds anio and mes,
    and name its columns (no `select *`).

    Athena bills bytes scanned, so an unbounded or all-columns scan is a bug; this is
    enforced on every rule and every internal query when it is rendered.
    """
    for table in tree.find_all(exp.Table):
        if table.name != TRANSACTIONS:
            continue
        select = table.find_ancestor(exp.Select)
        if select is not None and any(isinstance(e, exp.Star) for e in select.expressions):
            raise ConfigError(f"{source}: read named columns of {TRANSACTIONS}, not *")
        where = select.args.get("where") if select else None
        if where is None or not _bounds_partitions(where):
            raise ConfigError(
                f"{source}: every read of {TRANSACTIONS} must be bounded with "
                f"{PARTITION_MACRO}(anio, mes, ...) or anio = ... and mes = ... in its WHERE"
            )


def _bounds_partitions(where: exp.Expression) -> bool:
    if any(_is_macro(node) for node in where.find_all(exp.Anonymous)):
        return True
    equalities = {
        column.name
        for eq in where.find_all(exp.EQ)
        for column in eq.find_all(exp.Column)
        if column.name in ("anio", "mes")
    }
    return equalities == {"anio", "mes"}
