"""The roles there are: the lanes of every deployed version (``engine.workflow.lanes``).

The ``Catalogue`` reads every version's lanes, the newest deployed definition of a lane giving its name
and scope (a roll back to an older version does not bring back an older scope), and remembers which
lanes each version has. It is cached per process, keyed by the deployed versions' ids and content hashes
(one small query); versions are immutable, so a new deploy is the only change there is.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow.definitions import definition_of
from engine.workflow.lanes import Lane
from engine.workflow.models import ProcessVersion


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
