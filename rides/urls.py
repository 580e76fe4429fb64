from django.urls import path

from rides import apis

urlpatterns = [
    path("", apis.RideListCreateApi.as_view(), name="ride-list"),
    path("estimate/", apis.FareEstimateApi.as_view(), name="ride-estimate"),
    path("<uuid:ride_id>/", apis.RideDetailApi.as_view(), name="ride-detail"),
    path("<uuid:ride_id>/board/", apis.RideBoardApi.as_view(), name="ride-board"),
    path("<uuid:ride_id>/cancel/", apis.RideCancelApi.as_view(), name="ride-cancel"),
    path("<uuid:ride_id>/complete/", apis.RideCompleteApi.as_view(), name="ride-complete"),
]
