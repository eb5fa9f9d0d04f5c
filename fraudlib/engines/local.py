"""The embedded engine: DuckDB over the Hive-partitioned Parquet layout on local disk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from fraudlib import dialect
from fraudlib.contract import CONFIRMED_FRAUD, LABELS, TRANSACTIONS, arrow_type_family, month_dir
from fraudlib.errors import DataError, FraudlibError
from fraudlib.month import Month

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
        for table in UNPARTITIONED:
            files = sorted((self.root / table).glob("*.parquet"))
            if files:
                self._create_view(table, files, hive=False)

    def bind_months(self, months: list[Month]) -> None:
        """Point the `transacciones` view at the files of these months only."""
        files = [
            path
            for month in sorted(set(months))
            for path in sorted(month_dir(self.root, TRANSACTIONS, month).glob("*.parquet"))
        ]
        if not files:
            raise DataError(f"no {TRANSACTIONS} files for months {', '.join(map(str, months))}")
        self._create_view(TRANSACTIONS, files, hive=True)

    def _create_view(self, table: str, files: list[Path], *, hive: bool) -> None:
        # union_by_name: months may carry different optional columns (schema evolution).
        options = "union_by_name = true"
        if hive:
            options += (
                ", hive_partitioning = true, hive_types = {'anio': 'VARCHAR', 'mes': 'VARCHAR'}"
            )
        paths = ", ".join("'" + str(path).replace("'", "''") + "'" for path in files)
        try:
            self._con.execute(
                f"create or replace view {table} as "
                f"select * from read_parquet([{paths}], {options})"
            )
        except self._duckdb.Error as error:
            reason = str(error).strip().splitlines()[0]
            raise DataError(f"cannot read {table}: {reason}") from None
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
        return table in self._tables or (
            table == TRANSACTIONS and (self.root / TRANSACTIONS).is_dir()
        )

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
