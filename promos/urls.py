from django.urls import path

from promos import apis

urlpatterns = [
    path("discounts/", apis.DiscountDrawApi.as_view(), name="promo-discount-draw"),
    path("discounts/release/", apis.DiscountReleaseApi.as_view(), name="promo-discount-release"),
]
