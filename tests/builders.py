"""Small data sets built in code, laid out like DATA/ (tests/ mirrors fraudlib/)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, settings

from fraudlib.config import apply_overrides, default_config
from fraudlib.contract import LABELS, TRANSACTIONS, TRANSACTIONS_SCHEMA, month_dir
from fraudlib.engines.local import LocalEngine
from fraudlib.month import Month, month_range
from fraudlib.rules import get_rule
from fraudlib.synth import generate


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


def alert_keys(evidence: pd.DataFrame) -> dict[str, str]:
    """Every returned transaction of an evidence frame -> its clave_alerta."""
    return dict(zip(evidence["id_transaccion"], evidence["clave_alerta"], strict=True))


def examples(max_examples: int) -> settings:
    """Hypothesis settings for a rule test: `max_examples`, no deadline (each runs SQL)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


def drawn_transactions(
    rows: Iterable[tuple], days: Sequence[pd.Timestamp], anchor: tuple
) -> pd.DataFrame:
    """Drawn (customer, amount, day, seconds, place) rows, plus `anchor`, as a contract frame.

    Row i becomes transaction `t{i:03d}` at `days[day]` plus `seconds`.
    """
    return transactions(
        [
            (f"t{i:03d}", customer, amount, days[day] + pd.Timedelta(seconds=s), place)
            for i, (customer, amount, day, s, place) in enumerate(rows)
        ]
        + [anchor]
    )


def flags_until_without_and_with(
    tmp_path_factory: pytest.TempPathFactory,
    frame: pd.DataFrame,
    later: pd.DataFrame,
    cutoff: pd.Timestamp,
    rule: str,
    month: Month,
    *,
    schema: pa.Schema | None = TRANSACTIONS_SCHEMA,
    **params: object,
) -> tuple[dict, dict]:
    """`flags_until(cutoff)` of `rule` run on `frame`, then on `frame` plus `later`.

    Each run writes its data (with `schema`) into a fresh directory named after the rule.
    """
    results = []
    for data in (frame, pd.concat([frame, later], ignore_index=True)):
        root = tmp_path_factory.mktemp(rule)
        write_months(root, data, schema)
        evidence = rule_evidence(root, month, rule, **params)
        results.append(flags_until(evidence, data, cutoff))
    return results[0], results[1]


def synthetic_months(
    root: Path, first: str, last: str, *, rows_per_month: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate synthetic data for months `first`..`last` into `root`.

    Returns (every month's `transacciones` in one frame, the `etiquetas` labels).
    """
    generate(root, first, last, rows_per_month=rows_per_month, seed=seed)
    frame = pd.concat(
        [
            pq.read_table(root / TRANSACTIONS / m.partition_path()).to_pandas()
            for m in month_range(first, last)
        ],
        ignore_index=True,
    )
    labels = pq.read_table(root / LABELS).to_pandas()
    return frame, labels


def case_by_customer_and_month(rows: pd.DataFrame) -> pd.Series:
    """A case is one customer's labelled transactions in one month (ids start 'TYYYYMM')."""
    return rows["id_cliente"] + rows["id_transaccion"].str[:7]


def case_by_customer(rows: pd.DataFrame) -> pd.Series:
    """A case is all of one customer's labelled transactions."""
    return rows["id_cliente"]


@dataclass(frozen=True)
class Catch:
    """How a rule's flags meet one labelled scenario of synthetic data."""

    flagged: int  # transactions flagged
    precision: float  # share of the flagged that are the scenario's
    any_fraud: float  # share of the flagged that are labelled fraud of any scenario
    recall: float  # share of the scenario's transactions flagged
    cases: int  # the scenario's cases
    cases_caught: int  # cases with at least one transaction flagged


def scenario_catch(
    frame: pd.DataFrame,
    labels: pd.DataFrame,
    flagged_ids: Iterable[str],
    scenario: str,
    *,
    case_key: Callable[[pd.DataFrame], pd.Series] = case_by_customer_and_month,
    ids_from: str | None = None,
) -> Catch:
    """Precision, recall and cases caught of `flagged_ids` for the label `scenario`.

    `ids_from` keeps only the scenario's transactions with an id from it on (e.g. 'T202502':
    from February); `case_key` names the case of each of them (rows of `frame`), by default
    one customer's in one month.
    """
    flagged = set(flagged_ids)
    fraud = labels[labels["escenario"] == scenario]
    if ids_from is not None:
        fraud = fraud[fraud["id_transaccion"] >= ids_from]
    fraud_ids = set(fraud["id_transaccion"])
    rows = frame[frame["id_transaccion"].isin(fraud_ids)]
    cases = case_key(rows)
    return Catch(
        flagged=len(flagged),
        precision=len(flagged & fraud_ids) / len(flagged),
        any_fraud=len(flagged & set(labels["id_transaccion"])) / len(flagged),
        recall=fraud["id_transaccion"].isin(flagged).mean(),
        cases=cases.nunique(),
        cases_caught=cases[rows["id_transaccion"].isin(flagged)].nunique(),
    )
