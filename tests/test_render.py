from datetime import datetime, timedelta

import duckdb
import pytest

from fraudlib.dialect import parse, to_duckdb
from fraudlib.errors import ConfigError
from fraudlib.month import Month
from fraudlib.render import check_partition_bounded, render

HOSTILE = ["O'Brien", "x'; drop table transacciones; --", "a\\'b", "%(x)s %s ? :y", "ñandú €"]


def test_strings_are_literals_even_when_hostile():
    sql = render("select :v as v", {"v": HOSTILE[1]})
    assert duckdb.sql(to_duckdb(sql)).fetchall() == [(HOSTILE[1],)]


@pytest.mark.parametrize("value", HOSTILE)
def test_list_parameter_in_not_in(value):
    sql = render(
        "select x from (values ('a'), ('b'), (:v)) as t(x) where x not in (:l) order by x",
        {"v": value, "l": [value, "a"]},
    )
    assert duckdb.sql(to_duckdb(sql)).fetchall() == [("b",)]


def test_empty_list_keeps_null_semantics_of_not_in():
    sql = render(
        "select count(*) from (values ('a'), (null)) as t(x) where x not in (:l)", {"l": []}
    )
    # a non-empty list that does not contain 'a' would also keep 'a' and drop null
    assert duckdb.sql(to_duckdb(sql)).fetchall() == [(1,)]


def test_typed_literals():
    sql = render(
        "select :i + 1, :f * 2, :b, :ts + :w",
        {"i": 41, "f": 0.25, "b": True, "ts": datetime(2024, 3, 1, 10), "w": timedelta(minutes=10)},
    )
    assert duckdb.sql(to_duckdb(sql)).fetchall() == [(42, 0.5, True, datetime(2024, 3, 1, 10, 10))]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object(), timedelta(seconds=1.5)])
def test_unusable_values_are_rejected(bad):
    with pytest.raises(ConfigError):
        render("select :v", {"v": bad})


def test_missing_parameter_is_named():
    with pytest.raises(ConfigError, match="min_total"):
        render("select :min_total", {})


def test_partition_macro_expands_to_explicit_months_across_a_year():
    sql = render(
        "select id_cliente from transacciones where partition_range(anio, mes, :a, :b)",
        {"a": Month(2024, 11), "b": Month(2025, 2)},
    )
    assert "anio = '2024' AND mes IN ('11', '12')" in sql
    assert "anio = '2025' AND mes IN ('01', '02')" in sql


@pytest.mark.parametrize(
    "sql",
    [
        "select id_cliente from transacciones",
        "select id_cliente from transacciones where anio = '2024'",
        "select id_cliente from transacciones where monto > 1",
        "with t as (select id_cliente from transacciones) select * from t",
        "select * from transacciones where anio = '2024' and mes = '01'",
    ],
)
def test_unbounded_or_star_scans_of_transactions_are_rejected(sql):
    with pytest.raises(ConfigError, match="transacciones"):
        check_partition_bounded(parse(sql))


def test_bounded_scans_pass():
    check_partition_bounded(
        parse("select t.id_cliente from transacciones t where t.anio = '2024' and t.mes = '01'")
    )
    check_partition_bounded(
        parse("select id_cliente from transacciones where partition_range(anio, mes, :a, :b)")
    )
