"""The printed papers' settings, from the configuration to the PDF renderer (at start-up)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.kia import letters
from handlers.pdf import render


def letterhead_of(config: Mapping[str, Any]) -> render.Letterhead:
    logo = config.get("LETTERHEAD_LOGO") or ""
    return render.Letterhead(
        government=config["LETTERHEAD_GOVERNMENT"],
        office=config["LETTERHEAD_OFFICE"],
        address=config["LETTERHEAD_ADDRESS"],
        phone=config["LETTERHEAD_PHONE"],
        website=config["LETTERHEAD_WEBSITE"],
        logo=Path(logo) if logo else render.DEFAULT_LOGO,
    )


def configure_papers(config: Mapping[str, Any]) -> None:
    """The letterhead of every paper and the letter numbers' format; a logo file that is missing
    (LetterheadError) or a format without ``{seq}`` (LetterFormatError) refuses to start."""
    render.configure(letterhead_of(config))
    letters.configure(config["LETTER_NUMBER_FORMAT"])
