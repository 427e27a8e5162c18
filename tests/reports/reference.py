"""SPEC section 2 counting, written the slow and obvious way, unit by unit, from event lists.

The property tests compare the SQL engine (reports.counts) with this. It deliberately shares no
code with the engine: it replays each unit's events in date order instead of testing periods.
"""

from dataclasses import dataclass, field


@dataclass
class UnitHistory:
    township: str
    identified_on: object
    rectified: list = field(default_factory=list)  # dates of rectifications
    relapsed: list = field(default_factory=list)  # dates relapses were found
    demolished: dict = field(default_factory=dict)  # rectification date -> m²


def _state(unit, day):
    """(is_rectified, date of the rectification in force) as of ``day``.

    Events replayed in date order; on one day a relapse comes before a re-rectification.
    """
    events = sorted([(d, 0) for d in unit.relapsed] + [(d, 1) for d in unit.rectified])
    rectified_since = None
    for when, kind in events:
        if when > day:
            break
        rectified_since = when if kind == 1 else None
    return rectified_since is not None, rectified_since


def count(units, start, day, township=None):
    """{'identified', 'rectified', 'open', 'demolished_m2'} of one township (or all) as of ``day``."""
    out = {"identified": 0, "rectified": 0, "open": 0, "demolished_m2": 0}
    for unit in units:
        if township is not None and unit.township != township:
            continue
        if start <= unit.identified_on <= day:
            out["identified"] += 1
        if unit.identified_on > day:
            continue
        is_rectified, since = _state(unit, day)
        if is_rectified and since >= start:
            out["rectified"] += 1
            out["demolished_m2"] += unit.demolished.get(since, 0)
        if not is_rectified:
            out["open"] += 1
    return out
