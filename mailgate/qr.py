"""QR codes for flyers: `mailto:` the signup address, optionally with a subject."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import qrcode
import qrcode.image.svg


def mailto(address: str, subject: str | None = None) -> str:
    # Feature phones read a plain mailto best; the local part needs no escaping for our own address.
    return f"mailto:{address}" + (f"?subject={quote(subject)}" if subject else "")


# File name ending -> the image format written (Pillow's name; None: SVG).
FORMATS: dict[str, str | None] = {".png": "PNG", ".svg": None, ".jpg": "JPEG", ".jpeg": "JPEG"}


def write(data: str, out: Path) -> None:
    """The QR code in the format its file name says; ValueError for a name we do not write."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{out}: expected a file name ending in .png, .svg or .jpg, got {suffix or 'none'!r}"
        )
    fmt = FORMATS[suffix]
    if fmt is None:
        img = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
        img.save(str(out))
        return
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    image = qr.make_image().get_image()
    if fmt == "JPEG":  # no 1-bit JPEG: greyscale, at a quality that keeps the module edges sharp
        image.convert("L").save(out, format=fmt, quality=95)
    else:
        image.save(out, format=fmt)


def terminal(data: str) -> str:
    qr = qrcode.QRCode(border=2)
    qr.add_data(data)
    qr.make(fit=True)
    rows = qr.get_matrix()
    return "\n".join("".join("██" if cell else "  " for cell in row) for row in rows)
