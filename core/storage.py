"""Media files that are whole or absent, and removed again when the rows that name them are not kept.

Evidence photos are written to the file system while the rows that point at them are written to
the database, and the two can fail apart:

- the disk fills up (or the volume turns read-only) while a photo is written: Django's storage
  leaves the half-written file behind. ``WholeFileStorage`` writes to a hidden temporary file
  beside the target and renames it into place once it is complete, so a file either appears
  whole or not at all;
- the database fails after the photo was written (an insert, the commit, the server going away):
  the rows are rolled back but the file stays. Inside ``removed_unless_kept()``, every file the
  storage writes is noted, and deleted again if the block ends with an exception.

Photos, notices and screening lists hold personal data: files get FILE_UPLOAD_PERMISSIONS and the
folders the storage creates FILE_UPLOAD_DIRECTORY_PERMISSIONS exactly, whatever the process's umask
(``make_folders``; Django's chmod after the move sets the file's mode). ``manage.py restore`` writes
media files and folders with the same modes.

A write that stores files and rows together runs its transaction inside the block::

    with removed_unless_kept():
        with transaction.atomic():
            ...   # rows and files
"""

import contextlib
import logging
import os
import tempfile
import threading

from django.core.files.storage import FileSystemStorage
from django.http import FileResponse

logger = logging.getLogger(__name__)
_journals = threading.local()


def make_folders(path, mode):
    """Create the folder ``path`` and its missing parents, each with exactly ``mode``.

    ``os.makedirs(path, mode)`` gives ``mode`` to the last folder only, narrowed by the umask, and
    the parents the umask's default (0755 under the usual 022). Folders that exist are left as
    they are. Each folder is made owner-only first and then given ``mode``: never wider meanwhile.
    """
    path = os.path.abspath(path)
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            if not os.path.isdir(folder):
                raise
            continue  # made meanwhile by another process: its maker set the mode
        os.chmod(folder, mode)


class _WholeFile:
    """A complete file on disk that FileSystemStorage may move into place (it renames, atomically)."""

    def __init__(self, path):
        self.path = path

    def temporary_file_path(self):
        return self.path


class WholeFileStorage(FileSystemStorage):
    """FileSystemStorage that never leaves a partial file, and reports what it wrote to the journal."""

    def _save(self, name, content):
        directory = os.path.dirname(self.path(name))
        if self.directory_permissions_mode is not None:
            make_folders(directory, self.directory_permissions_mode)
        else:
            os.makedirs(directory, exist_ok=True)
        if hasattr(content, "temporary_file_path"):
            saved = super()._save(name, content)
        else:
            # mkstemp makes the file owner-only; Django's _save gives it FILE_UPLOAD_PERMISSIONS once moved.
            descriptor, partial = tempfile.mkstemp(dir=directory, prefix=".partial-")
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    self._write(handle, content)
                saved = super()._save(name, _WholeFile(partial))
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(partial)
        stack = getattr(_journals, "stack", None)
        if stack:
            stack[-1].append((self, saved))
        return saved

    def _write(self, handle, content):
        for chunk in content.chunks():
            handle.write(chunk if isinstance(chunk, bytes) else chunk.encode())
        handle.flush()
        # A row must never outlive its file: the bytes are on disk before the rename.
        os.fsync(handle.fileno())


@contextlib.contextmanager
def removed_unless_kept():
    """Delete the files stored inside the block again if the block raises.

    Nested blocks hand what they wrote to the enclosing one, whose failure removes them too.
    """
    if not hasattr(_journals, "stack"):
        _journals.stack = []
    stack = _journals.stack
    journal = []
    stack.append(journal)
    try:
        yield journal
    except BaseException:
        for storage, name in journal:
            try:
                storage.delete(name)
            except OSError:
                logger.exception("could not remove %s after a failed write", name)
        raise
    finally:
        stack.pop()
    if stack:
        stack[-1].extend(journal)


def save_with_files(save, form, *, refusal, log):
    """``save()`` (a form's save that writes rows and files together), with its files removed again
    if it fails; the media volume full or unwritable (OSError) is not an error page but the form
    refused with ``refusal`` (nothing was saved: the transaction was rolled back, and the storage
    leaves no partial file).

    ``log``: (message, *arguments) of the line logged with the exception, naming what was being saved.

    Returns ``(saved, stored)``: what ``save()`` returned, and False when the files could not be
    stored (the view then shows the form again with status 503).
    """
    try:
        with removed_unless_kept():
            return save(), True
    except OSError:
        logger.exception(*log)
        form.add_error(None, refusal)
        return None, False


def private_photo(image):
    """An evidence photo (a stored JPEG) as the response that serves it to a signed-in reader: never
    from a public media URL, cached by that reader's browser only. The caller has checked access."""
    response = FileResponse(image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response
