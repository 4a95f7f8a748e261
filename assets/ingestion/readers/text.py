"""Plain text, Markdown and HTML, in whatever encoding they were written."""

from __future__ import annotations

import codecs
import re

from assets.ingestion.readers.base import Budget, DocumentError, Extracted, Heading, Page

# Single-byte code pages that decode the same bytes equally well (the accented letters of Western
# languages sit at the same places) tie in charset-normalizer's measures; windows-1252 is by far the
# commonest of them, and what the WHATWG encoding standard reads latin-1 as.
PREFERRED_ON_TIE = ("cp1252",)


def decode(data: bytes) -> tuple[str, str]:
    """The text and its encoding: UTF-8 (with or without its mark) when it is, else what
    charset-normalizer detects, UTF-16 and the legacy code pages among them."""
    from charset_normalizer import from_bytes

    if data.startswith(codecs.BOM_UTF8):
        text, encoding = _checked(data[len(codecs.BOM_UTF8):], "utf-8"), "utf-8-sig"
    else:
        try:
            text, encoding = _checked(data, "utf-8"), "utf-8"
        except (UnicodeDecodeError, DocumentError):
            matches = from_bytes(data)
            best = matches.best()
            if best is None:
                raise DocumentError("binary data, not text in any known encoding") from None
            tied = [m.encoding for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
            encoding = next((name for name in PREFERRED_ON_TIE if name in tied), best.encoding)
            text = _checked(data, encoding)
    return text, encoding


def _checked(data: bytes, encoding: str) -> str:
    text = data.decode(encoding)
    # Text files hold no NUL characters; binary files decode to plenty (UTF-16 holds none once decoded).
    if "\x00" in text:
        raise DocumentError(f"binary data, not text (NUL characters as {encoding})")
    return text


def read_text(data: bytes, budget: Budget) -> Extracted:
    text, encoding = decode(data)
    budget.add_text(text)
    title = None
    for line in text.splitlines():
        if line.startswith("# "):
            title = line[2:].strip() or None
            break
    return Extracted([Page(None, text)], title, {"encoding": encoding})


def read_markdown(data: bytes, budget: Budget) -> Extracted:
    """Markdown: the text as written, with its headings (ATX and setext, not those inside code
    blocks) found by markdown-it's CommonMark parser."""
    from markdown_it import MarkdownIt

    extracted = read_text(data, budget)
    text = extracted.pages[0].text
    line_starts = [0, *(match.end() for match in re.finditer(r"\n", text))]
    tokens = MarkdownIt("commonmark").parse(text)
    headings = []
    for opening, inline in zip(tokens, tokens[1:]):
        if opening.type == "heading_open" and opening.map:
            first, after = opening.map
            end = line_starts[after] if after < len(line_starts) else len(text)
            words = " ".join(inline.content.split())
            if words:
                headings.append(Heading(line_starts[first], end, int(opening.tag[1]), words))
    extracted.pages = [Page(None, text, tuple(headings))]
    return extracted


HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def read_html(data: bytes, budget: Budget) -> Extracted:
    text, encoding = decode(data)
    page, title = html_page(text)
    budget.add_text(page.text)
    return Extracted([page], title, {"encoding": encoding})


def html_page(markup: str) -> tuple[Page, str | None]:
    """The visible text, one line per text node (what `get_text("\\n", strip=True)` gives), with the
    h1-h6 elements as headings; and the document's <title>."""
    from bs4 import BeautifulSoup
    from bs4.element import CData, NavigableString

    soup = BeautifulSoup(markup, "html.parser")
    for hidden in soup(["script", "style", "noscript", "template"]):
        hidden.decompose()
    title = soup.title.get_text(strip=True) if soup.title else None
    if soup.title:
        soup.title.decompose()
    lines, headings, offset, open_heading = [], [], 0, None
    for string in soup.find_all(string=True):
        words = string.strip()
        # Comments, doctypes and the like are strings to BeautifulSoup but not text.
        if not words or type(string) not in (NavigableString, CData):
            continue
        heading = string.find_parent(HTML_HEADINGS)
        if heading is not None and heading is not open_heading:
            open_heading = heading
            name = " ".join(heading.get_text(" ", strip=True).split())
            headings.append(Heading(offset, offset + len(words), int(heading.name[1]), name))
        elif heading is not None and headings:
            last = headings[-1]
            headings[-1] = Heading(last.start, offset + len(words), last.level, last.title)
        lines.append(words)
        offset += len(words) + 1
    return Page(None, "\n".join(lines), tuple(h for h in headings if h.title)), title or None
