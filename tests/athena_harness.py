"""Athena on loopback: moto's server, with every query executed for real on DuckDB.

moto's Athena never runs SQL (it hands out canned results), which would make Athena-path tests
prove nothing about the SQL. This harness patches moto's Athena backend so that
`StartQueryExecution` translates the Trino text with `fraudlib.dialect.to_duckdb` and runs it
on DuckDB, over a local directory laid out like DATA/, through views named like the Glue
tables of the query's database. The result is stored the way real Athena does (a quoted CSV
with a header row at the OutputLocation in moto's S3, plus GetQueryResults rows and column
info), so PyAthena's PandasCursor reads it unmodified; a failing query becomes a FAILED
execution whose StateChangeReason is DuckDB's error.

Use through the `athena` fixture (tests/conftest.py): everything else (boto3, PyAthena,
`AthenaEngine`) talks to moto over HTTP as it would to AWS.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import duckdb
from moto.athena.models import AthenaBackend, QueryResults
from moto.athena.responses import AthenaResponse
from moto.core.exceptions import JsonRESTError
from moto.glue.models import glue_backends
from moto.s3.models import s3_backends
from moto.s3.utils import bucket_and_name_from_url
from moto.server import ThreadedMotoServer

from fraudlib.ddl import glue_table_inputs
from fraudlib.dialect import to_duckdb

REGION = "eu-west-1"
BUCKET = "fraud-harness"
DATABASE = "fraud"
DATA_URI = f"s3://{BUCKET}/data/"
ALERTS_URI = f"s3://{BUCKET}/alerts/"
STAGING_DIR = f"s3://{BUCKET}/athena-results/"
WORK_GROUP = "primary"

# Statements moto itself handles (it keeps a list of Athena databases); they succeed with an
# empty result instead of going to DuckDB.
_MOTO_DDL = re.compile(r"^\s*(create|drop)\s+(database|schema)\b", re.IGNORECASE)
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class MotoServer:
    """moto's ThreadedMotoServer on 127.0.0.1 with a free port (one per test session)."""

    def __init__(self) -> None:
        # werkzeug prints every request to stderr; test output only needs failures.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"

    def reset(self) -> None:
        """Forget every resource (buckets, tables, executions) of every backend."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        self._server.stop()


@dataclass
class Execution:
    """One query as Athena received it, and what the harness made of it."""

    id: str
    sql: str
    duckdb_sql: str | None = None
    state: str = "SUCCEEDED"
    reason: str | None = None
    rows: int = 0


class AthenaHarness:
    """Configuration of the moto Athena/Glue/S3 a test talks to, and a record of its queries.

    - `data_dir`: the DATA/-like directory queries read (`use_data(dir)` switches it).
    - `queries`: the SQL texts Athena was asked to run, in order; `executions` has details.
    - `scanned_bytes_per_query`: what GetQueryExecution reports as DataScannedInBytes
      (moto itself always reports 0).
    - `deny_queries(message)`: StartQueryExecution answers AccessDeniedException.
    """

    def __init__(self, endpoint_url: str, data_dir: Path) -> None:
        self.endpoint_url = endpoint_url
        self.region = REGION
        self.bucket = BUCKET
        self.database = DATABASE
        self.data_uri = DATA_URI
        self.alerts_uri = ALERTS_URI
        self.staging_dir = STAGING_DIR
        self.work_group = WORK_GROUP
        self.data_dir = Path(data_dir)
        self.executions: list[Execution] = []
        self.scanned_bytes_per_query = 0
        self._denied: str | None = None

    # -- for tests ------------------------------------------------------------------------

    @property
    def queries(self) -> list[str]:
        """The SQL texts Athena received, in order."""
        return [execution.sql for execution in self.executions]

    def use_data(self, data_dir: Path | str) -> None:
        """Point the queries at another DATA/-like directory."""
        self.data_dir = Path(data_dir)

    def deny_queries(self, message: str | None = "not authorized to perform this action") -> None:
        """Make StartQueryExecution fail with AccessDeniedException (None: allow again)."""
        self._denied = message

    def client(self, service: str) -> Any:
        """A boto3 client for the moto server (region and fake credentials from the env)."""
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint_url)

    def drop_table(self, table: str) -> None:
        """Delete a table from the Glue database (queries then no longer see it either)."""
        self.client("glue").delete_table(DatabaseName=self.database, Name=table)

    # -- setup ----------------------------------------------------------------------------

    def create_resources(self) -> None:
        """The bucket, the Glue database and the contract's tables (from `fraudlib.ddl`)."""
        self.client("s3").create_bucket(
            Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": self.region}
        )
        glue = self.client("glue")
        glue.create_database(DatabaseInput={"Name": self.database})
        for table_input in glue_table_inputs(self.data_uri, self.alerts_uri).values():
            glue.create_table(DatabaseName=self.database, TableInput=table_input)

    def install(self, monkeypatch: Any) -> None:
        """Patch moto's Athena (in this process, where the server thread runs) to use DuckDB."""
        harness = self
        original_start = AthenaBackend.start_query_execution
        original_describe = AthenaResponse.get_query_execution

        def start_query_execution(backend: AthenaBackend, query: str, *args, **kwargs) -> str:
            if harness._denied:
                raise JsonRESTError("AccessDeniedException", harness._denied)
            execution_id = original_start(backend, query, *args, **kwargs)
            harness._execute(backend, backend.executions[execution_id])
            return execution_id

        def get_query_execution(response: AthenaResponse) -> str:
            # moto's answer has no StateChangeReason and always 0 bytes scanned.
            answer = json.loads(original_describe(response))
            execution = answer["QueryExecution"]
            record = harness._record(execution["QueryExecutionId"])
            if record is not None:
                if record.reason is not None:
                    execution["Status"]["StateChangeReason"] = record.reason
                execution["Statistics"]["DataScannedInBytes"] = harness.scanned_bytes_per_query
            return json.dumps(answer)

        monkeypatch.setattr(AthenaBackend, "start_query_execution", start_query_execution)
        monkeypatch.setattr(AthenaResponse, "get_query_execution", get_query_execution)

    # -- execution (runs in the moto server's thread) ---------------------------------------

    def _record(self, execution_id: str) -> Execution | None:
        return next((e for e in self.executions if e.id == execution_id), None)

    def _execute(self, backend: AthenaBackend, execution: Any) -> None:
        record = Execution(id=execution.id, sql=execution.query)
        self.executions.append(record)
        context = execution.context or {}
        database = context.get("Database") or "default"
        if _MOTO_DDL.match(execution.query):
            self._store(backend, execution, [], [], [])
            return
        try:
            record.duckdb_sql = to_duckdb(execution.query)
            with _duckdb_over(self._tables(backend, database), self.data_dir, database) as con:
                relation = con.sql(record.duckdb_sql)
                names, types, rows = [], [], []
                if relation is not None:  # None for statements without a result
                    names, types, rows = relation.columns, relation.types, relation.fetchall()
        except Exception as error:  # any failure is the query's failure, as on Athena
            # DuckDB's messages name their kind ("Binder Error: ..."); others get their type.
            reason = str(error) if isinstance(error, duckdb.Error) else ""
            reason = reason or f"{type(error).__name__}: {error}"
            record.state = "FAILED"
            record.reason = _ANSI_ESCAPE.sub("", reason)  # sqlglot underlines with ANSI codes
            execution.status = "FAILED"
            return
        record.rows = len(rows)
        self._store(backend, execution, names, types, rows)

    def _tables(self, backend: AthenaBackend, database: str) -> dict[str, dict]:
        """Glue definitions of the query's database: Athena resolves names through Glue."""
        glue = glue_backends[backend.account_id][backend.region_name]
        found = glue.databases.get(database)
        return {name: table.as_dict() for name, table in found.tables.items()} if found else {}

    def _store(
        self,
        backend: AthenaBackend,
        execution: Any,
        names: list[str],
        types: list[Any],
        rows: list[tuple],
    ) -> None:
        columns = [_column_info(name, type_) for name, type_ in zip(names, types, strict=True)]
        texts = [[_athena_text(value) for value in row] for row in rows]
        # Like Athena: GetQueryResults starts with a header row, and so does the CSV file.
        header = [{"Data": [{"VarCharValue": name} for name in names]}] if names else []
        data = [
            {"Data": [{"VarCharValue": t} if t is not None else {} for t in row]} for row in texts
        ]
        backend.query_results[execution.id] = QueryResults(header + data, columns)
        location = (execution.config or {}).get("OutputLocation")
        if location:
            bucket, key = bucket_and_name_from_url(location)
            s3_backends[backend.account_id][backend.partition].put_object(
                bucket_name=bucket, key_name=key, value=_athena_csv(names, texts)
            )


