"""Evidence photos: what a phone uploads is checked, re-encoded and stored without its metadata.

A photo taken on site carries EXIF: the phone's GPS position, its make and serial, the time. The
stored file is a fresh JPEG encoded from the pixels alone, so none of that survives, and it is
stored under a generated name (the uploaded file name can hold a person's name). The orientation
EXIF tag is applied to the pixels too, so a portrait photo stays upright without it.

Every place that accepts photos (a rectification's evidence, an inspection's site photos) goes
through ``clean_photos`` (via ``enterprises.forms.MultiplePhotoField``), so the limits below hold
for all of them.

Memory. A file's size says little about its pixels: a 7700×7700 PNG of one colour is 249 KB on
disk and 237 MB decoded (Pillow keeps RGB and RGBA in 4 bytes a pixel); six in one submission took
a worker to 1 GB and 8 to 19 s with the old pipeline (decode, copy to rotate, copy twice to lay
the transparency on white). So every header is read first (``Image.open`` reads the size and mode,
no pixel), each photo is priced (``decode_cost``) and refused before any is decoded, and each is
decoded no larger than it is kept. What each format costs at most, measured (peak RSS):

* Sequential JPEG, what every phone camera writes: libjpeg decodes it at 1/2, 1/4 or 1/8 scale
  (``Image.draft``), so it is never decoded at more than about twice 2560 px a side: a 12 MP photo
  takes 95 MB, a 50 MP one (decoded as 12.5 MP) 97 MB, the worst case (5119 px a side) 176 MB. Hence
  MAX_PIXELS at 50 MP: more than a phone writes in its normal mode, and a 10 MB file holds no more
  of a real scene anyway.
* Progressive JPEG, and a sequential one whose first scan lacks a colour component (several
  scans): libjpeg buffers every DCT coefficient of the full image whatever the scale, 3 bytes a
  pixel at 4:2:0 and 6 at 4:4:4 (a 50 MP progressive JPEG: 191 MB). Phones do not write them.
* PNG and WebP cannot be decoded at a smaller scale: the whole canvas is decoded, converted,
  premultiplied and scaled. A 16 MP PNG takes 125 MB (RGB, grey, palette) to 187 MB (with
  transparency), a 12 MP WebP 186 MB (libwebp keeps two canvases of its own). No phone camera
  writes these; a screenshot is at most about 6 MP; a 12 MP photo saved as PNG is over 10 MB.
  Hence MAX_FULL_DECODE_PIXELS at 16 MP for them, a third of the JPEG limit, instead of the
  60 MP (about 1 GB for one RGBA PNG) that passed before.

MAX_DECODE_BYTES (192 MB) admits every photo above and refuses the odd rest (a CMYK JPEG near
the worst case, 201 MB; a 16 MP WebP, 248 MB). A submission's totals bound its work:
MAX_REQUEST_PIXELS (120 MP) admits six 19 MP phone photos (decoded at full size: 5056 px is less
than twice 2560), and MAX_REQUEST_DECODE_BYTES (1 GB, the sum of the photos' peaks, not a peak:
photos are decoded one after another) admits six such photos (about 800 MB) and refuses six 16 MP
transparent PNGs (1.1 GB).
Pillow's own limit (``Image.MAX_IMAGE_PIXELS``) is set to MAX_PIXELS, and what it refuses is
refused with the same message.

Every limit can be set in the settings (``PHOTO_MAX_UPLOAD_BYTES``, ``PHOTO_MAX_PHOTOS``,
``PHOTO_MAX_PIXELS``, ``PHOTO_MAX_FULL_DECODE_PIXELS``, ``PHOTO_MAX_DECODE_BYTES``,
``PHOTO_MAX_REQUEST_PIXELS``, ``PHOTO_MAX_REQUEST_DECODE_BYTES``); it is read when this module
is first imported.
"""

import hashlib
import io
import math
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, UnidentifiedImageError

from core import evidence

from .models import RectificationPhoto

MB = 1024 * 1024


def _limit(name, default):
    """A limit from the settings (``PHOTO_...``) or its default; read once, when the module loads."""
    return getattr(settings, name, default)


