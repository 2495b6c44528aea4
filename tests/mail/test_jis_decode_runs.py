"""The ISO-2022-JP and EUC-JP decoders convert whole runs between escapes, and give exactly what
the byte-at-a-time decoders they replaced gave (hypothesis over texts built from escapes, shifts,
line ends, JIS pairs and stray bytes); a multi-megabyte text decodes in bounded CPU (a hang guard,
not a timing assertion). The fuzz run found 2-5 MB mails spending 1-3 s in the old loops."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.mail.jis_decode import _jis_to_sjis, euc_to_text, iso2022_to_text, strict
from tests.hang_guard import finishes

ISO_PIECES = st.one_of(
    st.sampled_from(
        [
            b"\x1b$B",
            b"\x1b$@",
            b"\x1b(B",
            b"\x1b(J",
            b"\x1b(I",
            b"\x1b&@\x1b$B",
            b"\x1b&@",
            b"\x1b$(B",
            b"\x1b$(@",
            b"\x1b$(D",
            b"\x1b$(O",
            b"\x1b$(Q",
            b"\x1b$(P",
            b"\x1b$(C",
            b"\x1b$A",
            b"\x1b$(",
            b"\x1b",
            b"\x0e",
            b"\x0f",
            b"\r\n",
            b"\n",
            b"\r",
            b"\\",
            b"~",
            b" ",
            b"\t",
            b"$B",
            b"F|",
            b"-!",
            b"-j",
            b"|<",
            b"u!",
            b"~~",
            b"!",
            b"0!",
            b"y~",
        ]
    ),
    st.binary(min_size=1, max_size=4),
)
EUC_PIECES = st.one_of(
    st.sampled_from(
        [
            b"\xa4\xa2",
            b"\xad\xa1",
            b"\xfc\xe2",
            b"\xf5\xa1",
            b"\x8e\xb1",
            b"\x8e",
            b"\x8f\xa1\xa1",
            b"\xa1",
            b"a",
            b"\r\n",
        ]
    ),
    st.binary(min_size=1, max_size=3),
)


@settings(max_examples=600)
@given(st.lists(ISO_PIECES, max_size=40).map(b"".join))
def test_the_run_wise_iso2022_decoder_reads_what_the_byte_wise_one_read(data: bytes) -> None:
    assert iso2022_to_text(data) == reference_iso2022(data)


@settings(max_examples=600)
@given(st.lists(EUC_PIECES, max_size=40).map(b"".join))
def test_the_run_wise_euc_decoder_reads_what_the_byte_wise_one_read(data: bytes) -> None:
    assert euc_to_text(data) == reference_euc(data)


def test_every_jis_and_euc_pair_decodes_as_before() -> None:
    rows = range(0x21, 0x7F)
    run = bytes(b for j1 in rows for j2 in rows for b in (j1, j2))
    jis, euc = b"\x1b$B" + run + b"\x1b(B", bytes(b + 0x80 for b in run)
    assert (iso2022_to_text(jis), euc_to_text(euc)) == (reference_iso2022(jis), reference_euc(euc))


def test_megabytes_of_jis_and_euc_decode_in_bounded_cpu() -> None:
    """Twenty and thirteen megabytes of mixed text, under two seconds of CPU each: the byte-wise
    decoders took three seconds and more on them, the run-wise ones a fraction of one."""
    jis = b"".join(
        [
            b"\x1b$B",
            b"F|K\\8l" * 3_000_000,
            b"\x1b(J\r\n",
            (b"price \\1,000 ~ " + b"roman text " * 12) * 20_000,
            b"\x0e1234\x0f",
        ]
    )
    euc = ("日本語のテキスト" * 40 + "ｶﾅ\r\n").encode("euc_jp") * 20_000
    assert finishes(iso2022_to_text, jis, cpu_seconds=2)
    assert finishes(euc_to_text, euc, cpu_seconds=2)


def reference_iso2022(data: bytes) -> str:
    """The byte-at-a-time decoder the run-wise one replaced."""
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


def reference_euc(data: bytes) -> str | None:
    """The byte-at-a-time decoder the run-wise one replaced."""
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
