from django.urls import path

from rides import apis

urlpatterns = [
    path("nearby/", apis.NearbyUnicornsApi.as_view(), name="unicorn-nearby"),
]
