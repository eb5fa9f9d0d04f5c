"""The embedded engine: DuckDB over the Hive-partitioned Parquet layout on local disk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from fraudlib import dialect
from fraudlib.contract import CONFIRMED_FRAUD, LABELS, TRANSACTIONS, arrow_type_family, month_dir
from fraudlib.errors import DataError, FraudlibError
from fraudlib.month import Month

PARTITIONED = (TRANSACTIONS,)
UNPARTITIONED = (CONFIRMED_FRAUD, LABELS)


class LocalEngine:
    """DuckDB reading `DATA/<table>/...`; runs the same Trino SQL as Athena, translated."""

    name = "local"

    def __init__(self, data: str | Path, *, threads: int | None = None) -> None:
        try:
            import duckdb
        except ImportError:  # the Lambda artifact ships without DuckDB
            raise FraudlibError(
                "the local engine needs DuckDB: pip install 'fraudlib[local]'"
            ) from None
        self._duckdb = duckdb
        self.root = Path(data)
        if not self.root.is_dir():
            raise DataError(f"data directory not found: {self.root}")
        if not (self.root / TRANSACTIONS).is_dir():
            raise DataError(
                f"{self.root} has no {TRANSACTIONS}/ directory "
                f"(expected {TRANSACTIONS}/anio=YYYY/mes=MM/*.parquet)"
            )
        self._con = duckdb.connect(config={"threads": threads} if threads else {})
        self._tables: set[str] = set()
        for table in PARTITIONED + UNPARTITIONED:
            self._register(table)

    def _register(self, table: str) -> None:
        folder = self.root / table
        if table in PARTITIONED:
            pattern = folder / "anio=*" / "mes=*" / "*.parquet"
            options = (
                "hive_partitioning = true, "
                "hive_types = {'anio': 'VARCHAR', 'mes': 'VARCHAR'}, union_by_name = true"
            )
        else:
            pattern = folder / "*.parquet"
            options = "union_by_name = true"
        if not any(folder.glob(str(pattern.relative_to(folder)))):
            return
        quoted = str(pattern).replace("'", "''")
        self._con.execute(
            f"create view {table} as select * from read_parquet('{quoted}', {options})"
        )
        self._tables.add(table)

    def query(self, trino_sql: str, *, label: str = "") -> pd.DataFrame:
        """Translate Trino SQL to DuckDB and run it."""
        sql = dialect.to_duckdb(trino_sql)
        try:
            return self._con.execute(sql).df()
        except self._duckdb.Error as error:
            reason = str(error).strip().splitlines()[0]
            raise DataError(f"{label or 'query'} failed on local data: {reason}") from None

    def has_table(self, table: str) -> bool:
        return table in self._tables

    def month_columns(self, table: str, month: Month) -> dict[str, str]:
        """Column types of a month's files, read from the Parquet footers only."""
        folder = month_dir(self.root, table, month)
        files = sorted(folder.glob("*.parquet"))
        if not files:
            raise DataError(
                f"no data for month {month}: {folder} "
                f"{'has no .parquet files' if folder.is_dir() else 'does not exist'}"
            )
        columns: dict[str, str] = {}
        for path in files:
            try:
                schema = pq.read_schema(path)
            except Exception as error:  # pyarrow raises several types for corrupt files
                raise DataError(f"{path} is not a readable Parquet file: {error}") from None
            for name, arrow_type in zip(schema.names, schema.types, strict=True):
                family = arrow_type_family(arrow_type)
                if columns.setdefault(name, family) != family:
                    raise DataError(
                        f"{path}: column {name} is {family} but other files of {month} have "
                        f"{columns[name]}"
                    )
        return {**columns, "anio": "string", "mes": "string"}

    @property
    def bytes_scanned(self) -> int:
        return 0

    def close(self) -> None:
        self._con.close()
