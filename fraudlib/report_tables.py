"""Machine-readable copies of result tables: JSON (all tables) or CSV (the first table)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd


def write_tables(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Write atomically: `.json` holds every table as records; `.csv` the first table."""
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if path.suffix == ".csv":
        next(iter(tables.values())).to_csv(temp, index=False)
    else:
        document = {name: [_clean(r) for r in t.to_dict("records")] for name, t in tables.items()}
        temp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    os.replace(temp, path)


def _clean(record: dict) -> dict:
    # JSON has no NaN: a ratio with nothing to divide by is null.
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()}
