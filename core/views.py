from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as html_csrf_failure
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny


@extend_schema(
    responses={
        200: inline_serializer(
            "Health", {"status": serializers.CharField(), "database": serializers.CharField()}
        )
    }
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def health(request):
    """Liveness and database reachability, for load balancers and operators."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "degraded", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def _wants_json(request) -> bool:
    # path_info: the path inside the app. `path` carries the script prefix, e.g. /dev on a
    # stage's execute-api host (/dev/api/...).
    return request.path_info.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def bad_request(request, exception=None):
    """handler400: e.g. a host this stage does not answer on (DisallowedHost), a filter an
    admin page does not offer (DisallowedModelAdminLookup): templates/400.html."""
    if _wants_json(request):
        return JsonResponse({"detail": "Bad request: this request cannot be served."}, status=400)
    response = defaults.bad_request(request, exception)
    # templates/400.html, as 500.html, is rendered without a request (so without a CSP
    # nonce) and holds no data, only its own fixed <style>: let that style element through.
    response._csp_update = {"style-src-elem": "'unsafe-inline'"}
    return response


def permission_denied(request, exception=None):
    if _wants_json(request):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action."}, status=403
        )
    return defaults.permission_denied(request, exception)


def not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _wants_json(request):
        return JsonResponse(
            {"detail": "Something went wrong on our side. Please try again."}, status=500
        )
    response = defaults.server_error(request)
    # templates/500.html is rendered without a request (so without a CSP nonce) and holds
    # no data, only its own fixed <style>: let that one page's style element through.
    response._csp_update = {"style-src-elem": "'unsafe-inline'"}
    return response


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: under /api/ (and for JSON clients) a JSON 403 with a sentence,
    as every other API error; the web pages keep Django's page."""
    if _wants_json(request):
        return JsonResponse(
            {
                "detail": "CSRF check failed: reload the page and try again "
                "(API clients send 'Authorization: Token <key>' instead of a session)."
            },
            status=403,
        )
    return html_csrf_failure(request, reason=reason)
