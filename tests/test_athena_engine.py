"""AthenaEngine against moto on loopback, with the SQL executed for real (tests/athena_harness.py).

Everything goes through boto3 and PyAthena over HTTP, as in the Lambda; only Athena's
execution is DuckDB. moto reports DataScannedInBytes as 0, so the harness's
`scanned_bytes_per_query` stands in for Athena's figure where accumulation is tested.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudlib.contract import (
    CONFIRMED_FRAUD_SCHEMA,
    TRANSACTIONS,
    TRANSACTIONS_SCHEMA,
    arrow_type_family,
    month_dir,
)
from fraudlib.engines import make_engine
from fraudlib.engines.athena import AthenaEngine, glue_type_family
from fraudlib.errors import DataError, FraudlibError
from fraudlib.month import Month

MARCH = Month.parse("2024-03")
APRIL = Month.parse("2024-04")


def write_transactions(root: Path, month: Month, rows: list[tuple]) -> None:
    """One Parquet file of contract rows (id, client, amount, when, where) for a month."""
    columns = TRANSACTIONS_SCHEMA.names
    table = pa.Table.from_pylist(
        [dict(zip(columns, row, strict=True)) for row in rows], schema=TRANSACTIONS_SCHEMA
    )
    folder = month_dir(root, TRANSACTIONS, month)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-0.parquet")


@pytest.fixture
def engine(athena):
    """An AthenaEngine configured only by the harness's environment, over two months of data."""
    write_transactions(
        athena.data_dir,
        MARCH,
        [
            ("t1", "c1", 100.0, datetime(2024, 3, 1, 9, 0), "Oficina Principal"),
            ("t2", "c1", 250.5, datetime(2024, 3, 1, 9, 30), "ATM 12"),
            ("t3", "c2", 80.25, datetime(2024, 3, 2, 23, 59, 59), None),
        ],
    )
    write_transactions(
        athena.data_dir, Month.parse("2024-02"), [("t0", "c1", 5.0, datetime(2024, 2, 29), "x")]
    )
    engine = AthenaEngine()
    yield engine
    engine.close()


def test_query_runs_the_sql_and_returns_typed_frame(athena, engine):
    sql = """
with march as (
    select id_cliente, monto, fecha
    from transacciones
    where anio = '2024' and mes = '03'
)
select id_cliente, count(*) as n, sum(monto) as total, max(fecha) as ultima
from march
group by id_cliente
order by id_cliente
"""
    frame = engine.query(sql, label="per client")

    assert athena.queries == [sql.strip()]  # PyAthena strips; otherwise the text is ours
    assert frame["id_cliente"].tolist() == ["c1", "c2"]
    assert frame["n"].tolist() == [2, 1]  # February's t0 is pruned away
    assert frame["total"].tolist() == [350.5, 80.25]
    assert frame["ultima"].tolist() == [
        pd.Timestamp("2024-03-01 09:30"),
        pd.Timestamp("2024-03-02 23:59:59"),
    ]
    assert pd.api.types.is_string_dtype(frame["id_cliente"])
    assert pd.api.types.is_integer_dtype(frame["n"])
    assert pd.api.types.is_float_dtype(frame["total"])
    assert pd.api.types.is_datetime64_dtype(frame["ultima"])


def test_binding_months_needs_no_query(athena, engine):
    engine.bind_months([Month.parse("2024-02"), MARCH])
    assert athena.queries == []


def test_query_keeps_partition_columns_as_strings_and_nulls_as_missing(engine):
    frame = engine.query(
        "select id_transaccion, ubicacion, anio, mes from transacciones "
        "where anio = '2024' and mes = '03' order by id_transaccion"
    )
    assert frame["mes"].tolist() == ["03", "03", "03"]
    assert frame["ubicacion"].tolist()[:2] == ["Oficina Principal", "ATM 12"]
    assert pd.isna(frame["ubicacion"].iloc[2])


def test_query_text_is_sent_verbatim_even_with_percent_signs(athena, engine):
    # No parameters are passed, so PyAthena must not %-format the text (a literal % would
    # otherwise need doubling).
    sql = "select count(*) as n from transacciones where ubicacion like 'Oficina%'"
    assert engine.query(sql)["n"].tolist() == [1]
    assert athena.queries == [sql]


def test_query_on_a_glue_table_without_files_is_empty_with_its_columns(engine):
    frame = engine.query("select * from fraudes_confirmados")
    assert frame.empty
    assert list(frame.columns) == CONFIRMED_FRAUD_SCHEMA.names


def test_bytes_scanned_accumulates_over_queries(athena, engine):
    engine.query("select 1 as x")
    assert engine.bytes_scanned == 0  # moto's own figure is always 0
    athena.scanned_bytes_per_query = 1_000
    engine.query("select 1 as x")
    engine.query("select 2 as x")
    assert engine.bytes_scanned == 2_000


