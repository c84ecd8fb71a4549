"""Lanes: each lane of a diagram is the role that works its tasks.

A lane's id is the role, its name is what people read, and its ``spiffworkflow:property`` values say how
its tasks are shared out: ``scope=kecamatan`` gives a task only to the lane's officers of the task's
kecamatan (the application's). Which roles exist is the deployed versions' choice
(``engine.workflow.catalogue``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
SCOPE = "scope"  # the lane property naming what its tasks are shared out by
KECAMATAN = "kecamatan"  # the only scope: the application's kecamatan (``TaskRow.kecamatan``)
SCOPES = frozenset({KECAMATAN})
# A lane id is a role name: stored in comma-separated role lists, typed in ``kia users add --role``.
LANE_ID = re.compile(r"^[a-z][a-z0-9_]{1,49}$")


@dataclass(frozen=True)
class Lane:
    id: str
    name: str
    scope: str | None = None  # None, or KECAMATAN

    @property
    def by_kecamatan(self) -> bool:
        return self.scope == KECAMATAN


def lane_properties(lane: etree._Element) -> dict[str, str]:
    return {
        p.get("name", ""): (p.get("value") or "").strip()
        for p in lane.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
    }


def lanes_of(process: etree._Element) -> Iterator[tuple[etree._Element, Lane]]:
    """Every lane of a process element (nested lane sets included), as read from the XML."""
    for element in process.iterfind(".//bpmn:lane", NS):
        lane_id = element.get("id", "")
        scope = lane_properties(element).get(SCOPE) or None
        yield element, Lane(lane_id, (element.get("name") or "").strip() or lane_id, scope)
