from rest_framework.exceptions import ValidationError


def filter_by_status(queryset, request, statuses):
    """Apply `?status=` when given; an unknown status is a 400 that lists the known ones."""
    wanted = request.query_params.get("status")
    if not wanted:
        return queryset
    if wanted not in statuses:
        known = ", ".join(statuses)
        raise ValidationError({"status": [f"Unknown status {wanted!r}; use {known}."]})
    return queryset.filter(status=wanted)
