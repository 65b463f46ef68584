"""The periods a report covers: a quarter ("2019-Q4"), six months ("2020-H1") or a year ("2020"), in
Asia/Ho_Chi_Minh, with the words the report prints ("quý IV/2019", "6 tháng đầu năm 2020", "năm 2020")."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .quarters import ROMAN, Quarter, _tz

_PATTERN = re.compile(r"^(\d{4})(?:-?(Q[1-4]|H[12]|Y))?$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Period:
    year: int
    kind: str  # "quarter", "half", "year"
    number: int  # 1-4, 1-2, 0

    @classmethod
    def parse(cls, text: str) -> "Period":
        match = _PATTERN.match((text or "").strip())
        if not match:
            raise ValueError(f"not a period: {text!r} (expected e.g. 2019-Q4, 2020-H1, 2020)")
        year, part = int(match.group(1)), (match.group(2) or "Y").upper()
        if part == "Y":
            return cls(year, "year", 0)
        return cls(year, "quarter" if part[0] == "Q" else "half", int(part[1]))

    def __str__(self) -> str:
        if self.kind == "year":
            return str(self.year)
        return f"{self.year}-{'Q' if self.kind == 'quarter' else 'H'}{self.number}"

    @property
    def months(self) -> tuple[int, int]:
        """First and last month."""
        size = {"quarter": 3, "half": 6, "year": 12}[self.kind]
        first = 1 + size * (max(self.number, 1) - 1)
        return first, first + size - 1

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.months[0], 1, tzinfo=_tz())

    @property
    def end(self) -> datetime:
        """The first instant of the next period (exclusive)."""
        return self.next().start

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    def next(self) -> "Period":
        count = {"quarter": 4, "half": 2, "year": 1}[self.kind]
        if self.kind == "year" or self.number == count:
            return Period(self.year + 1, self.kind, 1 if self.kind != "year" else 0)
        return Period(self.year, self.kind, self.number + 1)

    def previous(self) -> "Period":
        count = {"quarter": 4, "half": 2, "year": 1}[self.kind]
        if self.kind == "year" or self.number == 1:
            return Period(self.year - 1, self.kind, count if self.kind != "year" else 0)
        return Period(self.year, self.kind, self.number - 1)

    def quarters(self) -> list[Quarter]:
        first, last = self.months
        return [Quarter(self.year, (month - 1) // 3 + 1) for month in range(first, last + 1, 3)]

    def words(self, *, long_year: bool = False) -> str:
        """ "quý IV/2019" (or "quý I năm 2020" with long_year), "6 tháng đầu năm 2020", "năm 2020"."""
        if self.kind == "quarter":
            return f"quý {ROMAN[self.number]} năm {self.year}" if long_year else f"quý {ROMAN[self.number]}/{self.year}"
        if self.kind == "half":
            return f"6 tháng {'đầu' if self.number == 1 else 'cuối'} năm {self.year}"
        return f"năm {self.year}"
