"""collectstatic to the stage's bucket (the stack in moto): hashed names in S3, and pages
that point at them. Storage configured as settings.py does when AWS_STORAGE_BUCKET_NAME is
set (the package tests run the real settings, and the whole collectstatic, in the zip)."""

import re
import urllib.request

import pytest
from django.core.management import call_command

from tests.aws import moto_stack

pytestmark = pytest.mark.filterwarnings(moto_stack.IGNORE_UNSUPPORTED)

# The big third-party bundles (Swagger UI, Redoc, Leaflet, the admin's select2 with its 59
# translations and XRegExp: 65 of the 127 admin files) are left out to keep this quick
# (11.5 -> 8.4 s CPU); the package test collects everything.
IGNORED = ["drf_spectacular_sidecar", "leaflet", "rest_framework", "select2", "xregexp"]


@pytest.fixture
def s3_static(settings, monkeypatch):
    with moto_stack.moto_server(moto_stack.account_of("dev")) as endpoint:
        for name, value in moto_stack.FAKE_CREDENTIALS.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        stack = moto_stack.create_stack(endpoint, "dev")
        settings.AWS_STORAGE_BUCKET_NAME = stack.bucket
        settings.AWS_S3_REGION_NAME = moto_stack.REGION
        settings.AWS_S3_ENDPOINT_URL = endpoint
        settings.AWS_S3_CUSTOM_DOMAIN = None
        settings.AWS_DEFAULT_ACL = None
        settings.AWS_QUERYSTRING_AUTH = True
        settings.AWS_S3_FILE_OVERWRITE = False
        settings.STATIC_URL = f"{endpoint}/{stack.bucket}/static/"
        settings.STORAGES = {
            "default": {"BACKEND": "storages.backends.s3.S3Storage"},
            "staticfiles": {
                "BACKEND": "storages.backends.s3.S3ManifestStaticStorage",
                "OPTIONS": {"location": "static", "querystring_auth": False},
            },
        }
        yield stack


@pytest.mark.slow
def test_collectstatic_puts_hashed_files_in_the_bucket_and_pages_use_them(s3_static, client):
    call_command("collectstatic", "--noinput", "-v0", *[f"-i={name}" for name in IGNORED])

    s3 = moto_stack.client("s3", s3_static.endpoint)
    keys = {
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=s3_static.bucket, Prefix="static/"
        )
        for obj in page.get("Contents", [])
    }
    assert "static/staticfiles.json" in keys
    hashed_login_css = [
        k for k in keys if re.fullmatch(r"static/admin/css/login\.[0-9a-f]{12}\.css", k)
    ]
    assert hashed_login_css, sorted(keys)[:20]
    assert any(re.fullmatch(r"static/frontend/css/[\w-]+\.[0-9a-f]{12}\.css", k) for k in keys)

    page = client.get("/admin/login/")
    assert page.status_code == 200
    [href] = re.findall(r'href="([^"]*login[^"]*\.css)"', page.content.decode())
    assert href == f"{s3_static.endpoint}/{s3_static.bucket}/{hashed_login_css[0]}"
    with urllib.request.urlopen(href, timeout=10) as served:  # noqa: S310 (moto, loopback)
        assert served.status == 200  # public through the template's bucket policy
