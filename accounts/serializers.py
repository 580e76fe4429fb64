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
            _refuse_a_local_part_no_mail_carries(data)
        email = super().to_internal_value(data)
        if not is_deliverable(email):  # the pattern takes a line separator in a domain
            self.fail("invalid")
        return email


def _refuse_a_local_part_no_mail_carries(email: str) -> None:
    """A letter outside ASCII before the @ (josé@...) left after folding: no mail reaches it
    from here (SES takes no SMTPUTF8; Django's validator refuses it too). Said so, where
    "Enter a valid email address." told the person nothing about an address like theirs."""
    local, at, _domain = email.rpartition("@")
    letter = next((c for c in local if not c.isascii()), None) if at else None
    if letter is not None and letter.isprintable() and not letter.isspace():
        raise serializers.ValidationError(
            f"We can't send e-mail to an address with \u201c{letter}\u201d before the @. "
            "Please use another address."
        )


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


class LinkTokenField(serializers.RegexField):
    """The secret of the e-mailed link (its fragment's `token`): 43 base64url characters."""

    def __init__(self, **kwargs):
        incomplete = (
            "This link is not complete. Open it from the e-mail again, or type the code instead."
        )
        kwargs.setdefault("error_messages", {"invalid": incomplete, "blank": incomplete})
        super().__init__(r"^[A-Za-z0-9_-]{43}$", **kwargs)


class CodeOrLinkSerializer(serializers.Serializer):
    """The 6-digit `code` of the e-mail, or its link's `token` instead (the page the link
    opens sends it). Without a token, the code is required as it always was."""

    code = CodeField()
    token = LinkTokenField(
        required=False,
        write_only=True,
        help_text="Instead of `code`: the `token` in the fragment of the e-mailed link "
        "(#email=...&token=...). It works even when the address's code tries are used up.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = kwargs.get("data")
        if hasattr(data, "get") and data.get("token") is not None:
            self.fields["code"].required = False

    def validate(self, attrs):
        if "code" in attrs and "token" in attrs:
            raise serializers.ValidationError(
                {"token": ["Send the code or the link's token, not both."]}
            )
        return attrs


class RegisterSerializer(serializers.Serializer):
    email = CanonicalEmailField()
    password = _password_field()
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class RegisteredSerializer(serializers.Serializer):
    email = serializers.EmailField()
    detail = serializers.CharField()
    email_sent = serializers.BooleanField()


class ConfirmSerializer(CodeOrLinkSerializer):
    email = CanonicalEmailField()


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


class PasswordResetConfirmSerializer(CodeOrLinkSerializer):
    email = CanonicalEmailField()
    new_password = _password_field()


class PasswordChangeSerializer(serializers.Serializer):
    current_password = _password_field()
    new_password = _password_field()


class AccountDeleteSerializer(serializers.Serializer):
    password = _password_field()
