"""Engines: where a rule's SQL runs. One small interface, one module per backend.

- `local`  — DuckDB over `DATA/<table>/anio=YYYY/mes=MM/*.parquet` (embedded default).
- `athena` — Amazon Athena through PyAthena's PandasCursor (production).

Every query is handed over as Trino SQL (Athena's dialect); an engine that speaks another
dialect translates it with `fraudlib.dialect`.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from fraudlib.errors import FraudlibError
from fraudlib.month import Month


class Engine(Protocol):
    """What detection, backtests and reports need from a query engine."""

    name: str

    def query(self, trino_sql: str, *, label: str = "") -> pd.DataFrame:
        """Run one Trino SQL query and return its result as a DataFrame."""
        ...

    def has_table(self, table: str) -> bool:
        """Whether an optional table (fraudes_confirmados, etiquetas) exists."""
        ...

    def month_columns(self, table: str, month: Month) -> dict[str, str]:
        """Column name -> type family ('string', 'double', 'timestamp', ...) of a partition.

        Raises DataError when the partition does not exist or its files disagree.
        """
        ...

    def bind_months(self, months: list[Month]) -> None:
        """Declare the months of `transacciones` the next queries may read.

        The local engine points its view at exactly these partitions' files, so files of
        other months are never opened; Athena needs nothing (partition projection prunes).
        """
        ...

    @property
    def bytes_scanned(self) -> int:
        """Bytes read by the queries so far (Athena bills these); 0 where unknown."""
        ...

    def close(self) -> None: ...


ENGINES = ("local", "athena")


def make_engine(kind: str, **options) -> Engine:
    """Build an engine by name: `local` needs `data=DIR`; `athena` reads its config from env."""
    if kind == "local":
        from fraudlib.engines.local import LocalEngine

        return LocalEngine(**options)
    if kind == "athena":
        from fraudlib.engines.athena import AthenaEngine

        return AthenaEngine(**options)
    raise FraudlibError(f"unknown engine {kind!r}: choose one of {', '.join(ENGINES)}")
