"""Marshmallow schemas of the v1 API's requests and responses (they generate the OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from engine.kia.security import normalize_code
from engine.models import TaskRowState
from engine.workflow.dryrun import Outcome
from forms.fields import String as Text  # stripped, length-limited, no control characters


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    incident_id = fields.Integer(metadata={"description": "the incident a failed step was recorded as"})
    fields = fields.Dict()


class ErrorResponse(Schema):
    error = fields.Nested(ErrorBody, required=True)


class TokenRequest(Schema):
    username = Text(max_length=64, metadata={"description": "staff user name"})
    password = fields.String(
        validate=[
            validate.Length(max=200),
            validate.Predicate("isprintable", error="Kata sandi berisi karakter yang tidak diizinkan."),
        ],
        metadata={"description": "staff password"},
    )
    code = Text(max_length=40, metadata={"description": "application code (applicant)"})
    pin = Text(max_length=12, metadata={"description": "application PIN (applicant)"})


class NewPinRequest(Schema):
    code = Text(required=True, max_length=40, metadata={"description": "application code"})


class NewPinResponse(Schema):
    sent = fields.Boolean(required=True)
    channels = fields.List(
        fields.String(), metadata={"description": "email and/or whatsapp: where it went, never the address"}
    )
    message = fields.String()


class TokenResponse(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)
    roles = fields.List(fields.String())


class ApplicationCreated(Schema):
    code = fields.String(required=True)
    display_code = fields.String(required=True)
    pin = fields.String(required=True)
    status_url = fields.String(required=True)
    kia_kind = fields.String()
    warnings = fields.List(fields.String())


class StepSchema(Schema):
    status = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    at = fields.DateTime()


class CurrentStepSchema(Schema):
    step = fields.String()
    title = fields.String()
    lane = fields.String()
    ready_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)


class PickupSchema(Schema):
    kecamatan = fields.String()
    uptd = fields.String()
    address = fields.String()


class NoteSchema(Schema):
    step = fields.String(allow_none=True)
    note = fields.String()
    at = fields.DateTime()


class ApplicantTaskSchema(Schema):
    id = fields.String()
    step = fields.String()
    title = fields.String()
    form_key = fields.String()


class StatusSchema(Schema):
    code = fields.String(required=True)
    status = fields.String(required=True)
    status_label = fields.String()
    name = fields.String(metadata={"description": "the child's name, masked"})
    kia_kind = fields.String()
    submitted_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    steps = fields.List(fields.Nested(StepSchema))
    current = fields.List(fields.Nested(CurrentStepSchema))
    pickup = fields.Nested(PickupSchema, allow_none=True)
    notes = fields.List(fields.Nested(NoteSchema))
    tasks = fields.List(fields.Nested(ApplicantTaskSchema))


class Beside(fields.String):
    """A string shown beside a task's row: a key of a task's values (``api.views.task_values``), else
    ``fallback(row)`` (a bare ``TaskRow``)."""

    def __init__(self, fallback: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fallback = fallback

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = None) -> Any:
        value = obj.get(attr) if isinstance(obj, Mapping) else getattr(obj, attr, None)
        return value if value is not None or self.fallback is None else self.fallback(obj)


class TaskSchema(Schema):
    """A task as every endpoint shows it: the one presenter. Dumps a ``TaskRow``, or a row with its
    application's code and child's name beside it (``api.views.task_values``: the inbox, the task page)."""

    id = fields.String(required=True)
    application_code = Beside(fallback=lambda row: row.instance.business_key)
    child_name = Beside(allow_none=True)
    step = fields.String()
    title = fields.String()
    lane = fields.String()
    form_key = fields.String()
    kecamatan = fields.String(allow_none=True)
    state = fields.String()
    time_standard = fields.String(allow_none=True)
    time_basis = fields.String(allow_none=True)
    ready_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    escalations = fields.Integer()
    notice_problem = fields.String(
        allow_none=True, metadata={"description": "note_undelivered: the applicant has not received the note"}
    )
    claimed_by = fields.String(allow_none=True)
    claimed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    held_at = fields.DateTime(allow_none=True, metadata={"description": "on hold since (an office problem)"})
    held_by = fields.String(allow_none=True)
    hold_reason = fields.String(allow_none=True)
    held_seconds = fields.Integer(
        metadata={"description": "time of its ended holds in the step's basis; the deadline moved by it"}
    )


class HoldRequest(Schema):
    reason = Text(
        required=True,
        max_length=200,
        metadata={"description": "the office problem that keeps the step waiting (e.g. 'Blangko KIA habis')"},
    )


class TaskListQuery(Schema):
    lane = Text(max_length=50)
    state = fields.String(load_default=TaskRowState.OPEN.value, validate=validate.OneOf(list(TaskRowState)))
    overdue = fields.Boolean()
    kecamatan = Text(max_length=16)
    q = Text(
        max_length=100,
        metadata={"description": "staff only: an application code, the child's NIK, or a fragment of a name"},
    )
    sort = fields.String(load_default="due", validate=validate.OneOf(["due", "ready", "kecamatan"]))
    since = fields.AwareDateTime(
        default_timezone=dt.UTC, metadata={"description": "only tasks that arrived after this moment"}
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


class TaskList(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    total = fields.Integer(required=True)


class FieldCheckSchema(Schema):
    field = fields.String(required=True)
    label = fields.String(required=True)
    entered = fields.String(allow_none=True, metadata={"description": "what the applicant entered"})
    record = fields.String(allow_none=True, metadata={"description": "what the population records hold"})
    result = fields.String(required=True, metadata={"enum": ["match", "mismatch", "missing"]})


class FamilyMemberSchema(Schema):
    name = fields.String()
    family_role = fields.String()
    sex = fields.String()
    birth_date = fields.String()


class VerificationDocumentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    media_type = fields.String()
    url = fields.String()


class VerificationSchema(Schema):
    """The applicant's entry, the population record and the documents side by side (staff)."""

    status = fields.String(required=True, metadata={"enum": ["match", "mismatch", "missing", "unavailable"]})
    unavailable = fields.String(allow_none=True, metadata={"description": "why the records could not be asked"})
    person_found = fields.Boolean(required=True)
    family_found = fields.Boolean(required=True)
    override_required = fields.Boolean(
        required=True, metadata={"description": "completing as 'complete' needs override_reason"}
    )
    family = fields.List(fields.Nested(FamilyMemberSchema), required=True)
    documents = fields.List(fields.Nested(VerificationDocumentSchema), required=True)
    fields = fields.List(fields.Nested(FieldCheckSchema), required=True)  # last: it shadows the module


