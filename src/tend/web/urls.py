"""Page routes of the web UI, namespaced `web`. Every route has an expected status per role in
tests/web/test_permissions.py; a route added without one fails that test."""

from django.contrib.auth import views as auth_views
from django.urls import path

from tend.web import (
    account_export,
    account_override,
    account_saved_views,
    account_views,
    journey_views,
    list_views,
    note_views,
    report_views,
    scorecard_editor_views,
    scorecard_views,
    task_views,
    team_views,
    user_views,
    views,
)

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
    path("accounts/", account_views.account_list, name="accounts"),
    path("accounts.csv", account_export.account_export, name="accounts-csv"),
    path("account-views/", account_saved_views.save_view, name="account-view-save"),
    path(
        "account-views/<int:view_id>/delete/",
        account_saved_views.delete_view,
        name="account-view-delete",
    ),
    path("accounts/<str:external_id>/", account_views.account_detail, name="account"),
    path(
        "accounts/<str:external_id>/override/",
        account_override.account_override,
        name="account-override",
    ),
    path(
        "accounts/<str:external_id>/override/clear/",
        account_override.account_override_clear,
        name="account-override-clear",
    ),
    path("accounts/<str:external_id>/tasks/", task_views.add_task, name="account-task-add"),
    path("accounts/<str:external_id>/notes/", note_views.account_notes, name="account-notes"),
    path("accounts/<str:external_id>/notes/add/", note_views.add_note, name="account-note-add"),
    path("notes/<int:note_id>/edit/", note_views.edit_note, name="note-edit"),
    path("notes/<int:note_id>/delete/", note_views.delete_note, name="note-delete"),
    path("tasks/<int:task_id>/done/", task_views.complete_task, name="task-done"),
    path("tasks/<int:task_id>/reopen/", task_views.reopen_task, name="task-reopen"),
    path("reports/", report_views.report_index, name="reports"),
    path("reports/revenue/", report_views.revenue_report, name="report-revenue"),
    path("reports/voice/", report_views.voice_report, name="report-voice"),
    path("reports/support/", report_views.support_report, name="report-support"),
    path("reports/usage/", report_views.usage_report, name="report-usage"),
    path("reports/journey/", journey_views.journey_report, name="report-journey"),
    path("lists/", list_views.list_index, name="lists"),
    path("lists/at-risk/", list_views.at_risk_list, name="list-at-risk"),
    path("lists/renewals/", list_views.renewals_list, name="list-renewals"),
    path("lists/collections/", list_views.collections_list, name="list-collections"),
    path("lists/advocates/", list_views.advocates_list, name="list-advocates"),
    path("lists/upsell/", list_views.upsell_list, name="list-upsell"),
    path("lists/patterns/", list_views.patterns_list, name="list-patterns"),
    path("scorecards/", scorecard_views.scorecard_list, name="scorecards"),
    path("scorecards/<slug:slug>/", scorecard_views.scorecard_detail, name="scorecard"),
    path(
        "scorecards/<slug:slug>/edit/",
        scorecard_editor_views.scorecard_edit,
        name="scorecard-edit",
    ),
    path(
        "scorecards/<slug:slug>/yaml/",
        scorecard_editor_views.scorecard_yaml,
        name="scorecard-yaml",
    ),
    path(
        "scorecards/<slug:slug>/duplicate/",
        scorecard_editor_views.scorecard_duplicate,
        name="scorecard-duplicate",
    ),
    path(
        "scorecards/<slug:slug>/preview/",
        scorecard_editor_views.scorecard_preview,
        name="scorecard-preview",
    ),
    path("scorecards/<slug:slug>/diff/", scorecard_views.version_diff, name="scorecard-diff"),
    path(
        "scorecards/<slug:slug>/versions/<int:number>/",
        scorecard_views.version_detail,
        name="scorecard-version",
    ),
    path(
        "scorecards/<slug:slug>/versions/<int:number>/rollback/",
        scorecard_views.rollback,
        name="scorecard-rollback",
    ),
    path("team/", team_views.team, name="team"),
    path("users/", user_views.user_list, name="users"),
    path("users/<int:user_id>/role/", user_views.change_user_role, name="user-role"),
    path("users/<int:user_id>/active/", user_views.set_user_active, name="user-active"),
]
