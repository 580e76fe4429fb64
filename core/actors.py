"""Who did something, as audit trails and events name them."""


def actor_label(actor) -> str:
    """An e-mail (a person), or the text of anything else (`service:<name>`)."""
    return getattr(actor, "email", None) or str(actor)
