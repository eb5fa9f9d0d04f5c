"""impossible_travel: given rows -> expected flags, the skip path, point in time, an oracle."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fraudlib.contract import MAIN_OFFICE, ONLINE_LOCATION, TRANSACTIONS_SCHEMA
from fraudlib.detect import run_month
from fraudlib.engines.local import LocalEngine
from fraudlib.month import Month, month_range

from builders import (
    examples,
    flags,
    flags_until_without_and_with,
    rule_evidence,
    scenario_catch,
    synthetic_months,
    transactions,
    write_months,
)

RULE = "impossible_travel"
MONTH = Month(2025, 3)
EXCLUDED = (MAIN_OFFICE, ONLINE_LOCATION)
LOCATED_SCHEMA = pa.schema(
    [*TRANSACTIONS_SCHEMA, pa.field("latitud", pa.float64()), pa.field("longitud", pa.float64())]
)
KM_PER_DEGREE = 2 * 6371.0 * math.asin(math.sin(math.radians(0.5)))  # on the equator


def located(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (id, customer, amount, fecha, location, latitud, longitud)."""
    frame = transactions([row[:5] for row in rows])
    frame["latitud"] = pd.Series([row[5] for row in rows], dtype="float64")
    frame["longitud"] = pd.Series([row[6] for row in rows], dtype="float64")
    return frame


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))


def oracle(
    frame: pd.DataFrame,
    month: Month,
    *,
    max_speed_kmh: float = 500.0,
    min_km: float = 50.0,
    excluded: tuple[str, ...] = EXCLUDED,
) -> tuple[dict[str, float], set[str]]:
    """Independent pandas version: (flagged id -> severidad, ids of the rows returned)."""
    rows = frame[(frame["fecha"] >= month.shift(-1).start) & (frame["fecha"] < month.end)]
    rows = rows.dropna(subset=["id_cliente", "monto", "ubicacion", "latitud", "longitud"])
    rows = rows[~rows["ubicacion"].isin(excluded)]
    rows = rows.sort_values(["id_cliente", "fecha", "id_transaccion"]).copy()
    before = rows.groupby("id_cliente")[["id_transaccion", "fecha", "latitud", "longitud"]].shift()
    km = haversine_km(before["latitud"], before["longitud"], rows["latitud"], rows["longitud"])
    milliseconds = (rows["fecha"] - before["fecha"]).dt.total_seconds() * 1000
    hours = np.maximum(np.floor(milliseconds), 60_000) / 3_600_000
    speed = km / hours
    hit = before["id_transaccion"].notna() & (km >= min_km) & (speed > max_speed_kmh)
    in_month = rows["fecha"] >= month.start
    flagged = dict(
        zip(
            rows["id_transaccion"][hit & in_month],
            speed[hit & in_month] / max_speed_kmh,
            strict=True,
        )
    )
    involved = set(rows["id_transaccion"][hit]) | set(before["id_transaccion"][hit])
    returned = set(rows["id_transaccion"][in_month]) & involved
    return flagged, returned


def assert_same_flags(evidence: pd.DataFrame, expected: dict[str, float]) -> None:
    ours = flags(evidence)
    assert set(ours) == set(expected)
    for key, severity in expected.items():
        assert ours[key] == pytest.approx(severity, rel=1e-9)


def at(text: str) -> str:
    """'DD HH:MM[:SS]' in March 2025, as 'YYYY-MM-DD HH:MM:SS'."""
    return f"2025-03-{text}" + (":00" if text.count(":") == 1 else "")


