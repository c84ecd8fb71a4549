"""The approved WhatsApp message templates (category utility), one per notice kind.

Outside the customer-service window (24 hours after the person's last message) WhatsApp delivers only
approved templates; inside it, free-form text. Every notice kind that may reach someone outside the window
has a template here, with the exact body text to submit to Meta for approval (README, "WhatsApp
templates"). Names and languages are configurable (``WHATSAPP_TEMPLATES``), the body and its numbered
parameters are not: the notices fill them in this order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Template:
    kind: str  # the outbox kind it stands in for
    name: str
    language: str
    body: str  # with {{1}}, {{2}}, ... as submitted for approval
    parameters: tuple[str, ...]  # what each numbered parameter holds (documentation)
    header_document: bool = False  # a document header (the receipt's PDF)

    @property
    def parameter_count(self) -> int:
        return len(self.parameters)

    def render(self, values: list[str]) -> str:
        text = self.body
        for number, value in enumerate(values, start=1):
            text = text.replace("{{" + str(number) + "}}", value)
        return text


CATALOGUE: tuple[Template, ...] = (
    Template(
        "correction_note",
        "kia_catatan_perbaikan",
        "id",
        "Permohonan KIA {{1}} perlu diperbaiki. Catatan petugas: {{2}}. Kirim perbaikan dengan membalas "
        "*perbaikan* di chat WhatsApp ini, atau melalui halaman status permohonan.",
        ("kode permohonan, mis. ABCD-EFGH-JKMN", "catatan petugas"),
    ),
    Template(
        "receipt",
        "kia_resi_permohonan",
        "id",
        "Permohonan KIA {{1}} telah diverifikasi dan lengkap. Resi terlampir; simpan resi ini sebagai bukti "
        "pengambilan KIA.",
        ("kode permohonan",),
        header_document=True,
    ),
    Template(
        "reminder",
        "kia_pengingat_pemohon",
        "id",
        "Pengingat: permohonan KIA {{1}} menunggu tindakan Anda ({{2}}). Balas pesan ini untuk melanjutkan.",
        ("kode permohonan", "nama langkah, mis. Perbaikan data permohonan"),
    ),
    Template(
        "card_ready",
        "kia_siap_diambil",
        "id",
        "KIA untuk permohonan {{1}} sudah siap diambil di {{2}}. Bawa resi permohonan saat pengambilan.",
        ("kode permohonan", "UPTD dan alamatnya"),
    ),
    Template(
        "collection_reminder",
        "kia_pengingat_pengambilan",
        "id",
        "Pengingat: KIA untuk permohonan {{1}} sudah menunggu sejak {{2}} di {{3}}. Bawa resi permohonan saat "
        "pengambilan.",
        ("kode permohonan", "tanggal pemberitahuan siap diambil", "UPTD, alamat dan jam layanan"),
    ),
    Template(
        "pin_reissued",
        "kia_pin_baru",
        "id",
        "PIN baru untuk permohonan KIA {{1}}: {{2}}. Jangan berikan PIN ini kepada siapa pun.",
        ("kode permohonan", "PIN baru (6 angka)"),
    ),
    Template(
        "staff_notice",
        "kia_pemberitahuan_petugas",
        "id",
        "Pemberitahuan layanan KIA: {{1}}. Permohonan {{2}}. Buka tugas: {{3}}",
        ("judul pemberitahuan", "kode permohonan", "tautan ke tugas"),
    ),
)


def configured(spec: str = "", default_language: str = "id") -> dict[str, Template]:
    """The catalogue by kind, with names and languages from ``spec``:
    ``"correction_note=nama_template:id;receipt=...:en"`` (either part may be left out)."""
    templates = {t.kind: replace(t, language=default_language or t.language) for t in CATALOGUE}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        kind, sep, value = part.partition("=")
        kind = kind.strip()
        if not sep or kind not in templates:
            raise ValueError(f"WHATSAPP_TEMPLATES: unknown notice kind in {part!r} (kinds: {', '.join(templates)})")
        name, _, language = value.strip().partition(":")
        templates[kind] = replace(
            templates[kind],
            name=name.strip() or templates[kind].name,
            language=language.strip() or templates[kind].language,
        )
    return templates


def parameter(value: object) -> str:
    """A template parameter as WhatsApp accepts it: no new lines or tabs, no runs of spaces."""
    return " ".join(str(value).split())[:1000] or "-"
