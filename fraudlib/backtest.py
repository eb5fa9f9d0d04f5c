"""Measure rules against known fraud over a range of months (`fraud backtest`).

Truth is `etiquetas` where it exists (synthetic data), else `fraudes_confirmados` (a bank's
confirmed fraud, which misses what was never caught — recall is then an upper bound).
Detection runs exactly as `fraud detect` does, month by month, so what is measured is
what production would have flagged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fraudlib.config import RulesConfig
from fraudlib.contract import CONFIRMED_FRAUD, LABELS
from fraudlib.detect import run_month
from fraudlib.engines import Engine
from fraudlib.errors import DataError
from fraudlib.month import Month
from fraudlib.render import render

COMBINED = "all rules"
BLOCKED = "all rules: block"  # the flagged transactions whose decision is 'block'

_TRUTH_SQL = {
    LABELS: """
        select t.id_transaccion, t.id_cliente, e.escenario
        from etiquetas as e
        join transacciones as t on t.id_transaccion = e.id_transaccion
        where partition_range(t.anio, t.mes, :month, :month)
    """,
    CONFIRMED_FRAUD: """
        select t.id_transaccion, t.id_cliente, 'confirmada' as escenario
        from fraudes_confirmados as f
        join transacciones as t on t.id_transaccion = f.id_transaccion
        where partition_range(t.anio, t.mes, :month, :month)
    """,
}


@dataclass
class Backtest:
    """Everything measured over the months, as tables."""

    months: list[Month]
    truth: str
    config_version: str
    metrics: pd.DataFrame  # one row per rule and one for all rules combined
    per_month: pd.DataFrame  # month x rule: alerts and flagged transactions
    by_scenario: pd.DataFrame  # recall of each rule on each fraud scenario
    overlap: pd.DataFrame  # flagged transactions shared by each pair of rules
    alert_ids: dict[str, set[str]]  # rule -> ids of its alerts (for comparing configs)


def run_backtest(
    engine: Engine,
    months: list[Month],
    config: RulesConfig,
    *,
    progress: Callable[[str], None] | None = None,
) -> Backtest:
    """Run detection on every month and score it against the truth table."""
    say = progress or (lambda _message: None)
    truth_table = next((t for t in (LABELS, CONFIRMED_FRAUD) if engine.has_table(t)), None)
    if truth_table is None:
        raise DataError(
            "backtest needs known fraud: neither etiquetas nor fraudes_confirmados exists"
        )
    rules = [rule.name for rule in config.enabled_rules()]
    flagged, alerts, truth, volumes = [], [], [], []
    for index, month in enumerate(months, start=1):
        result = run_month(engine, month, config)
        sql = render(_TRUTH_SQL[truth_table], {"month": month}, source="backtest truth")
        month_truth = engine.query(sql, label=f"{truth_table} {month}")
        month_truth["mes"] = str(month)
        truth.append(month_truth)
        result.flagged["mes"] = str(month)
        result.alerts["mes"] = str(month)
        flagged.append(result.flagged)
        alerts.append(result.alerts)
        for row in result.summary.itertuples():
            volumes.append(
                {
                    "month": str(month),
                    "rule": row.rule,
                    "alerts": row.alerts,
                    "flagged": row.flagged,
                }
            )
        say(
            f"backtest {month} ({index}/{len(months)}): {len(result.flagged)} flagged, "
            f"{len(month_truth)} known fraud"
        )
    flagged_all = pd.concat(flagged, ignore_index=True)
    alerts_all = pd.concat(alerts, ignore_index=True)
    truth_all = pd.concat(truth, ignore_index=True).drop_duplicates("id_transaccion")
    hits = _hits_by_rule(flagged_all, rules)
    return Backtest(
        months=months,
        truth=truth_table,
        config_version=config.version,
        metrics=_metrics(hits, alerts_all, flagged_all, truth_all, rules),
        per_month=pd.DataFrame(volumes),
        by_scenario=_by_scenario(hits, truth_all, rules),
        overlap=_overlap(hits, rules),
        alert_ids={
            **{
                rule: set(alerts_all.loc[alerts_all["regla"] == rule, "id_alerta"])
                for rule in rules
            },
            BLOCKED: set(alerts_all.loc[alerts_all["decision"] == "block", "id_alerta"]),
        },
    )


def _hits_by_rule(flagged: pd.DataFrame, rules: list[str]) -> dict[str, pd.DataFrame]:
    exploded = flagged.explode("reglas")
    hits = {rule: exploded[exploded["reglas"] == rule] for rule in rules}
    hits[COMBINED] = flagged
    hits[BLOCKED] = flagged[flagged["decision"] == "block"]
    return hits


def _metrics(hits, alerts, flagged, truth, rules) -> pd.DataFrame:
    fraud_ids = set(truth["id_transaccion"])
    fraud_customers = set(zip(truth["mes"], truth["id_cliente"], strict=True))
    rows = []
    for rule in [*rules, COMBINED, BLOCKED]:
        mine = hits[rule]
        ids = set(mine["id_transaccion"])
        customers = set(zip(mine["mes"], mine["id_cliente"], strict=True))
        rule_alerts = {
            COMBINED: alerts,
            BLOCKED: alerts[alerts["decision"] == "block"],
        }.get(rule, alerts[alerts["regla"] == rule])
        alert_hits = rule_alerts["ids_transaccion"].map(lambda xs: bool(fraud_ids & set(xs)))
        tp = len(ids & fraud_ids)
        rows.append(
            {
                "rule": rule,
                "alerts": len(rule_alerts),
                "alert_precision": _ratio(int(alert_hits.sum()), len(rule_alerts)),
                "flagged": len(ids),
                "true_positives": tp,
                "precision": _ratio(tp, len(ids)),
                "recall": _ratio(tp, len(fraud_ids)),
                "customer_precision": _ratio(len(customers & fraud_customers), len(customers)),
                "customer_recall": _ratio(len(customers & fraud_customers), len(fraud_customers)),
                "average_precision": (
                    average_precision(flagged, fraud_ids) if rule == COMBINED else np.nan
                ),
            }
        )
    return pd.DataFrame(rows)


def average_precision(flagged: pd.DataFrame, fraud_ids: set[str]) -> float:
    """Average precision of `puntaje` as a ranking of all transactions.

    Transactions no rule flagged rank last (score 0) and so add nothing: the AP is the mean,
    over every known fraud, of the precision of the queue down to that fraud. Ties in
    puntaje are broken by id, like the investigators' queue.
    """
    if not fraud_ids:
        return float("nan")
    queue = flagged.sort_values(["puntaje", "id_transaccion"], ascending=[False, True])
    is_fraud = queue["id_transaccion"].isin(fraud_ids).to_numpy()
    precision_at = np.cumsum(is_fraud) / np.arange(1, len(queue) + 1)
    return float(precision_at[is_fraud].sum() / len(fraud_ids))


def _by_scenario(hits, truth, rules) -> pd.DataFrame:
    table = {}
    for rule in [*rules, COMBINED]:
        caught = truth["id_transaccion"].isin(set(hits[rule]["id_transaccion"]))
        table[rule] = caught.groupby(truth["escenario"]).mean()
    frame = pd.DataFrame(table).T
    frame.index.name = "rule"
    frame.columns.name = None
    return frame


def _overlap(hits, rules) -> pd.DataFrame:
    sets = {rule: set(hits[rule]["id_transaccion"]) for rule in rules}
    frame = pd.DataFrame(
        [[len(sets[a] & sets[b]) for b in rules] for a in rules], index=rules, columns=rules
    )
    frame.index.name = "rule"
    return frame


def compare(candidate: Backtest, production: Backtest) -> pd.DataFrame:
    """Per rule: alerts gained and lost by the candidate, and its metric deltas."""
    metrics = ["alerts", "flagged", "precision", "recall", "customer_recall", "average_precision"]
    cand = candidate.metrics.set_index("rule")[metrics]
    prod = production.metrics.set_index("rule")[metrics]
    rows = []
    for rule in cand.index.union(prod.index, sort=False):
        new = candidate.alert_ids.get(rule, set())
        old = production.alert_ids.get(rule, set())
        if rule == COMBINED:
            new = set().union(*(ids for r, ids in candidate.alert_ids.items() if r != BLOCKED))
            old = set().union(*(ids for r, ids in production.alert_ids.items() if r != BLOCKED))
        row = {"rule": rule, "alerts_gained": len(new - old), "alerts_lost": len(old - new)}
        for metric in metrics:
            before = prod[metric].get(rule, np.nan)
            after = cand[metric].get(rule, np.nan)
            row[f"{metric}_delta"] = after - before
        rows.append(row)
    return pd.DataFrame(rows)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")