@contextmanager
def _duckdb_over(
    tables: dict[str, dict], data_dir: Path, database: str
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with a view per Glue table, in schema awsdatacatalog.<database>."""
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        # Athena names resolve as table, database.table or awsdatacatalog.database.table.
        con.execute("attach ':memory:' as awsdatacatalog")
        schema = f'awsdatacatalog."{database}"'
        con.execute(f"create schema {schema}")
        for name, definition in tables.items():
            source = _table_source(data_dir / name, definition)
            con.execute(f'create view {schema}."{name}" as {source}')
        con.execute(f"use {schema}")
        yield con
    finally:
        con.close()


def _table_source(folder: Path, definition: dict) -> str:
    """The files under DATA/<table>/, or no rows with the Glue columns when there are none."""
    partition_keys = [key["Name"] for key in definition.get("PartitionKeys", [])]
    if partition_keys:
        pattern = folder.joinpath(*(f"{key}=*" for key in partition_keys), "*.parquet")
        types = ", ".join(f"'{key}': 'VARCHAR'" for key in partition_keys)
        options = f"hive_partitioning = true, hive_types = {{{types}}}, union_by_name = true"
    else:
        pattern = folder / "*.parquet"
        options = "union_by_name = true"
    if any(folder.glob(str(pattern.relative_to(folder)))):
        quoted = str(pattern).replace("'", "''")
        return f"select * from read_parquet('{quoted}', {options})"
    # Athena over an empty prefix: the table's columns, no rows.
    columns = definition["StorageDescriptor"]["Columns"] + definition.get("PartitionKeys", [])
    nulls = ", ".join(
        f'cast(null as {_duckdb_type(column["Type"])}) as "{column["Name"]}"' for column in columns
    )
    return f"select {nulls} where false"


def _duckdb_type(glue_type: str) -> str:
    text = glue_type.strip().lower()
    array = re.fullmatch(r"array<(.+)>", text)
    if array:
        return _duckdb_type(array.group(1)) + "[]"
    base = re.split(r"[(]", text, maxsplit=1)[0]
    simple = {
        "string": "VARCHAR",
        "varchar": "VARCHAR",
        "char": "VARCHAR",
        "double": "DOUBLE",
        "float": "FLOAT",
        "bigint": "BIGINT",
        "int": "INTEGER",
        "integer": "INTEGER",
        "smallint": "SMALLINT",
        "tinyint": "TINYINT",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
    }
    if base == "decimal":
        return text.upper()
    return simple.get(base, "VARCHAR")


# DuckDB type id -> (Athena type name, precision) as GetQueryResults reports them.
_ATHENA_TYPES = {
    "varchar": ("varchar", 2147483647),
    "double": ("double", 17),
    "float": ("real", 7),
    "bigint": ("bigint", 19),
    "hugeint": ("bigint", 19),  # DuckDB widens sum(bigint); Athena keeps bigint
    "ubigint": ("bigint", 19),
    "integer": ("integer", 10),
    "uinteger": ("bigint", 19),
    "smallint": ("smallint", 5),
    "tinyint": ("tinyint", 3),
    "boolean": ("boolean", 0),
    "date": ("date", 0),
    "timestamp": ("timestamp", 3),
    "timestamp with time zone": ("timestamp with time zone", 3),
    "list": ("array", 0),
    "struct": ("row", 0),
    "map": ("map", 0),
}


def _column_info(name: str, duckdb_type: Any) -> dict[str, Any]:
    """A ColumnInfo entry; PyAthena needs Precision, Scale and Nullable to be present."""
    type_id = getattr(duckdb_type, "id", str(duckdb_type).lower())
    scale = 0
    if type_id == "decimal":
        parameters = dict(duckdb_type.children)
        athena_type, precision, scale = "decimal", parameters["precision"], parameters["scale"]
    else:
        athena_type, precision = _ATHENA_TYPES.get(type_id, ("varchar", 2147483647))
    return {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Type": athena_type,
        "Precision": precision,
        "Scale": scale,
        "Nullable": "UNKNOWN",
        "CaseSensitive": athena_type == "varchar",
    }


def _athena_text(value: Any) -> str | None:
    """A value as Athena writes it in a CSV result (None is NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # Athena's timestamps have millisecond precision.
        return value.isoformat(sep=" ", timespec="milliseconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return "[" + ", ".join("null" if v is None else _athena_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_athena_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def _athena_csv(names: list[str], rows: list[list[str | None]]) -> bytes:
    """Athena's CSV: a header row, every value quoted, NULL as an empty unquoted field."""
    if not names:
        return b""
    lines = [names, *rows]
    return "".join(",".join(_csv_field(text) for text in line) + "\n" for line in lines).encode()


def _csv_field(text: str | None) -> str:
    return "" if text is None else '"' + text.replace('"', '""') + '"'
