"""The reminders' texts, one function per event, and who they go to.

They take the domain objects duck-typed (a finding: ``pk``, ``enterprise``, ``township_id``,
``deadline``, ``get_kind_display()``, ``get_absolute_url()``; look-backs: ``enterprise``), so the
inspections (a floor above the outbox) can call them inside their own writes. Texts are written in
the product's first language (LANGUAGE_CODE) whatever the language of the request that caused them:
a message is stored once and read by many.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from . import recipients
from .models import Event
from .outbox import enqueue


def finding_new(finding, *, now=None, to=None):
    """A new finding for a township → the township's staff (called in the finding's transaction)."""
    with translation.override(settings.LANGUAGE_CODE):
        title = _("新的督查问题：%(unit)s") % {"unit": finding.enterprise}
        body = _("%(kind)s，整改期限%(deadline)s。%(description)s") % {
            "kind": finding.get_kind_display(),
            "deadline": finding.deadline.isoformat(),
            "description": finding.description[:300],
        }
    return enqueue(
        Event.FINDING_NEW,
        recipients.township_staff(finding.township_id) if to is None else to,
        title=title,
        body=body,
        link=finding.get_absolute_url(),
        township=finding.township,
        key=f"finding_new:{finding.pk}",
        now=now,
    )


def finding_due(finding, days_left, *, now=None, to=None):
    """A finding's deadline approaching: once per finding and deadline (a new deadline reminds again)."""
    with translation.override(settings.LANGUAGE_CODE):
        title = _("整改期限临近：%(unit)s") % {"unit": finding.enterprise}
        body = _("整改期限%(deadline)s，还剩%(days)s天。") % {
            "deadline": finding.deadline.isoformat(),
            "days": days_left,
        }
    return enqueue(
        Event.FINDING_DUE,
        recipients.township_staff(finding.township_id) if to is None else to,
        title=title,
        body=body,
        link=finding.get_absolute_url(),
        township=finding.township,
        key=f"finding_due:{finding.pk}:{finding.deadline.isoformat()}",
        now=now,
    )


def finding_overdue(finding, *, now=None, to=None):
    """A finding past its deadline and still not reported rectified: once per finding and deadline."""
    with translation.override(settings.LANGUAGE_CODE):
        title = _("整改已逾期：%(unit)s") % {"unit": finding.enterprise}
        body = _("整改期限%(deadline)s已过，请尽快整改并报告。") % {"deadline": finding.deadline.isoformat()}
    return enqueue(
        Event.FINDING_OVERDUE,
        recipients.township_staff(finding.township_id) if to is None else to,
        title=title,
        body=body,
        link=finding.get_absolute_url(),
        township=finding.township,
        key=f"finding_overdue:{finding.pk}:{finding.deadline.isoformat()}",
        now=now,
    )


def lookbacks_due(township, lookbacks, day, *, now=None, to=None):
    """Look-backs of a township falling due on ``day`` → the inspectors: one message per township and
    day (a city schedules them by the hundred), naming the first units."""
    names = [str(lookback.enterprise) for lookback in lookbacks]
    with translation.override(settings.LANGUAGE_CODE):
        title = _("回头看到期：%(township)s%(count)s家") % {"township": township, "count": len(names)}
        body = _("%(day)s到期：%(units)s") % {"day": day.isoformat(), "units": "、".join(names[:10])}
        if len(names) > 10:
            body += _("等")
    return enqueue(
        Event.LOOKBACK_DUE,
        recipients.inspectors() if to is None else to,
        title=title,
        body=body,
        link=reverse("inspections:lookbacks") + "?result=pending",
        township=township,
        key=f"lookback_due:{township.pk}:{day.isoformat()}",
        now=now,
    )


def commitment_due(commitment, days_left, *, township, now=None, to=None):
    """An interview commitment's day approaching and not met: once per commitment and day.

    ``commitment``: ``pk``, ``text``, ``due_on``, ``interview`` (with ``get_absolute_url()``), duck-typed:
    commitments live in the reports app, a floor above the outbox."""
    with translation.override(settings.LANGUAGE_CODE):
        title = _("约谈承诺临近到期：%(text)s") % {"text": commitment.text[:60]}
        body = _("承诺完成日期%(day)s，还剩%(days)s天。") % {"day": commitment.due_on.isoformat(), "days": days_left}
    return enqueue(
        Event.COMMITMENT_DUE,
        recipients.township_staff(township.pk) if to is None else to,
        title=title,
        body=body,
        link=commitment.interview.get_absolute_url(),
        township=township,
        key=f"commitment_due:{commitment.pk}:{commitment.due_on.isoformat()}",
        now=now,
    )


def commitment_overdue(commitment, *, township, now=None, to=None):
    """An interview commitment not met by its day → the township's staff and the city's admins."""
    with translation.override(settings.LANGUAGE_CODE):
        title = _("约谈承诺已逾期：%(township)s %(text)s") % {"township": township, "text": commitment.text[:60]}
        body = _("承诺完成日期%(day)s已过，尚未完成。") % {"day": commitment.due_on.isoformat()}
    if to is None:
        to = list(recipients.township_staff(township.pk)) + list(recipients.city_admins())
    return enqueue(
        Event.COMMITMENT_OVERDUE,
        to,
        title=title,
        body=body,
        link=commitment.interview.get_absolute_url(),
        township=township,
        key=f"commitment_overdue:{commitment.pk}:{commitment.due_on.isoformat()}",
        now=now,
    )


def notice_draft(campaign, serial, day, link, *, lagging=(), now=None, to=None):
    """The week's notice drafted for the office to review → the city's admins, once per campaign and day."""
    with translation.override(settings.LANGUAGE_CODE):
        title = _("第%(serial)s期通报草稿待审核（截至%(day)s）") % {"serial": serial, "day": day.isoformat()}
        body = _("%(campaign)s的周通报草稿已生成，请审核后发布。") % {"campaign": campaign}
        if lagging:
            body += _("红色预警：%(names)s。") % {"names": "、".join(lagging)}
    return enqueue(
        Event.NOTICE_DRAFT,
        recipients.city_admins() if to is None else to,
        title=title,
        body=body,
        link=link,
        key=f"notice_draft:{campaign.pk}:{day.isoformat()}",
        now=now,
    )
