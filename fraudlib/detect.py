"""Run the rules on one month: evidence rows from SQL -> alerts and flagged transactions."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from fraudlib import scoring
from fraudlib.config import RulesConfig, default_config
from fraudlib.contract import (
    ALERTS_SCHEMA,
    FLAGGED_SCHEMA,
    TRANSACTION_COLUMNS,
    TRANSACTIONS,
)
from fraudlib.engines import Engine
from fraudlib.errors import DataError
from fraudlib.month import Month
from fraudlib.render import render
from fraudlib.rules import EVIDENCE_COLUMNS, Rule

Progress = Callable[[str], None]

_QUALITY_SQL = """
select
    count(*) as filas,
    count(*) - count(id_transaccion) as ids_nulos,
    count(id_transaccion) - count(distinct id_transaccion) as ids_duplicados,
    count(*) - count(fecha) as fechas_nulas,
    count(*) - count(id_cliente) as clientes_nulos,
    count(*) - count(monto) as montos_nulos,
    count(*) - count(ubicacion) as ubicaciones_nulas
from transacciones
where partition_range(anio, mes, :month, :month)
"""


@dataclass
class MonthResult:
    """What detection found in one month."""

    month: Month
    alerts: pd.DataFrame
    flagged: pd.DataFrame
    summary: pd.DataFrame
    rows: int
    notices: list[str] = field(default_factory=list)
    seconds: float = 0.0
    bytes_scanned: int = 0


def run_month(
    engine: Engine,
    month: Month,
    config: RulesConfig | None = None,
    *,
    rules: list[str] | None = None,
    progress: Progress | None = None,
) -> MonthResult:
    """Check the month's data, run the selected rules, and build alerts and flagged rows."""
    started = time.perf_counter()
    config = config or default_config()
    say = progress or (lambda _message: None)
    selected = config.enabled_rules(rules)
    columns = engine.month_columns(TRANSACTIONS, month)
    check_transaction_columns(columns, month)
    lookback = max((rule.lookback_months for rule in selected), default=0)
    engine.bind_months([month.shift(-k) for k in range(lookback + 1)])
    rows, notices = check_month_quality(engine, month)

    evidence, skipped = [], set()
    for rule in selected:
        missing = [c for c in rule.columns if c not in columns]
        missing += [t for t in rule.tables if not engine.has_table(t)]
        if missing:
            notice = f"skipped rule {rule.name}: needs {', '.join(missing)}, which the data lacks"
            notices.append(notice)
            skipped.add(rule.name)
            say(notice)
            continue
        rule_started = time.perf_counter()
        sql = rule.render(month, config.sql_values(rule))
        hits = engine.query(sql, label=f"rule {rule.name} {month}")
        _check_evidence(hits, rule)
        evidence.append(_scored(hits, rule, config))
        flagged = int(hits["marcada"].fillna(False).astype(bool).sum()) if len(hits) else 0
        say(
            f"{month} {rule.name} v{rule.version}: {flagged} flagged transactions "
            f"({time.perf_counter() - rule_started:.1f}s)"
        )

    alerts = build_alerts(evidence, month, config)
    flagged = build_flagged(evidence, config)
    return MonthResult(
        month=month,
        alerts=alerts,
        flagged=flagged,
        summary=summarize(selected, alerts, flagged, skipped),
        rows=rows,
        notices=notices,
        seconds=time.perf_counter() - started,
        bytes_scanned=engine.bytes_scanned,
    )


def check_transaction_columns(columns: dict[str, str], month: Month) -> None:
    """The month's `transacciones` must have every contract column with an accepted type."""
    for name, families in TRANSACTION_COLUMNS.items():
        if name not in columns:
            raise DataError(f"{TRANSACTIONS} {month}: required column {name} is missing")
        if columns[name] not in families:
            raise DataError(
                f"{TRANSACTIONS} {month}: column {name} has type {columns[name]}, "
                f"expected {' or '.join(families)}"
            )


