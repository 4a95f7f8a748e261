"""Text recognised in page images, offline: RapidOCR's ONNX models (PP-OCRv4, shipped in the
rapidocr-onnxruntime wheel) on pages rendered by pdfium."""

from __future__ import annotations

import logging
from functools import lru_cache

# Pixels along a rendered page's longer side at most, whatever the page size: a poster-sized page
# at 200 dpi would otherwise be a 100-megapixel image.
MAX_RENDERED_SIDE = 4000


@lru_cache(maxsize=1)
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    # RapidOCR logs every call at INFO; its progress is ours to report.
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return RapidOCR()


def recognise(image) -> str:
    """The text of a PIL image, a line per recognised text line, top to bottom."""
    import numpy as np

    found, _ = _engine()(np.asarray(image.convert("RGB")))
    return "\n".join(text for _, text, _ in found or ())


def recognise_page(page, dpi: int) -> str:
    """OCR of a pypdfium2 page rendered at `dpi` (less for very large pages)."""
    scale = min(dpi / 72, MAX_RENDERED_SIDE / max(page.get_width(), page.get_height()))
    bitmap = page.render(scale=scale)
    try:
        return recognise(bitmap.to_pil())
    finally:
        bitmap.close()
