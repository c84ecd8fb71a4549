"""The guided chat in Bahasa Indonesia: menu, field-by-field intake, documents, confirmation, status.

``handle`` runs inside the webhook's transaction: the conversation's new state, the processed-message
record, any application it submits and the replies (outbox rows) commit together or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import forms
from engine.kia import applications, completion, corrections, documents, reference, rules
from engine.kia.access import Principal
from engine.kia.applications import Upload
from engine.kia.process import ApplicationStatus
from engine.kia.security import display_code
from engine.models import Conversation, Outbox, TaskRow, TaskRowState
from engine.ops import retention
from engine.workflow import incidents
from engine.workflow.clock import clock
from engine.workflow.errors import EngineError, InvalidData, NotFound
from engine.workflow.instances import StepFailed
from engine.workflow.ratelimit import count_hit

from . import intake
from .gateway import Gateway, GatewayError
from .webhook import MEDIA_TYPES, Inbound

GREETING = (
    "Halo! Selamat datang di layanan Kartu Identitas Anak (KIA) Disdukcapil Kota Pekanbaru.\n"
    "Silakan pilih:\n"
    "1. Ajukan KIA\n"
    "2. Cek status permohonan\n"
    "3. Bantuan\n"
    "Balas dengan nomor pilihan."
)
HELP = (
    "*Bantuan*\n"
    "• Ketik *1* atau *ajukan* untuk mengajukan KIA; kami menanyakan data satu per satu.\n"
    "• Siapkan NIK anak, nomor KK, nomor akta kelahiran, serta foto/PDF KK dan akta "
    "(dan pas foto 2x3 bila anak berusia 5 tahun atau lebih).\n"
    "• Ketik *status KODE* untuk melihat status permohonan, mis. status ABCD-EFGH-JKMN.\n"
    "• Ketik *perbaikan* bila petugas meminta Anda memperbaiki data permohonan.\n"
    "• Ketik *batal* kapan saja untuk membatalkan pengisian.\n"
    "• Ketik *menu* untuk kembali ke menu."
)
CANCELLED = "Pengisian permohonan dibatalkan dan data yang Anda kirim sudah dihapus. Ketik *menu* untuk mulai lagi."
ASK_CODE = "Ketik kode permohonan Anda (12 huruf/angka, mis. ABCD-EFGH-JKMN)."
CONFIRM_HINT = "Balas *YA* bila data sudah benar untuk mengirim permohonan, atau *batal* untuk membatalkan."
DOCUMENT_EXPECTED = "Mohon kirim dokumen sebagai foto atau file PDF."
CORRECTION_HINT = "Tulis perbaikan Anda dalam satu pesan (mis. data yang benar), atau *batal*."
STEP_FAILED = (
    "Maaf, perbaikan Anda belum dapat diproses karena gangguan pada sistem. Petugas sudah diberi tahu; "
    "Anda tidak perlu mengirim ulang."
)
DOCUMENT_UNAVAILABLE = "Maaf, dokumen belum dapat kami terima saat ini. Silakan coba kirim lagi nanti."

_STATUS = re.compile(r"^\s*(?:cek\s+)?status\s+(\S.*)$", re.IGNORECASE)
_MENU_WORDS = {"menu", "halo", "hai", "hallo", "hi", "hello", "mulai", "start", "p", "assalamualaikum"}


SUBMIT_WINDOW = timedelta(hours=1)
TOO_MANY_SUBMISSIONS = (
    "Mohon maaf, permohonan dari akun WhatsApp ini sudah banyak dalam satu jam terakhir. "
    "Silakan coba lagi dalam {minutes} menit. Terima kasih atas pengertian Anda 🙏"
)


@dataclass
class Context:
    """What the conversation needs from its surroundings (set from the app's configuration)."""

    gateway: Gateway | None
    document_dir: str
    max_bytes: int = documents.DEFAULT_MAX_BYTES
    public_url: str = ""
    submit_limit: int = 10  # submissions per WhatsApp user per hour (KIA_SUBMIT_RATE_LIMIT)


@dataclass
class Turn:
    conversation: Conversation
    replies: list[Outbox]


def find_or_create(session: Session, user_id: str | None, phone: str | None) -> Conversation:
    """The conversation of this WhatsApp user, by business-scoped id first, then by phone."""
    conversation = None
    if user_id:
        conversation = session.scalar(select(Conversation).where(Conversation.user_id == user_id).with_for_update())
    if conversation is None and phone:
        conversation = session.scalar(select(Conversation).where(Conversation.phone == phone).with_for_update())
    now = clock.now()
    if conversation is None:
        conversation = Conversation(
            user_id=user_id, phone=phone, state="new", data={}, created_at=now, updated_at=now, last_inbound_at=now
        )
        session.add(conversation)
        session.flush()
    else:
        conversation.user_id = user_id or conversation.user_id
        conversation.phone = phone or conversation.phone
        conversation.last_inbound_at = now  # the 24-hour window for free-form messages opens again
    return conversation


def handle(session: Session, message: Inbound, ctx: Context) -> Turn:
    conversation = find_or_create(session, message.user_id, message.phone)
    dialog = _Dialog(session, conversation, message, ctx)
    dialog.run()
    conversation.data = dict(dialog.data)  # a new object, so the JSON column is written
    conversation.state = dialog.state
    conversation.updated_at = clock.now()
    replies = [
        _reply(session, conversation, text, secret, dialog.instance_id, clock.now()) for text, secret in dialog.out
    ]
    return Turn(conversation, replies)


def _reply(
    session: Session, conversation: Conversation, text: str, secret: bool, instance_id: int | None, now: datetime
) -> Outbox:
    payload: dict[str, Any] = {"text": text}
    if secret:
        payload["secret"] = True  # the delivery worker blanks the text once it is sent (it holds the PIN)
    row = Outbox(
        instance_id=instance_id,
        channel="whatsapp",
        kind="chat_reply",
        recipient=conversation.phone or conversation.user_id or "",
        payload=payload,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


class _Dialog:
    def __init__(self, session: Session, conversation: Conversation, message: Inbound, ctx: Context) -> None:
        self.session, self.message, self.ctx = session, message, ctx
        self.state = conversation.state
        self.data: dict[str, Any] = dict(conversation.data or {})
        self.whatsapp_phone = conversation.phone
        self.conversation_id = conversation.id
        self.conversation_key = f"whatsapp:{conversation.id or conversation.user_id or conversation.phone}"
        self.out: list[tuple[str, bool]] = []
        self.instance_id: int | None = None

    def say(self, text: str, secret: bool = False) -> None:
        self.out.append((text, secret))

    # --- dispatch ---------------------------------------------------------------------------------

    def run(self) -> None:
        text = self.message.text.strip()
        word = text.casefold()
        status = _STATUS.match(text) if self.message.kind not in MEDIA_TYPES else None
        if word == "batal":
            return self.cancel()
        if status:
            self.say(self.status_text(status.group(1)))
            return self.repeat_prompt()
        if word == "bantuan" and self.state in ("intake", "confirm"):
            self.say(HELP)
            return self.repeat_prompt()
        if self.state == "intake":
            return self.intake_answer(text)
        if self.state == "confirm":
            return self.confirm(word)
        if self.state == "correction":
            return self.correction_answer(text)
        if self.state == "ask_code" and word not in _MENU_WORDS:
            self.state = "menu"
            return self.say(self.status_text(text))
        return self.menu(word)

    def menu(self, word: str) -> None:
        if word in ("1", "ajukan", "ajukan kia"):
            self.state = "intake"
            self.data.update(draft={}, documents={}, step=intake.FIELD_STEPS[0].key)
            self.say("Baik, kita mulai permohonan KIA. Ketik *batal* kapan saja untuk membatalkan.")
            return self.repeat_prompt()
        if word in ("2", "cek status", "status"):
            self.state = "ask_code"
            return self.say(ASK_CODE)
        if word == "perbaikan":
            self.state = "menu"
            return self.start_correction()
        if word in ("3", "bantuan", "help"):
            self.state = "menu"
            return self.say(HELP)
        self.state = "menu"
        self.say(GREETING)

    def cancel(self) -> None:
        if self.state in ("intake", "confirm"):
            self.say(CANCELLED)
        elif self.state == "correction":
            self.say("Pengiriman perbaikan dibatalkan. Ketik *perbaikan* bila ingin mengirimnya nanti.")
        else:
            self.say("Tidak ada permohonan yang sedang diisi. Ketik *menu* untuk melihat pilihan.")
        self.state = "menu"
        uploaded = retention.draft_digests(self.data)
        for key in retention.DRAFT_KEYS:
            self.data.pop(key, None)
        # the files go now (unless an application or another chat holds the same file); the answers
        # go with the conversation's new data, and the replies that echoed them are blanked once sent
        retention.delete_unreferenced(
            self.session, self.ctx.document_dir, uploaded, except_conversation=self.conversation_id
        )

    def repeat_prompt(self) -> None:
        if self.state == "intake":
            self.say(intake.prompt(intake.step_by_key(self.data["step"]), self.whatsapp_phone))
        elif self.state == "confirm":
            self.say(CONFIRM_HINT)
        elif self.state == "correction":
            self.say(CORRECTION_HINT)

    # --- status -----------------------------------------------------------------------------------

    def status_text(self, raw_code: str) -> str:
        try:
            app = applications.by_code(self.session, raw_code)
        except NotFound:
            return "Kode permohonan tidak ditemukan. Periksa kembali kode Anda (12 huruf/angka)."
        view = applications.status_view(self.session, app)
        lines = [f"Permohonan {display_code(app.code)} atas nama {view['name']}:", f"Status: *{view['status_label']}*"]
        lines += [f"Sedang diproses: {row['title']}" for row in view["current"]]
        if view["status"] == ApplicationStatus.SIAP_DIAMBIL and view["pickup"]:
            lines.append(f"Ambil di {view['pickup']['uptd']}, {view['pickup']['address']}.")
        if self.ctx.public_url:
            lines.append(f"Rincian: {self.ctx.public_url.rstrip('/')}/status/{app.code}")
        return "\n".join(lines)

    # --- intake -----------------------------------------------------------------------------------

    @property
    def draft(self) -> dict[str, Any]:
        return self.data.setdefault("draft", {})

    def intake_answer(self, text: str) -> None:
        step = intake.step_by_key(self.data["step"])
        if step.is_document:
            if not self.accept_document(step):
                return
        else:
            if self.message.kind in MEDIA_TYPES or not text:
                return self.say(f"Mohon jawab dengan teks.\n{intake.prompt(step, self.whatsapp_phone)}")
            try:
                value = intake.clean(step, text, self.whatsapp_phone)
            except intake.FieldInvalid as invalid:
                return self.say(f"❌ {invalid.message}\n\n{intake.prompt(step, self.whatsapp_phone)}")
            self.draft.setdefault(step.section, {})[step.name] = value
        self.advance()

    def advance(self) -> None:
        """Go to the first step without an answer; when all are answered, show the summary."""
        for step in intake.steps_for(self.draft, self.photo_required):
            if step.is_document:
                answered = step.name in self.data.get("documents", {})
            else:
                answered = step.name in self.draft.get(step.section, {})
            if not answered:
                self.data["step"] = step.key
                return self.say(intake.prompt(step, self.whatsapp_phone))
        self.state = "confirm"
        self.data.pop("step", None)
        self.say(self.summary())

    def photo_required(self, age: int) -> bool:
        """Whether the version a new application starts on asks a photo at this age (asked, when its
        table gives no answer: the submission then says why)."""
        try:
            return rules.for_new_application(self.session, applications.PROCESS_KEY, age).photo_required
        except InvalidData:
            return True

    def accept_document(self, step: intake.Step) -> bool:
        message = self.message
        if message.kind not in MEDIA_TYPES or not message.media_id:
            self.say(f"{DOCUMENT_EXPECTED}\n{intake.prompt(step)}")
            return False
        if self.ctx.gateway is None:
            self.say(DOCUMENT_UNAVAILABLE)
            return False
        try:
            media = self.ctx.gateway.media(message.media_id)
            content = self.ctx.gateway.download(media.url, self.ctx.max_bytes)
        except GatewayError as error:
            if error.retryable:
                raise  # the webhook answers 503 and Meta delivers the message again
            self.say(f"❌ Dokumen tidak dapat diterima (terlalu besar atau rusak).\n{intake.prompt(step)}")
            return False
        try:
            media_type = documents.check(content, step.name, self.ctx.max_bytes)
        except (documents.UnsupportedMediaType, documents.TooLarge) as error:
            self.say(f"❌ {error.message}\n{intake.prompt(step)}")
            return False
        stored = documents.store(self.ctx.document_dir, content, media_type)
        self.data.setdefault("documents", {})[step.name] = {"sha256": stored.sha256, "media_type": media_type}
        self.say(f"✅ {step.title} diterima.")
        return True

    def summary(self) -> str:
        lines = ["*Ringkasan permohonan KIA*"]
        for step in intake.FIELD_STEPS:
            value = self.draft.get(step.section, {}).get(step.name)
            lines.append(f"• {step.title}: {intake.display(step, value)}")
        for name in self.data.get("documents", {}):
            lines.append(f"• {intake.DOCUMENT_TITLES[name]}: terlampir")
        lines += ["", CONFIRM_HINT]
        return "\n".join(lines)

    def confirm(self, word: str) -> None:
        if word not in ("ya", "y", "ok", "oke", "kirim"):
            return self.say(CONFIRM_HINT)
        try:
            data = forms.validate_application(self.draft, known_regions=reference.known_region_codes(self.session))
        except forms.FormValidationError as error:
            return self.back_to(intake.first_failing_step(error.fields))
        count, retry = count_hit(self.session, f"submit:{self.conversation_key}", SUBMIT_WINDOW)
        if count > self.ctx.submit_limit:
            return self.say(TOO_MANY_SUBMISSIONS.format(minutes=max(1, -(-retry // 60))))
        try:
            applications.refuse_duplicate(self.session, data["child"].get("nik"))
        except applications.DuplicateApplication as error:
            self.state, self.data = "menu", {"submitted": self.data.get("submitted", [])}
            return self.say(f"ℹ️ {error.message}")
        try:
            uploads = [
                Upload(kind, documents.path_of(self.ctx.document_dir, doc["sha256"]).read_bytes())
                for kind, doc in self.data.get("documents", {}).items()
            ]
        except FileNotFoundError:  # a file of the draft is gone: ask for the documents again
            return self.back_to(None)
        try:
            app, pin = applications.submit(
                self.session,
                data,
                uploads,
                document_dir=self.ctx.document_dir,
                max_bytes=self.ctx.max_bytes,
                channel="whatsapp",
            )
        except InvalidData as error:
            return self.back_to(intake.first_failing_step(error.fields) if "child" in error.fields else None)
        self.instance_id = app.instance_id
        self.state = "menu"
        self.data = {"submitted": [*self.data.get("submitted", []), app.code][-10:]}
        code = display_code(app.code)
        lines = [
            "✅ Permohonan KIA Anda sudah kami terima.",
            f"Kode permohonan: *{code}*",
            f"PIN: *{pin}*",
            "Simpan kode dan PIN ini. Kode untuk memeriksa status; PIN untuk masuk bila petugas meminta "
            "perbaikan data. Kode permohonan juga dikirim ke e-mail Anda.",
            f"Cek status kapan saja dengan mengetik *status {code}*.",
        ]
        if self.ctx.public_url:
            lines.append(f"Status daring: {self.ctx.public_url.rstrip('/')}/status/{app.code}")
        self.say("\n".join(lines), secret=True)

    def back_to(self, failing: tuple[intake.Step, str] | None) -> None:
        """The final check refused a field: ask that field again (or start the documents over)."""
        self.state = "intake"
        if failing is None:
            self.data["documents"] = {}
            self.say("❌ Permohonan belum dapat dikirim; mohon kirim ulang dokumennya.")
            return self.advance()
        step, message = failing
        self.draft.get(step.section, {}).pop(step.name, None)
        self.data["step"] = step.key
        self.say(f"❌ {message}\n\n{intake.prompt(step, self.whatsapp_phone)}")

    # --- correction (the officer sent the application back) ------------------------------------------

    def start_correction(self) -> None:
        found = _open_correction(self.session, self.data.get("submitted", []), self.whatsapp_phone)
        if found is None:
            return self.say("Tidak ada permohonan Anda yang perlu diperbaiki saat ini.")
        row, app = found
        notes = applications.status_view(self.session, app, full=True).get("notes") or []
        self.state = "correction"
        self.data["correction"] = row.id
        lines = [f"Permohonan {display_code(app.code)} perlu diperbaiki."]
        if notes:
            lines.append(f"Catatan petugas: {notes[-1]['note']}")
        request = corrections.latest_request(self.session, app.instance)
        if request is not None and request.questioned_fields:
            lines.append("Data yang perlu diperbaiki: " + ", ".join(request.as_dict()["questioned_labels"]) + ".")
        self.say("\n".join([*lines, CORRECTION_HINT]))

    def correction_answer(self, text: str) -> None:
        if self.message.kind in MEDIA_TYPES or not text:
            return self.say(f"Mohon tulis perbaikan sebagai teks.\n{CORRECTION_HINT}")
        try:
            forms.load_form("correction", {"response": text})  # the messages in the chat, the state kept
        except forms.FormValidationError as error:
            messages = error.fields.get("response") or ["Tidak sah."]
            return self.say(f"❌ {' '.join(messages)}\n{CORRECTION_HINT}")
        task_id = self.data.pop("correction")
        self.state = "menu"
        task = self.session.get(TaskRow, task_id)
        check = forms.application_check(lambda: reference.known_region_codes(self.session))
        try:
            if task is None:
                raise NotFound("Tugas tidak ditemukan.")
            applicant = Principal(application_id=task.instance.application.id, instance_id=task.instance_id)
            with self.session.begin_nested():  # a refused completion leaves nothing half-written
                completion.complete_task(
                    self.session, applicant, task_id, {"response": text}, forms.load_form, check_application=check
                )
        except forms.FormValidationError as error:  # the application as it stands no longer qualifies
            problems = [" ".join(m) for part in error.fields.values() if isinstance(part, dict) for m in part.values()]
            return self.say("❌ Data permohonan belum memenuhi syarat: " + " ".join(problems or ["tidak sah."]))
        except StepFailed as failure:  # nothing of the step was kept; the owner and supervisors see it
            with self.session.begin_nested():
                incidents.record_task_failure(self.session, task, failure.payload or {}, "pemohon", failure)
            return self.say(STEP_FAILED)
        except EngineError:
            return self.say("Perbaikan ini sudah tidak dapat dikirim (permohonan sudah diproses).")
        self.instance_id = task.instance_id
        self.say("✅ Perbaikan Anda terkirim. Petugas akan memeriksa kembali permohonan Anda.")


def _open_correction(session: Session, codes: list[str], phone: str | None) -> tuple[TaskRow, Any] | None:
    """The open correction task of an application this user submitted in the chat, or whose applicant
    phone is this WhatsApp number."""
    rows = session.scalars(
        select(TaskRow)
        .where(TaskRow.state == TaskRowState.OPEN, TaskRow.form_key == "correction")
        .order_by(TaskRow.ready_at)
    )
    for row in rows:
        app = row.instance.application
        if app is not None and (app.code in codes or (phone and app.applicant.get("phone") == phone)):
            return row, app
    return None
