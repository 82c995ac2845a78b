"""Page routes of the web UI, namespaced `web`. Every route has an expected status per role in
tests/web/test_permissions.py; a route added without one fails that test."""

from django.contrib.auth import views as auth_views
from django.urls import path

from tend.web import report_views, team_views, user_views, views

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
    path("reports/", report_views.report_index, name="reports"),
    path("reports/revenue/", report_views.revenue_report, name="report-revenue"),
    path("reports/voice/", report_views.voice_report, name="report-voice"),
    path("reports/support/", report_views.support_report, name="report-support"),
    path("reports/usage/", report_views.usage_report, name="report-usage"),
    path("team/", team_views.team, name="team"),
    path("users/", user_views.user_list, name="users"),
    path("users/<int:user_id>/role/", user_views.change_user_role, name="user-role"),
    path("users/<int:user_id>/active/", user_views.set_user_active, name="user-active"),
]
