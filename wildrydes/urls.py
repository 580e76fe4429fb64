from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.views import health
from rides.apis import UnicornApplicationApi

api = [
    path("health/", health, name="health"),
    path("auth/", include("accounts.urls")),
    path("rides/", include("rides.urls")),
    path("promos/", include("promos.urls")),
    path("payments/", include("payments.urls")),
    path("payment-lists/", include("payments.list_urls")),
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

handler404 = "core.views.not_found"
handler500 = "core.views.server_error"

admin.site.site_header = "Wild Rydes operations"
admin.site.site_title = "Wild Rydes admin"
admin.site.index_title = "Run the business"
