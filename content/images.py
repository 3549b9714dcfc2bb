"""Uploaded images made fit for e-mail: decoded by Pillow, scaled down to a maximum width.

An image is decoded whole before it is kept, so a file that only starts like an image is
refused, and decoding is bounded: Pillow's decompression-bomb limit is an error here, not a
warning. Images wider than the limit are scaled down (aspect kept) and written again in their
own format; animated GIFs and WebPs are kept as uploaded when narrow enough (a scaled copy would
lose its frames), and refused when too wide.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
MAX_PIXELS = 40_000_000  # a 8000 x 5000 photo; beyond it decoding costs too much memory


class ImageRefused(ValueError):
    """The data is not a usable image of its type; the message says why."""


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    width: int
    height: int
    resized: bool


def prepare_image(data: bytes, content_type: str, max_width: int) -> PreparedImage:
    """The image to keep: `data` itself, or a copy scaled to `max_width` pixels wide.

    Raises ImageRefused when the bytes do not decode as `content_type`, the image is too large
    to decode, or it is an animation wider than `max_width`.
    """
    expected = FORMATS[content_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format != expected:
                raise ImageRefused(_("the content is not of the type its name says"))
            if image.width * image.height > MAX_PIXELS:
                raise ImageRefused(_("the image has too many pixels"))
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ImageRefused(_("the image cannot be read")) from exc
    except Image.DecompressionBombWarning as exc:
        raise ImageRefused(_("the image has too many pixels")) from exc
    if image.width <= max_width:
        return PreparedImage(data, image.width, image.height, resized=False)
    if getattr(image, "is_animated", False):
        raise ImageRefused(_("an animation wider than the limit"))
    return _scaled(image, expected, max_width)


def _scaled(image: Image.Image, format_name: str, width: int) -> PreparedImage:
    height = max(1, round(image.height * width / image.width))
    if format_name == "JPEG" and image.mode not in {"RGB", "L"}:
        image = image.convert("RGB")
    scaled = image.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    options = {"quality": 85, "optimize": True} if format_name in {"JPEG", "WEBP"} else {}
    scaled.save(out, format=format_name, **options)
    return PreparedImage(out.getvalue(), width, height, resized=True)
