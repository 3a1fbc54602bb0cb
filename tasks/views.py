"""Thin views: parse the request, call one service or selector, render."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tasks import selectors


def task_list(request: HttpRequest) -> HttpResponse:
    return render(request, "tasks/task_list.html", {"tasks": selectors.task_list()})


def catalog_list(request: HttpRequest) -> HttpResponse:
    return render(request, "tasks/catalog_list.html", {"catalogs": selectors.catalog_list()})
