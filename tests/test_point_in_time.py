"""Point in time: nothing that happens after a transaction may change its flags or score.

For every rule at once: detect a month on generated data, then on a copy where everything
after a cutoff is changed — later transactions removed or added, later confirmations
removed, the next month's partition dropped — and compare the flagged transactions before
the cutoff. They must be identical: same transactions, same rules, same puntaje.
"""

from __future__ import annotations

import shutil
from datetime import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudlib.contract import CONFIRMED_FRAUD, TRANSACTIONS, month_dir
from fraudlib.detect import run_month
from fraudlib.engines.local import LocalEngine
from fraudlib.month import Month
from fraudlib.synth import generate

MONTH = Month(2025, 4)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("pit") / "data"
    generate(root, Month(2024, 10), Month(2025, 5), rows_per_month=20_000, seed=11)
    return root


def flagged_before(root, cutoff: datetime) -> pd.DataFrame:
    engine = LocalEngine(root)
    try:
        flagged = run_month(engine, MONTH).flagged
    finally:
        engine.close()
    before = flagged[flagged["fecha"] < cutoff].copy()
    before["reglas"] = before["reglas"].map(tuple)
    return before.sort_values("id_transaccion", ignore_index=True)


def rewrite(path, keep) -> None:
    table = pq.read_table(path)
    pq.write_table(table.filter(keep(table)), path)


def change_the_future(root, cutoff: datetime, mode: str) -> None:
    """Alter everything at or after `cutoff` in month MONTH and later."""
    stamp = pa.scalar(cutoff, pa.timestamp("us"))
    for path in month_dir(root, TRANSACTIONS, MONTH).glob("*.parquet"):
        if mode == "drop":
            rewrite(path, lambda t: pa.compute.less(t["fecha"], stamp))
        else:  # copy every later transaction one minute later, with new ids
            table = pq.read_table(path)
            later = table.filter(pa.compute.greater_equal(table["fecha"], stamp)).to_pandas()
            later["id_transaccion"] = "X" + later["id_transaccion"]
            later["fecha"] = later["fecha"] + pd.Timedelta(minutes=1)
            extra = pa.Table.from_pandas(later, schema=table.schema, preserve_index=False)
            pq.write_table(pa.concat_tables([table, extra]), path)
    shutil.rmtree(month_dir(root, TRANSACTIONS, MONTH.next()))
    for path in (root / CONFIRMED_FRAUD).glob("*.parquet"):
        rewrite(path, lambda t: pa.compute.less(t["fecha_confirmacion"], stamp))


@pytest.fixture(scope="module")
def cutoffs(generated) -> list[datetime]:
    """Cutoffs in the middle of multi-transaction alerts, so episodes straddle them.

    A fixed date would mostly fall between episodes, where even a rule that looks ahead
    would pass. One alert per rule (the one spanning the most transactions), plus a date.
    """
    engine = LocalEngine(generated)
    try:
        alerts = run_month(engine, MONTH).alerts
    finally:
        engine.close()
    spread = alerts[alerts["n_transacciones"] >= 2].sort_values(
        ["n_transacciones", "id_alerta"], ascending=[False, True]
    )
    picks = spread.drop_duplicates("regla")
    middles = picks["desde"] + (picks["hasta"] - picks["desde"]) / 2
    return [datetime(2025, 4, 15, 12), *sorted(m.to_pydatetime() for m in middles)]


@pytest.mark.parametrize("mode", ["drop", "add"])
def test_changing_the_future_never_changes_past_flags(generated, cutoffs, tmp_path, mode):
    assert len(cutoffs) >= 4, "generated data should give multi-transaction alerts"
    for index, cutoff in enumerate(cutoffs):
        before = flagged_before(generated, cutoff)
        changed = tmp_path / f"changed-{index}"
        shutil.copytree(generated, changed)
        change_the_future(changed, cutoff, mode)
        after = flagged_before(changed, cutoff)
        pd.testing.assert_frame_equal(before, after, obj=f"flags before {cutoff} ({mode})")