ROWS = [
    # c1: one degree (111 km) in 10 minutes: 667 km/h
    ("a0", "c1", 50.0, at("10 10:00"), "Cajero A", 0.0, 0.0),
    ("a1", "c1", 50.0, at("10 10:10"), "Cajero B", 0.0, 1.0),
    # c2: the same in 14 minutes: 477 km/h, under 500
    ("b0", "c2", 50.0, at("10 10:00"), "Cajero A", 0.0, 0.0),
    ("b1", "c2", 50.0, at("10 10:14"), "Cajero B", 0.0, 1.0),
    # c3: 40 km within one minute is fast but under min_km (terminals within one city)
    ("c0", "c3", 50.0, at("10 10:00"), "Cajero A", 0.0, 0.0),
    ("c1", "c3", 50.0, at("10 10:01"), "Cajero C", 0.0, 0.36),
    # c4: online banking in between has no coordinates and does not break the leg
    ("d0", "c4", 50.0, at("10 10:00"), "Cajero A", 0.0, 0.0),
    ("d1", "c4", 50.0, at("10 10:05"), ONLINE_LOCATION, None, None),
    ("d2", "c4", 50.0, at("10 10:10"), "Cajero B", 0.0, 1.0),
    # c5: the main office books operations centrally: it is no evidence of where one is
    ("e0", "c5", 50.0, at("10 10:00"), "Sucursal A", 0.0, 0.0),
    ("e1", "c5", 50.0, at("10 10:02"), MAIN_OFFICE, 0.0, 2.0),
    ("e2", "c5", 50.0, at("10 10:04"), "Sucursal A", 0.0, 0.0),
    # c6: a legitimate traveller: home at 07:00, 333 km away at 10:00 (111 km/h), then around
    ("f0", "c6", 80.0, at("11 07:00"), "Comercio Casa", 0.0, 0.0),
    ("f1", "c6", 900.0, at("11 10:00"), "Comercio Hotel", 0.0, 3.0),
    ("f2", "c6", 60.0, at("11 10:30"), "Cajero Centro", 0.0, 3.05),
    # c7: 30 seconds apart counts as one minute; simultaneous rows too (a finite speed)
    ("g0", "c7", 50.0, at("12 10:00"), "Cajero A", 0.0, 0.0),
    ("g1", "c7", 50.0, at("12 10:00:30"), "Cajero B", 0.0, 1.0),
    ("g2", "c7", 50.0, at("12 10:00:30"), "Cajero C", 0.0, 0.0),
    # c8: a null amount row is ignored (its place would otherwise make the leg short)
    ("h0", "c8", 50.0, at("12 10:00"), "Cajero A", 0.0, 0.0),
    ("h1", "c8", None, at("12 10:09"), "Cajero B", 0.0, 0.99),
    ("h2", "c8", 50.0, at("12 10:10"), "Cajero B", 0.0, 1.0),
]
SPEED = KM_PER_DEGREE * 6  # one degree in 10 minutes
EXPECTED = {
    "a1": SPEED / 500,
    "d2": SPEED / 500,
    "g1": KM_PER_DEGREE * 60 / 500,
    "g2": KM_PER_DEGREE * 60 / 500,
    "h2": SPEED / 500,
}


def run(tmp_path, rows, month=MONTH, **params):
    write_months(tmp_path, located(rows), LOCATED_SCHEMA)
    return rule_evidence(tmp_path, month, RULE, **params)


def test_hand_built_rows(tmp_path):
    evidence = run(tmp_path, ROWS)
    assert_same_flags(evidence, EXPECTED)
    c1 = evidence[evidence["id_cliente"] == "c1"].set_index("id_transaccion")
    # the flagged transaction and where the customer was just before it
    assert c1["marcada"].to_dict() == {"a0": False, "a1": True}
    assert set(c1["clave_alerta"]) == {"c1"}
    assert c1.loc["a1", "km"] == pytest.approx(KM_PER_DEGREE)
    assert c1.loc["a1", "velocidad_kmh"] == pytest.approx(SPEED)
    assert c1.loc["a1", "ubicacion_anterior"] == "Cajero A"