class RoutingSchema(Schema):
    kecamatan = fields.String(allow_none=True)
    source = fields.String(
        allow_none=True,
        metadata={
            "enum": ["siak", "applicant"],
            "description": "siak: the KK address in the population records; applicant: the applicant's entry",
        },
    )


class CorrectionRequestSchema(Schema):
    """The officer's request to correct (``engine.kia.corrections.Request``)."""

    at = fields.DateTime()
    by = fields.String(allow_none=True)
    step = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    questioned_fields = fields.List(fields.String(), metadata={"description": "dotted names, e.g. child.name"})
    questioned_labels = fields.List(fields.String(), metadata={"description": "the same in Bahasa Indonesia"})


class FieldChangeSchema(Schema):
    field = fields.String(metadata={"description": "dotted name, e.g. child.address"})
    label = fields.String()
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)
    old_text = fields.String(metadata={"description": "the old value as shown to people"})
    new_text = fields.String()
    questioned = fields.Boolean(metadata={"description": "the officer had questioned this field"})


class CorrectionAnswerSchema(Schema):
    """The applicant's answer to a correction (``engine.kia.corrections.answer_view``)."""

    at = fields.DateTime()
    by = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    response = fields.String(allow_none=True)
    changes = fields.List(fields.Nested(FieldChangeSchema))
    documents = fields.List(fields.String(), metadata={"description": "kinds of the documents sent again"})
    document_labels = fields.List(fields.String())
    questioned_fields = fields.List(fields.String())
    questioned_labels = fields.List(fields.String())


