from accounts.models import User, canonical_email


def user_by_email(email: str) -> User | None:
    """The account with this address, matched in its canonical form (as stored)."""
    return User.objects.filter(email=canonical_email(email)).first()