def test_speed_and_distance_thresholds_are_parameters(tmp_path):
    write_months(tmp_path, located(ROWS), LOCATED_SCHEMA)
    # 667.17 km/h: flagged just under it, not just over it (strictly faster than the limit)
    assert "a1" in flags(rule_evidence(tmp_path, MONTH, RULE, max_speed_kmh=667.0))
    assert "a1" not in flags(rule_evidence(tmp_path, MONTH, RULE, max_speed_kmh=668.0))
    assert "b1" in flags(rule_evidence(tmp_path, MONTH, RULE, max_speed_kmh=450.0))
    assert "c1" in flags(rule_evidence(tmp_path, MONTH, RULE, min_km=40.0))
    assert "e1" in flags(rule_evidence(tmp_path, MONTH, RULE, excluded_locations=[]))


def test_the_previous_transaction_may_be_in_the_previous_month(tmp_path):
    rows = [
        ("m0", "c1", 50.0, "2025-02-28 23:55:00", "Cajero A", 0.0, 0.0),
        ("m1", "c1", 50.0, "2025-03-01 00:05:00", "Cajero B", 0.0, 1.0),
    ]
    evidence = run(tmp_path, rows)
    assert_same_flags(evidence, {"m1": SPEED / 500})
    assert list(evidence["id_transaccion"]) == ["m1"]  # only this month's rows


def test_data_without_coordinates_skips_the_rule_with_a_notice(tmp_path):
    write_months(tmp_path, transactions([row[:5] for row in ROWS]))
    engine = LocalEngine(tmp_path)
    try:
        result = run_month(engine, MONTH, rules=[RULE, "location_hopping"])
    finally:
        engine.close()
    assert "skipped rule impossible_travel: needs latitud, longitud, which the data lacks" in (
        result.notices
    )
    status = result.summary.set_index("rule")["status"].to_dict()
    assert status == {"location_hopping": "ran", "impossible_travel": "skipped"}


def test_coordinates_that_start_this_month_are_enough(tmp_path):
    # last month's files have no coordinates (schema evolution): its rows have no place
    write_months(tmp_path, transactions([("p0", "c1", 50.0, "2025-02-28 23:59:00", "X")]))
    evidence = run(tmp_path, ROWS)
    assert_same_flags(evidence, EXPECTED)


def test_later_data_never_changes_a_flag(tmp_path):
    before = flags(run(tmp_path / "before", ROWS))
    later = [
        ("z0", "c1", 50.0, at("10 10:11"), "Cajero Z", 0.0, 5.0),
        ("z1", "c2", 50.0, at("10 10:15"), "Cajero Z", 0.0, 5.0),
        ("z2", "c7", 50.0, at("12 10:00:30"), "Cajero Z", 0.0, 4.0),
        ("z3", "c6", 50.0, "2025-04-01 00:00:00", "Cajero Z", 0.0, 9.0),
    ]
    after = flags(run(tmp_path / "after", ROWS + later))
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(before) <= set(after)


def test_engine_equals_oracle_on_hand_built_rows(tmp_path):
    frame = located(ROWS)
    write_months(tmp_path, frame, LOCATED_SCHEMA)
    evidence = rule_evidence(tmp_path, MONTH, RULE)
    expected_flags, expected_rows = oracle(frame, MONTH)
    assert_same_flags(evidence, expected_flags)
    assert_same_flags(evidence, EXPECTED)
    assert set(evidence["id_transaccion"]) == expected_rows


