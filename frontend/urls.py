from django.urls import path

from frontend import account_views, views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("unicorns/", views.unicorns, name="unicorns"),
    path("investors/", views.investors, name="investors"),
    path("faq/", views.faq, name="faq"),
    path("apply/", views.apply, name="apply"),
    path("register/", views.register, name="register"),
    path("verify/", views.verify, name="verify"),
    path("signin/", views.sign_in, name="signin"),
    path("ride/", views.ride, name="ride"),
    path("history/", views.history, name="history"),
    path("history/<uuid:ride_id>/", views.receipt, name="receipt"),
    path("notifications/", views.notifications, name="notifications"),
    *account_views.urlpatterns,
]
