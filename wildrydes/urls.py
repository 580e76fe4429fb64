"""Root URLconf."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.views import health
from rides.apis import UnicornApplicationApi

api = [
    path("health/", health, name="health"),
    path("auth/", include("accounts.urls")),
    path("rides/", include("rides.urls")),
    path("unicorns/", include("rides.unicorn_urls")),
    path("promos/", include("promos.urls")),
    path("payments/", include("payments.urls")),
    path("payment-lists/", include("payment_lists.urls")),
    path("notifications/", include("notifications.urls")),
    path(
        "unicorn-applications/",
        UnicornApplicationApi.as_view(),
        name="unicorn-application-create",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api)),
    path("", include("frontend.urls")),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
