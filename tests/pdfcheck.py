"""Reading the PDFs the service renders: text per page, A4 and embedded fonts, the first page as PNG.

Every first page is kept under ``test-artifacts/`` (gitignored) so a person can look at it.
"""

from __future__ import annotations

import io

import pypdf
import pypdfium2
from PIL import Image, ImageStat

from .helpers import ROOT

ARTIFACTS = ROOT / "test-artifacts"
A4_POINTS = (595.28, 841.89)


def pages_text(content: bytes) -> list[str]:
    assert content.startswith(b"%PDF-"), content[:40]
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages]


def assert_a4_with_embedded_fonts(content: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(content))
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - A4_POINTS[0]) < 1 and abs(height - A4_POINTS[1]) < 1, (width, height)
        fonts = page["/Resources"]["/Font"]
        assert fonts, "a page without fonts"
        for font in fonts.values():
            font = font.get_object()
            descriptor = (
                font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                if "/DescendantFonts" in font
                else font["/FontDescriptor"]
            ).get_object()
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), f"font not embedded: {font}"


def first_page_png(content: bytes, name: str, scale: float = 2.0) -> Image.Image:
    """Render page 1, save it as ``test-artifacts/<name>.png`` and check it is not blank."""
    document = pypdfium2.PdfDocument(content)
    try:
        image = document[0].render(scale=scale).to_pil().convert("L")
    finally:
        document.close()
    ARTIFACTS.mkdir(exist_ok=True)
    image.save(ARTIFACTS / f"{name}.png")
    dark = sum(image.histogram()[:128]) / (image.width * image.height)
    assert 0.005 < dark < 0.6, f"{name}: {dark:.2%} dark pixels: blank or solid page"
    assert ImageStat.Stat(image).stddev[0] > 10, f"{name}: no contrast"
    return image
