"""Reading mailgate.toml: parse, validate, report every mistake for the person who edits the file.

Every wrong or missing key is reported with the file, the key and what was expected, before anything
starts. Relative paths are relative to the config file (or to the working directory with no file).
"""

from __future__ import annotations

import importlib.resources
import os
import tomllib
from pathlib import Path

from pydantic import ValidationError

from mailgate.config.resolved import Config, RawConfig
from mailgate.config.sections import domain_part


class ConfigError(Exception):
    """A configuration mistake, worded for the person who edits the file."""


def shipped_dir(name: str) -> Path:
    """The templates or rules installed with mailgate (the top-level directory of that name in the
    source tree: an editable install reads it there)."""
    found = importlib.resources.files(f"mailgate.shipped.{name}")
    # A wheel or editable install keeps the files on disk; a zipped one would need a copy made.
    if not isinstance(found, Path):
        raise ConfigError(f"mailgate's {name} are not in a directory ({found}): set [paths] {name}")
    return found


def _split_hostport(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


def _format_errors(source: str, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        key = f"[{loc[0]}] {'.'.join(loc[1:])}" if len(loc) > 1 else f"[{loc[0]}]" if loc else "(top level)"
        if e["type"] == "extra_forbidden":
            what = "unknown key (check the spelling; `mailgate init` writes every key with a comment)"
        elif e["type"] == "string_pattern_mismatch":
            what = f"expected {_pattern_hint(loc[-1])}, got {e.get('input')!r}"
        else:
            what = f"expected {e['msg'].removeprefix('Value error, ')}, got {e.get('input')!r}"
        lines.append(f"{source}: {key}: {what}")
    return "\n".join(lines)


def _pattern_hint(key: str) -> str:
    hints = {
        "listen": "HOST:PORT such as 127.0.0.1:2525",
        "digest_at": "HH:MM such as 19:00",
        "morning_at": 'HH:MM such as 08:30, or "" for none',
    }
    return hints.get(key, "an email address such as signup@shop.example")


HERE = "mailgate.toml"


def load(
    path: Path | None = None,
    *,
    var: str | None = None,
    smtp: str | None = None,
    http: str | None = None,
) -> Config:
    """Read the file (given, else MAILGATE_CONFIG, else ./mailgate.toml, else the built-in demo shop),
    apply command-line overrides, validate, resolve paths."""
    if path is None and os.environ.get("MAILGATE_CONFIG"):
        path = Path(os.environ["MAILGATE_CONFIG"])
    if path is None and Path(HERE).is_file():  # `mailgate init` then `mailgate serve`, in one directory
        path = Path(HERE)
    data: dict = {}
    source = "defaults"
    if path is not None:
        path = path.resolve()
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file (create one with `mailgate init`)") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    overrides = {("paths", "var"): var, ("smtp", "listen"): smtp, ("web", "listen"): http}
    for (section, key), value in overrides.items():
        if value is not None:
            data.setdefault(section, {})[key] = value
    try:
        raw = RawConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_errors(source, e)) from None
    base = Path.cwd() if path is None else path.parent
    var_dir = (base / raw.paths.var).resolve()
    for addr_key in ("signup", "notices", "book"):
        addr = getattr(raw.mail, addr_key)
        if domain_part(addr) in raw.mail.domains:
            continue
        if addr_key not in raw.mail.model_fields_set:  # the line was deleted: the demo's default is no hint
            example = f'{addr_key} = "{addr_key}@{raw.mail.domains[0]}"'
            raise ConfigError(
                f"{source}: [mail] {addr_key}: missing (expected an address in one of [mail] domains, "
                f"e.g. {example})"
            )
        raise ConfigError(
            f"{source}: [mail] {addr_key}: expected an address in one of [mail] domains, got {addr!r}"
        )
    return Config(
        raw=raw,
        source=path,
        var_dir=var_dir,
        rules_dir=(base / raw.paths.rules).resolve() if raw.paths.rules else shipped_dir("rules"),
        templates_dir=(base / raw.paths.templates).resolve()
        if raw.paths.templates
        else shipped_dir("templates"),
        smtp_listen=_split_hostport(raw.smtp.listen),
        web_listen=_split_hostport(raw.web.listen),
    )
