"""burst_of_transactions: given rows -> expected flags, point in time, and a pandas oracle."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from fraudlib.config import apply_overrides, default_config
from fraudlib.detect import run_month
from fraudlib.engines.local import LocalEngine
from fraudlib.month import Month, month_range

from builders import (
    alert_keys,
    case_by_customer_and_month,
    drawn_transactions,
    examples,
    flags,
    rule_evidence,
    scenario_catch,
    synthetic_months,
    transactions,
    write_months,
)

RULE = "burst_of_transactions"
MONTH = Month(2025, 3)
LOOKBACK = 3


def oracle(
    frame: pd.DataFrame,
    month: Month,
    *,
    min_count: int = 5,
    window: timedelta = timedelta(minutes=5),
    routine_burst_days: int = 3,
) -> tuple[dict[str, float], dict[str, str]]:
    """Independent pandas version: (flagged id -> severidad, returned id -> clave_alerta).

    Binary search over each customer's time-ordered rows instead of SQL window frames.
    """
    rows = frame[(frame["fecha"] >= month.shift(-LOOKBACK).start) & (frame["fecha"] < month.end)]
    rows = rows.dropna(subset=["id_cliente", "monto", "ubicacion"])
    rows = rows.sort_values(["id_cliente", "fecha", "id_transaccion"])
    flagged: dict[str, float] = {}
    returned: dict[str, str] = {}
    for _customer, mine in rows.groupby("id_cliente", sort=False):
        ids = mine["id_transaccion"].to_numpy()
        when = mine["fecha"].to_numpy()
        position = np.arange(len(ids))
        # rows before this one (in (fecha, id) order) no older than `window`, plus itself
        first = np.searchsorted(when, when - np.timedelta64(window), side="left")
        counts = position - first + 1
        days = pd.DatetimeIndex(when).normalize().to_numpy()
        burst_days = np.array(sorted(set(days[counts >= min_count])), dtype="datetime64[ns]")
        earlier_burst_days = np.searchsorted(burst_days, days, side="left")
        hit = (counts >= min_count) & (earlier_burst_days < routine_burst_days)
        starts = np.r_[True, when[1:] > when[:-1] + np.timedelta64(window)]
        run_key = ids[np.maximum.accumulate(np.where(starts, position, 0))]
        in_month = when >= np.datetime64(month.start)
        marked_runs = set(run_key[hit & in_month])
        for i in np.flatnonzero(in_month):
            if hit[i]:
                flagged[ids[i]] = round(counts[i] / min_count, 9)
            if run_key[i] in marked_runs:
                returned[ids[i]] = run_key[i]
    return flagged, returned


def at(text: str) -> str:
    """'DD HH:MM[:SS]' in March 2025, as 'YYYY-MM-DD HH:MM:SS'."""
    return f"2025-03-{text}" + (":00" if text.count(":") == 1 else "")


def burst(customer: str, start: str, prefix: str, count: int = 5, gap_s: int = 60) -> list[tuple]:
    """`count` online payments `gap_s` seconds apart from `start` ('YYYY-MM-DD HH:MM')."""
    first = pd.Timestamp(start)
    return [
        (f"{prefix}{i}", customer, 40.0, first + pd.Timedelta(seconds=gap_s * i), "Banca en Linea")
        for i in range(count)
    ]


BURSTS = [
    # c1: five payments within 10 minutes and a sixth: flagged from the fifth on
    ("a0", "c1", 35.0, at("10 10:00"), "Comercio A"),
    ("a1", "c1", 36.0, at("10 10:02"), "Comercio A"),
    ("a2", "c1", 37.0, at("10 10:04"), "Comercio A"),
    ("a3", "c1", 38.0, at("10 10:06"), "Comercio A"),
    ("a4", "c1", 39.0, at("10 10:08"), "Comercio A"),
    ("a5", "c1", 40.0, at("10 10:09"), "Comercio A"),
    # c2: one transaction fewer - never flagged
    ("b0", "c2", 35.0, at("10 10:00"), "Comercio A"),
    ("b1", "c2", 35.0, at("10 10:02"), "Comercio A"),
    ("b2", "c2", 35.0, at("10 10:04"), "Comercio A"),
    ("b3", "c2", 35.0, at("10 10:06"), "Comercio A"),
    # c3: the first of five falls one second outside the window ending at the fifth
    ("c0", "c3", 35.0, at("10 10:00:00"), "Comercio A"),
    ("c1", "c3", 35.0, at("10 10:03"), "Comercio A"),
    ("c2", "c3", 35.0, at("10 10:05"), "Comercio A"),
    ("c3", "c3", 35.0, at("10 10:08"), "Comercio A"),
    ("c4", "c3", 35.0, at("10 10:10:01"), "Comercio A"),
    # c4: the same, exactly 10 minutes: the window includes its start
    ("d0", "c4", 35.0, at("10 10:00:00"), "Comercio A"),
    ("d1", "c4", 35.0, at("10 10:03"), "Comercio A"),
    ("d2", "c4", 35.0, at("10 10:05"), "Comercio A"),
    ("d3", "c4", 35.0, at("10 10:08"), "Comercio A"),
    ("d4", "c4", 35.0, at("10 10:10:00"), "Comercio A"),
    # c5: a payday look-alike - six payments three minutes apart (15 minutes): any five of
    # them span 12 minutes, so the default window never holds five
    *burst("c5", "2025-03-15 19:00", "e", count=6, gap_s=180),
    # c6: rows with a null amount or location are ignored: four remain
    ("f0", "c6", 35.0, at("11 10:00"), "Comercio A"),
    ("f1", "c6", None, at("11 10:01"), "Comercio A"),
    ("f2", "c6", 35.0, at("11 10:02"), None),
    ("f3", "c6", 35.0, at("11 10:03"), "Comercio A"),
    ("f4", "c6", 35.0, at("11 10:04"), "Comercio A"),
    ("f5", "c6", 35.0, at("11 10:05"), "Comercio A"),
    # c7: five at the same instant: ordered by id, only the fifth has four before it
    *[(f"g{i}", "c7", 20.0, at("12 10:00"), "Comercio B") for i in (3, 1, 5, 2, 4)],
    # c8: two bursts on one day, an hour apart: two alerts
    *burst("c8", "2025-03-13 09:00", "h"),
    *burst("c8", "2025-03-13 10:00", "i"),
]


# The hand-built cases are drawn for a 10-minute window (the default is 5 minutes), so the
# tests that use them set it; the synthetic-data test runs the defaults.
HAND_BUILT_WINDOW = 10


def run(tmp_path, rows, month=MONTH, **params):
    write_months(tmp_path, transactions(rows))
    return rule_evidence(tmp_path, month, RULE, **{"window": HAND_BUILT_WINDOW, **params})


def test_hand_built_rows(tmp_path):
    evidence = run(tmp_path, BURSTS)
    assert flags(evidence) == {"a4": 1.0, "a5": 1.2, "d4": 1.0, "g5": 1.0, "h4": 1.0, "i4": 1.0}
    # the earlier transactions of the burst are evidence, and one burst is one alert
    c1 = evidence[evidence["id_cliente"] == "c1"].set_index("id_transaccion")
    assert sorted(c1.index) == ["a0", "a1", "a2", "a3", "a4", "a5"]
    assert set(c1["clave_alerta"]) == {"a0"}
    assert c1.loc["a5", "en_ventana"] == 6
    c8 = evidence[evidence["id_cliente"] == "c8"]
    assert c8.groupby("clave_alerta").size().to_dict() == {"h0": 5, "i0": 5}


def test_one_alert_per_burst(tmp_path):
    write_months(tmp_path, transactions(BURSTS))
    engine = LocalEngine(tmp_path)
    config = apply_overrides(
        default_config(), {"rules": {RULE: {"params": {"window": HAND_BUILT_WINDOW}}}}
    )
    try:
        result = run_month(engine, MONTH, config, rules=[RULE])
    finally:
        engine.close()
    alerts = result.alerts.set_index(["id_cliente", "n_transacciones"])
    assert sorted(alerts.index) == [("c1", 6), ("c4", 5), ("c7", 5), ("c8", 5), ("c8", 5)]
    assert list(alerts.loc[("c1", 6), "ids_transaccion"]) == ["a0", "a1", "a2", "a3", "a4", "a5"]


def test_window_and_count_are_parameters(tmp_path):
    evidence = run(tmp_path, BURSTS, window=16, min_count=4)
    flagged = flags(evidence)
    assert flagged["b3"] == 1.0  # four now suffice
    assert flagged["e5"] == 1.5  # the slow payday burst fits in 16 minutes
    assert "f5" in flagged and "f4" not in flagged  # f1, f2 still do not count


def test_routine_bursts_in_the_customers_history_are_not_flagged(tmp_path):
    rows = [
        *burst("r1", "2024-12-05 12:00", "p"),  # in the lookback (three months back)
        *burst("r1", "2025-01-20 12:00", "q"),
        *burst("r1", "2025-03-02 12:00", "s"),
        *burst("r1", "2025-03-20 12:00", "u"),  # three earlier burst days: routine
        *burst("n1", "2025-01-20 12:00", "v"),
        *burst("n1", "2025-02-20 12:00", "w"),
        *burst("n1", "2025-03-20 12:00", "x"),  # only two earlier: still flagged
        *burst("o1", "2024-11-20 12:00", "y"),  # four months back: outside the lookback
        *burst("o1", "2025-01-20 12:00", "z"),
        *burst("o1", "2025-02-20 12:00", "k"),
        *burst("o1", "2025-03-20 12:00", "m"),
    ]
    flagged = flags(run(tmp_path, rows))
    assert set(flagged) == {"s4", "x4", "m4"}
    evidence = rule_evidence(tmp_path, MONTH, RULE, window=HAND_BUILT_WINDOW)
    assert evidence.set_index("id_transaccion").loc["x4", "dias_con_rafaga_antes"] == 2
    relaxed = rule_evidence(tmp_path, MONTH, RULE, window=HAND_BUILT_WINDOW, routine_burst_days=4)
    assert {"u4", "x4"} <= set(flags(relaxed))


def test_a_burst_reaching_into_the_previous_month_is_one_alert(tmp_path):
    rows = burst("c1", "2025-02-28 23:57", "m", gap_s=90)
    evidence = run(tmp_path, rows)
    assert flags(evidence) == {"m4": 1.0}
    assert set(evidence["id_transaccion"]) == {"m2", "m3", "m4"}  # only this month's rows
    assert set(evidence["clave_alerta"]) == {"m0"}


def test_later_data_never_changes_a_flag(tmp_path):
    before = flags(run(tmp_path / "before", BURSTS))
    later = [
        # more transactions right after flagged and unflagged ones, at the same instant with
        # a later id, more burst days (routine) later in the month, and next month
        ("z0", "c1", 20.0, at("10 10:09:30"), "Comercio A"),
        ("z1", "c2", 20.0, at("10 10:06:01"), "Comercio A"),
        ("z2", "c7", 20.0, at("12 10:00"), "Comercio B"),
        ("z3", "c3", 20.0, at("10 10:10:02"), "Comercio A"),
        *burst("c8", "2025-03-20 09:00", "j"),
        *burst("c8", "2025-03-21 09:00", "k"),
        *burst("c8", "2025-03-22 09:00", "l"),
        *burst("c1", "2025-04-02 09:00", "n"),
    ]
    after = flags(run(tmp_path / "after", BURSTS + later))
    # every transaction of before keeps its flag (or its absence) and its severidad
    assert {k: v for k, v in after.items() if k in {row[0] for row in BURSTS}} == before
    assert {"z0", "z1", "z2"} <= set(after)  # the later ones are judged on what came before


def test_engine_equals_oracle_on_hand_built_rows(tmp_path):
    frame = transactions(BURSTS)
    write_months(tmp_path, frame)
    evidence = rule_evidence(tmp_path, MONTH, RULE, window=HAND_BUILT_WINDOW)
    expected_flags, expected_rows = oracle(frame, MONTH, window=timedelta(minutes=10))
    assert flags(evidence) == expected_flags
    assert alert_keys(evidence) == expected_rows


# Bursts in the month, in the lookback (routine), across the month's start, two on one day,
# and one before the lookback. (Hypothesis prefers the first of a list.)
DAYS = [pd.Timestamp(d) for d in ("2025-03-04 09:00", "2025-01-20 12:00", "2025-02-28 23:56")]
DAYS += [pd.Timestamp(d) for d in ("2025-03-04 09:20", "2025-03-10 12:00", "2024-11-30 12:00")]
# A row without a customer, ignored by the rule, so the month's partition always exists.
ANCHOR = ("anchor", None, 1.0, "2025-03-15 12:00:00", "Comercio A")
ROW = st.tuples(
    st.sampled_from(["c1", "c1", "c2", None]),
    st.sampled_from([25.0, 25.0, 25.0, None]),
    st.sampled_from(range(len(DAYS))),
    # half minutes over 12 minutes make ties and exact window edges common
    st.integers(min_value=0, max_value=24).map(lambda k: k * 30),
    st.sampled_from(["Comercio A", "Banca en Linea", "Banca en Linea", None]),
)


@examples(40)
@given(
    rows=st.lists(ROW, min_size=10, max_size=40),
    min_count=st.integers(min_value=2, max_value=5),
    window=st.sampled_from([1, 5, 10]),
    routine=st.integers(min_value=1, max_value=3),
)
def test_engine_equals_oracle(tmp_path_factory, rows, min_count, window, routine):
    root = tmp_path_factory.mktemp("bursts")
    frame = drawn_transactions(rows, DAYS, ANCHOR)
    write_months(root, frame)
    params = {"min_count": min_count, "window": window, "routine_burst_days": routine}
    evidence = rule_evidence(root, MONTH, RULE, **params)
    expected_flags, expected_rows = oracle(
        frame,
        MONTH,
        min_count=min_count,
        window=timedelta(minutes=window),
        routine_burst_days=routine,
    )
    event("some flagged" if expected_flags else "none flagged")
    assert flags(evidence) == expected_flags
    assert alert_keys(evidence) == expected_rows


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    frame, labels = synthetic_months(root, "2025-01", "2025-04", rows_per_month=20_000, seed=5)
    return root, frame, labels


def test_engine_equals_oracle_on_synthetic_data_and_catches_bursts(synthetic):
    root, frame, labels = synthetic
    flagged: dict[str, float] = {}
    for month in month_range("2025-01", "2025-04"):
        evidence = rule_evidence(root, month, RULE)
        expected_flags, expected_rows = oracle(frame, month)
        assert flags(evidence) == expected_flags
        assert alert_keys(evidence) == expected_rows
        flagged.update(expected_flags)
    # The first min_count - 1 transactions of a burst are needed to see it, so transaction
    # recall is bounded by (n - 4) / n; every burst of 5+ within 5 minutes is caught.
    catch = scenario_catch(frame, labels, flagged, "rafaga", case_key=case_by_customer_and_month)
    print(
        f"{RULE}: precision {catch.precision:.2f}, recall {catch.recall:.2f}, "
        f"cases {catch.cases_caught}/{catch.cases}, flagged {catch.flagged}"
    )
    assert catch.cases_caught == catch.cases
    assert catch.recall >= 0.4
    assert catch.precision >= 0.2
