from accounts.models import User, canonical_email


def user_by_id(user_id) -> User | None:
    if user_id is None:
        return None
    return User.objects.filter(pk=user_id).first()


def user_by_email(email: str) -> User | None:
    """The account with this address, matched in its canonical form (as stored)."""
    return User.objects.filter(email=canonical_email(email)).first()
