"""Links stay short enough for feature phones; a base_url that makes them too long is said at startup."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate import links
from mailgate.links import Signer
from tests.conftest import SECRET, start_serve, write_config

LONG_BASE = "https://www.example-seitai-clinic.jp/customers/online-reservation-system/members/links"


@pytest.mark.parametrize("base", ["http://127.0.0.1:8025", "https://yoyaku.example-seitai.jp"])
def test_a_short_base_url_gives_links_well_under_the_limit(base: str) -> None:
    signer = Signer([SECRET], base)
    assert links.longest_link(signer) <= links.MAX_LINK
    assert links.length_warning(signer) is None


def test_a_long_base_url_is_named_with_the_length_of_its_links() -> None:
    signer = Signer([SECRET], LONG_BASE)
    n = links.longest_link(signer)
    assert n > links.MAX_LINK
    # What a customer would get: the longest of the purposes' links for a token id far ahead.
    assert n >= max(len(signer.url(p, 12345)) for p in links.PREFIX)
    warning = links.length_warning(signer)
    assert warning is not None
    assert f"[web] base_url makes links up to {n} characters long" in warning and "120" in warning


@pytest.mark.e2e
def test_serve_says_so_at_startup(tmp_path: Path) -> None:
    served = start_serve(write_config(tmp_path, f'[web]\nbase_url = "{LONG_BASE}"\n'))
    try:
        assert "warning   [web] base_url makes links up to" in served.banner
    finally:
        served.stop()
    assert "[web] base_url makes links up to" in (served.proc.stderr.read() if served.proc.stderr else "")