def check_month_quality(engine: Engine, month: Month) -> tuple[int, list[str]]:
    """Reject what breaks the outputs (ids null or duplicated, no fecha); note other nulls."""
    sql = render(_QUALITY_SQL, {"month": month}, source="data quality check")
    counts = engine.query(sql, label=f"quality {month}").iloc[0].astype("int64")
    if counts["filas"] == 0:
        raise DataError(f"{TRANSACTIONS} {month}: the partition has no rows")
    for column, what in (
        ("ids_nulos", "null id_transaccion"),
        ("ids_duplicados", "duplicated id_transaccion"),
        ("fechas_nulas", "null fecha"),
    ):
        if counts[column]:
            raise DataError(f"{TRANSACTIONS} {month}: {counts[column]} rows with {what}")
    notices = [
        f"{counts[column]} of {counts['filas']} rows have null {name}; rules ignore them"
        for column, name in (
            ("clientes_nulos", "id_cliente"),
            ("montos_nulos", "monto"),
            ("ubicaciones_nulas", "ubicacion"),
        )
        if counts[column]
    ]
    return int(counts["filas"]), notices


def _check_evidence(hits: pd.DataFrame, rule: Rule) -> None:
    missing = [c for c in EVIDENCE_COLUMNS if c not in hits.columns]
    if missing:  # a rule bug, not bad input: fail loudly
        raise RuntimeError(f"rule {rule.name} returned no column(s) {', '.join(missing)}")


def _scored(hits: pd.DataFrame, rule: Rule, config: RulesConfig) -> pd.DataFrame:
    hits = hits.copy()
    hits["marcada"] = hits["marcada"].fillna(False).astype(bool)
    hits["regla"] = rule.name
    hits["version_regla"] = rule.version
    weight = config.rules[rule.name].weight
    hits["puntaje_regla"] = scoring.rule_score(weight, hits["severidad"].astype("float64"))
    hits["fecha"] = pd.to_datetime(hits["fecha"])
    return hits


