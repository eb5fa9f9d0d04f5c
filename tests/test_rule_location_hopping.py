"""location_hopping: given rows -> expected flags, point in time, and a pandas oracle."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fraudlib.contract import MAIN_OFFICE, ONLINE_LOCATION
from fraudlib.month import Month, month_range

from builders import (
    alert_keys,
    case_by_customer,
    drawn_transactions,
    examples,
    flags,
    flags_until_without_and_with,
    rule_evidence,
    scenario_catch,
    synthetic_months,
    transactions,
    write_months,
)

RULE = "location_hopping"
MONTH = Month(2025, 3)
EXCLUDED = (MAIN_OFFICE, ONLINE_LOCATION)


def oracle(
    frame: pd.DataFrame,
    month: Month,
    *,
    min_locations: int = 4,
    window: timedelta = timedelta(minutes=60),
    routine_hop_days: int = 2,
    excluded: tuple[str, ...] = EXCLUDED,
) -> tuple[dict[str, float], dict[str, str]]:
    """Independent pandas version: (flagged id -> severidad, returned id -> clave_alerta).

    Prefix sums over each customer's time-ordered rows instead of SQL window frames.
    """
    rows = frame[(frame["fecha"] >= month.shift(-1).start) & (frame["fecha"] < month.end)]
    rows = rows.dropna(subset=["id_cliente", "monto", "ubicacion"])
    rows = rows[~rows["ubicacion"].isin(excluded)]
    rows = rows.sort_values(["id_cliente", "fecha", "id_transaccion"])
    places = rows.groupby("id_cliente")["ubicacion"]
    moved = places.shift(1).notna() & (rows["ubicacion"] != places.shift(1))
    for back in (2, 3):
        moved &= rows["ubicacion"] != places.shift(back)  # NaN (no such row) differs from all
    rows = rows.assign(moved=moved.astype(int))
    flagged: dict[str, float] = {}
    returned: dict[str, str] = {}
    for _customer, mine in rows.groupby("id_cliente", sort=False):
        ids = mine["id_transaccion"].to_numpy()
        when = mine["fecha"].to_numpy()
        total = np.cumsum(mine["moved"].to_numpy())
        first = np.searchsorted(when, when - np.timedelta64(window), side="left")
        counts = total - np.where(first > 0, total[first - 1], 0)
        days = when.astype("datetime64[D]")
        hop_days = np.unique(days[counts >= min_locations])
        routine = np.searchsorted(hop_days, days)  # hop days strictly before this one
        hit = (counts >= min_locations) & (routine < routine_hop_days)
        starts = np.r_[True, when[1:] > when[:-1] + np.timedelta64(window)]
        run_key = ids[np.maximum.accumulate(np.where(starts, np.arange(len(ids)), 0))]
        in_month = when >= np.datetime64(month.start)
        marked_runs = set(run_key[hit & in_month])
        for i in np.flatnonzero(in_month & (hit | np.isin(run_key, list(marked_runs)))):
            if hit[i]:
                flagged[ids[i]] = round(counts[i] / min_locations, 9)
            returned[ids[i]] = run_key[i]
    return flagged, returned


def at(text: str) -> str:
    """'DD HH:MM[:SS]' in March 2025, as 'YYYY-MM-DD HH:MM:SS'."""
    return f"2025-03-{text}" + (":00" if text.count(":") == 1 else "")


HOPS = [
    # c1: home at 08:00, then four new places 10:00-10:45 and a fifth at 10:50. Arriving at B
    # is a change, so E is the 4th change within 60 minutes (exactly the threshold), F the 5th.
    ("a0", "c1", 50.0, at("10 08:00"), "Comercio A"),
    ("a1", "c1", 50.0, at("10 10:00"), "Comercio B"),
    ("a2", "c1", 50.0, at("10 10:15"), "Cajero C"),
    ("a3", "c1", 50.0, at("10 10:30"), "Cajero D"),
    ("a4", "c1", 50.0, at("10 10:45"), "Comercio E"),
    ("a5", "c1", 50.0, at("10 10:50"), "Comercio F"),
    # c2: one change fewer (3) - never flagged
    ("b0", "c2", 50.0, at("10 08:00"), "Comercio A"),
    ("b1", "c2", 50.0, at("10 10:00"), "Comercio B"),
    ("b2", "c2", 50.0, at("10 10:15"), "Cajero C"),
    ("b3", "c2", 50.0, at("10 10:30"), "Cajero D"),
    # c3: the first change falls one second outside the window ending at the 4th
    ("c0", "c3", 50.0, at("10 08:00"), "Comercio A"),
    ("c1", "c3", 50.0, at("10 10:00:00"), "Comercio B"),
    ("c2", "c3", 50.0, at("10 10:20"), "Cajero C"),
    ("c3", "c3", 50.0, at("10 10:40"), "Cajero D"),
    ("c4", "c3", 50.0, at("10 11:00:01"), "Comercio E"),
    # c4: the same, exactly 60 minutes: the window includes its start
    ("d0", "c4", 50.0, at("10 08:00"), "Comercio A"),
    ("d1", "c4", 50.0, at("10 10:00:00"), "Comercio B"),
    ("d2", "c4", 50.0, at("10 10:20"), "Cajero C"),
    ("d3", "c4", 50.0, at("10 10:40"), "Cajero D"),
    ("d4", "c4", 50.0, at("10 11:00:00"), "Comercio E"),
    # c5: online banking and the main office are not places: a -> online -> b ... is 3 changes
    ("e0", "c5", 50.0, at("10 10:00"), "Comercio A"),
    ("e1", "c5", 50.0, at("10 10:05"), ONLINE_LOCATION),
    ("e2", "c5", 50.0, at("10 10:10"), "Comercio B"),
    ("e3", "c5", 50.0, at("10 10:15"), MAIN_OFFICE),
    ("e4", "c5", 50.0, at("10 10:20"), "Comercio C"),
    ("e5", "c5", 50.0, at("10 10:25"), ONLINE_LOCATION),
    ("e6", "c5", 50.0, at("10 10:30"), "Comercio D"),
    # c6: legitimate traveller: home, then a far city hours later, new places hours apart
    ("f0", "c6", 80.0, at("11 07:00"), "Comercio Casa"),
    ("f1", "c6", 900.0, at("11 11:00"), "Comercio Hotel"),
    ("f2", "c6", 60.0, at("11 13:30"), "Cajero Centro"),
    ("f3", "c6", 40.0, at("11 19:45"), "Comercio Cena"),
    ("f4", "c6", 30.0, at("12 09:10"), "Comercio Cafe"),
    # c7: back and forth between a branch and two shops is not hopping (only g1, g2 move)
    ("g0", "c7", 20.0, at("12 10:00"), "Sucursal 1"),
    ("g1", "c7", 20.0, at("12 10:05"), "Comercio 2"),
    ("g2", "c7", 20.0, at("12 10:10"), "Comercio 3"),
    ("g3", "c7", 20.0, at("12 10:15"), "Sucursal 1"),
    ("g4", "c7", 20.0, at("12 10:20"), "Comercio 2"),
    ("g5", "c7", 20.0, at("12 10:25"), "Comercio 3"),
    ("g6", "c7", 20.0, at("12 10:30"), "Sucursal 1"),
    # c10: ... but a place not among the last three is a move again: j1 to j4 move
    ("j0", "c10", 20.0, at("14 10:00"), "Comercio A"),
    ("j1", "c10", 20.0, at("14 10:05"), "Comercio B"),
    ("j2", "c10", 20.0, at("14 10:10"), "Comercio C"),
    ("j3", "c10", 20.0, at("14 10:15"), "Comercio D"),
    ("j4", "c10", 20.0, at("14 10:20"), "Comercio A"),
    # c8: null amount and null location rows are ignored (no place, no move)
    ("h0", "c8", 20.0, at("12 10:00"), "Comercio A"),
    ("h1", "c8", None, at("12 10:05"), "Comercio B"),
    ("h2", "c8", 20.0, at("12 10:10"), None),
    ("h3", "c8", 20.0, at("12 10:15"), "Comercio C"),
    ("h4", "c8", 20.0, at("12 10:20"), "Comercio D"),
    ("h5", "c8", 20.0, at("12 10:25"), "Comercio E"),
    # simultaneous transactions: ordered by id, the later id sees the earlier one's change
    ("i0", "c9", 20.0, at("13 10:00"), "Comercio A"),
    ("i1", "c9", 20.0, at("13 10:10"), "Comercio B"),
    ("i2", "c9", 20.0, at("13 10:20"), "Comercio C"),
    ("i3", "c9", 20.0, at("13 10:30"), "Comercio D"),
    ("i5", "c9", 20.0, at("13 10:30"), "Comercio E"),
]


def hop_day(customer: str, day: str, prefix: str) -> list[tuple]:
    """Five places within 40 minutes (4 changes): a hop day for `customer`."""
    return [
        (f"{prefix}{i}", customer, 30.0, f"{day} 12:{10 * i:02d}:00", f"Comercio {prefix}{i}")
        for i in range(5)
    ]


def run(tmp_path, rows, month=MONTH, **params):
    write_months(tmp_path, transactions(rows))
    return rule_evidence(tmp_path, month, RULE, **params)


def test_hand_built_rows(tmp_path):
    evidence = run(tmp_path, HOPS)
    assert flags(evidence) == {"a4": 1.0, "a5": 1.25, "d4": 1.0, "i5": 1.0, "j4": 1.0}
    # the whole episode is evidence and one alert: it starts where the hops start
    c1 = evidence[evidence["id_cliente"] == "c1"].set_index("id_transaccion")
    assert sorted(c1.index) == ["a1", "a2", "a3", "a4", "a5"]
    assert set(c1["clave_alerta"]) == {"a1"}
    assert c1.loc["a4", "movimientos_en_ventana"] == 4
    assert c1.loc["a4", "ubicacion_anterior"] == "Cajero D"


def test_only_changes_within_the_window_count(tmp_path):
    evidence = run(tmp_path, HOPS, window=59)
    assert "d4" not in flags(evidence) and "a4" in flags(evidence)


def test_routine_hoppers_are_recognised_from_their_history(tmp_path):
    rows = [
        *hop_day("r1", "2025-02-20", "p"),  # previous month: in the lookback
        *hop_day("r1", "2025-03-02", "q"),
        *hop_day("r1", "2025-03-20", "s"),  # third hop day: routine
        *hop_day("n1", "2025-03-02", "t"),
        *hop_day("n1", "2025-03-20", "u"),  # second hop day: still flagged
        *hop_day("o1", "2025-01-20", "v"),  # two months back: outside the lookback
        *hop_day("o1", "2025-02-02", "w"),
        *hop_day("o1", "2025-03-20", "x"),
    ]
    # q0 is a change too (from where r1 was before), so q3 already has four changes.
    # r1's third hop day (s) is routine; o1's January hops are outside the lookback.
    flagged = flags(run(tmp_path, rows))
    assert set(flagged) == {"q3", "q4", "t4", "u3", "u4", "x3", "x4"}
    flagged = flags(rule_evidence(tmp_path, MONTH, RULE, routine_hop_days=3))
    assert {"s3", "s4"} <= set(flagged)


def test_a_window_reaching_into_the_previous_month_counts_its_changes(tmp_path):
    rows = [
        ("m0", "c1", 20.0, "2025-02-28 23:20", "Comercio A"),
        ("m1", "c1", 20.0, "2025-02-28 23:35", "Comercio B"),
        ("m2", "c1", 20.0, "2025-02-28 23:50", "Comercio C"),
        ("m3", "c1", 20.0, "2025-03-01 00:05", "Comercio D"),
        ("m4", "c1", 20.0, "2025-03-01 00:10", "Comercio E"),
    ]
    evidence = run(tmp_path, rows)
    assert flags(evidence) == {"m4": 1.0}
    assert set(evidence["id_transaccion"]) == {"m3", "m4"}  # only this month's rows
    assert set(evidence["clave_alerta"]) == {"m0"}


def test_parameters_change_the_threshold(tmp_path):
    evidence = run(tmp_path, HOPS, min_locations=3, excluded_locations=[])
    flagged = flags(evidence)
    assert flagged["a3"] == 1.0 and flagged["b3"] == 1.0
    assert "e3" in flagged  # the main office and online banking now count as places


def test_later_data_never_changes_a_flag(tmp_path):
    before = flags(run(tmp_path / "before", HOPS))
    later = [
        # more hops right after the flagged ones, a new day, and next month's partition
        ("z0", "c1", 20.0, at("10 10:55"), "Comercio G"),
        ("z1", "c1", 20.0, at("10 10:56"), "Comercio H"),
        ("z2", "c2", 20.0, at("10 10:31"), "Comercio Z"),
        ("z3", "c9", 20.0, at("13 10:30"), "Comercio Y"),  # same instant, later id
        *hop_day("c4", "2025-03-28", "y"),
        *hop_day("c1", "2025-04-02", "k"),
    ]
    after = flags(run(tmp_path / "after", HOPS + later))
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(before) <= set(after)


def test_engine_equals_oracle_on_hand_built_rows(tmp_path):
    frame = transactions(HOPS)
    write_months(tmp_path, frame)
    evidence = rule_evidence(tmp_path, MONTH, RULE)
    expected_flags, expected_rows = oracle(frame, MONTH)
    assert flags(evidence) == expected_flags
    assert alert_keys(evidence) == expected_rows


PLACES = ["Comercio A", "Comercio B", "Cajero C", "Cajero D", ONLINE_LOCATION, None]
DAYS = [pd.Timestamp("2025-02-27 22:00"), pd.Timestamp("2025-03-01 22:30")]
DAYS += [pd.Timestamp("2025-03-04 09:00"), pd.Timestamp("2025-03-31 23:00")]
# A row without a customer, ignored by the rule, so the month's partition always exists.
ANCHOR = ("anchor", None, 1.0, "2025-03-15 12:00:00", "Comercio A")
CUSTOMERS = st.sampled_from(["c1", "c2", None])
AMOUNTS = st.sampled_from([25.0, 25.0, 25.0, None])
ROW = st.tuples(
    CUSTOMERS,
    AMOUNTS,
    st.sampled_from(range(len(DAYS))),
    st.integers(min_value=0, max_value=36).map(lambda k: k * 5 * 60),
    st.sampled_from(PLACES),
)
# Seconds after the cut-off: within the hour, later that day, or next month.
LATER = st.tuples(
    CUSTOMERS,
    AMOUNTS,
    st.sampled_from([1, 300, 1800, 6 * 3600, 40 * 86_400]),
    st.sampled_from(PLACES),
)


@examples(40)
@given(
    rows=st.lists(ROW, min_size=1, max_size=40),
    min_locations=st.integers(min_value=2, max_value=4),
    window=st.sampled_from([15, 30, 60]),
    routine=st.integers(min_value=1, max_value=2),
)
def test_engine_equals_oracle(tmp_path_factory, rows, min_locations, window, routine):
    root = tmp_path_factory.mktemp("hops")
    frame = drawn_transactions(rows, DAYS, ANCHOR)
    write_months(root, frame)
    params = {"min_locations": min_locations, "window": window, "routine_hop_days": routine}
    evidence = rule_evidence(root, MONTH, RULE, **params)
    expected_flags, expected_rows = oracle(
        frame,
        MONTH,
        min_locations=min_locations,
        window=timedelta(minutes=window),
        routine_hop_days=routine,
    )
    assert flags(evidence) == expected_flags
    assert alert_keys(evidence) == expected_rows


@examples(20)
@given(
    rows=st.lists(ROW, min_size=1, max_size=30),
    cut=st.integers(min_value=0, max_value=30),
    later=st.lists(LATER, min_size=1, max_size=10),
)
def test_rows_after_a_transaction_never_change_its_flag(tmp_path_factory, rows, cut, later):
    frame = drawn_transactions(rows, DAYS, ANCHOR)
    cutoff = frame["fecha"].sort_values().iloc[cut % len(frame)]
    extra = transactions(
        [
            (f"z{i:03d}", customer, amount, cutoff + pd.Timedelta(seconds=s), place)
            for i, (customer, amount, s, place) in enumerate(later)
        ]
    )
    without, with_later = flags_until_without_and_with(
        tmp_path_factory, frame, extra, cutoff, RULE, MONTH, min_locations=2
    )
    assert without == with_later


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    frame, labels = synthetic_months(root, "2025-01", "2025-06", rows_per_month=20_000, seed=11)
    return root, frame, labels


def test_engine_equals_oracle_on_synthetic_data_and_catches_hopping(synthetic):
    root, frame, labels = synthetic
    flagged: dict[str, float] = {}
    for month in month_range("2025-02", "2025-06"):
        evidence = rule_evidence(root, month, RULE)
        expected_flags, expected_rows = oracle(frame, month)
        assert flags(evidence) == expected_flags
        assert set(evidence["id_transaccion"]) == set(expected_rows)
        flagged.update(expected_flags)
    # The first three hops of a case are needed to see the pattern, so transaction recall is
    # bounded by (n - 3) / n; every case with 4+ hops in 60 minutes is caught.
    catch = scenario_catch(
        frame, labels, flagged, "saltos_ubicacion", case_key=case_by_customer, ids_from="T202502"
    )
    print(
        f"{RULE}: precision {catch.precision:.2f}, recall {catch.recall:.2f}, cases "
        f"{catch.cases_caught}/{catch.cases}, flagged {catch.flagged}"
    )
    assert catch.recall >= 0.25
    assert catch.cases_caught >= 0.6 * catch.cases
    assert catch.precision >= 0.1
