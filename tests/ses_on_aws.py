"""Mail sent as on AWS: through django-ses (the stages' EMAIL_BACKEND) to SES as moto plays
it, with the rule of SES's API that moto leaves out. SES takes 7-bit ASCII addresses only:
it does not support SMTPUTF8, and "if you want to send to or from email addresses that
contain Unicode characters in the domain part of an address, you must encode the domain
using Punycode" (SES API reference, Destination). moto takes any address; here a call with
another is refused with SES's error, as SES refuses it.
"""

import contextlib
import email
from email import policy

import boto3
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.exceptions import InvalidParameterValue
from moto.ses.models import SESBackend, ses_backends

REGION = "us-east-1"


@contextlib.contextmanager
def ses_on_aws(settings, monkeypatch):
    """Inside it, mail goes to moto's SES through django-ses; yields `sent()`, the messages
    SES took: (the addresses SES was asked to deliver to, the message as parsed)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.EMAIL_BACKEND = "django_ses.SESBackend"
    settings.AWS_SES_REGION_NAME = REGION
    settings.AWS_SES_REGION_ENDPOINT_URL = f"https://email.{REGION}.amazonaws.com"
    take = SESBackend.send_raw_email

    def send_raw_email(self, source, destinations, raw_data):
        for address in destinations:
            if not address.isascii():
                raise InvalidParameterValue(f"Illegal address: {address}")
        return take(self, source, destinations, raw_data)

    monkeypatch.setattr(SESBackend, "send_raw_email", send_raw_email)
    with mock_aws():
        boto3.client("ses", region_name=REGION).verify_domain_identity(Domain="wildrydes.example")
        backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]

        def sent():
            return [
                (
                    list(m.destinations),
                    email.message_from_bytes(m.raw_data.encode(), policy=policy.default),
                )
                for m in backend.sent_messages
            ]

        yield sent