def alert_id(rule: str, month: Month, id_cliente: str, key: str) -> str:
    """Deterministic alert id, so re-running a month replaces its alerts one for one."""
    text = "\x1f".join((rule, str(month), str(id_cliente), str(key)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def build_alerts(evidence: list[pd.DataFrame], month: Month, config: RulesConfig) -> pd.DataFrame:
    """One alert per (rule, customer, clave_alerta) with at least one flagged transaction."""
    keys = ["id_cliente", "clave_alerta"]
    records = []
    for hits in evidence:
        hits = hits.dropna(subset=keys)
        if not hits["marcada"].any():
            continue
        extra = [c for c in hits.columns if c not in EVIDENCE_COLUMNS and c not in _SCORED]
        rule_name = hits["regla"].iloc[0]
        settings = config.rules[rule_name]
        # Sorted once, so every per-group list and "first" below is in time order.
        hits = hits.sort_values([*keys, "fecha", "id_transaccion"], kind="stable")
        marked = hits[hits["marcada"]]
        groups = hits.groupby(keys, sort=True).agg(
            desde=("fecha", "min"),
            hasta=("fecha", "max"),
            n_transacciones=("id_transaccion", "size"),
            monto_total=("monto", "sum"),
            ids_transaccion=("id_transaccion", list),
            n_ubicaciones=("ubicacion", "nunique"),
            ubicacion=("ubicacion", "first"),
            version_regla=("version_regla", "first"),
        )
        flagged = marked.groupby(keys, sort=True).agg(
            puntaje=("puntaje_regla", "max"), flagged_ids=("id_transaccion", list)
        )
        triggers = marked.drop_duplicates(keys, keep="first").set_index(keys)
        alerts = groups.join(flagged, how="inner").join(
            triggers[["id_transaccion", "fecha", "severidad", *extra]]
        )
        for (customer, key), alert in zip(
            alerts.index, alerts.itertuples(index=False), strict=True
        ):
            row = alert._asdict()
            detail = {
                "rule": rule_name,
                "version": row["version_regla"],
                "config_version": config.version,
                "params": settings.params,
                "key": str(key),
                "flagged_ids": row["flagged_ids"],
                "trigger": {
                    "id_transaccion": row["id_transaccion"],
                    "fecha": row["fecha"].isoformat(),
                    "severidad": _json_value(float(row["severidad"])),
                    **{c: _json_value(row[c]) for c in extra},
                },
            }
            score = float(row["puntaje"])
            records.append(
                {
                    "id_alerta": alert_id(rule_name, month, customer, key),
                    "regla": rule_name,
                    "version_regla": row["version_regla"],
                    "id_cliente": customer,
                    "ubicacion": row["ubicacion"] if row["n_ubicaciones"] == 1 else None,
                    "desde": row["desde"],
                    "hasta": row["hasta"],
                    "n_transacciones": int(row["n_transacciones"]),
                    "monto_total": round(float(row["monto_total"]), 2),
                    "ids_transaccion": row["ids_transaccion"],
                    "puntaje": score,
                    "decision": str(scoring.decide(score, config.block_at)),
                    "detalle": json.dumps(detail, ensure_ascii=False, sort_keys=True),
                }
            )
    frame = pd.DataFrame.from_records(records, columns=ALERTS_SCHEMA.names)
    return frame.sort_values(["puntaje", "id_alerta"], ascending=[False, True], ignore_index=True)


_SCORED = ("regla", "version_regla", "puntaje_regla")


def build_flagged(evidence: list[pd.DataFrame], config: RulesConfig) -> pd.DataFrame:
    """One row per flagged transaction, its puntaje combined over the rules that flagged it."""
    marked = [hits.loc[hits["marcada"], [*EVIDENCE_COLUMNS, *_SCORED]] for hits in evidence]
    marked = [m for m in marked if not m.empty]
    if not marked:
        return pd.DataFrame(columns=FLAGGED_SCHEMA.names)
    hits = pd.concat(marked, ignore_index=True)
    # A rule may reach the same transaction through two alert keys; count it once per rule.
    hits = hits.sort_values("puntaje_regla", ascending=False).drop_duplicates(
        ["id_transaccion", "regla"]
    )
    grouped = hits.groupby("id_transaccion", sort=False)
    flagged = grouped[["id_cliente", "fecha", "monto", "ubicacion"]].first()
    flagged["puntaje"] = grouped["puntaje_regla"].agg(scoring.combine)
    flagged["reglas"] = grouped["regla"].agg(lambda names: sorted(names))
    flagged["decision"] = scoring.decide(flagged["puntaje"], config.block_at)
    flagged = flagged.reset_index()[FLAGGED_SCHEMA.names]
    return flagged.sort_values(
        ["puntaje", "id_transaccion"], ascending=[False, True], ignore_index=True
    )


def summarize(
    rules: list[Rule], alerts: pd.DataFrame, flagged: pd.DataFrame, skipped: set[str]
) -> pd.DataFrame:
    """Per rule: alerts, flagged transactions, their amount, and the decisions."""
    rows = []
    for rule in rules:
        mine = alerts[alerts["regla"] == rule.name]
        hit = flagged[flagged["reglas"].map(lambda names, n=rule.name: n in names).astype(bool)]
        rows.append(
            {
                "rule": rule.name,
                "version": rule.version,
                "alerts": len(mine),
                "flagged": len(hit),
                "amount": round(float(hit["monto"].sum()), 2),
                "block": int((mine["decision"] == "block").sum()),
                "status": "skipped" if rule.name in skipped else "ran",
            }
        )
    return pd.DataFrame(
        rows, columns=["rule", "version", "alerts", "flagged", "amount", "block", "status"]
    )


def _json_value(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None  # JSON has no inf/NaN
    return value
