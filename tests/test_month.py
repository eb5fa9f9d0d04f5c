from datetime import datetime

import pytest

from fraudlib.errors import FraudlibError
from fraudlib.month import Month, month_range


def test_parse_round_trips():
    month = Month.parse("2024-03")
    assert (month.year, month.month) == (2024, 3)
    assert str(month) == "2024-03"
    assert (month.anio, month.mes) == ("2024", "03")


@pytest.mark.parametrize(
    "text",
    [
        "2024-3",
        "202403",
        "2024-13",
        "2024-00",
        "24-03",
        "2024/03",
        "",
        "2024-03-01",
        "abcd-ef",
        "2024-03'; drop table x; --",
        202403,
    ],
)
def test_malformed_month_is_one_clear_error(text):
    with pytest.raises(FraudlibError, match="expected YYYY-MM"):
        Month.parse(text)


def test_previous_and_next_cross_years():
    assert Month.parse("2024-01").previous() == Month(2023, 12)
    assert Month.parse("2023-12").next() == Month(2024, 1)
    assert Month.parse("2024-03").shift(-14) == Month(2023, 1)


def test_bounds_and_partition():
    month = Month.parse("2024-12")
    assert month.start == datetime(2024, 12, 1)
    assert month.end == datetime(2025, 1, 1)
    assert month.partition_path() == "anio=2024/mes=12"
    assert month.partition_predicate() == "anio = '2024' and mes = '12'"
    assert Month.of(datetime(2024, 12, 31, 23, 59)) == month


def test_month_range_inclusive_and_ordered():
    assert [str(m) for m in month_range("2024-11", "2025-02")] == [
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
    ]
    with pytest.raises(FraudlibError, match="after"):
        month_range("2025-02", "2024-11")
