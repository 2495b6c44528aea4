"""Readable text from an HTML mail body, in time linear in its length.

Python 3.11's html.parser re-scans an unfinished tag or comment to the end of the input once for every
"<" after it (32 KB of "<a" took 1.7 s), so the tags are found here: every search for a closing ">",
"-->" or "</script" starts where the previous one ended, and a tag's quoted values are bounded.
"""

from __future__ import annotations

import html
import re

_SKIP_TAGS = frozenset({"script", "style", "head", "title", "noscript", "template"})
_RAW_TEXT_TAGS = frozenset({"script", "style"})  # their content is not markup
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "tr", "li", "ul", "ol", "table", "tbody", "thead", "tfoot", "h1", "h2", "h3", "h4",
        "h5", "h6", "blockquote", "dl", "dt", "dd", "section", "article", "header", "footer", "pre",
        "hr", "center", "form", "address", "main", "nav", "aside", "figure", "caption",
    }
)  # fmt: skip
# A tag: name, then attributes up to ">" with quoted values of at most 2,000 characters; a "<"
# before the ">" means this "<" was text.
_TAG = re.compile(r"""<(/?)([A-Za-z][^\s/<>"'=]*+)((?:[^<>"']|"[^"]{0,2000}"|'[^']{0,2000}')*+)>""")
_SOURCE_SPACE = re.compile(r"[ \t\r\n\f]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _Ahead:
    """Where `needle` next occurs at or after a position, for positions that only grow: each
    character is searched once."""

    def __init__(self, text: str, needle: str) -> None:
        self.text, self.needle, self.at = text, needle, -1

    def find(self, pos: int) -> int:
        if self.at != len(self.text) and self.at < pos:
            found = self.text.find(self.needle, pos)
            self.at = len(self.text) if found < 0 else found
        return -1 if self.at == len(self.text) else self.at


class _Text:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.pre = 0

    def _newline(self, hard: bool) -> None:
        # Soft breaks (block edges) never stack; <br> always counts, so <div><br></div> is a blank line.
        if hard or (self.parts and not self.parts[-1].endswith("\n")):
            self.parts.append("\n")

    def start(self, tag: str) -> None:
        if tag == "body":
            self.skipping = [t for t in self.skipping if t != "head"]  # unclosed <head>
        if tag in _SKIP_TAGS:
            self.skipping.append(tag)
        elif tag == "br":
            self._newline(hard=True)
        elif tag in _BLOCK_TAGS:
            self._newline(hard=False)
            if tag == "pre":
                self.pre += 1
        elif tag in ("td", "th") and self.parts and not self.parts[-1].endswith(("\n", " ")):
            self.parts.append(" ")

    def end(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            if tag in self.skipping:
                while self.skipping and self.skipping.pop() != tag:
                    pass
            return
        if tag in _BLOCK_TAGS:
            self._newline(hard=False)
            if tag == "p":
                self.parts.append("\n")
            if tag == "pre" and self.pre:
                self.pre -= 1

    def data(self, data: str) -> None:
        if self.skipping or not data:
            return
        data = html.unescape(data).replace("\xa0", " ")
        if not self.pre:
            data = _SOURCE_SPACE.sub(" ", data)
        self.parts.append(data)


def _walk(source: str, out: _Text) -> None:
    gt, comment_end = _Ahead(source, ">"), _Ahead(source, "-->")
    raw_end = {tag: re.compile(rf"</{tag}", re.IGNORECASE) for tag in _RAW_TEXT_TAGS}
    pos, text_from = 0, 0
    while (lt := source.find("<", pos)) >= 0:
        if source.startswith("<!--", lt):
            out.data(source[text_from:lt])
            end = comment_end.find(lt + 4)
            pos = text_from = len(source) if end < 0 else end + 3
            continue
        if source.startswith(("<!", "<?"), lt):  # <!DOCTYPE>, <![endif]>, <?xml?>
            end = gt.find(lt)
            if end < 0:
                break
            out.data(source[text_from:lt])
            pos = text_from = end + 1
            continue
        m = _TAG.match(source, lt)
        if m is None:
            pos = lt + 1  # a "<" that starts no tag is text
            continue
        out.data(source[text_from:lt])
        tag = m.group(2).lower()
        pos = text_from = m.end()
        if m.group(1):
            out.end(tag)
            continue
        out.start(tag)
        if m.group(3).rstrip().endswith("/"):
            if tag in _SKIP_TAGS:
                out.end(tag)
        elif tag in _RAW_TEXT_TAGS:
            close = raw_end[tag].search(source, pos)
            pos = text_from = len(source) if close is None else close.start()
    out.data(source[text_from:])


def html_to_text(source: str) -> str:
    """Readable text from HTML: no script/style/head, block tags become line breaks."""
    out = _Text()
    _walk(source, out)
    text = "".join(out.parts)
    lines = [line.strip(" \t") for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
