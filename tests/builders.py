"""Small data sets built in code, laid out like DATA/ (tests/ mirrors fraudlib/)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fraudlib.contract import TRANSACTIONS, TRANSACTIONS_SCHEMA, month_dir
from fraudlib.month import Month


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
