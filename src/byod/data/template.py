"""Render a ``"{title} | {price} KRW"`` template over a table's columns, vectorised."""

from __future__ import annotations

import string

import polars as pl

__all__ = ["render", "all_fields_blank"]


def render(template: str) -> pl.Expr:
    """Expression rendering ``template`` per row; null fields render as empty strings.

    Whitespace runs (including newlines inside values) collapse to one space and the result is
    stripped, because serialization joins events with newlines.
    """
    parts: list[pl.Expr] = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if name is not None:
            parts.append(pl.col(name).cast(pl.String).fill_null(""))
    text = pl.concat_str(parts) if len(parts) > 1 else parts[0]
    return text.str.replace_all(r"\s+", " ").str.strip_chars()


def all_fields_blank(fields: tuple[str, ...]) -> pl.Expr:
    """True where every template field is null or whitespace, i.e. the text carries nothing."""
    blank = [pl.col(f).cast(pl.String).str.strip_chars().fill_null("") == "" for f in fields]
    return pl.all_horizontal(blank)
