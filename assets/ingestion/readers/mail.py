"""E-mail (.eml, RFC 5322/MIME) with the standard library: subject, sender and date as metadata,
the body (plain text, else HTML), and text attachments as sections of their own."""

from __future__ import annotations

from pathlib import PurePath

from assets.ingestion.readers.base import Budget, Extracted, PageBuilder
from assets.ingestion.readers.text import decode, html_page

TEXT_ATTACHMENT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".csv", ".html", ".htm"})


def read_eml(data: bytes, budget: Budget) -> Extracted:
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(data)
    subject = " ".join(str(message.get("subject", "")).split()) or None
    metadata: dict = {}
    for field in ("from", "to", "cc"):
        if message.get(field):
            metadata["sender" if field == "from" else field] = str(message[field])
    date = message.get("date")
    if date is not None:
        moment = getattr(date, "datetime", None)
        metadata["date"] = moment.isoformat() if moment is not None else str(date)
    if subject:
        metadata["subject"] = subject

    builder = PageBuilder(budget)
    builder.add("\n".join(f"{label}: {metadata[key]}" for key, label in
                          (("sender", "From"), ("to", "To"), ("date", "Date")) if key in metadata))
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        builder.add(_part_text(body))
    attached, skipped = [], []
    for part in message.iter_attachments():
        name = part.get_filename() or part.get_content_type()
        if part.get_content_maintype() == "text" or PurePath(name).suffix.lower() in TEXT_ATTACHMENT_SUFFIXES:
            builder.heading(1, f"Attachment: {name}")
            builder.add(_part_text(part))
            attached.append(name)
        else:
            skipped.append(name)
    if attached:
        metadata["attachments"] = attached
    if skipped:
        metadata["attachments_not_read"] = skipped
    return Extracted([builder.page(None)], subject, metadata)


def _part_text(part) -> str:
    """A text part's content: decoded by its declared charset, else detected; HTML as visible text."""
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset()
    try:
        text = payload.decode(charset) if charset else decode(payload)[0]
    except (LookupError, UnicodeDecodeError):
        text = decode(payload)[0]
    return html_page(text)[0].text if part.get_content_subtype() == "html" else text
