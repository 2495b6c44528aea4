"""QR codes for flyers: `mailto:` the signup address, optionally with a subject."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import qrcode
import qrcode.image.svg


def mailto(address: str, subject: str | None = None) -> str:
    # Feature phones read a plain mailto best; the local part needs no escaping for our own address.
    return f"mailto:{address}" + (f"?subject={quote(subject)}" if subject else "")


def write(data: str, out: Path) -> None:
    if out.suffix.lower() == ".svg":
        img = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=4)
        img.save(str(out))
    else:
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
        qr.add_data(data)
        qr.make(fit=True)
        qr.make_image().save(str(out))


def terminal(data: str) -> str:
    qr = qrcode.QRCode(border=2)
    qr.add_data(data)
    qr.make(fit=True)
    rows = qr.get_matrix()
    return "\n".join("".join("██" if cell else "  " for cell in row) for row in rows)