MAX_UPLOAD_BYTES = _limit("PHOTO_MAX_UPLOAD_BYTES", 10 * MB)
MAX_PHOTOS = _limit("PHOTO_MAX_PHOTOS", 6)
# Per photo, as its header declares it (the module's docstring gives the reasons for each value).
# Any photo; a sequential JPEG, decoded at the scale it is kept at, may have this many.
MAX_PIXELS = _limit("PHOTO_MAX_PIXELS", 50_000_000)
# Formats decoded at full size (PNG, WebP, progressive or multi-scan JPEG): far fewer pixels.
MAX_FULL_DECODE_PIXELS = _limit("PHOTO_MAX_FULL_DECODE_PIXELS", 16_000_000)
# The memory one photo may take while it is decoded and scaled down (``decode_cost``).
MAX_DECODE_BYTES = _limit("PHOTO_MAX_DECODE_BYTES", 192 * MB)
# One submission (up to MAX_PHOTOS photos): the pixels decoded and the memory that takes, summed.
MAX_REQUEST_PIXELS = _limit("PHOTO_MAX_REQUEST_PIXELS", 120_000_000)
MAX_REQUEST_DECODE_BYTES = _limit("PHOTO_MAX_REQUEST_DECODE_BYTES", 1024 * MB)
MAX_SIDE = 2560
JPEG_QUALITY = 85
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"}

# Pillow's own decompression-bomb guard, at the same limit: an image it refuses is refused with the
# same message as ours (``_open``), never as an unexpected error. Set once for the process.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_JPEG_FORMATS = {"JPEG", "MPO"}
# Bytes a pixel in Pillow's memory; every other mode (RGB included) takes 4.
_PILLOW_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
# The modes scaled as they are; any other is converted first (to RGBA when it has transparency).
_WORKING_MODES = {"L", "LA", "RGB", "RGBA"}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass
class CleanPhoto:
    content: bytes
    width: int
    height: int
    sha256: str
    original_name: str
    # Where and when it was taken (core/evidence.py): read from the upload's EXIF, kept on the row.
    capture: evidence.Capture = evidence.NOTHING

    def as_file(self):
        return ContentFile(self.content, name="photo.jpg")


@dataclass
class Probe:
    """What the header of an upload says, read before a single pixel is decoded."""

    upload: object
    name: str
    format: str
    size: tuple  # as declared
    decoded: tuple  # as it will be decoded (smaller for a sequential JPEG, see ``decode_cost``)
    final: tuple  # as it will be stored, before the orientation is applied
    cost: int  # bytes of memory, at most, while it is decoded and scaled (``decode_cost``)
    capture: evidence.Capture = evidence.NOTHING  # from the header's EXIF, before it is stripped

    @property
    def decoded_pixels(self):
        return self.decoded[0] * self.decoded[1]


def decode_cost(*, fmt, mode, decoded, final, full_coefficients=0, transparent=False, file_bytes=0):
    """The most memory (bytes) that decoding and scaling one photo takes at any moment.

    Stage by stage, each buffer that is alive at once (``ru_maxrss`` agrees within 1 %, see
    tests/enterprises/test_photos.py):

    * the file's bytes (``file_bytes``), held throughout;
    * the decoded image: Pillow keeps 1 byte a pixel for grey or a palette, 2 for 16-bit grey, 4
      for everything else (RGB included); a sequential JPEG is decoded at the drafted size;
    * ``full_coefficients``: libjpeg's buffer of every DCT coefficient of the full-size image, for
      a progressive or multi-scan JPEG, while it decodes;
    * WebP: libwebp's canvas and previous frame and the copy it hands Pillow, 12 bytes a pixel
      in all, until the file is closed;
    * a mode that cannot be resampled as it is (palette, 16-bit grey, CMYK) is converted to RGB
      or RGBA (4 bytes a pixel) and the decoded image closed;
    * the scaling: RGBA is premultiplied in a copy, Pillow reduces by whole factors first
      (``reducing_gap`` 2), resamples horizontally into a temporary image, then vertically, all
      while the decoded image is held;
    * the encoding of the final JPEG (at most 2560×2560): the image, libjpeg's coefficients for
      ``optimize`` and Pillow's output buffer, about 10 bytes a pixel.
    """
    width, height = decoded
    pixels = width * height
    fw, fh = final
    held = _PILLOW_BYTES_PER_PIXEL.get(mode, 4) * pixels
    extra = 8 * pixels if fmt == "WEBP" else 0
    stages = [held + extra + full_coefficients]
    if mode not in _WORKING_MODES:
        working_mode = "RGBA" if transparent else "RGB"
        # The decoded image is closed once converted: only the converted one is scaled.
        stages.append(held + extra + 4 * pixels)
        held, extra = 4 * pixels, 0
    else:
        working_mode = mode
    bpp = _PILLOW_BYTES_PER_PIXEL.get(working_mode, 4)
    if working_mode in {"LA", "RGBA"} and (fw, fh) != (width, height):
        held += bpp * pixels  # premultiplied copy
    if (fw, fh) != (width, height):
        fx, fy = max(int(width / fw / 2.0), 1), max(int(height / fh / 2.0), 1)
        rw, rh = math.ceil(width / fx), math.ceil(height / fy)
        reduced = rw * rh if fx > 1 or fy > 1 else 0
        stages.append(held + extra + bpp * (reduced + fw * rh + fw * fh))
    stages.append(10 * fw * fh)
    return file_bytes + max(stages)


