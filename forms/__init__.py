"""Forms: validation of user-task data (marshmallow) and its JSON Schema for clients.

Imports only marshmallow, apispec and the standard library.
"""

from forms.fields import Form
from forms.identity import (
    PEKANBARU_KECAMATAN,
    PROVINCES,
    RIAU_REGENCIES,
    IdentityError,
    KkInfo,
    NikInfo,
    age_on,
    check_child_age,
    jakarta_today,
    kia_kind,
    nik_mismatches,
    parse_kk_number,
    parse_nik,
)
from forms.schemas import (
    FORMS,
    ApplicationForm,
    CorrectionForm,
    FormValidationError,
    GroupingForm,
    HandoverForm,
    PrintingForm,
    SubmissionForm,
    UnknownForm,
    VerificationForm,
    form_json_schema,
    get_form,
    load_form,
    validate_application,
)

__all__ = [
    "FORMS",
    "PEKANBARU_KECAMATAN",
    "PROVINCES",
    "RIAU_REGENCIES",
    "ApplicationForm",
    "CorrectionForm",
    "Form",
    "FormValidationError",
    "GroupingForm",
    "HandoverForm",
    "IdentityError",
    "KkInfo",
    "NikInfo",
    "PrintingForm",
    "SubmissionForm",
    "UnknownForm",
    "VerificationForm",
    "age_on",
    "check_child_age",
    "form_json_schema",
    "get_form",
    "jakarta_today",
    "kia_kind",
    "load_form",
    "nik_mismatches",
    "parse_kk_number",
    "parse_nik",
    "validate_application",
]
