"""Admin actions that run a service on each selected object."""

from django.contrib import messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

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


SHOWN_AT_MOST = 20  # lines on a confirmation page; the rest are counted


def confirmed(request) -> bool:
    """Was the action posted from its confirmation page ("Yes, ...")? post=yes, as Django's
    own "delete selected" confirmation posts."""
    return request.POST.get("post") == "yes"


def confirmation_page(model_admin, request, objects, *, title, will, wont=(), button):
    """Django's "Are you sure?" page for an action that changes things: what it will do to
    each object (`will`: (pk, sentence) pairs) and what it leaves and why (`wont`:
    sentences); `button` says the change ("Yes, cancel 2 rides"). Posting it runs the action
    again with post=yes on the same objects: the selected ones, or, when "select all"
    across the pages was used, the same filtered list (the page posts to the same URL)."""
    select_across = request.POST.get("select_across") == "1"
    will = list(will)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": model_admin.model._meta,
        "action": request.POST.get("action", ""),
        "select_across": select_across,
        "selected": [] if select_across else [pk for pk, _ in will],
        "will": [sentence for _, sentence in will[:SHOWN_AT_MOST]],
        "will_more": max(0, len(will) - SHOWN_AT_MOST),
        "wont": list(wont)[:SHOWN_AT_MOST],
        "wont_more": max(0, len(list(wont)) - SHOWN_AT_MOST),
        "button": button,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media,
    }
    return TemplateResponse(request, "admin/action_confirmation.html", context)
