"""Versions as of a release date, from a real JSON Simple API (loopback) with upload times."""

from __future__ import annotations

from inversion.engine.gold.era import Index, parse_when


def test_pins_are_the_newest_final_releases_uploaded_by_the_date_never_below_the_floor(package_index):
    for version, when in (("6.2.4", "2021-05-06T00:00:00Z"), ("7.0.0rc1", "2021-12-01T00:00:00Z"),
                          ("7.0.1", "2022-02-11T00:00:00Z"), ("8.0.0", "2024-01-27T00:00:00Z")):
        package_index.add_sdist("pytest", version, {"PKG-INFO": ""}, uploaded=when)
    package_index.add_sdist("pytest-mock", "3.7.0", {"PKG-INFO": ""}, uploaded="2022-01-28T00:00:00Z")
    index = Index(package_index.url)
    assert index.pins(("pytest", "pytest-mock"), parse_when("2022-06-01T00:00:00+00:00")) == (
        "pytest==7.0.1", "pytest-mock==3.7.0")
    assert index.pins(("pytest",), parse_when("2021-12-31T00:00:00Z")) == ("pytest==6.2.5",)  # rc skipped, floor
    assert index.pins(("pytest", "not-there"), None) == ()  # no date, no pins
    assert index.newest("pytest") == "8.0.0" and index.exists("pytest") and not index.exists("not-there")
    assert parse_when("2021-06-01") is None and parse_when("garbage") is None  # a date must be zoned
