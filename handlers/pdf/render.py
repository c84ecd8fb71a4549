"""HTML templates to PDF: Jinja for the layout, WeasyPrint for A4 pages, segno for vector QR codes.

Every date is shown in Asia/Jakarta time ("WIB"), in Bahasa Indonesia. Fonts are the system's DejaVu
family (installed by ``make install``), embedded (subset) in every PDF by WeasyPrint.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import segno
import weasyprint
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from weasyprint.text.fonts import FontConfiguration

from engine.kia.corrections import indonesian_date
from engine.workflow.calendar import parse_duration
from engine.workflow.clock import clock

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_LOGO = TEMPLATES / "logo.svg"  # a neutral mark made for the service, not an official emblem
JAKARTA = ZoneInfo("Asia/Jakarta")


def tanggal(value: date | datetime | None) -> str:
    """``28 November 2026`` (a datetime is taken in Asia/Jakarta first)."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        value = value.astimezone(JAKARTA).date()
    return indonesian_date(value)


def wib(value: datetime | None) -> str:
    """``28 November 2026 pukul 14.05 WIB``."""
    if value is None:
        return "-"
    local = value.astimezone(JAKARTA)
    return f"{tanggal(local)} pukul {local:%H.%M} WIB"


def jam(value: datetime | None) -> str:
    """``28/11/2026 14.05``: compact, for tables."""
    return "-" if value is None else f"{value.astimezone(JAKARTA):%d/%m/%Y %H.%M}"


def standard(value: str | None, basis: str | None = "working") -> str:
    """A time standard in words: ``PT1H`` working is "1 jam kerja", ``PT5M`` calendar is "5 menit"."""
    if not value:
        return "-"
    try:
        days, rest = parse_duration(value)
    except ValueError:
        return value
    hours, seconds = divmod(int(rest.total_seconds()), 3600)
    parts = [f"{n} {unit}" for n, unit in ((days, "hari"), (hours, "jam"), (seconds // 60, "menit")) if n]
    return " ".join(parts or [value]) + (" kerja" if basis == "working" else "")


def qr_svg(text: str) -> Markup:
    """A QR code as inline SVG (vector), sized by the stylesheet."""
    return Markup(segno.make(text, error="m").svg_inline(border=4, omitsize=True, dark="#000"))


@dataclass(frozen=True)
class Letterhead:
    """The kop surat on every paper: the government, the office, its address, phone, website and logo."""

    government: str = "Pemerintah Kota Pekanbaru"
    office: str = "Dinas Kependudukan dan Pencatatan Sipil"
    address: str = "Jl. Jenderal Sudirman, Kota Pekanbaru, Riau"
    phone: str = ""
    website: str = ""
    logo: Path = DEFAULT_LOGO

    @property
    def logo_url(self) -> str:
        return self.logo.resolve().as_uri()

    @property
    def contact(self) -> str:
        """ "Telepon (0761) 123456 · Laman disdukcapil.pekanbaru.go.id", or what of it is set."""
        parts = [f"Telepon {self.phone}" if self.phone else "", f"Laman {self.website}" if self.website else ""]
        return " · ".join(p for p in parts if p)


class LetterheadError(ValueError):
    """A letterhead setting the service cannot print (e.g. a logo file that is missing)."""


LOGO_SUFFIXES = (".svg", ".png", ".jpg", ".jpeg")
_letterhead = Letterhead()


def configure(letterhead: Letterhead) -> None:
    """Set the letterhead of every paper (at start-up, from the settings); a missing or unreadable logo
    file refuses to start rather than printing papers without it."""
    global _letterhead
    logo = letterhead.logo
    if logo.suffix.lower() not in LOGO_SUFFIXES:
        raise LetterheadError(f"KIA_LETTERHEAD_LOGO: {logo} is not an SVG, PNG or JPEG file")
    if not logo.is_file():
        raise LetterheadError(f"KIA_LETTERHEAD_LOGO: {logo} does not exist")
    _letterhead = letterhead


def letterhead() -> Letterhead:
    return _letterhead


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(tanggal=tanggal, wib=wib, jam=jam, standard=standard)


def render_html(template: str, **context: Any) -> str:
    context.setdefault("printed_at", clock.now())
    context.setdefault("kop", _letterhead)
    return _env.get_template(template).render(**context)


_local = threading.local()


def _stylesheet() -> tuple[weasyprint.CSS, FontConfiguration]:
    """The shared stylesheet, parsed once per thread (saves about a third of a one-page render)."""
    if not hasattr(_local, "css"):
        _local.fonts = FontConfiguration()
        _local.css = weasyprint.CSS(filename=str(TEMPLATES / "style.css"), font_config=_local.fonts)
    return _local.css, _local.fonts


def render_pdf(template: str, **context: Any) -> bytes:
    """Render ``template`` with ``context`` to PDF bytes (A4, fonts embedded)."""
    css, fonts = _stylesheet()
    document = weasyprint.HTML(string=render_html(template, **context), base_url=str(TEMPLATES))
    return document.write_pdf(stylesheets=[css], font_config=fonts)
