import unicodedata

from rest_framework import serializers

from accounts.models import canonical_email, is_deliverable


class CanonicalEmailField(serializers.EmailField):
    """An e-mail address in its canonical form (`accounts.models.canonical_email`), the form
    that is stored and matched; validated after folding, so full-width or dotless-i
    spellings are judged as the address they stand for, and refused when no mail could be
    sent to it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = canonical_email(data)
        email = super().to_internal_value(data)
        if not is_deliverable(email):  # the pattern takes a line separator in a domain
            self.fail("invalid")
        return email


def _password_field():
    return serializers.CharField(max_length=128, trim_whitespace=False)


class CodeField(serializers.RegexField):
    """The 6-digit code from the e-mail as a person types or pastes it: the spaces around
    it trimmed (before the pattern is checked), and digits of any script read as the digits
    they are (full-width ones from a Japanese keyboard, Arabic-Indic ones), so
    the code compared is always ASCII."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "error_messages", {"invalid": "The code is the 6 digits from the e-mail."}
        )
        super().__init__(r"^\d{6}$", **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in data)
        return super().to_internal_value(data)


def _code_field():
    return CodeField()


class RegisterSerializer(serializers.Serializer):
    email = CanonicalEmailField()
    password = _password_field()
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class RegisteredSerializer(serializers.Serializer):
    email = serializers.EmailField()
    detail = serializers.CharField()
    email_sent = serializers.BooleanField()


class ConfirmSerializer(serializers.Serializer):
    email = CanonicalEmailField()
    code = _code_field()


class ResendSerializer(serializers.Serializer):
    email = CanonicalEmailField()


class TokenRequestSerializer(serializers.Serializer):
    email = CanonicalEmailField()
    password = _password_field()


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class TokenDetailSerializer(serializers.Serializer):
    token = serializers.CharField()
    detail = serializers.CharField()


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    full_name = serializers.CharField()
    is_staff = serializers.BooleanField()


class PasswordResetSerializer(serializers.Serializer):
    email = CanonicalEmailField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    email = CanonicalEmailField()
    code = _code_field()
    new_password = _password_field()


class PasswordChangeSerializer(serializers.Serializer):
    current_password = _password_field()
    new_password = _password_field()


class AccountDeleteSerializer(serializers.Serializer):
    password = _password_field()
