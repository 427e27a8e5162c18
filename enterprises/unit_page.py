"""What the inspections add to a unit's own page, without the units knowing the inspections.

The units sit below the inspections (docs/architecture.md): enterprises never imports inspections.
The unit page still shows the unit's findings, look-backs and per-defect clearances: the inspections
app provides them when it starts (inspections/apps.py calls ``provide_inspection_records``). Without
a provider (the inspections app not installed) the page shows the unit's own history only.
"""

_provider = None


def provide_inspection_records(provider):
    """Register ``provider(unit, *, rectified) -> (findings, lookbacks, clearances)``."""
    global _provider
    _provider = provider


def inspection_records(unit, *, rectified):
    """The unit's findings, checked look-backs and clearances, as the inspections app reads them."""
    if _provider is None:
        return [], [], []
    return _provider(unit, rectified=rectified)