def test_failed_query_is_one_line_fraudlib_error_with_label_and_reason(athena, engine):
    with pytest.raises(FraudlibError) as raised:
        engine.query("select no_such_column from transacciones", label="velocity v1")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("velocity v1 failed on Athena:")
    assert "no_such_column" in message
    assert athena.executions[-1].state == "FAILED"


def test_missing_table_is_one_line_fraudlib_error(engine):
    with pytest.raises(FraudlibError, match=r"^query failed on Athena: .*no_such_table") as raised:
        engine.query("select * from no_such_table")
    assert "\n" not in str(raised.value)


def test_access_denied_is_one_line_error_without_traceback(athena, engine, caplog):
    athena.deny_queries("User: arn:aws:sts::123456789012:assumed-role/x is not authorized")
    with caplog.at_level(logging.DEBUG), pytest.raises(FraudlibError) as raised:
        engine.query("select 1 as x", label="probe")
    message = str(raised.value)
    assert message.startswith("probe failed on Athena:")
    assert "AccessDeniedException" in message and "\n" not in message
    # PyAthena logs the failure with a traceback; it must not reach WARNING handlers.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("variable", ["FRAUD_ATHENA_DATABASE"])
def test_missing_database_variable_is_named(athena, monkeypatch, variable):
    monkeypatch.delenv(variable)
    with pytest.raises(FraudlibError, match=variable):
        AthenaEngine()


def test_missing_result_location_names_both_variables(athena, monkeypatch):
    monkeypatch.delenv("AWS_ATHENA_S3_STAGING_DIR")
    monkeypatch.delenv("AWS_ATHENA_WORK_GROUP")
    with pytest.raises(FraudlibError, match="AWS_ATHENA_S3_STAGING_DIR or AWS_ATHENA_WORK_GROUP"):
        AthenaEngine()


def test_missing_region_is_named(athena, monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(FraudlibError, match="AWS_REGION"):
        AthenaEngine()


def test_keyword_options_override_the_environment(athena):
    engine = AthenaEngine(database="elsewhere", work_group="wg", s3_staging_dir="s3://b/r/")
    assert (engine.database, engine.config.work_group) == ("elsewhere", "wg")
    assert engine.config.s3_staging_dir == "s3://b/r/"
    # A database missing from Glue is a configuration error, not "no such table".
    with pytest.raises(FraudlibError, match=r"'elsewhere' not found .*FRAUD_ATHENA_DATABASE"):
        engine.has_table("etiquetas")


def test_unload_is_passed_to_the_pandas_cursor(athena):
    from pyathena.pandas.cursor import PandasCursor

    engine = make_engine("athena", unload=True)
    cursor = engine._connection.cursor()
    assert isinstance(cursor, PandasCursor) and cursor._unload is True


def test_engine_holds_no_credentials(athena, monkeypatch):
    import pyathena

    calls = []
    real_connect = pyathena.connect

    def recording_connect(**kwargs):
        calls.append(kwargs)
        return real_connect(**kwargs)

    monkeypatch.setattr(pyathena, "connect", recording_connect)
    engine = AthenaEngine()
    [kwargs] = calls
    assert not {k for k in kwargs if any(w in k for w in ("key", "secret", "token", "role"))}
    assert "testing" not in repr(vars(engine.config))  # the fake secret from the env
    assert engine.query("select 1 as x")["x"].tolist() == [1]  # yet the default chain works


def test_has_table_asks_glue(athena, engine):
    assert engine.has_table("transacciones")
    assert engine.has_table("etiquetas")
    athena.drop_table("etiquetas")
    assert not engine.has_table("etiquetas")
    with pytest.raises(FraudlibError, match="invalid table name"):
        engine.has_table("x; drop table y")


def test_month_columns_come_from_glue_with_type_families(athena, engine):
    columns = engine.month_columns(TRANSACTIONS, MARCH)
    expected = {f.name: arrow_type_family(f.type) for f in TRANSACTIONS_SCHEMA}
    assert columns == {**expected, "anio": "string", "mes": "string"}
    assert athena.queries == [
        "select count(*) as n from \"transacciones\" where anio = '2024' and mes = '03'"
    ]


def test_month_columns_of_a_month_without_data_is_data_error(engine):
    with pytest.raises(DataError, match=r"^no data for month 2024-04 in table transacciones$"):
        engine.month_columns(TRANSACTIONS, APRIL)


def test_month_columns_of_a_missing_table_is_data_error(athena, engine):
    athena.drop_table(TRANSACTIONS)
    with pytest.raises(DataError, match="table transacciones not found in Glue database fraud"):
        engine.month_columns(TRANSACTIONS, MARCH)


@pytest.mark.parametrize(
    ("glue_type", "family"),
    [
        ("string", "string"),
        ("varchar(64)", "string"),
        ("double", "double"),
        ("float", "double"),
        ("decimal(18,2)", "decimal"),
        ("timestamp", "timestamp"),
        ("int", "integer"),
        ("bigint", "integer"),
        ("array<string>", "array<string>"),
    ],
)
def test_glue_type_families(glue_type, family):
    assert glue_type_family(glue_type) == family
