"""The report as a document (sections of paragraphs, tables and figures), rendered twice.

:func:`page_html` makes one self-contained HTML file: CSS inline, figures as base64 PNG ``data:``
URIs, no external URL, and one small inline script that only counts the figures that decoded
(``<body data-figures-loaded="N">``, for headless checks). :func:`page_markdown` makes the
Markdown twin, whose figures are PNG files next to it.
"""

from __future__ import annotations

import base64
import dataclasses
import html

from byod.report.tables import Table, md_escape, table_html, table_markdown

__all__ = ["Figure", "Section", "Block", "page_html", "page_markdown"]


@dataclasses.dataclass(frozen=True)
class Figure:
    """A PNG figure.

    Attributes:
        name: file name of the PNG next to the Markdown, e.g. ``embedding-map.png``.
        png: the image bytes.
        alt: a text alternative.
        caption: one or two sentences on how to read it.
    """

    name: str
    png: bytes
    alt: str
    caption: str = ""


Block = str | Table | Figure  # a str is a paragraph of plain text


@dataclasses.dataclass(frozen=True)
class Section:
    """A titled part of the report.

    Attributes:
        anchor: the HTML id, e.g. ``summary``.
        title: the heading.
        blocks: paragraphs, tables and figures, in order.
        level: heading level (2 for a section, 3 for a subsection).
    """

    anchor: str
    title: str
    blocks: list[Block]
    level: int = 2


_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:76em;margin:2em auto;
padding:0 1.5em;color:#222;line-height:1.45;background:#fff}
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#666;margin:.15em 0}.howto{background:#f6f8fa;border-left:4px solid #4a90d9;
padding:.6em 1em}.missing{background:#fff8e6;border-left:4px solid #e0a100;padding:.6em 1em}
nav a{margin-right:1em}table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
td,th{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f5f7;white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}tbody tr:nth-child(even){background:#fafbfc}.caption{color:#555;
font-size:.88em;margin-top:.2em}figure{margin:1em 0}figure img{max-width:100%;height:auto;
border:1px solid #eee}figcaption{color:#555;font-size:.88em}
""".replace("\n", "")

# Counts the <img> elements that really decoded; the only script on the page.
_SCRIPT = (
    "window.addEventListener('load',function(){var n=0;"
    "document.querySelectorAll('img').forEach(function(i){"
    "if(i.complete&&i.naturalWidth>0){n++;}});"
    "document.body.setAttribute('data-figures-loaded',String(n));});"
)


def _figure_html(fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    caption = f"<figcaption>{html.escape(fig.caption)}</figcaption>" if fig.caption else ""
    return (
        f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(fig.alt)}'>"
        f"{caption}</figure>"
    )


def _block_html(block: Block) -> str:
    if isinstance(block, Table):
        return table_html(block)
    if isinstance(block, Figure):
        return _figure_html(block)
    return f"<p>{html.escape(block)}</p>"


def _n_figures(sections: list[Section]) -> int:
    return sum(isinstance(b, Figure) for s in sections for b in s.blocks)


def page_html(
    title: str, meta: list[str], howto: str, missing: list[str], sections: list[Section]
) -> str:
    """The whole report as one self-contained HTML document.

    Args:
        title: the page title.
        meta: header lines (run dir, generation time, ...).
        howto: the "how to read this" paragraph.
        missing: one sentence per missing input (a notice when non-empty).
        sections: the body, in order.

    Returns:
        The HTML text; ``<body data-figures-expected>`` holds the number of figures.
    """
    nav = " ".join(
        f"<a href='#{s.anchor}'>{html.escape(s.title)}</a>" for s in sections if s.level == 2
    )
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        "".join(f"<p class='meta'>{html.escape(line)}</p>" for line in meta),
        f"<nav style='margin-top:1em'>{nav}</nav>",
        f"<div class='howto'><b>How to read this.</b> {html.escape(howto)}</div>",
    ]
    if missing:
        items = "".join(f"<li>{html.escape(m)}</li>" for m in missing)
        parts.append(
            "<div class='missing' id='missing'><b>Missing from this run</b> "
            f"(the report shows what exists):<ul>{items}</ul></div>"
        )
    for s in sections:
        parts.append(f"<h{s.level} id='{s.anchor}'>{html.escape(s.title)}</h{s.level}>")
        parts.extend(_block_html(b) for b in s.blocks)
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f"<script>{_SCRIPT}</script></head>\n"
        f"<body data-figures-expected='{_n_figures(sections)}'>\n" + "\n".join(parts) + "\n"
        "</body></html>\n"
    )


def _block_markdown(block: Block) -> str:
    if isinstance(block, Table):
        return table_markdown(block)
    if isinstance(block, Figure):
        caption = f"\n\n*{md_escape(block.caption)}*" if block.caption else ""
        return f"![{md_escape(block.alt)}]({block.name}){caption}\n"
    return md_escape(block) + "\n"


def page_markdown(
    title: str, meta: list[str], howto: str, missing: list[str], sections: list[Section]
) -> str:
    """The Markdown twin of :func:`page_html`; figures referenced by file name.

    Args:
        title: the page title.
        meta: header lines.
        howto: the "how to read this" paragraph.
        missing: one sentence per missing input.
        sections: the body, in order.

    Returns:
        The Markdown text.
    """
    parts = [
        f"# {md_escape(title)}\n",
        "  \n".join(map(md_escape, meta)) + "\n",
        f"**How to read this.** {md_escape(howto)}\n",
    ]
    if missing:
        parts.append(
            "**Missing from this run** (the report shows what exists):\n\n"
            + "".join(f"- {md_escape(m)}\n" for m in missing)
        )
    for s in sections:
        parts.append(f"{'#' * s.level} {md_escape(s.title)}\n")
        parts.extend(_block_markdown(b) for b in s.blocks)
    return "\n".join(parts)