def _final_size(width, height):
    """The stored size before the orientation is applied: ``Image.thumbnail``'s own arithmetic."""
    if width <= MAX_SIDE and height <= MAX_SIDE:
        return width, height
    aspect = width / height

    def rounded(number, key):
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    if aspect <= 1:
        return rounded(MAX_SIDE * aspect, key=lambda n: abs(aspect - n / MAX_SIDE)), MAX_SIDE
    return MAX_SIDE, rounded(MAX_SIDE / aspect, key=lambda n: 0 if n == 0 else abs(aspect - MAX_SIDE / n))


def _jpeg_first_scan_components(fp):
    """How many colour components the first scan of a JPEG holds; None if that cannot be told.

    Fewer than the image has means several scans, and libjpeg then buffers every coefficient of
    the full image, as it does for a progressive JPEG. Reads the markers' headers only.
    """
    fp.seek(0)
    if fp.read(2) != b"\xff\xd8":
        return None
    while True:
        byte = fp.read(1)
        while byte and byte != b"\xff":  # stray bytes between segments, skipped as libjpeg does
            byte = fp.read(1)
        marker = fp.read(1)
        while marker == b"\xff":  # fill bytes
            marker = fp.read(1)
        if not marker:
            return None
        if marker[0] == 0x01 or 0xD0 <= marker[0] <= 0xD7:  # markers without a segment
            continue
        length = int.from_bytes(fp.read(2), "big")
        if marker[0] == 0xDA:  # start of scan: its first byte is the number of components
            count = fp.read(1)
            return count[0] if count else None
        if length < 2:
            return None
        fp.seek(length - 2, io.SEEK_CUR)


def _coefficient_bytes(width, height, layers):
    """The memory libjpeg takes to buffer every DCT coefficient: 2 bytes each, per component at its
    sampling (``layers``: Pillow's (id, vertical, horizontal, table) of each component)."""
    hmax = max(h for _id, _v, h, _q in layers)
    vmax = max(v for _id, v, _h, _q in layers)
    share = sum(h * v for _id, v, h, _q in layers) / (hmax * vmax)
    blocks = math.ceil(width / (8 * hmax)) * hmax * math.ceil(height / (8 * vmax)) * vmax
    return math.ceil(2 * 64 * blocks * share)