# Places on and near the equator: 0.3 degrees is 33 km, one degree 111 km.
POINTS = [(0.0, 0.0, "Cajero A"), (0.0, 0.3, "Cajero B"), (0.0, 1.0, "Cajero C")]
POINTS += [(1.0, 1.0, "Comercio D"), (None, None, ONLINE_LOCATION), (0.0, 2.0, MAIN_OFFICE)]
STARTS = [pd.Timestamp("2025-02-28 23:30"), pd.Timestamp("2025-03-10 10:00")]
ANCHOR = ("anchor", None, 1.0, "2025-03-15 12:00:00", "Cajero A", 0.0, 0.0)
CUSTOMERS = st.sampled_from(["c1", "c2", None])
AMOUNTS = st.sampled_from([25.0, 25.0, 25.0, None])
ROW = st.tuples(
    CUSTOMERS,
    AMOUNTS,
    st.sampled_from(range(len(STARTS))),
    st.integers(min_value=0, max_value=120).map(lambda k: k * 30),
    st.sampled_from(POINTS),
)
# Seconds after the cut-off: at once, within the hour, or next month.
LATER = st.tuples(
    CUSTOMERS, AMOUNTS, st.sampled_from([1, 30, 600, 3600, 40 * 86_400]), st.sampled_from(POINTS)
)


def frame_of(rows: list[tuple]) -> pd.DataFrame:
    return located(
        [
            (f"t{i:03d}", customer, amount, STARTS[start] + pd.Timedelta(seconds=s), place, y, x)
            for i, (customer, amount, start, s, (y, x, place)) in enumerate(rows)
        ]
        + [ANCHOR]
    )


@examples(40)
@given(
    rows=st.lists(ROW, min_size=1, max_size=30),
    max_speed=st.sampled_from([100.0, 500.0, 2000.0]),
    min_km=st.sampled_from([10.0, 50.0, 120.0]),
)
def test_engine_equals_oracle(tmp_path_factory, rows, max_speed, min_km):
    root = tmp_path_factory.mktemp("travel")
    frame = frame_of(rows)
    write_months(root, frame, LOCATED_SCHEMA)
    evidence = rule_evidence(root, MONTH, RULE, max_speed_kmh=max_speed, min_km=min_km)
    expected_flags, expected_rows = oracle(frame, MONTH, max_speed_kmh=max_speed, min_km=min_km)
    assert_same_flags(evidence, expected_flags)
    assert set(evidence["id_transaccion"]) == expected_rows


@examples(20)
@given(
    rows=st.lists(ROW, min_size=1, max_size=30),
    cut=st.integers(min_value=0, max_value=30),
    later=st.lists(LATER, min_size=1, max_size=10),
)
def test_rows_after_a_transaction_never_change_its_flag(tmp_path_factory, rows, cut, later):
    frame = frame_of(rows)
    cutoff = frame["fecha"].sort_values().iloc[cut % len(frame)]
    extra = located(
        [
            (f"z{i:03d}", customer, amount, cutoff + pd.Timedelta(seconds=s), place, y, x)
            for i, (customer, amount, s, (y, x, place)) in enumerate(later)
        ]
    )
    params = {"max_speed_kmh": 100.0, "min_km": 10.0}
    without, with_later = flags_until_without_and_with(
        tmp_path_factory, frame, extra, cutoff, RULE, MONTH, schema=LOCATED_SCHEMA, **params
    )
    assert without == with_later


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    frame, labels = synthetic_months(root, "2025-01", "2025-06", rows_per_month=20_000, seed=11)
    return root, frame, labels


def test_engine_equals_oracle_on_synthetic_data_and_catches_impossible_travel(synthetic):
    root, frame, labels = synthetic
    flagged: dict[str, float] = {}
    for month in month_range("2025-02", "2025-06"):
        evidence = rule_evidence(root, month, RULE)
        expected_flags, expected_rows = oracle(frame, month)
        assert_same_flags(evidence, expected_flags)
        assert set(evidence["id_transaccion"]) == expected_rows
        flagged.update(expected_flags)
    catch = scenario_catch(frame, labels, flagged, "saltos_ubicacion", ids_from="T202502")
    print(
        f"{RULE}: precision {catch.precision:.2f}, recall {catch.recall:.2f}, "
        f"flagged {catch.flagged}"
    )
    # The first place of a case has no impossible leg before it; every later one has.
    assert catch.recall >= 0.6
    assert catch.precision >= 0.5
