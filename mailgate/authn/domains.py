"""Whether two domains are aligned (DMARC's relaxed alignment), never across a registry suffix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# Relaxed alignment lets a parent domain sign for a subdomain; never a registry-run suffix such as
# co.jp, whose DNS no shop or vendor controls (a short list, not the whole Public Suffix List).
_PUBLIC_SUFFIXES = frozenset(
    {
        "co.jp", "ne.jp", "or.jp", "ac.jp", "ad.jp", "ed.jp", "go.jp", "gr.jp", "lg.jp",
        "co.uk", "org.uk", "ac.uk", "com.au", "net.au", "co.kr", "com.cn", "com.tw", "com.hk",
    }
)  # fmt: skip


def clean(domain: str) -> str:
    return domain.strip().strip(".").lower()


def aligned(signer: str, domain: str) -> bool:
    """Relaxed DKIM alignment: the same domain, or one is a subdomain of the other (never via a TLD or
    a registry suffix such as co.jp)."""
    signer, domain = clean(signer), clean(domain)
    if not signer or not domain:
        return False
    if signer == domain:
        return True
    parent, child = (signer, domain) if len(signer) < len(domain) else (domain, signer)
    return child.endswith("." + parent) and "." in parent and parent not in _PUBLIC_SUFFIXES


def aligned_any(signers: Iterable[str], domains: Sequence[str]) -> list[str]:
    """The signers aligned with any of `domains`, sorted."""
    return sorted({s for s in signers if any(aligned(s, d) for d in domains)})


def names(domains: Sequence[str]) -> str:
    cleaned = [clean(d) for d in domains if clean(d)]
    return " or ".join(cleaned) if cleaned else "(none)"
