"""Pure rules: what a finding calls for on a day. The daily job applies them; tests table them."""

import datetime

DUE = "due"
OVERDUE = "overdue"


def finding_reminder(*, state, deadline, today, due_days, deleted=False):
    """(kind, days left) for a finding on ``today``, or None.

    Only a finding still to be rectified (待整改, state "open") calls for one: "overdue" once its
    deadline has passed (the deadline day itself is in time, as FindingQuerySet.overdue has it), "due"
    from ``due_days`` days before the deadline to the deadline day.
    """
    if deleted or state != "open":
        return None
    days_left = (deadline - today).days
    if days_left < 0:
        return OVERDUE, days_left
    if days_left <= due_days:
        return DUE, days_left
    return None


def earliest_deadline_reminded(today, due_days):
    """Findings with a deadline after this day call for nothing yet."""
    return today + datetime.timedelta(days=due_days)
