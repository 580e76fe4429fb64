from datetime import UTC

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone


class RequestBodyLimitMiddleware:
    """Refuse an oversized body from its Content-Length, before anything reads it.

    DRF parses JSON straight from the stream, which skips Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE check; this puts the limit back for every request.
    Multipart uploads (payment lists) have their own, larger limit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request.content_type == "multipart/form-data":
            limit = getattr(settings, "FILE_UPLOAD_MAX_SIZE", limit)
        if limit is not None and length > limit:
            return JsonResponse(
                {"detail": f"The request body is too large (at most {limit} bytes)."},
                status=413,
            )
        return self.get_response(request)


class ApiTimesInUtcMiddleware:
    """The API answers its times in UTC ("...Z"), whatever TIME_ZONE is.

    TIME_ZONE is the service area's zone, for what people read on the server's pages, e-mails
    and the admin. DRF renders a time in the current zone, so without this the API's answers
    would carry the service area's offset ("-08:00"): its clients (the rider pages, apps)
    read machine times and show them in their reader's own zone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        with timezone.override(UTC):
            return self.get_response(request)
