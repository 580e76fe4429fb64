"""Admin actions that run a service on each selected object."""

from django.contrib import messages

from core.exceptions import DomainError


def apply_to_each(model_admin, request, objects, change, *, verb: str, noun: str, label=str) -> int:
    """Call `change(obj)` for each object through its service; report what was done once,
    and each refusal (a domain error) with the object's label and the service's sentence."""
    done = 0
    for obj in objects:
        try:
            change(obj)
            done += 1
        except DomainError as error:
            model_admin.message_user(request, f"{label(obj)}: {error.detail}", messages.WARNING)
    if done:
        model_admin.message_user(request, f"{verb} {done} {noun}(s).", messages.SUCCESS)
    return done
