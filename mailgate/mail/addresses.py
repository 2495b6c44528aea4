"""Lenient address parsing for real Japanese mail.

docomo and au issued addresses such as ``taro..yamada.@docomo.ne.jp`` for years; they break RFC 5322
but are live mailboxes, so the stdlib parsers (which reject or mangle them) are not used here.
Addresses are returned exactly as received, minus angle brackets and local-part quotes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailgate.mail.headers import decode_header_value, raw_header_text

_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\U0010ffff]"
_DOT_ATOM = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_WS = re.compile(r"\s+")
_QUOTED_LOCAL = re.compile(r'"(?:[^"\\]|\\.)*"\s*@\s*\S+')


def _split_top(value: str) -> list[tuple[str, str]]:
    """Split an address list into (element, separator) at top-level ',' ';' and ':'.

    Quotes, comments and angle brackets are tracked so separators inside them don't split.
    """
    parts: list[tuple[str, str]] = []
    cur: list[str] = []
    depth_comment = 0
    in_quote = False
    in_angle = False
    i = 0
    while i < len(value):
        ch = value[i]
        if in_quote:
            cur.append(ch)
            if ch == "\\" and i + 1 < len(value):
                cur.append(value[i + 1])
                i += 1
            elif ch == '"':
                in_quote = False
        elif depth_comment:
            cur.append(ch)
            if ch == "\\" and i + 1 < len(value):
                cur.append(value[i + 1])
                i += 1
            elif ch == "(":
                depth_comment += 1
            elif ch == ")":
                depth_comment -= 1
        elif ch == '"':
            in_quote = True
            cur.append(ch)
        elif ch == "(":
            depth_comment = 1
            cur.append(ch)
        elif ch == "<":
            in_angle = True
            cur.append(ch)
        elif ch == ">":
            in_angle = False
            cur.append(ch)
        elif ch in ",;:" and not in_angle:
            parts.append(("".join(cur), ch))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append(("".join(cur), ""))
    return parts


def _strip_comments(text: str) -> tuple[str, list[str]]:
    """Remove (comments) outside quotes; return the rest and the comments' contents."""
    out: list[str] = []
    comments: list[str] = []
    current: list[str] = []
    depth = 0
    in_quote = False
    i = 0
    while i < len(text):
        ch = text[i]
        if depth:
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 2
                continue
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    comments.append("".join(current))
                    current = []
                    i += 1
                    continue
            current.append(ch)
        elif in_quote:
            out.append(ch)
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
            out.append(ch)
        elif ch == "(":
            depth = 1
        else:
            out.append(ch)
        i += 1
    if current:
        comments.append("".join(current))
    return "".join(out), comments


def _unquote(text: str) -> str:
    """Remove quoted-string quotes and backslash escapes, keep everything else."""
    out: list[str] = []
    in_quote = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            in_quote = not in_quote
        elif ch == "\\" and in_quote and i + 1 < len(text):
            out.append(text[i + 1])
            i += 1
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _clean_address(text: str) -> str:
    """`"taro..yamada."@docomo.ne.jp` -> `taro..yamada.@docomo.ne.jp`; whitespace outside quotes dropped."""
    text = text.strip()
    if ":" in text and text.startswith("@"):
        text = text.split(":", 1)[1]  # obsolete source route <@relay:user@host>
    at = _last_at_outside_quotes(text)
    if at < 0:
        return _WS.sub("", _unquote(text)) if '"' in text else _WS.sub("", text)
    local, domain = text[:at], text[at + 1 :]
    local = local.strip()
    local = _unquote(local) if '"' in local else _WS.sub("", local)
    return f"{local}@{_WS.sub('', domain)}"


def _last_at_outside_quotes(text: str) -> int:
    in_quote = False
    found = -1
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and in_quote:
            i += 2
            continue
        if ch == '"':
            in_quote = not in_quote
        elif ch == "@" and not in_quote:
            found = i
        i += 1
    return found


def _display(text: str) -> str:
    # Japanese mailers often put encoded words inside quotes, so decode after unquoting.
    return " ".join(decode_header_value(_unquote(text.strip())).split())