class CorrectionFormSchema(Schema):
    """What the applicant's correction form opens with: the request, and what the applicant entered
    (never the population records)."""

    request = fields.Nested(CorrectionRequestSchema, allow_none=True)
    values = fields.Dict(metadata={"description": "{applicant: {...}, child: {...}} as entered"})


class TaskDetail(TaskSchema):
    form_type = fields.String(
        metadata={"description": "builtin: a code form; owner: a form-js form deployed with the version"}
    )
    form = fields.Dict(
        metadata={"description": "the task's form: its form-js JSON (owner forms) or its JSON Schema (built-in forms)"}
    )
    form_schema = fields.Dict(metadata={"description": "JSON Schema of the task's form (draft 2020-12)"})
    application = fields.Dict(metadata={"description": "the data the task shows"})
    history = fields.List(fields.Dict())
    verification = fields.Nested(VerificationSchema, metadata={"description": "verification tasks, staff only"})
    correction_answer = fields.Nested(
        CorrectionAnswerSchema,
        allow_none=True,
        metadata={"description": "verification tasks: the applicant's answer that brought the file back"},
    )
    correction = fields.Nested(CorrectionFormSchema, metadata={"description": "correction tasks: the pre-fill"})


class CompleteResponse(Schema):
    completed = fields.Nested(TaskSchema, required=True)
    next_tasks = fields.List(fields.Nested(TaskSchema), required=True)
    status = fields.String()


class DocumentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    media_type = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    uploaded_at = fields.DateTime()
    url = fields.String()


class EventSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    step = fields.String(allow_none=True)
    lane = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    at = fields.DateTime()
    detail = fields.Dict()
    summary = fields.String(allow_none=True, metadata={"description": "the event in one line, where needed"})


class NoticeSchema(Schema):
    """One message to the applicant and how far it got."""

    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    channel = fields.String(metadata={"description": "whatsapp | email"})
    channel_label = fields.String()
    recipient = fields.String(metadata={"description": "masked"})
    state = fields.String(metadata={"description": "pending | sent | delivered | read | failed"})
    state_label = fields.String()
    sent_as = fields.String(allow_none=True, metadata={"description": "template | text | document | email"})
    fallback_of = fields.Integer(allow_none=True, metadata={"description": "the WhatsApp notice it replaces"})
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class ApplicationDetail(Schema):
    code = fields.String()
    status = fields.String()
    status_label = fields.String()
    kia_kind = fields.String()
    channel = fields.String()
    kecamatan = fields.String(allow_none=True)
    process_version = fields.Integer()
    applicant = fields.Dict()
    child = fields.Dict()
    warnings = fields.Dict()
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    documents = fields.List(fields.Nested(DocumentSchema))
    tasks = fields.List(fields.Nested(TaskSchema))
    history = fields.List(fields.Nested(EventSchema))
    routing = fields.Nested(RoutingSchema, allow_none=True)
    verification = fields.Nested(VerificationSchema, allow_none=True, metadata={"description": "lane staff only"})
    incidents = fields.List(fields.Dict(), metadata={"description": "open incidents (steps that failed at run time)"})
    whatsapp_consent_at = fields.DateTime(allow_none=True)
    whatsapp_unreachable_at = fields.DateTime(allow_none=True)
    notices = fields.List(fields.Nested(NoticeSchema))


class EscalationSchema(Schema):
    level = fields.Integer(allow_none=True)
    at = fields.DateTime()


class OverrideSchema(Schema):
    by = fields.String(allow_none=True)
    at = fields.DateTime()
    reason = fields.String(allow_none=True)
    status = fields.String(allow_none=True, metadata={"enum": ["mismatch", "missing"]})
    field_labels = fields.List(fields.String(), metadata={"description": "the fields' names in Bahasa Indonesia"})
    fields = fields.List(fields.String())  # last: it shadows the module


