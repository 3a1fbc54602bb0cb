"""Thin views: parse the request, call one service or selector, render."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from inversion import selectors


def repository_list(request: HttpRequest) -> HttpResponse:
    return render(request, "inversion/repository_list.html", {"repositories": selectors.repository_list()})


def episode_list(request: HttpRequest) -> HttpResponse:
    return render(request, "inversion/episode_list.html", {"episodes": selectors.episode_list()})
