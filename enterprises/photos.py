"""Evidence photos: what a phone uploads is checked, re-encoded and stored without its metadata.

A photo taken on site carries EXIF: the phone's GPS position, its make and serial, the time. The
stored file is a fresh JPEG encoded from the pixels alone, so none of that survives, and it is
stored under a generated name (the uploaded file name can hold a person's name). The orientation
EXIF tag is applied to the pixels first, so a portrait photo stays upright without it.
"""

import hashlib
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import RectificationPhoto

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 6
MAX_SIDE = 2560
# Refuse before decoding anything larger: a small file can declare a huge canvas (decompression bomb).
MAX_PIXELS = 60_000_000
JPEG_QUALITY = 85
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}


@dataclass
class CleanPhoto:
    content: bytes
    width: int
    height: int
    sha256: str
    original_name: str

    def as_file(self):
        return ContentFile(self.content, name="photo.jpg")


def clean_photo(upload):
    """A ``CleanPhoto`` from an uploaded file, or ValidationError with a message for the user."""
    name = getattr(upload, "name", "") or ""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("照片“%(name)s”超过 %(mb)d MB"),
            code="too_large",
            params={"name": name, "mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
        )
    upload.seek(0)
    raw = upload.read()
    try:
        # verify() checks the file's structure without decoding it, and leaves the image unusable.
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format
            width, height = probe.size
            probe.verify()
        if fmt not in ACCEPTED_FORMATS:
            raise ValidationError(
                _("照片“%(name)s”的格式（%(format)s）不受支持，请上传 JPEG、PNG 或 WebP 图片"),
                code="format",
                params={"name": name, "format": fmt},
            )
        if width * height > MAX_PIXELS:
            raise ValidationError(_("照片“%(name)s”像素过大"), code="too_many_pixels", params={"name": name})
        with Image.open(io.BytesIO(raw)) as image:
            if fmt in {"JPEG", "MPO"}:
                # Let libjpeg decode at a reduced scale when the photo is far larger than we keep.
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))
            image = ImageOps.exif_transpose(image)
            image = _flatten(image)
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            # No exif=, icc_profile= or comment: the new file carries pixels only.
            image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
            width, height = image.size
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationError(_("文件“%(name)s”不是有效的图片"), code="not_an_image", params={"name": name}) from exc
    content = out.getvalue()
    return CleanPhoto(
        content=content,
        width=width,
        height=height,
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=name,
    )


def _flatten(image):
    """RGB pixels; transparent areas become white, as they would look printed."""
    if image.mode in {"RGBA", "LA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def attach_photos(*, rectification, photos, user=None):
    """Store cleaned photos as evidence of ``rectification``; call inside the recording transaction.

    Files are written as the rows are created; if a row fails, the files already written are
    removed again so a failed submission leaves nothing behind.
    """
    created = []
    try:
        for photo in photos:
            created.append(
                RectificationPhoto.objects.create(
                    rectification=rectification,
                    image=photo.as_file(),
                    width=photo.width,
                    height=photo.height,
                    sha256=photo.sha256,
                    uploaded_by=user,
                )
            )
    except Exception:
        for row in created:
            row.image.delete(save=False)
        raise
    return created


def clean_photos(uploads):
    """Clean a list of uploads: every error is collected, duplicates (same pixels) are dropped."""
    if len(uploads) > MAX_PHOTOS:
        raise ValidationError(
            _("每次最多上传 %(n)d 张照片，本次选择了 %(got)d 张"),
            code="too_many",
            params={"n": MAX_PHOTOS, "got": len(uploads)},
        )
    photos, errors, seen = [], [], set()
    for upload in uploads:
        try:
            photo = clean_photo(upload)
        except ValidationError as exc:
            errors.extend(exc.error_list)
            continue
        if photo.sha256 not in seen:
            seen.add(photo.sha256)
            photos.append(photo)
    if errors:
        raise ValidationError(errors)
    return photos
