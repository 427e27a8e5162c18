"""Database sessions with an idle timeout that does not write on every page view.

A session lives ``SESSION_COOKIE_AGE`` seconds (30 minutes) after the last request that refreshed
it. ``SESSION_SAVE_EVERY_REQUEST`` would refresh it with an UPDATE on every request; this store
refreshes it only once ``SESSION_REFRESH_AFTER`` seconds (a minute) of its life have passed, which
moves the timeout by at most that minute and saves the write on every other page view. The stored
expiry comes with the row the session is read from anyway: no extra query.
"""

import datetime

from django.conf import settings
from django.contrib.sessions.backends import db
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        row = super()._get_session_from_db()
        self._stored_expiry = row.expire_date if row is not None else None
        return row

    def load(self):
        data = super().load()
        # An explicit expiry (set_expiry) is not an idle timeout: leave it alone.
        if data and getattr(self, "_stored_expiry", None) and "_session_expiry" not in data:
            refresh_after = datetime.timedelta(seconds=getattr(settings, "SESSION_REFRESH_AFTER", 60))
            age = datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
            if self._stored_expiry - timezone.now() < age - refresh_after:
                # SessionMiddleware saves a modified session and re-sends its cookie with the new expiry.
                self.modified = True
        return data
