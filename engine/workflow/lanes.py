"""Lanes: each lane of a deployed diagram is the role that works its tasks.

A lane's id is the role, its name is what people read, and its ``spiffworkflow:property`` values say how
its tasks are shared out: ``scope=kecamatan`` gives a task only to the lane's officers of the task's
kecamatan (the application's). What roles exist is what the deployed versions define: the
``Catalogue`` reads every version's lanes, the newest deployed definition of a lane giving its name and
scope (a roll back does not bring back an older scope), and remembers which lanes each version has.

The catalogue is cached per process keyed by the deployed versions' ids and content hashes, one small
query; versions are immutable, so a new deploy is the only change there is.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow.models import ProcessVersion

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


@dataclass(frozen=True)
class Catalogue:
    """The lanes of every deployed version: by id (the newest definition), and each version's lane ids."""

    lanes: Mapping[str, Lane] = field(default_factory=dict)
    of_version: Mapping[int, frozenset[str]] = field(default_factory=dict)

    def name(self, lane_id: str | None) -> str:
        """The lane's name as the diagram gives it (its id for a lane no deployed version has)."""
        if not lane_id:
            return ""
        lane = self.lanes.get(lane_id)
        return lane.name if lane is not None else lane_id

    def by_kecamatan(self, lane_id: str | None) -> bool:
        lane = self.lanes.get(lane_id or "")
        return lane is not None and lane.by_kecamatan

    @property
    def scoped(self) -> frozenset[str]:
        """The ids of the lanes whose tasks go to the officers of the task's kecamatan only."""
        return frozenset(lane_id for lane_id, lane in self.lanes.items() if lane.by_kecamatan)

    def in_version(self, version_id: int | None) -> frozenset[str]:
        return self.of_version.get(version_id or 0, frozenset())


EMPTY = Catalogue()
_cache: dict[tuple[tuple[int, str], ...], Catalogue] = {}
_lock = threading.Lock()


def catalogue(session: Session) -> Catalogue:
    """The lanes of the deployed versions (one query of ids and hashes; the rest from the cache)."""
    from engine.workflow.definitions import definition_of  # definitions imports this module

    key = tuple(
        (vid, digest)
        for vid, digest in session.execute(
            select(ProcessVersion.id, ProcessVersion.content_hash).order_by(ProcessVersion.id)
        )
    )
    found = _cache.get(key)
    if found is not None:
        return found
    by_id = {v.id: v for v in session.scalars(select(ProcessVersion).where(ProcessVersion.id.in_([k for k, _ in key])))}
    lanes: dict[str, Lane] = {}
    of_version: dict[int, frozenset[str]] = {}
    for version_id, _ in key:  # deploy order: a newer definition of a lane wins
        version = by_id.get(version_id)
        if version is None:
            continue
        defined = definition_of(version).lane_info
        lanes.update(defined)
        of_version[version_id] = frozenset(defined)
    found = Catalogue(lanes, of_version)
    with _lock:
        if len(_cache) > 64:
            _cache.clear()
        _cache[key] = found
    return found
