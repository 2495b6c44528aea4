"""A new SMTP connection without aiosmtpd's per-connection introspection.

aiosmtpd's SMTP.__init__ looks up its commands, AUTH mechanisms and the handler's hooks anew for
every connection (inspect.getmembers, inspect.signature of handle_EHLO): some 75 µs, about a tenth
of the event loop's CPU at intake when each message comes on a connection of its own. The first
connection of a kind (class, handler, options) runs it and becomes the template; the next ones run
only asyncio's part (their reader, their futures) and copy what the template found, with its methods
bound to themselves. An attribute of a kind this module does not know how to copy (a later aiosmtpd
adding a list, say) makes every connection of that kind run aiosmtpd's own __init__ again.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from types import FunctionType, MethodType
from typing import Any

from aiosmtpd.smtp import SMTP, _AuthMechAttr, make_loop

Copier = Callable[[SMTP], object]
_SHARED = (type(None), bool, int, float, str, bytes, FunctionType, ssl.SSLContext)


@dataclass(frozen=True)
class Template:
    shared: dict[str, object]  # the same value for every connection (the handler's hooks, numbers)
    own: dict[str, Copier]  # made for each (its commands and AUTH methods, bound to it)


Templates = dict[object, Template | None]  # by the connection's class and options


def set_up(conn: SMTP, handler: Any, **options: Any) -> None:
    """SMTP.__init__(conn, handler, **options), from the template where there is one. Templates are
    kept by the handler, in its `connection_templates` (a dict), and live as long as it does: a
    handler without one gets aiosmtpd's own __init__ every time."""
    by_kind = getattr(handler, "connection_templates", None)
    kind = (type(conn), tuple(sorted(options.items())))
    try:
        hash(kind)
    except TypeError:  # an unhashable option: no template
        by_kind = None
    if not isinstance(by_kind, dict):
        SMTP.__init__(conn, handler, **options)
        return
    if kind not in by_kind:
        SMTP.__init__(conn, handler, **options)
        by_kind[kind] = _template(conn, handler)
        return
    template = by_kind[kind]
    if template is None:
        SMTP.__init__(conn, handler, **options)
        return
    loop = options.get("loop") or _loop()
    conn.loop = loop
    reader = asyncio.StreamReader(loop=loop, limit=conn.line_length_limit)
    asyncio.StreamReaderProtocol.__init__(
        conn, reader, client_connected_cb=conn._cb_client_connected, loop=loop
    )
    conn.__dict__.update(template.shared)
    for name, copy in template.own.items():
        setattr(conn, name, copy(conn))


def _loop() -> asyncio.AbstractEventLoop:
    """As aiosmtpd's make_loop, without its warnings filter where a loop runs (the usual case)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return make_loop()


def _template(conn: SMTP, handler: Any) -> Template | None:
    """How to give a new connection each of `conn`'s attributes; None if one of them is of a kind
    this module cannot copy safely."""
    loop = conn.loop
    # What asyncio's StreamReaderProtocol.__init__ sets is made new for each connection.
    made_new = vars(asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop), _ignore, loop=loop))
    template = Template({}, {})
    for name, value in vars(conn).items():
        if name in made_new or name == "loop":
            continue
        if _shared(value, handler):
            template.shared[name] = value
        elif (copy := _copier(value, conn, handler)) is not None:
            template.own[name] = copy
        else:
            return None
    return template


def _ignore(_reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
    pass


def _shared(value: object, handler: Any) -> bool:
    """Immutable, or the handler's (one handler serves every connection)."""
    return (
        isinstance(value, _SHARED)
        or value is handler
        or (isinstance(value, MethodType) and value.__self__ is handler)
    )


def _copier(value: object, conn: SMTP, handler: Any) -> Copier | None:
    if _shared(value, handler):
        return lambda _new: value
    if isinstance(value, MethodType) and value.__self__ is conn:
        func = value.__func__
        return lambda new: MethodType(func, new)
    if isinstance(value, _AuthMechAttr):
        method = _copier(value.method, conn, handler)
        is_builtin = value.is_builtin
        return None if method is None else lambda new: _AuthMechAttr(method(new), is_builtin)
    if isinstance(value, dict):
        items = [(key, _copier(item, conn, handler)) for key, item in value.items()]
        if any(copy is None for _, copy in items) or not all(isinstance(k, str) for k, _ in items):
            return None
        return lambda new: {key: copy(new) for key, copy in items}  # type: ignore[misc]
    return None
