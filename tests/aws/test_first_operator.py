"""create_operator: the first operator of a stage, from a password hash (as `make operator`
sends it) or a password on stdin; running it again updates the account."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command


@pytest.mark.django_db
def test_an_operator_is_created_from_a_password_hash_and_can_sign_in(client):
    out = io.StringIO()
    call_command(
        "create_operator",
        "Ops@Example.com",
        "--password-hash",
        make_password("unicorn-operator-2026"),
        "--superuser",
        stdout=out,
    )
    user = get_user_model().objects.get(email="ops@example.com")
    assert user.is_staff and user.is_superuser
    assert [g.name for g in user.groups.all()] == ["Operators"]
    assert "created" in out.getvalue()
    assert client.login(username="ops@example.com", password="unicorn-operator-2026")
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_running_it_again_sets_the_new_password_from_stdin(monkeypatch):
    call_command(
        "create_operator", "ops@example.com", "--password-hash", make_password("first-pass-2026x")
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("second-pass-2026y\n"))
    call_command("create_operator", "ops@example.com", stdout=io.StringIO())
    user = get_user_model().objects.get(email="ops@example.com")
    assert user.check_password("second-pass-2026y") and not user.is_superuser


@pytest.mark.django_db
def test_a_weak_password_or_a_bad_hash_is_refused_with_a_sentence(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError, match=r"too short|too common|numeric"):
        call_command("create_operator", "ops@example.com")
    with pytest.raises(CommandError, match="not a Django password hash"):
        call_command("create_operator", "ops@example.com", "--password-hash", "plain-text")
    assert not get_user_model().objects.filter(email="ops@example.com").exists()
