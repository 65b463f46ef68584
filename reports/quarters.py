"""Calendar quarters in Asia/Ho_Chi_Minh: a licence issued at 23:30 on 31/12/2019 local time is Q4/2019."""

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_PATTERN = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> "Quarter":
        match = _PATTERN.match((text or "").strip())
        if not match:
            raise ValueError(f"not a quarter: {text!r} (expected e.g. 2019-Q4)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: datetime) -> "Quarter":
        local = timezone.localtime(moment, _tz())
        return cls(local.year, (local.month - 1) // 3 + 1)

    @classmethod
    def current(cls) -> "Quarter":
        return cls.of(timezone.now())

    @property
    def start(self) -> datetime:
        return datetime(self.year, 3 * self.number - 2, 1, tzinfo=_tz())

    @property
    def end(self) -> datetime:
        """The first instant of the next quarter (exclusive end)."""
        return self.next().start

    def next(self) -> "Quarter":
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    def previous(self) -> "Quarter":
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def label_vi(self) -> str:
        return f"Quý {ROMAN[self.number]}/{self.year}"


def quarters_between(first: "Quarter", last: "Quarter"):
    quarter = first
    while quarter <= last:
        yield quarter
        quarter = quarter.next()