class HoldOnCard(Schema):
    reason = fields.String(allow_none=True)
    by = fields.String(allow_none=True)
    by_name = fields.String(allow_none=True)
    at = fields.DateTime()
    resumed_at = fields.DateTime(allow_none=True)
    resumed_by = fields.String(allow_none=True)
    resumed_by_name = fields.String(allow_none=True)
    seconds = fields.Integer(allow_none=True, metadata={"description": "its duration in the step's basis"})
    label = fields.String(allow_none=True, metadata={"description": "the same in Bahasa Indonesia"})


class HandoverOnCard(Schema):
    """Who received the card (see ``engine.kia.handover``)."""

    task_id = fields.String()
    recipient_name = fields.String()
    recipient_nik = fields.String(
        allow_none=True, metadata={"description": "in full for the staff of the application only, else null"}
    )
    recipient_nik_masked = fields.String(metadata={"description": "all but the last four digits starred"})
    relationship = fields.String(metadata={"enum": ["ayah", "ibu", "anggota_keluarga", "kuasa"]})
    relationship_label = fields.String()
    card_number = fields.String()
    kk_check = fields.String(
        allow_none=True,
        metadata={
            "description": "the recipient against the child's family card in the population records: in_kk, "
            "not_checked (no records to check against) or proxy; for the staff of the application only, else null"
        },
    )
    kk_check_label = fields.String(allow_none=True)
    proxy_letter_id = fields.Integer(
        allow_none=True, metadata={"description": "a proxy's letter, a document of the application (staff only)"}
    )
    note = fields.String(allow_none=True)
    handed_over_by = fields.String()
    handed_over_at = fields.DateTime()


class ControlCardEntry(Schema):
    """One hand-over on the control card (see ``engine.reports.control_card``)."""

    seq = fields.Integer(required=True)
    task_id = fields.String(required=True)
    step = fields.String(required=True)
    title = fields.String()
    lane = fields.String()
    lane_name = fields.String(metadata={"description": "the lane as its diagram names it"})
    state = fields.String(metadata={"enum": list(TaskRowState)})
    ready_at = fields.DateTime()
    received_by = fields.String(allow_none=True, metadata={"description": "who claimed the step"})
    received_by_name = fields.String(allow_none=True)
    received_by_initials = fields.String(allow_none=True)
    received_by_nip = fields.String(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_by_name = fields.String(allow_none=True)
    completed_by_initials = fields.String(allow_none=True)
    completed_by_nip = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    time_standard = fields.String(allow_none=True)
    time_basis = fields.String(allow_none=True)
    deadline = fields.DateTime(allow_none=True)
    working_time_seconds = fields.Integer(
        allow_none=True, metadata={"description": "time taken, in the step's basis (working or calendar time)"}
    )
    working_time_label = fields.String(allow_none=True)
    met = fields.Boolean(allow_none=True)
    outcome = fields.String(metadata={"enum": ["met", "overrun", "pending", "cancelled", "no_deadline"]})
    escalations = fields.List(fields.Nested(EscalationSchema))
    override = fields.Nested(
        OverrideSchema,
        allow_none=True,
        metadata={"description": "verification completed although the population records disagreed or were missing"},
    )
    sent_back = fields.Nested(
        CorrectionRequestSchema, allow_none=True, metadata={"description": "the step sent the application back"}
    )
    correction = fields.Nested(
        CorrectionAnswerSchema, allow_none=True, metadata={"description": "the applicant's answer to a correction"}
    )
    held = fields.Boolean(metadata={"description": "the step is on hold now"})
    held_seconds = fields.Integer(metadata={"description": "time on hold in all, in the step's basis"})
    held_label = fields.String(allow_none=True)
    holds = fields.List(fields.Nested(HoldOnCard))
    handover = fields.Nested(
        HandoverOnCard, allow_none=True, metadata={"description": "the step that handed the card over: who received it"}
    )
    waiting_seconds = fields.Integer(
        allow_none=True,
        metadata={"description": "a step without a deadline (the card waiting for the parent): calendar time waited"},
    )
    waiting_label = fields.String(allow_none=True)


class MigrationOnCard(Schema):
    from_version = fields.Integer()
    to_version = fields.Integer()
    at = fields.DateTime()
    by = fields.String(allow_none=True)
    by_name = fields.String(allow_none=True)
    note = fields.String(allow_none=True, metadata={"description": "the change note of the version moved to"})


class ProcessOnCard(Schema):
    """The process versions an application ran on (see ``engine.control_card.process_versions``)."""

    process_key = fields.String()
    started_version = fields.Integer()
    started_note = fields.String(allow_none=True, metadata={"description": "the change note of that version"})
    current_version = fields.Integer()
    current_note = fields.String(allow_none=True)
    migrations = fields.List(fields.Nested(MigrationOnCard))


class ControlCard(Schema):
    code = fields.String(required=True)
    status = fields.String()
    process = fields.Nested(ProcessOnCard)
    items = fields.List(fields.Nested(ControlCardEntry), required=True)


class BulkCompleteRequest(Schema):
    """SOP step 4 in one go: the grouping tasks to complete and the grouping form's data for all."""

    task_ids = fields.List(
        Text(max_length=36),
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "open grouping tasks (Dafdud lane); all or none complete"},
    )
    batch = Text(max_length=64, metadata={"description": "batch label"})
    note = Text(max_length=2000)


