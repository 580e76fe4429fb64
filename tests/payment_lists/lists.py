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
