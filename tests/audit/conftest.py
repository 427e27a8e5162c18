import contextlib
import datetime

import pytest
from django.db.models import Max

from core.audit import history_model, model_key, tracked_models

TODAY = datetime.date(2018, 6, 30)


@pytest.fixture(autouse=True)
def today(frozen_today, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return frozen_today(TODAY)


@contextlib.contextmanager
def new_history_rows():
    """Collects the history rows (of every tracked model) written inside the block."""
    models = [history_model(m) for m in tracked_models()]
    marks = {h: h.objects.aggregate(m=Max("history_id"))["m"] or 0 for h in models}
    rows = []
    yield rows
    for h, mark in marks.items():
        rows += h.objects.filter(history_id__gt=mark).select_related("history_user").order_by("history_id")


def keys(rows):
    return {model_key(r.instance_type) for r in rows}
