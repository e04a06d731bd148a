"""The alarm history CloudWatch keeps (DescribeAlarmHistory): state changes, configuration
updates and actions, kept after the alarm is deleted. alarms.py records into it and serves
it over the CloudWatch API."""

from __future__ import annotations

import datetime
import json
import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HistoryItem:
    alarm_arn: str
    alarm_name: str
    timestamp: datetime.datetime
    item_type: str  # StateUpdate | ConfigurationUpdate | Action
    summary: str
    data: dict[str, Any]

    def to_api(self) -> dict[str, Any]:
        return {
            "AlarmName": self.alarm_name,
            "AlarmType": "MetricAlarm",
            "Timestamp": self.timestamp,
            "HistoryItemType": self.item_type,
            "HistorySummary": self.summary,
            "HistoryData": json.dumps(self.data),
        }


class AlarmHistory:
    """Every alarm's history, kept after the alarm is deleted (as CloudWatch does)."""

    def __init__(self) -> None:
        self._items: list[HistoryItem] = []
        self._lock = threading.Lock()

    def record(self, item: HistoryItem) -> None:
        with self._lock:
            self._items.append(item)

    def query(
        self,
        arn_part: str,
        name: str | None,
        item_type: str | None,
        start: datetime.datetime | None,
        end: datetime.datetime | None,
    ) -> list[HistoryItem]:
        """Matching items, newest first (ties: the one recorded last first)."""
        with self._lock:
            items = list(reversed(self._items))
        return sorted(
            (
                item
                for item in items
                if arn_part in item.alarm_arn
                and (name is None or item.alarm_name == name)
                and (item_type is None or item.item_type == item_type)
                and (start is None or item.timestamp >= start)
                and (end is None or item.timestamp <= end)
            ),
            key=lambda item: item.timestamp,
            reverse=True,
        )
