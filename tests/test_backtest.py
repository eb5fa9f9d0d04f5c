"""Backtest metrics on hand-built months where every number can be worked out by hand."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from fraudlib.backtest import BLOCKED, COMBINED, average_precision, compare, run_backtest
from fraudlib.config import apply_overrides, default_config
from fraudlib.contract import CONFIRMED_FRAUD, CONFIRMED_FRAUD_SCHEMA, LABELS, LABELS_SCHEMA
from fraudlib.engines.local import LocalEngine
from fraudlib.errors import DataError
from fraudlib.month import Month, month_range

from builders import transactions, write_month, write_table

SEED = "large_sum_at_location"
MARCH = [
    # c1: fraud, flagged from m3 on (m1, m2 are evidence only: not flagged point in time)
    ("m1", "c1", 20000.0, "2025-03-01 10:00", "Sucursal A"),
    ("m2", "c1", 20000.0, "2025-03-02 10:00", "Sucursal A"),
    ("m3", "c1", 20000.0, "2025-03-03 10:00", "Sucursal A"),
    # c2: legit but flagged (a false positive)
    ("m4", "c2", 30000.0, "2025-03-03 11:00", "Cajero 9"),
    ("m5", "c2", 30000.0, "2025-03-04 11:00", "Cajero 9"),
    # c3: fraud the seed rule cannot see
    ("m6", "c3", 900.0, "2025-03-05 11:00", "Comercio 1"),
]
APRIL = [
    ("a1", "c4", 60000.0, "2025-04-01 10:00", "Cajero 2"),
    ("a2", "c4", 1.0, "2025-04-02 10:00", "Cajero 2"),
]
LABELLED = ["m1", "m2", "m3", "m6", "a1"]


@pytest.fixture
def data(tmp_path):
    write_month(tmp_path, "2025-03", transactions(MARCH))
    write_month(tmp_path, "2025-04", transactions(APRIL))
    labels = pd.DataFrame({"id_transaccion": LABELLED, "escenario": ["x", "x", "x", "y", "x"]})
    write_table(tmp_path, LABELS, labels, LABELS_SCHEMA)
    return tmp_path


def seed_only():
    return apply_overrides(
        default_config(),
        {"rules": {name: {"enabled": name == SEED} for name in default_config().rules}},
    )


def test_metrics_by_hand(data):
    result = run_backtest(LocalEngine(data), month_range("2025-03", "2025-04"), seed_only())
    seed = result.metrics.set_index("rule").loc[SEED]
    # flagged: m3, m5, a1 -> fraud among them: m3, a1
    assert seed["flagged"] == 3 and seed["true_positives"] == 2
    assert seed["precision"] == pytest.approx(2 / 3)
    assert seed["recall"] == pytest.approx(2 / 5)
    # alerts: c1 (fraud), c2 (legit), c4 (fraud)
    assert seed["alerts"] == 3 and seed["alert_precision"] == pytest.approx(2 / 3)
    # customer-months: fraud (03,c1) (03,c3) (04,c4); flagged (03,c1) (03,c2) (04,c4)
    assert seed["customer_precision"] == pytest.approx(2 / 3)
    assert seed["customer_recall"] == pytest.approx(2 / 3)
    assert result.by_scenario.loc[SEED, "y"] == 0.0
    assert result.by_scenario.loc[SEED, "x"] == pytest.approx(2 / 4)
    assert result.truth == LABELS
    assert set(result.per_month["month"]) == {"2025-03", "2025-04"}


def test_average_precision_by_hand():
    queue = pd.DataFrame({"id_transaccion": ["a", "b", "c", "d"], "puntaje": [0.9, 0.8, 0.7, 0.6]})
    # frauds a, c and e (never flagged): (1/1 + 2/3 + 0) / 3
    assert average_precision(queue, {"a", "c", "e"}) == pytest.approx((1 + 2 / 3) / 3)
    assert average_precision(queue, {"a", "b"}) == 1.0


def test_candidate_against_production(data):
    months = month_range("2025-03", "2025-04")
    production = run_backtest(LocalEngine(data), months, seed_only())
    stricter = apply_overrides(seed_only(), {"rules": {SEED: {"params": {"min_total": 55000}}}})
    candidate = run_backtest(LocalEngine(data), months, stricter)
    delta = compare(candidate, production).set_index("rule")
    # c2 sums to exactly 60,000 > 55,000 still; c1 60,000 too; c4's 60,000 stays: nothing lost
    assert delta.loc[SEED, "alerts_lost"] == 0 and delta.loc[SEED, "alerts_gained"] == 0
    stricter = apply_overrides(seed_only(), {"rules": {SEED: {"params": {"min_total": 60000}}}})
    candidate = run_backtest(LocalEngine(data), months, stricter)
    delta = compare(candidate, production).set_index("rule")
    assert delta.loc[SEED, "alerts_lost"] == 3
    assert delta.loc[SEED, "recall_delta"] == pytest.approx(-2 / 5)
    assert delta.loc[COMBINED, "alerts_lost"] == 3


def test_no_known_fraud_is_an_error(tmp_path):
    write_month(tmp_path, "2025-03", transactions(MARCH))
    with pytest.raises(DataError, match="needs known fraud"):
        run_backtest(LocalEngine(tmp_path), [Month(2025, 3)], seed_only())


def test_cli_backtest_prints_tables_and_writes_json_and_csv(data, tmp_path):
    config = tmp_path / "seed.yaml"
    config.write_text(
        json.dumps(
            {
                "version": "seed-only",
                "rules": {name: {"enabled": name == SEED} for name in default_config().rules},
            }
        )
    )
    for output in (tmp_path / "bt.json", tmp_path / "bt.csv"):
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "fraudlib.cli",
                "backtest",
                "--data",
                str(data),
                "--from",
                "2025-03",
                "--to",
                "2025-04",
                "--config",
                str(config),
                "--against",
                str(config),
                "--output",
                str(output),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert "precision" in run.stdout and "seed-only against seed-only" in run.stdout
    document = json.loads((tmp_path / "bt.json").read_text())
    assert {"metrics", "per_month", "by_scenario", "overlap", "comparison"} <= set(document)
    seed = next(row for row in document["metrics"] if row["rule"] == SEED)
    assert seed["precision"] == pytest.approx(2 / 3)
    csv = pd.read_csv(tmp_path / "bt.csv")
    assert csv.set_index("rule").loc[SEED, "recall"] == pytest.approx(2 / 5)


def test_block_decisions_are_measured_on_their_own(data):
    config = apply_overrides(seed_only(), {"decision": {"block_at": 0.5}})
    months = month_range("2025-03", "2025-04")
    result = run_backtest(LocalEngine(data), months, config)
    blocked = result.metrics.set_index("rule").loc[BLOCKED]
    # puntaje = 0.72 * (1 - 0.5 / severity), and m3, m5 and a1 each bring their running
    # total to 60,000 (severity 1.2): 0.42 - so at 0.5 nothing is blocked, at 0.4 all is.
    assert blocked["flagged"] == 0
    config = apply_overrides(seed_only(), {"decision": {"block_at": 0.4}})
    result = run_backtest(LocalEngine(data), months, config)
    blocked = result.metrics.set_index("rule").loc[BLOCKED]
    assert blocked["flagged"] == 3 and blocked["precision"] == pytest.approx(2 / 3)
    assert result.alert_ids[BLOCKED] == result.alert_ids[SEED]


def test_confirmed_fraud_is_the_truth_where_there_are_no_labels(tmp_path):
    write_month(tmp_path, "2025-03", transactions(MARCH))
    confirmed = pd.DataFrame(
        {"id_transaccion": ["m3"], "fecha_confirmacion": [pd.Timestamp("2025-03-20")]}
    )
    write_table(tmp_path, CONFIRMED_FRAUD, confirmed, CONFIRMED_FRAUD_SCHEMA)
    result = run_backtest(LocalEngine(tmp_path), [Month(2025, 3)], seed_only())
    seed = result.metrics.set_index("rule").loc[SEED]
    assert result.truth == CONFIRMED_FRAUD
    assert (seed["true_positives"], seed["flagged"], seed["recall"]) == (1, 2, 1.0)
    assert list(result.by_scenario.columns) == ["confirmada"]
