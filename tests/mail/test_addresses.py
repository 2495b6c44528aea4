"""Lenient address handling: Japanese carrier addresses that break RFC 5322 are real customers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailgate.mail.addresses import (
    domain_of,
    extract_addresses,
    first_address,
    in_domains,
    is_address_literal,
    local_part,
    mailbox_key,
    quote_local_part,
    same_address,
)


@pytest.mark.parametrize(
    "address",
    [
        "taro..yamada.@docomo.ne.jp",
        "..x@softbank.ne.jp",
        "hanako-.@docomo.ne.jp",
        ".a.b..c.@ezweb.ne.jp",
        "Taro.Yamada@Docomo.ne.jp",
    ],
)
def test_carrier_addresses_breaking_rfc5322_come_back_verbatim(address: str) -> None:
    assert extract_addresses(address) == [("", address)]
    assert extract_addresses(f"<{address}>") == [("", address)]
    assert extract_addresses(f"Taro <{address}>") == [("Taro", address)]


def test_quoted_local_part_is_unquoted() -> None:
    assert extract_addresses('"taro..yamada."@docomo.ne.jp') == [("", "taro..yamada.@docomo.ne.jp")]


def test_quoted_local_part_inside_brackets_is_unquoted() -> None:
    value = 'Taro <"taro..yamada."@docomo.ne.jp>'
    assert extract_addresses(value) == [("Taro", "taro..yamada.@docomo.ne.jp")]


def test_escaped_quote_in_quoted_local_part() -> None:
    assert extract_addresses(r'"a\"b"@example.jp') == [("", 'a"b@example.jp')]


def test_iso2022jp_encoded_display_name_is_decoded() -> None:
    value = "=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <k.yamamoto@ezweb.ne.jp>"
    assert extract_addresses(value) == [("山田", "k.yamamoto@ezweb.ne.jp")]


def test_encoded_word_inside_quotes_is_decoded() -> None:
    # Not allowed by RFC 2047, but common from Japanese mailers.
    assert extract_addresses('"=?UTF-8?B?5bGx55Sw?=" <t@example.jp>') == [("山田", "t@example.jp")]


def test_commas_inside_quoted_display_name_do_not_split() -> None:
    value = '"Yamada, Taro" <taro@example.jp>, "Sato, Hanako" <hanako-.@docomo.ne.jp>'
    assert extract_addresses(value) == [
        ("Yamada, Taro", "taro@example.jp"),
        ("Sato, Hanako", "hanako-.@docomo.ne.jp"),
    ]


def test_several_bare_addresses() -> None:
    assert extract_addresses("a@x.jp, ..b@y.jp ,c.@z.jp") == [
        ("", "a@x.jp"),
        ("", "..b@y.jp"),
        ("", "c.@z.jp"),
    ]


def test_group_syntax_yields_members_only() -> None:
    value = "friends: a@x.jp, Bee <b@y.jp>; c@z.jp"
    assert extract_addresses(value) == [("", "a@x.jp"), ("Bee", "b@y.jp"), ("", "c@z.jp")]


def test_empty_group_yields_nothing() -> None:
    assert extract_addresses("undisclosed-recipients:;") == []


def test_trailing_comment_becomes_display_name() -> None:
    assert extract_addresses("taro@example.jp (Taro Yamada)") == [("Taro Yamada", "taro@example.jp")]


def test_comment_inside_brackets_is_ignored() -> None:
    assert extract_addresses("Taro <taro(home)@example.jp>") == [("Taro", "taro@example.jp")]


def test_source_route_is_dropped() -> None:
    assert extract_addresses("<@relay.example,@r2.example:u@example.jp>") == [("", "u@example.jp")]


def test_null_return_path() -> None:
    assert extract_addresses("<>") == [("", "")]
    assert first_address("<>") == ""


def test_bracketless_address_with_name_before_it() -> None:
    assert extract_addresses("Taro taro@example.jp") == [("Taro", "taro@example.jp")]


def test_words_without_any_address_give_nothing() -> None:
    assert extract_addresses("no address here") == []


def test_raw_8bit_display_name_is_decoded() -> None:
    # How the email package hands over raw Shift_JIS bytes: surrogate escapes.
    raw = "山田".encode("cp932").decode("ascii", "surrogateescape")
    assert extract_addresses(f"{raw} <t@example.jp>") == [("山田", "t@example.jp")]


def test_folded_header() -> None:
    assert extract_addresses("Taro\r\n <taro@example.jp>,\r\n\thanako@example.jp") == [
        ("Taro", "taro@example.jp"),
        ("", "hanako@example.jp"),
    ]


def test_first_address() -> None:
    assert first_address("A <a@x.jp>, b@y.jp") == "a@x.jp"
    assert first_address(None) == ""
    assert first_address("") == ""


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("taro..yamada.@docomo.ne.jp", '"taro..yamada."@docomo.ne.jp'),
        ("..x@softbank.ne.jp", '"..x"@softbank.ne.jp'),
        ("hanako-.@docomo.ne.jp", '"hanako-."@docomo.ne.jp'),
        ('a"b@example.jp', '"a\\"b"@example.jp'),
        ("a\\b@example.jp", '"a\\\\b"@example.jp'),
        ("john doe@example.jp", '"john doe"@example.jp'),
        ("a(b)@example.jp", '"a(b)"@example.jp'),
        ("taro.yamada@docomo.ne.jp", "taro.yamada@docomo.ne.jp"),
        ("a+tag!#$%&'*/=?^_`{|}~-@example.jp", "a+tag!#$%&'*/=?^_`{|}~-@example.jp"),
    ],
)
def test_quote_local_part(address: str, expected: str) -> None:
    assert quote_local_part(address) == expected


_LOCAL = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=30)
_DOMAIN = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z]{2,5}){1,2}", fullmatch=True)


@given(_LOCAL, _DOMAIN)
def test_quote_local_part_round_trips_through_extract(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    quoted = quote_local_part(address)
    assert extract_addresses(quoted) == [("", address)]
    assert extract_addresses(f"Name <{quoted}>") == [("Name", address)]


@given(_LOCAL, _DOMAIN)
def test_quoted_form_is_always_a_dot_atom_or_quoted_string(local: str, domain: str) -> None:
    quoted_local = quote_local_part(f"{local}@{domain}").rsplit("@", 1)[0]
    if quoted_local != local:
        assert quoted_local.startswith('"') and quoted_local.endswith('"')
        inner = quoted_local[1:-1]
        assert '"' not in inner.replace('\\"', "").replace("\\\\", "")


def test_domain_of_and_local_part() -> None:
    assert domain_of("Taro..Yamada.@DoCoMo.NE.jp") == "docomo.ne.jp"
    assert local_part("Taro..Yamada.@DoCoMo.NE.jp") == "Taro..Yamada."
    assert domain_of("postmaster") == ""
    assert local_part("postmaster") == "postmaster"
    assert domain_of("") == ""


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("a@docomo.ne.jp", True),
        ("a@DOCOMO.ne.jp", True),
        ("a@sub.docomo.ne.jp", True),
        ("a@notdocomo.ne.jp", False),
        ("a@docomo.ne.jp.evil.example", False),
        ("docomo.ne.jp", False),
        ("", False),
    ],
)
def test_in_domains(address: str, expected: bool) -> None:
    assert in_domains(address, ["ezweb.ne.jp", "Docomo.ne.jp"]) is expected


def test_in_domains_with_no_domains() -> None:
    assert in_domains("a@docomo.ne.jp", []) is False


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Taro..Yamada.@DOCOMO.ne.jp", "taro..yamada.@docomo.ne.jp", True),
        ('"taro..yamada."@docomo.ne.jp', "taro..yamada.@docomo.ne.jp", True),
        ("taro@docomo.ne.jp", "taro@ezweb.ne.jp", False),
        ("taro@docomo.ne.jp", "taro.@docomo.ne.jp", False),
        ("", "", False),
    ],
)
def test_same_address(a: str, b: str, expected: bool) -> None:
    assert same_address(a, b) is expected


@given(st.text(max_size=120))
def test_extract_addresses_never_raises_or_keeps_line_breaks(value: str) -> None:
    for name, address in extract_addresses(value):
        assert not {"\r", "\n"} & set(name + address)


@pytest.mark.parametrize(
    "spelling",
    [
        "victim@x.example",
        "victim@x.example.",
        "Victim+a@X.example",
        "victim+b+c@x.example",
        '"victim"@x.example',
    ],
)
def test_the_mailbox_key_is_the_same_for_every_spelling_of_one_mailbox(spelling: str) -> None:
    assert mailbox_key(spelling) == "victim@x.example"


def test_an_address_literal_is_recognised() -> None:
    assert is_address_literal("victim@[192.0.2.1]") and is_address_literal("v@[IPv6:2001:db8::1]")
    assert not is_address_literal("taro..yamada.@docomo.ne.jp")
