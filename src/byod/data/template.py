"""Render a ``"{title} | {price} KRW"`` template over a table's columns, vectorised."""

from __future__ import annotations

import string

import polars as pl

__all__ = ["render", "all_fields_blank", "normalize_whitespace"]

# Whitespace other than a single inner space, split by cost: ASCII control whitespace and double
# spaces are cheap byte scans; the non-ASCII spaces (NBSP, U+3000 ideographic space common in
# Korean text, ...) need a Unicode class and are only searched in rows that are not pure ASCII.
_ASCII_SPACE = r"(?-u:[\t\n\r\x0b\x0c])"
_UNICODE_SPACE = "[" + "".join(c for c in map(chr, range(0x80, 0x3001)) if c.isspace()) + "]"


def render(template: str) -> pl.Expr:
    """Expression rendering ``template`` per row; null fields render as empty strings.

    The result still needs :func:`normalize_whitespace` (kept separate because it is costly and
    only a few rows usually need it).
    """
    parts: list[pl.Expr] = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if name is not None:
            parts.append(pl.col(name).cast(pl.String).fill_null(""))
    return pl.concat_str(parts) if len(parts) > 1 else parts[0]


def normalize_whitespace(text: pl.Series) -> pl.Series:
    """Collapse whitespace runs (newlines, tabs, NBSP included) to one space and strip.

    Serialization joins events with newlines, so an event text must not contain any. The regex
    replacement runs only on the rows that need it: on clean logs this is a cheap scan.
    """
    n_bytes = text.str.len_bytes()
    needs = (
        text.str.contains(_ASCII_SPACE)
        | text.str.contains("  ", literal=True)
        | (text.str.strip_chars().str.len_bytes() != n_bytes)
    ).fill_null(False)
    non_ascii = (n_bytes != text.str.len_chars()).fill_null(False)
    if non_ascii.any():
        idx = non_ascii.arg_true()
        unicode_space = text.gather(idx).str.contains(_UNICODE_SPACE).fill_null(False)
        needs = needs.scatter(idx, needs.gather(idx) | unicode_space)
    if not needs.any():
        return text
    idx = needs.arg_true()
    fixed = text.gather(idx).str.replace_all(r"\s+", " ").str.strip_chars()
    return text.scatter(idx, fixed)


def all_fields_blank(fields: tuple[str, ...]) -> pl.Expr:
    """True where every template field is null or whitespace, i.e. the text carries nothing."""
    blank = [pl.col(f).cast(pl.String).str.strip_chars().fill_null("") == "" for f in fields]
    return pl.all_horizontal(blank)
