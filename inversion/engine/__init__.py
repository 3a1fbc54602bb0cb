"""The inversion engine: plain Python over the Docker SDK, importing nothing from Django.

Services in `inversion.services` call into it with plain values and persist what it returns.
"""
