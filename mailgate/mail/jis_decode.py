"""ISO-2022-JP and EUC-JP bytes to text through cp932, so the vendor extensions survive.

Python's strict iso2022_jp and euc_jp codecs reject NEC row 13 (①, ㈱), IBM kanji (髙) and carrier
emoji in the user-defined area; every JIS X 0208 pair maps arithmetically to Shift_JIS, and cp932 has
them all. Segments in JIS X 0212/0213 go to Python's codecs instead.
"""

from __future__ import annotations

import re


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


# Designations, SO/SI and a lone ESC (an unknown escape: the ESC is dropped, the rest kept readable).
_SWITCHES = re.compile(rb"(\x1b&@\x1b\$B|\x1b\$[@B]|\x1b\([BJI]|\x1b\$\([DOQPC@B]|\x1b\$A|[\x1b\x0e\x0f])")
_MODES = {
    b"\x1b&@\x1b$B": "jis0208",  # JIS X 0208-1990 announcer followed by its designation: one switch
    b"\x1b$@": "jis0208",
    b"\x1b$B": "jis0208",
    b"\x1b$(@": "jis0208",
    b"\x1b$(B": "jis0208",
    b"\x1b(B": "ascii",
    b"\x1b(J": "roman",
    b"\x1b(I": "kana",
}
_JIS_2004 = (b"\x1b$(O", b"\x1b$(Q", b"\x1b$(P")
_PAIRS = re.compile(rb"[\x21-\x7e]+|[^\x21-\x7e]+")
_KANA = bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in range(256))  # SO/SI or ESC ( I kana
_LEAD = bytes(_jis_to_sjis(b, 0x21)[0] if 0x21 <= b <= 0x7E else b for b in range(256))
_TRAIL_ODD = bytes(_jis_to_sjis(0x21, b)[1] if 0x21 <= b <= 0x7E else b for b in range(256))
_TRAIL_EVEN = bytes(_jis_to_sjis(0x22, b)[1] if 0x21 <= b <= 0x7E else b for b in range(256))
_ODD = bytes(0xFF if b & 1 else 0 for b in range(256))


def _pairs_to_sjis(run: bytes) -> bytes:
    """_jis_to_sjis over every pair of `run` (an even number of bytes 0x21-0x7E) at C speed: a lead
    byte depends on the row byte alone, a trail byte on the cell byte and the row's parity."""
    rows, cells = run[0::2], run[1::2]
    odd = int.from_bytes(rows.translate(_ODD), "big")
    trails = (int.from_bytes(cells.translate(_TRAIL_ODD), "big") & odd) | (
        int.from_bytes(cells.translate(_TRAIL_EVEN), "big") & ~odd
    )
    out = bytearray(len(run))
    out[0::2] = rows.translate(_LEAD)
    out[1::2] = trails.to_bytes(len(cells), "big")
    return bytes(out)


class _Decoder:
    """The state of one ISO-2022-JP text: the designation in force and what is decoded so far."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.buf = bytearray()  # cp932 bytes not yet decoded
        self.mode = "ascii"  # ascii | roman | jis0208 | kana | foreign
        self.foreign_esc = b""
        self.foreign_buf = bytearray()
        self.shifted = False  # SO/SI half-width katakana (CP50222)

    def flush(self) -> None:
        if self.buf:
            self.out.append(bytes(self.buf).decode("cp932", "replace"))
            self.buf.clear()
        if self.foreign_buf:
            codec = "iso2022_jp_2004" if self.foreign_esc in _JIS_2004 else "iso2022_jp_2"
            self.out.append((self.foreign_esc + bytes(self.foreign_buf) + b"\x1b(B").decode(codec, "replace"))
            self.foreign_buf.clear()

    def switch(self, seq: bytes) -> None:
        if seq in (b"\x0e", b"\x0f"):
            self.shifted = seq == b"\x0e"
        elif seq != b"\x1b":
            self.flush()
            self.mode = _MODES.get(seq, "foreign")
            self.foreign_esc = seq if self.mode == "foreign" else self.foreign_esc

    def text(self, piece: bytes) -> None:
        """Bytes between two switches."""
        if self.mode == "foreign":  # JIS X 0212/0213 to the end of the line
            ends = [i for i in (piece.find(b"\r"), piece.find(b"\n")) if i >= 0]
            if not ends:
                self.foreign_buf += piece
                return
            self.foreign_buf += piece[: min(ends)]
            self.flush()
            self.mode, piece = "ascii", piece[min(ends) :]
        if self.mode == "jis0208":
            for m in _PAIRS.finditer(piece):
                run = m.group()
                if not 0x21 <= run[0] <= 0x7E:
                    self.buf += run  # controls inside a two-byte run (broken encoders): cp932 copes
                    continue
                even = len(run) & ~1
                self.buf += _pairs_to_sjis(run[:even])
                if even < len(run):
                    self.flush()
                    self.out.append("\ufffd")
        elif self.mode == "roman":
            # JIS X 0201 Roman has the yen sign at 0x5C (prices!); its 0x7E stays "~" as people read it.
            first, *rest = piece.split(b"\\")
            self.plain(first)
            for part in rest:
                self.flush()
                self.out.append("¥")
                self.plain(part)
        elif self.mode == "kana":
            self.buf += piece.translate(_KANA)
        else:
            self.plain(piece)

    def plain(self, piece: bytes) -> None:
        """ASCII (or 8-bit JIS8 kana: cp932 copes), half-width kana while shifted."""
        self.buf += piece.translate(_KANA) if self.shifted else piece


def iso2022_to_text(data: bytes) -> str:
    """Decode ISO-2022-JP and its Microsoft/carrier variants through cp932.

    Python's iso2022_jp rejects NEC row 13 (①, ㈱), IBM kanji (髙) and emoji; mapping each JIS pair to
    Shift_JIS arithmetically keeps them. Segments in JIS X 0212/0213 go to Python's codecs instead.
    Runs between escapes are converted whole (a loop over each byte took seconds on megabytes).
    """
    decoder = _Decoder()
    for n, piece in enumerate(_SWITCHES.split(data)):
        if n % 2:
            decoder.switch(piece)
        elif piece:
            decoder.text(piece)
    decoder.flush()
    return "".join(decoder.out)


_EUC = re.compile(rb"([\x00-\x7f]+)|((?:\x8e[\xa1-\xdf])+)|((?:[\xa1-\xfe][\xa1-\xfe])+)|(.)", re.DOTALL)
_GR_TO_GL = bytes((b - 0x80) & 0xFF for b in range(256))


def euc_to_text(data: bytes) -> str | None:
    """cp51932-like EUC-JP: JIS pairs through cp932 so NEC row 13 and IBM kanji survive."""
    out = bytearray()
    for m in _EUC.finditer(data):  # not findall: a list of every run of a hostile megabyte
        kind, run = m.lastindex, m.group()
        if kind == 4:
            return None  # JIS X 0212 (0x8F) or invalid: leave it to Python's codecs
        out += run if kind == 1 else run[1::2] if kind == 2 else _pairs_to_sjis(run.translate(_GR_TO_GL))
    return strict(bytes(out), "cp932")