class RecapGroupSchema(Schema):
    kecamatan = fields.String()
    name = fields.String()
    count = fields.Integer()


class DistributionBatchSchema(Schema):
    id = fields.Integer(required=True)
    label = fields.String(allow_none=True)
    kecamatan = fields.String(allow_none=True, metadata={"description": "the kecamatan whose cards it holds"})
    kecamatan_name = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()
    count = fields.Integer()
    groups = fields.List(fields.Nested(RecapGroupSchema))
    recap_url = fields.String(metadata={"description": "the distribution recap PDF of this batch"})


class BulkCompleteResponse(Schema):
    batches = fields.List(
        fields.Nested(DistributionBatchSchema),
        required=True,
        metadata={"description": "one batch per kecamatan, in the order of the kecamatan codes"},
    )
    completed = fields.List(fields.Nested(TaskSchema), required=True)
    next_tasks = fields.List(fields.Nested(TaskSchema), required=True)


class BatchSummarySchema(Schema):
    id = fields.Integer(required=True)
    label = fields.String(allow_none=True)
    kecamatan = fields.String(allow_none=True)
    kecamatan_name = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()
    count = fields.Integer()
    arrived = fields.Integer(metadata={"description": "cards confirmed at the UPTD"})
    missing = fields.Integer(metadata={"description": "cards reported missing at the UPTD"})
    waiting = fields.Integer(metadata={"description": "cards not confirmed yet"})
    state = fields.String(metadata={"description": "sent | partly_confirmed | arrived | incomplete"})
    recap_url = fields.String()


class BatchList(Schema):
    items = fields.List(fields.Nested(BatchSummarySchema), required=True)


class BatchQuery(Schema):
    kecamatan = Text(max_length=16)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class BatchCardSchema(Schema):
    code = fields.String(required=True)
    child_name = fields.String()
    card_number = fields.String()
    arrival = fields.String(allow_none=True, metadata={"description": "null (on its way) | arrived | missing"})
    arrival_at = fields.DateTime(allow_none=True)
    arrival_by = fields.String(allow_none=True)
    arrival_note = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True, metadata={"description": "the open arrival task of the card, if any"})


class BatchDetail(BatchSummarySchema):
    cards = fields.List(fields.Nested(BatchCardSchema), required=True)


class ArrivalRequest(Schema):
    """The Ka. UPTD's confirmation: the cards that arrived (or all that are still on their way) and the
    missing ones with a note each."""

    arrived = fields.List(Text(max_length=32), load_default=list, validate=validate.Length(max=500))
    all_arrived = fields.Boolean(
        load_default=False, metadata={"description": "every card still on its way arrived, except the missing"}
    )
    missing = fields.Dict(
        keys=Text(max_length=32),
        values=Text(max_length=2000),
        load_default=dict,
        validate=validate.Length(max=500),
        metadata={"description": "application code -> what the officer notes about the missing card"},
    )


