"""E-mail through SMTP (smtplib), configured by environment (SMTP_HOST/PORT/USER/PASSWORD, MAIL_FROM)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from .errors import SendError


class MailError(SendError):
    """The mail server refused or could not be reached."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    user: str = ""
    password: str = ""
    sender: str = "KIA Disdukcapil Pekanbaru <noreply@localhost>"
    timeout: float = 20.0


def send_mail(settings: SmtpSettings, to: str, subject: str, text: str) -> str:
    """Send one plain-text message; STARTTLS when the server offers it, login when a user is set.
    Returns the Message-ID. Errors name the SMTP code or exception type, never the addressee."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1].strip("> ") or "localhost")
    message.set_content(text)
    try:
        connection = (
            smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=ssl.create_default_context()
            )
            if settings.port == 465
            else smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        )
        with connection as smtp:
            smtp.ehlo()
            if settings.port != 465 and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.user:
                smtp.login(settings.user, settings.password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused:
        raise MailError("smtp: recipient refused", retryable=False) from None
    except smtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.smtp_code < 600 and exc.smtp_code not in (530, 534, 535)  # auth: fix the settings
        raise MailError(f"smtp: {exc.smtp_code}", retryable=not permanent) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"smtp: {type(exc).__name__}") from None
    return message["Message-ID"]
