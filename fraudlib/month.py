"""`Month`: the unit of partitioning (anio='YYYY', mes='MM') and of every run."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from fraudlib.errors import FraudlibError

_MONTH_RE = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month. Parse with `Month.parse("2024-03")`; str() gives it back."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1900 <= self.year <= 9999:
            raise FraudlibError(f"invalid month {self.year:04d}-{self.month:02d}")

    @classmethod
    def parse(cls, text: object) -> Month:
        """Parse 'YYYY-MM' (the only accepted form); anything else is a FraudlibError."""
        if isinstance(text, Month):
            return text
        match = _MONTH_RE.fullmatch(str(text).strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise FraudlibError(f"invalid month {str(text)!r}: expected YYYY-MM, e.g. 2024-03")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def anio(self) -> str:
        """The partition value of `anio` ('YYYY')."""
        return f"{self.year:04d}"

    @property
    def mes(self) -> str:
        """The partition value of `mes` ('MM', zero-padded)."""
        return f"{self.month:02d}"

    def shift(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    def previous(self) -> Month:
        return self.shift(-1)

    def next(self) -> Month:
        return self.shift(1)

    @property
    def start(self) -> datetime:
        """First instant of the month (naive UTC, like `fecha`)."""
        return datetime(self.year, self.month, 1)

    @property
    def end(self) -> datetime:
        """First instant of the next month (exclusive bound)."""
        return self.next().start

    def partition_path(self) -> str:
        """The Hive partition directory: 'anio=YYYY/mes=MM'."""
        return f"anio={self.anio}/mes={self.mes}"

    def partition_predicate(self, anio: str = "anio", mes: str = "mes") -> str:
        """SQL predicate selecting this month's partition (values are validated digits)."""
        return f"{anio} = '{self.anio}' and {mes} = '{self.mes}'"

    @classmethod
    def of(cls, moment: datetime) -> Month:
        return cls(moment.year, moment.month)


def month_range(first: Month | str, last: Month | str) -> list[Month]:
    """Every month from `first` to `last`, both included."""
    first, last = Month.parse(first), Month.parse(last)
    if last < first:
        raise FraudlibError(f"empty month range: --from {first} is after --to {last}")
    return list(_iter_months(first, last))


def _iter_months(first: Month, last: Month) -> Iterator[Month]:
    current = first
    while current <= last:
        yield current
        current = current.next()


if __name__ == "__main__":  # `python -m fraudlib.month FROM TO` prints the months (Makefile)
    print(" ".join(str(m) for m in month_range(sys.argv[1], sys.argv[2])))