class ArrivalResponse(Schema):
    batch = fields.Nested(BatchSummarySchema, required=True)
    arrived = fields.List(fields.String(), required=True)
    missing = fields.List(fields.String(), required=True)
    next_tasks = fields.List(fields.Nested(TaskSchema), required=True)


# Report days: a sane range, so that no day computation overflows (year 1 or 9999).
REPORT_DAYS = validate.Range(
    min=dt.date(2000, 1, 1), max=dt.date(2099, 12, 31), error="Tanggal harus antara 2000-01-01 dan 2099-12-31."
)


class DistributionQuery(Schema):
    batch = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1, error="Nomor batch tidak sah."),
        metadata={"description": "a batch id"},
    )
    date = fields.Date(validate=REPORT_DAYS, metadata={"description": "every card grouped on this day (Asia/Jakarta)"})
    kecamatan = Text(max_length=16)


class PeriodQuery(Schema):
    start = fields.Date(
        data_key="from", validate=REPORT_DAYS, metadata={"description": "first day (Asia/Jakarta), default today"}
    )
    end = fields.Date(
        data_key="to", validate=REPORT_DAYS, metadata={"description": "last day, inclusive; default the first day"}
    )


class ProcessVersionSchema(Schema):
    process_key = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    deployed_at = fields.DateTime()
    deployed_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True, metadata={"description": "the change note given at deploy"})
    active = fields.Boolean(metadata={"description": "new applications start on this version"})
    running_instances = fields.Integer()
    created = fields.Boolean()


class DecisionFileSchema(Schema):
    name = fields.String(required=True, metadata={"description": "the decision table's file name"})
    xml = fields.String(required=True, metadata={"description": "its DMN XML"})


class VersionDetailSchema(ProcessVersionSchema):
    forms = fields.List(
        fields.Dict(),
        required=True,
        metadata={"description": "the form-js JSON documents deployed with the version (each with its `id`)"},
    )
    decisions = fields.List(fields.Nested(DecisionFileSchema), required=True)


class ApplicationSelection(fields.Field):
    """``"all"`` or a list of application codes."""

    default_error_messages = {"invalid": 'Isi dengan "all" atau daftar kode permohonan (paling banyak 10.000).'}

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> str | list[str]:
        if value == "all":
            return "all"
        if not isinstance(value, list) or not value or len(value) > 10_000:
            raise self.make_error("invalid")
        codes = []
        for item in value:
            code = normalize_code(item) if isinstance(item, str) else None
            if code is None:
                raise ValidationError(f"Kode permohonan tidak sah: {str(item)[:40]!r}.")
            codes.append(code)
        return codes


class MigrationRequest(Schema):
    from_version = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    to_version = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000))
    applications = ApplicationSelection(
        required=True,
        metadata={"description": '"all" (every running application of from_version) or a list of codes'},
    )
    dry_run = fields.Boolean(required=True, metadata={"description": "true: report only, change nothing"})
    mapping = fields.Dict(
        keys=Text(max_length=100),
        values=Text(max_length=100),
        validate=validate.Length(max=500),
        metadata={"description": "element id in from_version -> element id in to_version, overriding the pairing"},
    )


class MigrationItem(Schema):
    code = fields.String(required=True)
    from_version = fields.Integer(allow_none=True)
    to_version = fields.Integer()
    movable = fields.Boolean(required=True)
    moved = fields.Boolean(required=True)
    reason = fields.String(allow_none=True, metadata={"description": "why it cannot move (Bahasa Indonesia)"})
    current_steps = fields.List(fields.String(), metadata={"description": "the steps it waits at"})


class MigrationResult(Schema):
    process_key = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    dry_run = fields.Boolean()
    total = fields.Integer()
    movable = fields.Integer()
    moved = fields.Integer()
    items = fields.List(fields.Nested(MigrationItem), required=True)


class ActivationRequest(Schema):
    reason = Text(required=True, max_length=2000, metadata={"description": "why this version becomes current"})