def _parse_element(element: str) -> tuple[str, str] | None:
    body, comments = _strip_comments(element)
    body = body.strip()
    if not body:
        return None
    open_at = _find_unquoted(body, "<")
    if open_at >= 0:
        close = _find_unquoted(body, ">", open_at)
        inner = body[open_at + 1 : close if close >= 0 else len(body)]
        name = _display(body[:open_at])
        if not name and comments:
            name = _display(" ".join(comments))
        return name, _clean_address(inner)
    if _QUOTED_LOCAL.fullmatch(body) or len(_split_words(body)) == 1:
        name = _display(" ".join(comments)) if comments else ""
        return name, _clean_address(body)
    # No brackets and several words: keep the (last) word that looks like an address.
    words = _split_words(body)
    with_at = [i for i, word in enumerate(words) if "@" in word]
    if not with_at:
        return None
    pick = with_at[-1]
    rest = " ".join(word for i, word in enumerate(words) if i != pick)
    name = _display(rest) if rest else ""
    return name, _clean_address(words[pick])


def _split_words(text: str) -> list[str]:
    """Whitespace-separated words, a quoted string counting as part of its word."""
    words: list[str] = []
    cur: list[str] = []
    in_quote = False
    i = 0
    while i < len(text):
        ch = text[i]
        if in_quote and ch == "\\" and i + 1 < len(text):
            cur += [ch, text[i + 1]]
            i += 2
            continue
        if ch == '"':
            in_quote = not in_quote
        if ch.isspace() and not in_quote:
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
        i += 1
    if cur:
        words.append("".join(cur))
    return words


def _find_unquoted(text: str, char: str, start: int = 0) -> int:
    """Index of `char` outside quoted strings, from `start`; -1 when absent."""
    in_quote = False
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\" and in_quote:
            i += 2
            continue
        if ch == '"':
            in_quote = not in_quote
        elif ch == char and not in_quote:
            return i
        i += 1
    return -1


def extract_addresses(value: str) -> list[tuple[str, str]]:
    """Parse an address header into (decoded display name, address) pairs, as leniently as possible."""
    try:
        text = raw_header_text(value)
        result: list[tuple[str, str]] = []
        pieces = _split_top(text)
        for element, sep in pieces:
            if sep == ":":
                # "group name:" (or junk before a colon that isn't inside <>): not an address.
                # A colon in a lone bare word such as a URL is rare enough to ignore.
                continue
            parsed = _parse_element(element)
            if parsed is not None:
                result.append(parsed)
        return result
    except Exception:
        return []


def first_address(value: str | None) -> str:
    """The first address in a header, or "" when there is none."""
    if not value:
        return ""
    found = extract_addresses(value)
    return found[0][1] if found else ""


def _split(addr: str) -> tuple[str, str | None]:
    at = addr.rfind("@")
    if at < 0:
        return addr, None
    return addr[:at], addr[at + 1 :]


def quote_local_part(addr: str) -> str:
    """Quote a local part that is not a dot-atom, so SMTP servers and header parsers accept it."""
    local, domain = _split(addr)
    if _DOT_ATOM.fullmatch(local):
        return addr
    if domain is None and not local:
        return addr
    quoted = '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return quoted if domain is None else f"{quoted}@{domain}"


def domain_of(addr: str) -> str:
    """Lower-cased domain of an address ("" when it has none)."""
    _, domain = _split(addr.strip().strip("<>"))
    return (domain or "").strip().rstrip(".").lower()


def local_part(addr: str) -> str:
    """The local part as written (the whole string when there is no '@')."""
    local, _ = _split(addr.strip().strip("<>"))
    return local


def in_domains(addr: str, domains: Iterable[str]) -> bool:
    """True when the address is in one of `domains` or one of their subdomains."""
    domain = domain_of(addr)
    if not domain:
        return False
    for candidate in domains:
        wanted = candidate.strip().strip(".").lower()
        if wanted and (domain == wanted or domain.endswith("." + wanted)):
            return True
    return False


def _normal_local(addr: str) -> str:
    local = local_part(addr)
    if len(local) >= 2 and local.startswith('"') and local.endswith('"'):
        local = _unquote(local)
    return local.casefold()


def mailbox_key(addr: str) -> str:
    """The mailbox an address reaches, for counting mail to it: case, a +tag and a trailing dot of
    the domain do not make another mailbox (Victim+a@X.example. is victim@x.example)."""
    return f"{_normal_local(addr).split('+', 1)[0]}@{domain_of(addr)}"


def is_address_literal(addr: str) -> bool:
    """user@[192.0.2.1]: a host by its IP address, which no customer of a shop writes."""
    return domain_of(addr).startswith("[")


def same_address(a: str, b: str) -> bool:
    """Same mailbox: local part and domain both compared case-insensitively (carriers do so)."""
    if not a or not b:
        return False
    return _normal_local(a) == _normal_local(b) and domain_of(a) == domain_of(b)
