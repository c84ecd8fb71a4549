"""Forms: validation of user-task data (marshmallow) and its JSON Schema for clients.

Imports marshmallow, apispec, the standard library and the identity rules of ``engine.kia``.
"""

from forms.fields import Form
from forms.samples import form_choices, form_samples, sample_data
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
    application_check,
    form_json_schema,
    get_form,
    load_form,
    validate_application,
)

__all__ = [
    "application_check",
    "FORMS",
    "ApplicationForm",
    "CorrectionForm",
    "Form",
    "FormValidationError",
    "GroupingForm",
    "HandoverForm",
    "PrintingForm",
    "SubmissionForm",
    "UnknownForm",
    "VerificationForm",
    "form_choices",
    "form_json_schema",
    "form_samples",
    "get_form",
    "load_form",
    "sample_data",
    "validate_application",
]
