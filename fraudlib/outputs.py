"""Write a month of alerts and flagged transactions, atomically, under the outputs root.

Layout (the same locally and in S3): `OUT/alertas/anio=YYYY/mes=MM/part-0.parquet` and
`OUT/sospechosas/anio=YYYY/mes=MM/part-0.parquet`. A re-run replaces the month.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fraudlib.contract import ALERTS, ALERTS_SCHEMA, FLAGGED, FLAGGED_SCHEMA, month_dir
from fraudlib.month import Month

PART = "part-0.parquet"
OUTPUT_SCHEMAS = {ALERTS: ALERTS_SCHEMA, FLAGGED: FLAGGED_SCHEMA}


def to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """A DataFrame as an Arrow table with exactly the contract's schema."""
    if frame.empty:  # an empty frame has no types to convert from
        return schema.empty_table()
    frame = frame[schema.names].copy()
    for name in schema.names:
        if pa.types.is_timestamp(schema.field(name).type):
            frame[name] = pd.to_datetime(frame[name]).astype("datetime64[us]")
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def parquet_bytes(frame: pd.DataFrame, schema: pa.Schema) -> bytes:
    """The Parquet file for one output table (Snappy: readable by every Athena/pyarrow build)."""
    sink = pa.BufferOutputStream()
    pq.write_table(to_arrow(frame, schema), sink, compression="snappy")
    return sink.getvalue().to_pybytes()


def write_month_local(out: str | Path, month: Month, frames: dict[str, pd.DataFrame]) -> dict:
    """Stage every table of the month in hidden folders, then swap them in.

    Readers glob `mes=*`, so the staged `.mes=MM.*` folders are invisible to them; the swap
    is a rename per table. If staging fails, nothing of the old month has changed.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for table, schema in OUTPUT_SCHEMAS.items():
            final = month_dir(out, table, month)
            temp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
            temp.mkdir(parents=True)
            staged.append((temp, final))
            (temp / PART).write_bytes(parquet_bytes(frames[table], schema))
    except BaseException:
        for temp, _ in staged:
            shutil.rmtree(temp, ignore_errors=True)
        raise
    written = {}
    for temp, final in staged:
        old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
        if final.exists():
            final.rename(old)
        temp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
        written[final.parent.parent.name] = final / PART
    return written
