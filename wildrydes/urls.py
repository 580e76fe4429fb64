"""Root URLconf.

Each area's URLconf is imported when a request first reaches its prefix (or when a URL is
first reversed), not when this module loads: on Lambda a cold start imports the views,
serializers and admin its own request needs, not the whole project's. lazy_include() is
include() with the import left to Django's URLResolver, which does it on first use.
"""

from django.urls import URLResolver, include, path
from django.urls.resolvers import RoutePattern

from core.views import health
from rides.apis import UnicornApplicationApi


def lazy_include(route: str, urlconf: str, namespace: str | None = None) -> URLResolver:
    return URLResolver(
        RoutePattern(route, is_endpoint=False), urlconf, app_name=namespace, namespace=namespace
    )


api = [
    path("health/", health, name="health"),
    lazy_include("auth/", "accounts.urls"),
    lazy_include("rides/", "rides.urls"),
    lazy_include("unicorns/", "rides.unicorn_urls"),
    lazy_include("promos/", "promos.urls"),
    lazy_include("payments/", "payments.urls"),
    lazy_include("payment-lists/", "payment_lists.urls"),
    lazy_include("notifications/", "notifications.urls"),
    path(
        "unicorn-applications/",
        UnicornApplicationApi.as_view(),
        name="unicorn-application-create",
    ),
    lazy_include("", "wildrydes.api_docs_urls"),  # schema/, docs/
]

urlpatterns = [
    lazy_include("admin/", "wildrydes.admin_urls", namespace="admin"),
    path("api/", include(api)),
    lazy_include("", "frontend.urls", namespace="frontend"),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
