"""The production stage's settings pass Django's deployment checklist."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def prod_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return {
        **env,
        "WILDRYDES_STAGE": "prod",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://wildrydes:secret@db.internal:5432/wildrydes",
        "AWS_STORAGE_BUCKET_NAME": "wildrydes-prod-assets",
        "DJANGO_EMAIL_BACKEND": "django_ses.SESBackend",
        **extra,
    }


def manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_check_deploy_is_clean_for_prod():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=prod_env())
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_prod_refuses_to_start_without_a_secret_key():
    env = prod_env()
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_prod_refuses_to_start_without_a_database_url():
    env = prod_env()
    del env["DATABASE_URL"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_prod_serves_static_from_the_bucket_and_allows_the_api_gateway_host():
    code = (
        "import json; from django.conf import settings as s;"
        "print(json.dumps([s.STATIC_URL, s.ALLOWED_HOSTS, s.STORAGES['staticfiles']['BACKEND']]))"
    )
    env = prod_env(WILDRYDES_CUSTOM_DOMAIN="rides.wildrydes.example")
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    static_url, hosts, backend = json.loads(result.stdout.splitlines()[-1])
    assert static_url == "https://wildrydes-prod-assets.s3.us-east-1.amazonaws.com/static/"
    assert ".execute-api.us-east-1.amazonaws.com" in hosts
    assert "rides.wildrydes.example" in hosts
    assert backend == "storages.backends.s3.S3ManifestStaticStorage"


def test_prod_static_files_are_kept_by_browsers_and_never_served_by_the_function():
    code = (
        "import json, boto3; from moto import mock_aws;"
        "from django.conf import settings as s; from django.core.files.base import ContentFile;"
        "from django.core.files.storage import storages\n"
        "with mock_aws():\n"
        " s3 = boto3.client('s3', region_name='us-east-1');"
        " s3.create_bucket(Bucket='wildrydes-prod-assets');"
        " name = storages['staticfiles'].save('frontend/css/site.4f1c2d.css', ContentFile(b'a{}'));"
        " head = s3.head_object(Bucket='wildrydes-prod-assets', Key='static/' + name);"
        " print(json.dumps([head.get('CacheControl'), s.MIDDLEWARE]))"
    )
    env = prod_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    cache_control, middleware = json.loads(result.stdout.splitlines()[-1])
    assert cache_control == "public, max-age=31536000, immutable"
    assert not any("whitenoise" in name for name in middleware)
    assert "No directory at" not in result.stderr
