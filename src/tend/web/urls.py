"""Page routes of the web UI, namespaced `web`."""

from django.contrib.auth import views as auth_views
from django.urls import path

from tend.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", views.account_list, name="accounts"),
    path("accounts/<str:external_id>/", views.account_detail, name="account"),
]
