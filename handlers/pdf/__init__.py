"""PDF rendering of the SOP's papers (WeasyPrint from Jinja HTML templates in ``templates/``)."""

from .papers import control_card, deliveries, distribution, handover_receipt, receipt
from .render import render_html, render_pdf

__all__ = ["control_card", "deliveries", "distribution", "handover_receipt", "receipt", "render_html", "render_pdf"]
