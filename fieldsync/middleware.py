"""Exactly once for the offline queue: a POST carrying a submission key is applied at most once.

The phone makes the key when the form is first submitted (static/js/fieldsync.js puts it in the
form's ``fieldsync_key`` field) and sends it again with every later attempt from the queue (also as
the ``X-Idempotency-Key`` header, static/js/fieldsync-queue.js). Here, for a signed-in user:

- the key is inserted (unique per user) in one transaction with everything the view writes: the
  view runs inside that transaction, and the row is kept only if the view accepted the submission
  (it answered with a redirect, the Post/Redirect/Get every form view here follows). A form shown
  again with its errors, a refusal or a server error rolls the transaction back: the key stays unused
  and the phone keeps the submission (as a conflict, with the server's message);
- a key already used answers with the recorded outcome (where the redirect went) and writes nothing;
- two sends of one key at the same moment: the second insert waits on the unique index (PostgreSQL)
  or on the write lock (SQLite's BEGIN IMMEDIATE) until the first commits, then finds the key used
  and replays its outcome;
- a queued submission (``X-Fieldsync-Queued``) carrying the time its form was shown
  (fieldsync/versions.py) is refused with 409 when the record it edits changed after that time.

To the queue's script (the header), an accepted or replayed submission answers JSON (where to go next)
rather than the redirect itself: a fetch would follow the redirect and use up the page's flash
messages. To the form itself (the field), it answers the view's redirect, or for a replay a redirect
to where the first one went.
"""

import re

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.storage import removed_unless_kept

from . import versions
from .models import SubmissionKey

KEY_HEADER = "HTTP_X_IDEMPOTENCY_KEY"
KEY_FIELD = "fieldsync_key"
QUEUED_HEADER = "HTTP_X_FIELDSYNC_QUEUED"
_KEY = re.compile(r"[A-Za-z0-9-]{8,64}")


class _Refused(Exception):
    """The view did not accept the submission: roll back its writes and the key, answer ``response``."""

    def __init__(self, response):
        self.response = response


class _Taken(Exception):
    """Another request committed this key while this one waited."""


def accepted(response):
    return 300 <= response.status_code < 400 and response.has_header("Location")


def _refusal(request, message, *, status, conflict=False):
    """A submission not applied: JSON to the queue's script, the 403-style page to a form."""
    if KEY_HEADER in request.META:
        return JsonResponse({"ok": False, "conflict": conflict, "message": message}, status=status)
    return render(request, "403.html", {"message": message}, status=status)


def outcome(record, *, replayed, said=()):
    return JsonResponse({"ok": True, "location": record.location, "replayed": replayed, "messages": list(said)})


def _queued_messages(request):
    """The flash messages added during this request so far (Django's storage keeps them in a list)."""
    return getattr(messages.get_messages(request), "_queued_messages", [])


def _take_messages(request, since):
    """Remove and return the messages added since ``since``: a submission sent from the queue in the
    background says them on the queue page, not as a pile of flashes on the next page opened."""
    queued = _queued_messages(request)
    taken = [str(message) for message in queued[since:]]
    del queued[since:]
    return taken


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST":
            return self.get_response(request)
        # From the queue's script, a header (answered in JSON); from the form itself, a field the
        # page's script adds on submit (answered as the view answers: a redirect).
        scripted = KEY_HEADER in request.META
        key = request.META[KEY_HEADER] if scripted else request.POST.get(KEY_FIELD) or None
        if key is None or not request.user.is_authenticated:
            # Signed out (the session expired while offline): the access rules send the request to
            # the login page, and the phone keeps the submission for after the login.
            return self.get_response(request)
        if not _KEY.fullmatch(key):
            return _refusal(request, _("提交标识格式不正确。"), status=400)
        user = request.user
        queued = bool(request.META.get(QUEUED_HEADER))
        done = SubmissionKey.objects.filter(user=user, key=key).first()
        if done is not None:
            return self._replay(request, done, scripted=scripted)
        try:
            # Files the view stores are removed again if this transaction does not commit.
            with removed_unless_kept(), transaction.atomic():
                try:
                    with transaction.atomic():
                        record = SubmissionKey.objects.create(user=user, key=key, path=request.path[:255], status=0)
                except IntegrityError:
                    raise _Taken from None
                if queued and request.POST.get(versions.FIELD):
                    reason = versions.conflict(user, request.path_info, request.POST[versions.FIELD])
                    if reason is not None:
                        raise _Refused(_refusal(request, reason, status=409, conflict=True))
                said_before = len(_queued_messages(request))
                response = self.get_response(request)
                if not accepted(response):
                    raise _Refused(response)
                record.status = response.status_code
                record.location = response["Location"][:2000]
                record.save(update_fields=["status", "location"])
        except _Refused as refused:
            return refused.response
        except _Taken:
            return self._replay(request, SubmissionKey.objects.get(user=user, key=key), scripted=scripted)
        if not scripted:
            return response
        return outcome(record, replayed=False, said=_take_messages(request, said_before) if queued else ())

    def _replay(self, request, done, *, scripted):
        if done.path != request.path[:255]:
            return _refusal(request, _("该提交标识已用于另一项提交，本次未保存。"), status=422)
        said = _("该记录此前已提交成功，本次未重复保存。")
        if not request.META.get(QUEUED_HEADER):
            messages.info(request, said)
        if not scripted:
            return HttpResponseRedirect(done.location)
        return outcome(done, replayed=True, said=[said])
