"""Sending email from templates, and the embedded default's outbox."""

import email
import email.policy
import re
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string


def templated_message(
    *, to: list[str], template: str, context: dict, headers=None
) -> EmailMultiAlternatives:
    """Render ``emails/<template>_subject.txt``, ``.txt`` and ``.html`` into one message."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        to=to,
        headers=headers or {},
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return message


def send_templated(*, to: list[str], template: str, context: dict, headers=None, connection=None):
    """Send one templated message, on ``connection`` (an open mailer) when given.

    Django 6.1 deprecates handing a connection to the message itself, so a batch opens
    ``mailers.default`` once and the message goes through its ``send_messages``.
    """
    message = templated_message(to=to, template=template, context=context, headers=headers)
    if connection is not None:
        return connection.send_messages([message])
    return message.send()


class OutboxEmailBackend(BaseEmailBackend):
    """Write each message as its own ``.eml`` file under ``OUTBOX_PATH`` (``EMAIL_FILE_PATH``)."""

    def send_messages(self, email_messages):
        folder = Path(settings.OUTBOX_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        for index, message in enumerate(email_messages):
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            (folder / f"{stamp}-{index}.eml").write_bytes(message.message().as_bytes())
        return len(email_messages)


def outbox_messages(limit: int = 100) -> list[dict]:
    """The newest messages in the outbox, parsed for display."""
    folder = Path(settings.OUTBOX_PATH)
    if not folder.is_dir():
        return []
    messages = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = parsed.get_body(preferencelist=("plain",))
        body = text.get_content() if text else ""
        messages.append(
            {
                "id": path.stem,
                "subject": parsed["subject"],
                "to": parsed["to"],
                "date": parsed["date"],
                "body": body,
                "links": re.findall(r"https?://\S+", body),
            }
        )
    return messages
