"""Small data sets built in code, laid out like DATA/ (tests/ mirrors fraudlib/)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fraudlib.config import apply_overrides, default_config
from fraudlib.contract import TRANSACTIONS, TRANSACTIONS_SCHEMA, month_dir
from fraudlib.engines.local import LocalEngine
from fraudlib.month import Month
from fraudlib.rules import get_rule


def transactions(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (id_transaccion, id_cliente, monto, fecha, ubicacion) as a contract frame."""
    frame = pd.DataFrame(
        rows, columns=["id_transaccion", "id_cliente", "monto", "fecha", "ubicacion"]
    )
    frame["fecha"] = pd.to_datetime(frame["fecha"])
    frame["monto"] = frame["monto"].astype("float64")
    return frame[TRANSACTIONS_SCHEMA.names]


def write_month(
    root: Path,
    month: Month | str,
    frame: pd.DataFrame,
    schema: pa.Schema | None = TRANSACTIONS_SCHEMA,
    name: str = "part-0",
) -> Path:
    """Write one month's `transacciones` partition; schema=None keeps the frame's own types."""
    month = Month.parse(month)
    folder = month_dir(root, TRANSACTIONS, month)
    folder.mkdir(parents=True, exist_ok=True)
    frame = frame.copy()
    if "fecha" in frame and schema is not None:
        frame["fecha"] = pd.to_datetime(frame["fecha"]).astype("datetime64[us]")
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    path = folder / f"{name}.parquet"
    pq.write_table(table, path)
    return path


def write_table(root: Path, table: str, frame: pd.DataFrame, schema: pa.Schema) -> Path:
    """Write an unpartitioned table (`fraudes_confirmados`, `etiquetas`) as one file."""
    folder = Path(root) / table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-0.parquet"
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), path)
    return path


def rule_evidence(root: Path, month: Month | str, name: str, **params: object) -> pd.DataFrame:
    """The evidence rows one rule's SQL returns on the local engine (defaults overridden)."""
    month = Month.parse(month)
    rule = get_rule(name)
    config = apply_overrides(default_config(), {"rules": {name: {"params": params}}})
    engine = LocalEngine(root)
    try:
        engine.bind_months([month.shift(-k) for k in range(rule.lookback_months + 1)])
        return engine.query(rule.render(month, config.sql_values(rule)), label=name)
    finally:
        engine.close()


def flags(evidence: pd.DataFrame) -> dict[str, float]:
    """Flagged transactions of an evidence frame -> their severidad (rounded)."""
    marked = evidence[evidence["marcada"].fillna(False).astype(bool)]
    return {str(row.id_transaccion): round(float(row.severidad), 9) for row in marked.itertuples()}


def write_months(
    root: Path, frame: pd.DataFrame, schema: pa.Schema | None = TRANSACTIONS_SCHEMA
) -> None:
    """Write each row into the partition of its `fecha`'s month (one file per month)."""
    months = pd.to_datetime(frame["fecha"]).dt.strftime("%Y-%m")
    for month, rows in frame.groupby(months, sort=True):
        write_month(root, month, rows, schema)


def flags_until(evidence: pd.DataFrame, frame: pd.DataFrame, cutoff: pd.Timestamp) -> dict:
    """`flags(evidence)` of the transactions of `frame` at or before `cutoff`."""
    when = dict(zip(frame["id_transaccion"], frame["fecha"], strict=True))
    return {key: value for key, value in flags(evidence).items() if when[key] <= cutoff}