def _too_many_pixels(name, limit, fmt=None):
    if fmt is None:
        return ValidationError(
            _("照片“%(name)s”像素过大，超过每张 %(limit)d 万像素的上限"),
            code="too_many_pixels",
            params={"name": name, "limit": limit // 10_000},
        )
    return ValidationError(
        _("照片“%(name)s”像素过大：%(format)s 图片每张最多 %(limit)d 万像素（JPEG 照片最多 %(jpeg)d 万像素）"),
        code="too_many_pixels",
        params={"name": name, "format": fmt, "limit": limit // 10_000, "jpeg": MAX_PIXELS // 10_000},
    )


def _not_an_image(name):
    return ValidationError(_("文件“%(name)s”不是有效的图片"), code="not_an_image", params={"name": name})


def _read(upload):
    upload.seek(0)
    return upload.read()


def _open(raw, name):
    """Pillow's image of the bytes ``raw``, its header read and no pixel decoded.

    Pillow's limit is MAX_PIXELS too. Over it, Pillow only warns: ``probe_photo`` refuses such a
    photo right after, with the limit of its format. Over twice the limit, Pillow refuses to open
    the file; that is refused with the same message, told by the file's signature.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(raw))
    except Image.DecompressionBombError as exc:
        if raw.startswith(b"\x89PNG\r\n\x1a\n"):
            raise _too_many_pixels(name, _full_decode_limit(), "PNG") from exc
        if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
            raise _too_many_pixels(name, _full_decode_limit(), "WebP") from exc
        raise _too_many_pixels(name, MAX_PIXELS) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _not_an_image(name) from exc


def _full_decode_limit():
    return min(MAX_FULL_DECODE_PIXELS, MAX_PIXELS)


def probe_photo(upload):
    """A ``Probe`` of ``upload`` from its size and header, or ValidationError (nothing decoded)."""
    name = getattr(upload, "name", "") or ""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("照片“%(name)s”超过 %(mb)d MB"),
            code="too_large",
            params={"name": name, "mb": MAX_UPLOAD_BYTES // MB},
        )
    raw = _read(upload)
    image = _open(raw, name)
    try:
        fmt, mode, (width, height) = image.format, image.mode, image.size
        # Where and when it was taken, before the file is stripped (a PNG's header must be verified
        # untouched below; phones write JPEG).
        capture = evidence.read_capture(image) if fmt != "PNG" else evidence.NOTHING
        if fmt not in ACCEPTED_FORMATS:
            raise ValidationError(
                _("照片“%(name)s”的格式（%(format)s）不受支持，请上传 JPEG、PNG 或 WebP 图片"),
                code="format",
                params={"name": name, "format": fmt},
            )
        sequential = fmt in _JPEG_FORMATS and not (
            image.info.get("progressive") or _jpeg_first_scan_components(io.BytesIO(raw)) != len(image.layer)
        )
        if sequential and width * height > MAX_PIXELS:
            raise _too_many_pixels(name, MAX_PIXELS)
        if not sequential and width * height > _full_decode_limit():
            label = _("渐进式或分次扫描的 JPEG") if fmt in _JPEG_FORMATS else {"WEBP": "WebP"}.get(fmt, fmt)
            raise _too_many_pixels(name, _full_decode_limit(), label)
        final = _final_size(width, height)
        decoded, coefficients = (width, height), 0
        if fmt in _JPEG_FORMATS:
            if not sequential:
                coefficients = _coefficient_bytes(width, height, image.layer)
            image.draft("RGB", final)  # what libjpeg will decode: the scale is chosen from the header alone
            decoded = image.size
        transparent = mode in {"PA", "RGBa", "La"} or (mode == "P" and "transparency" in image.info)
        cost = decode_cost(
            fmt=fmt,
            mode=image.mode,
            decoded=decoded,
            final=final,
            full_coefficients=coefficients,
            transparent=transparent,
            file_bytes=len(raw),
        )
        if cost > MAX_DECODE_BYTES:
            raise ValidationError(
                _("照片“%(name)s”解码后约需 %(need)d MB 内存，超过每张 %(limit)d MB 的上限，请缩小后重新上传"),
                code="too_costly",
                params={"name": name, "need": math.ceil(cost / MB), "limit": MAX_DECODE_BYTES // MB},
            )
        if fmt == "PNG":
            # The chunks' checksums, without decompressing the pixels.
            image.verify()
    except ValidationError:
        raise
    except (OSError, SyntaxError, ValueError, TypeError) as exc:
        raise _not_an_image(name) from exc
    finally:
        image.close()
    return Probe(
        upload=upload,
        name=name,
        format=fmt,
        size=(width, height),
        decoded=decoded,
        final=final,
        cost=cost,
        capture=capture,
    )


def decode_photo(probe):
    """The ``CleanPhoto`` of a probed upload: decoded at the probed size, scaled, re-encoded."""
    name = probe.name
    source = _open(_read(probe.upload), name)
    try:
        if probe.format in _JPEG_FORMATS:
            source.draft("RGB", probe.final)
        source.load()
        orientation = source.getexif().get(ExifTags.Base.Orientation)
        image = _working_copy(source)
        if image is not source:
            source.close()  # frees the decoded pixels before the scaling allocates its own
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        image = _flatten(image)
        if orientation in _TRANSPOSE:
            image = image.transpose(_TRANSPOSE[orientation])
        out = io.BytesIO()
        # No exif=, icc_profile= or comment: the new file carries pixels only.
        image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        width, height = image.size
    except (OSError, SyntaxError, ValueError) as exc:
        raise _not_an_image(name) from exc
    finally:
        source.close()
    content = out.getvalue()
    return CleanPhoto(
        content=content,
        width=width,
        height=height,
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=name,
        capture=probe.capture,
    )


def clean_photo(upload):
    """A ``CleanPhoto`` from an uploaded file, or ValidationError with a message for the user."""
    return decode_photo(probe_photo(upload))


def _working_copy(image):
    """``image`` in a mode that scales correctly: grey, RGB, or with alpha when it has any."""
    if image.mode in _WORKING_MODES:
        return image
    if image.mode in {"PA", "RGBa", "La"} or (image.mode == "P" and "transparency" in image.info):
        return image.convert("RGBA")
    return image.convert("RGB")


def _flatten(image):
    """RGB pixels; transparent areas become white, as they would look printed."""
    if image.mode in {"RGBA", "LA"}:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def store_photos(photos, make_row):
    """Store cleaned photos, one row each: ``make_row(image=…, width=…, height=…, sha256=…, taken_…=…)``
    creates and saves the row of one photo, with where and when it was taken (core/evidence.py).
    Call inside the recording transaction: if a row fails, the files already written are removed
    again, so a failed submission leaves nothing behind. Every kind of evidence (rectification,
    inspection, finding completion, park stage) is stored through here."""
    created = []
    try:
        for photo in photos:
            created.append(
                make_row(
                    image=photo.as_file(),
                    width=photo.width,
                    height=photo.height,
                    sha256=photo.sha256,
                    **evidence.captured_fields(photo.capture),
                )
            )
    except Exception:
        for row in created:
            row.image.delete(save=False)
        raise
    return created


def attach_photos(*, rectification, photos, user=None):
    """Store cleaned photos as evidence of ``rectification`` (store_photos)."""
    return store_photos(
        photos,
        lambda **fields: RectificationPhoto.objects.create(rectification=rectification, uploaded_by=user, **fields),
    )


def clean_photos(uploads):
    """Clean a list of uploads: every error is collected, duplicates (same pixels) are dropped.

    Every header is read first, and the submission's totals checked, before any photo is decoded:
    a submission refused for its size costs no decoding at all.
    """
    if len(uploads) > MAX_PHOTOS:
        raise ValidationError(
            _("每次最多上传 %(n)d 张照片，本次选择了 %(got)d 张"),
            code="too_many",
            params={"n": MAX_PHOTOS, "got": len(uploads)},
        )
    probes, errors = [], []
    for upload in uploads:
        try:
            probes.append(probe_photo(upload))
        except ValidationError as exc:
            errors.extend(exc.error_list)
    if errors:
        raise ValidationError(errors)
    pixels = cost = 0
    for probe in probes:
        pixels += probe.decoded_pixels
        cost += probe.cost
        if pixels > MAX_REQUEST_PIXELS:
            raise ValidationError(
                _("照片“%(name)s”使本次上传的照片合计超过 %(limit)d 万像素的上限，请减少照片数量或缩小后重试"),
                code="request_too_many_pixels",
                params={"name": probe.name, "limit": MAX_REQUEST_PIXELS // 10_000},
            )
        if cost > MAX_REQUEST_DECODE_BYTES:
            raise ValidationError(
                _("照片“%(name)s”使本次上传的照片解码后合计超过 %(limit)d MB 的上限，请减少照片数量或缩小后重试"),
                code="request_too_costly",
                params={"name": probe.name, "limit": MAX_REQUEST_DECODE_BYTES // MB},
            )
    photos, seen = [], set()
    for probe in probes:
        try:
            photo = decode_photo(probe)
        except ValidationError as exc:
            errors.extend(exc.error_list)
            continue
        if photo.sha256 not in seen:
            seen.add(photo.sha256)
            photos.append(photo)
    if errors:
        raise ValidationError(errors)
    return photos