class ActivationSchema(Schema):
    process_key = fields.String()
    version = fields.Integer()
    previous_version = fields.Integer(allow_none=True)
    reason = fields.String()
    actor = fields.String()
    at = fields.DateTime()


class ProcessList(Schema):
    items = fields.List(fields.Nested(ProcessVersionSchema), required=True)


class ProblemSchema(Schema):
    element_id = fields.String(metadata={"description": "the offending element's id, empty for the whole diagram"})
    message = fields.String()


class DecisionSchema(Schema):
    step = fields.String(metadata={"description": "the user task's id"})
    value = fields.String(metadata={"description": "the decision taken there, or 'timer' when its timer fired"})


class DryRunPathSchema(Schema):
    ok = fields.Boolean(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf([o.value for o in Outcome]))
    decisions = fields.List(fields.Nested(DecisionSchema), required=True)
    elements = fields.List(fields.String(), required=True, metadata={"description": "element ids walked, in order"})
    problem = fields.Nested(ProblemSchema, allow_none=True)


class ValidationResult(Schema):
    valid = fields.Boolean(required=True)
    process_key = fields.String(allow_none=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    dry_run = fields.Boolean(metadata={"description": "whether the dry run ran (not when the lint refused)"})
    paths = fields.List(
        fields.Nested(DryRunPathSchema),
        metadata={"description": "every path of the dry run: one per combination of decisions, loops at most twice"},
    )
    loops_cut = fields.Integer(metadata={"description": "runs dropped because a loop came round a third time"})


class VersionQuery(Schema):
    version = fields.Integer(validate=validate.Range(min=1, max=1_000_000))


class AuditQuery(Schema):
    since = fields.AwareDateTime(data_key="from", metadata={"description": "ISO 8601 with offset, inclusive"})
    until = fields.AwareDateTime(data_key="to", metadata={"description": "ISO 8601 with offset, exclusive"})
    actor = Text(max_length=100)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


class AuditEntrySchema(Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    method = fields.String(required=True)
    path = fields.String(required=True)
    target = fields.String(allow_none=True)
    status = fields.Integer(required=True)
    client_ip = fields.String(allow_none=True)


class AuditList(Schema):
    items = fields.List(fields.Nested(AuditEntrySchema), required=True)
    total = fields.Integer(required=True)


class CalendarOverrideSchema(Schema):
    date = fields.Date(required=True, metadata={"description": "the day, YYYY-MM-DD (Asia/Jakarta)"})
    open = fields.Boolean(
        required=True,
        metadata={"description": "true: office open (weekend service day); false: office closed (extra closing day)"},
    )
    reason = fields.String(load_default="", validate=validate.Length(max=200))
    changed_by = fields.String(dump_only=True, allow_none=True)
    changed_at = fields.DateTime(dump_only=True)


class CalendarOverrideList(Schema):
    items = fields.List(fields.Nested(CalendarOverrideSchema), required=True)


class DateRangeQuery(Schema):
    """An inclusive range of days in Asia/Jakarta time; ``from`` must not be after ``to``."""

    from_ = fields.Date(data_key="from")
    to = fields.Date()

    @validates_schema
    def _ordered(self, data: dict, **kwargs: object) -> None:
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("'from' tidak boleh setelah 'to'.", field_name="from")


class SlaVersionStandard(Schema):
    version = fields.Integer(required=True, metadata={"description": "the process version the step ran on"})
    time_standard = fields.String(allow_none=True)
    time_basis = fields.String(allow_none=True)
    count = fields.Integer(required=True)
    within_standard = fields.Integer(required=True)


class SlaStepSchema(Schema):
    step = fields.String(required=True)
    title = fields.String()
    lane = fields.String()
    lane_name = fields.String(metadata={"description": "the lane as its diagram names it"})
    time_standard = fields.String(allow_none=True)
    time_basis = fields.String(allow_none=True)
    count = fields.Integer(required=True)
    median_seconds = fields.Float(required=True)
    p90_seconds = fields.Float(required=True, metadata={"description": "nearest-rank 90th percentile"})
    within_standard = fields.Integer(required=True)
    within_standard_share = fields.Float(required=True)
    standards = fields.List(
        fields.Nested(SlaVersionStandard), metadata={"description": "the time standard of each version it ran on"}
    )


class SlaReport(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    items = fields.List(fields.Nested(SlaStepSchema), required=True)


class UncollectedQuery(Schema):
    days = fields.Integer(
        validate=validate.Range(min=1, max=365, error="Jumlah hari harus antara 1 dan 365."),
        metadata={"description": "calendar days since the parent was told; default KIA_UNCOLLECTED_DAYS"},
    )
    kecamatan = Text(max_length=16)


class UncollectedSchema(Schema):
    code = fields.String(required=True)
    kecamatan = fields.String(allow_none=True)
    kecamatan_name = fields.String()
    uptd_name = fields.String()
    ready_at = fields.DateTime(required=True, metadata={"description": "when the parent was told it is ready"})
    days = fields.Integer(required=True, metadata={"description": "calendar days since"})
    reminded_at = fields.DateTime(allow_none=True, metadata={"description": "when the reminder went, if it did"})


class UncollectedReport(Schema):
    days = fields.Integer(required=True, metadata={"description": "the threshold the list was made with"})
    items = fields.List(fields.Nested(UncollectedSchema), required=True)


class RegionSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Kemendagri code: 14, 14.71 or 14.71.08"})
    name = fields.String(required=True)
    level = fields.String(required=True, metadata={"enum": ["province", "regency", "district"]})


class RegionList(Schema):
    items = fields.List(fields.Nested(RegionSchema), required=True)


class RegionQuery(Schema):
    level = fields.String(validate=validate.OneOf(["province", "regency", "district"]))
    parent = Text(max_length=8, metadata={"description": "only the regions under this code, e.g. 14"})


class RegionUpdate(Schema):
    name = Text(required=True, max_length=100, validate=validate.Length(min=1))


class KecamatanSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    uptd_name = fields.String(required=True)
    uptd_address = fields.String(required=True)
    uptd_head = fields.String(required=True)
    uptd_head_nip = fields.String(required=True)
    uptd_hours = fields.String(required=True)


class KecamatanList(Schema):
    items = fields.List(fields.Nested(KecamatanSchema), required=True)


class KecamatanUpdate(Schema):
    """Fields to change; a new kecamatan needs at least its name."""

    name = Text(max_length=100, validate=validate.Length(min=1))
    uptd_name = Text(max_length=200, validate=validate.Length(min=1))
    uptd_address = Text(max_length=300)
    uptd_head = Text(max_length=200)
    uptd_head_nip = Text(max_length=40, metadata={"description": "the Ka. UPTD's NIP (18 digits); empty clears it"})
    uptd_hours = Text(max_length=200, metadata={"description": "the UPTD's opening hours, told to the parents"})


class DecisionTrial(Schema):
    """A decision table to try (DMN XML, as the modeler holds it) and the inputs to try it with."""

    dmn = fields.String(required=True, validate=validate.Length(min=1), metadata={"description": "DMN XML"})
    inputs = fields.Dict(
        keys=fields.String(),
        load_default=None,
        metadata={"description": "input data name -> value (text is read as the input's typeRef says)"},
    )


class DecisionColumnSchema(Schema):
    label = fields.String(required=True)
    expression = fields.String(required=True, metadata={"description": "an input's expression, an output's name"})
    type_ref = fields.String(required=True)


class DecisionTrialResult(Schema):
    decision_id = fields.String(required=True)
    name = fields.String(required=True)
    hit_policy = fields.String(required=True)
    inputs = fields.List(fields.Nested(DecisionColumnSchema), required=True)
    outputs = fields.List(fields.Nested(DecisionColumnSchema), required=True)
    warnings = fields.List(fields.Nested(ProblemSchema), required=True)
    result = fields.Dict(
        allow_none=True, metadata={"description": "output name -> value (COLLECT: a list); null without inputs"}
    )
    matched_rules = fields.List(fields.Integer(), metadata={"description": "the rules that matched (numbered from 1)"})
