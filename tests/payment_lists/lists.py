"""Helpers to build payment-list CSV files in tests."""

import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

HEADER = "reference,payer_email,amount,currency,ride_id"


def csv_file(rows: list[str], *, name="payments.csv", bom=False) -> SimpleUploadedFile:
    text = "\n".join([HEADER, *rows]) + "\n"
    data = text.encode("utf-8")
    return SimpleUploadedFile(name, (b"\xef\xbb\xbf" if bom else b"") + data, "text/csv")


def good_rows(count: int, *, prefix=None, amount="12.50") -> list[str]:
    prefix = prefix or uuid.uuid4().hex[:6]
    return [f"{prefix}-{n},,{amount},USD," for n in range(count)]


def stored_list(organization, rows: list[str], *, name="payments.csv", **kwargs):
    """A list as an upload leaves it once committed: its file in storage, received, not yet
    claimed by any run."""
    from payment_lists.models import PaymentList

    payment_list = PaymentList(organization=organization, submitted_by="test", original_name=name)
    payment_list.file.save(name, csv_file(rows, name=name, **kwargs), save=True)
    return payment_list


def run_list(payment_list, **kwargs) -> dict:
    """Claim the list for a new run and run every step here, as the local runner does."""
    from payment_lists import runs, workflow

    token = runs.claim_new(payment_list.pk)
    assert token, "the list was already claimed"
    output = workflow.run_workflow(payment_list.pk, token, **kwargs)
    payment_list.refresh_from_db()
    return output


def s3_event(*keys: str, sequencer: str = "") -> dict:
    """An S3 ObjectCreated notification as Lambda receives it, a record per key."""
    records = []
    for key in keys:
        s3_object = {"key": key, "size": 100}
        if sequencer:
            s3_object["sequencer"] = sequencer
        records.append(
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "wildrydes-dev-media"}, "object": s3_object},
            }
        )
    return {"Records": records}
