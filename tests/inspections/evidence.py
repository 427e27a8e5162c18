"""Completion photos for tests that close findings off: cleaned like the completion page's
(enterprises/photos.py), since verification refuses to close a finding reported without any."""

from django.core.files.uploadedfile import SimpleUploadedFile

from enterprises.photos import clean_photo
from tests.enterprises.test_photos import make_image_bytes


def photos(n=1, colour=(40, 120, 60)):
    """``n`` different cleaned photos (their pixels differ, so none is dropped as a duplicate)."""
    return [
        clean_photo(SimpleUploadedFile(f"整改{i}.jpg", make_image_bytes(color=(colour[0] + i, *colour[1:]))))
        for i in range(n)
    ]


def upload(name="整改后.jpg", colour=(40, 120, 60)):
    """A phone photo as the completion page receives it."""
    return SimpleUploadedFile(name, make_image_bytes(color=colour), "image/jpeg")
