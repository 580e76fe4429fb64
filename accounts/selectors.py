from accounts.models import User


def user_by_id(user_id) -> User | None:
    if user_id is None:
        return None
    return User.objects.filter(pk=user_id).first()


def user_by_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip()).first()
