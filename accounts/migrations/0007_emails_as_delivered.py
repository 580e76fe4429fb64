"""E-mail addresses with their domain as mail is delivered to it (accounts.models
.canonical_email, copied below as migrations must not follow later code): the characters
IDNA drops (zero-width joiners, soft hyphens) dropped, an ideographic full stop a dot, a
punycode label (xn--...) the Unicode it spells. As in 0005, of two accounts that now fold to
one address the older keeps it and the newer its old spelling. A domain no mail can reach
is left as it is.
"""

import re
import unicodedata

from django.db import migrations


def _folded(text):
    text = unicodedata.normalize("NFKC", text)
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", text.casefold().upper().casefold())
        if folded == text:
            break
        text = folded
    return text


_QUOTED = re.compile(r'"(.*)"', re.DOTALL)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_DOT_ATOM = re.compile(r"[-!#$%&'*+/=?^_`{}|~0-9a-z]+(\.[-!#$%&'*+/=?^_`{}|~0-9a-z]+)*", re.ASCII)


def _unquoted(local):
    """'"rider"' is the mailbox rider (RFC 5321: a quoted string that needs no quotes is
    the same local part), as the receiving server reads it."""
    quoted = _QUOTED.fullmatch(local)
    if quoted is None:
        return local
    plain = _ESCAPED.sub(r"\1", quoted.group(1))
    return plain if _DOT_ATOM.fullmatch(plain) else local


def _delivered_domain(domain):
    if len(domain) > 255:
        return None
    try:
        encoded = domain.encode("idna")
    except UnicodeError:
        return None
    try:
        return encoded.decode("idna")
    except UnicodeError:
        return domain


def canonical_email(raw):
    text = (raw or "").strip()
    for _ in range(4):
        folded = _folded(text).strip()
        local, at, domain = folded.rpartition("@")
        delivered = _delivered_domain(domain) if at else None
        if delivered is not None:
            folded = _folded(f"{_unquoted(local)}@{delivered}").strip()
        if folded == text:
            break
        text = folded
    return text


def canonicalise_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    db = schema_editor.connection.alias
    taken = set(User.objects.using(db).values_list("email", flat=True))
    for pk, email in User.objects.using(db).order_by("date_joined", "pk").values_list(
        "pk", "email"
    ):
        canonical = canonical_email(email)
        if canonical == email or canonical in taken:
            continue
        User.objects.using(db).filter(pk=pk).update(email=canonical)
        taken.discard(email)
        taken.add(canonical)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_servicekey_organization_moved"),
    ]

    operations = [
        migrations.RunPython(canonicalise_emails, migrations.RunPython.noop),
    ]
