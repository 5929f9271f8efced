"""Markup written in Python where a page writes it many times over: a long select's options, a
list's rows. What Django's `conditional_escape` and `flatatt` give, without their cost: both go
through Django's lazy-argument check on every call, which on a page of 200 options or 100 rows
cost more than the values' escaping itself (docs/performance.md)."""

import html


def escape(text) -> str:
    """Django's conditional_escape: safe markup (anything with `__html__`) as it is, everything
    else (str, a lazy translation, a number) as text, escaped with the standard library's
    escape, which is what Django's escape calls."""
    if hasattr(text, "__html__"):
        return text.__html__()
    return html.escape(str(text))


def attributes(attrs: dict) -> str:
    """Django's flatatt: valued attributes, then the True ones by their bare name; False and
    None left out; values escaped."""
    valued = [
        f' {name}="{escape(value)}"'
        for name, value in attrs.items()
        if not isinstance(value, bool) and value is not None
    ]
    bare = [f" {name}" for name, value in attrs.items() if value is True]
    return "".join(valued + bare)
