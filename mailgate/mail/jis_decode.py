"""ISO-2022-JP and EUC-JP bytes to text through cp932, so the vendor extensions survive.

Python's strict iso2022_jp and euc_jp codecs reject NEC row 13 (①, ㈱), IBM kanji (髙) and carrier
emoji in the user-defined area; every JIS X 0208 pair maps arithmetically to Shift_JIS, and cp932 has
them all. Segments in JIS X 0212/0213 go to Python's codecs instead.
"""

from __future__ import annotations


def strict(data: bytes, codec: str) -> str | None:
    """`data` decoded by `codec`, or None when it is not valid in it (or the codec is unknown)."""
    try:
        return data.decode(codec)
    except Exception:  # LookupError, UnicodeError and codec-specific oddities alike
        return None


def _jis_to_sjis(j1: int, j2: int) -> bytes:
    """JIS X 0208 code point (row byte, cell byte) to its Shift_JIS bytes."""
    s1 = ((j1 - 0x21) >> 1) + 0x81
    if s1 > 0x9F:
        s1 += 0x40
    if j1 & 1:
        s2 = j2 + 0x1F
        if s2 >= 0x7F:
            s2 += 1
    else:
        s2 = j2 + 0x7E
    # Rows 0x75-0x78 and 0x7D-0x7E land on lead bytes cp932 leaves unassigned; CP5022x puts the
    # user-defined area (carrier emoji) there, which cp932 has at F0-F4, so move them along.
    if s1 in (0xEB, 0xEC, 0xEF):
        s1 += 5
    return bytes((s1, s2))


def iso2022_to_text(data: bytes) -> str:
    """Decode ISO-2022-JP and its Microsoft/carrier variants through cp932.

    Python's iso2022_jp rejects NEC row 13 (①, ㈱), IBM kanji (髙) and emoji; mapping each JIS pair to
    Shift_JIS arithmetically keeps them. Segments in JIS X 0212/0213 go to Python's codecs instead.
    """
    out: list[str] = []
    buf = bytearray()
    mode = "ascii"  # ascii | roman | jis0208 | kana | foreign
    foreign_esc = b""
    foreign_buf = bytearray()
    shifted = False  # SO/SI half-width katakana (CP50222)

    def flush() -> None:
        if buf:
            out.append(bytes(buf).decode("cp932", "replace"))
            buf.clear()
        if foreign_buf:
            codec = (
                "iso2022_jp_2004" if foreign_esc in (b"\x1b$(O", b"\x1b$(Q", b"\x1b$(P") else "iso2022_jp_2"
            )
            out.append((foreign_esc + bytes(foreign_buf) + b"\x1b(B").decode(codec, "replace"))
            foreign_buf.clear()

    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b == 0x1B:
            seq3 = data[i : i + 3]
            seq4 = data[i : i + 4]
            if data[i : i + 6] == b"\x1b&@\x1b$B":
                # JIS X 0208-1990 announcer followed by its designation: one switch.
                flush()
                mode = "jis0208"
                i += 6
                continue
            if seq3 in (b"\x1b$@", b"\x1b$B"):
                flush()
                mode = "jis0208"
                i += 3
                continue
            if seq3 in (b"\x1b(B", b"\x1b(J"):
                flush()
                mode = "roman" if seq3 == b"\x1b(J" else "ascii"
                i += 3
                continue
            if seq3 == b"\x1b(I":
                flush()
                mode = "kana"
                i += 3
                continue
            if seq4 in (b"\x1b$(D", b"\x1b$(O", b"\x1b$(Q", b"\x1b$(P", b"\x1b$(C") or seq3 in (b"\x1b$A",):
                flush()
                mode = "foreign"
                foreign_esc = seq4 if seq4.startswith(b"\x1b$(") else seq3
                i += len(foreign_esc)
                continue
            if seq4 == b"\x1b$(B" or seq4 == b"\x1b$(@":
                flush()
                mode = "jis0208"
                i += 4
                continue
            # Unknown escape: drop the ESC, keep the rest readable.
            i += 1
            continue
        if b == 0x0E:
            shifted = True
            i += 1
            continue
        if b == 0x0F:
            shifted = False
            i += 1
            continue
        if mode == "foreign":
            if b in (0x0A, 0x0D):
                flush()
                mode = "ascii"
                buf.append(b)
            else:
                foreign_buf.append(b)
            i += 1
            continue
        if mode == "jis0208" and 0x21 <= b <= 0x7E:
            if i + 1 < n and 0x21 <= data[i + 1] <= 0x7E:
                buf += _jis_to_sjis(b, data[i + 1])
                i += 2
            else:
                flush()
                out.append("\ufffd")
                i += 1
            continue
        if mode == "roman" and b == 0x5C:
            # JIS X 0201 Roman has the yen sign here (prices!); its 0x7E stays "~" as people read it.
            flush()
            out.append("¥")
            i += 1
            continue
        if (mode == "kana" or shifted) and 0x21 <= b <= 0x5F:
            buf.append(b + 0x80)
            i += 1
            continue
        # ASCII, controls inside a two-byte run (broken encoders), or 8-bit JIS8 kana: cp932 copes.
        buf.append(b)
        i += 1
    flush()
    return "".join(out)


def euc_to_text(data: bytes) -> str | None:
    """cp51932-like EUC-JP: JIS pairs through cp932 so NEC row 13 and IBM kanji survive."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            out.append(b)
            i += 1
        elif b == 0x8E and i + 1 < n and 0xA1 <= data[i + 1] <= 0xDF:
            out.append(data[i + 1])
            i += 2
        elif 0xA1 <= b <= 0xFE and i + 1 < n and 0xA1 <= data[i + 1] <= 0xFE:
            out += _jis_to_sjis(b - 0x80, data[i + 1] - 0x80)
            i += 2
        else:
            return None  # JIS X 0212 (0x8F) or invalid: leave it to Python's codecs
    return strict(bytes(out), "cp932")
