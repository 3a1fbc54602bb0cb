"""The shell of the UI: dashboard and health. Domain pages live in the apps."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from studio.selectors import dashboard_stats, dashboard_tables, health_report


def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "studio/dashboard.html", {"stats": dashboard_stats(), "health": health_report(), **dashboard_tables()})


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse(health_report())
