"""The run report: summary tables, an embedding map, clusters and training curves.

``build_report(run_dir)`` writes ``<run_dir>/report/index.html`` (one self-contained file) and
``report.md`` with its PNG figures; ``summary_markdown(run_dir)`` gives the summary tables alone.
"""

from byod.report.build import ReportPaths, build_report, summary_markdown

__all__ = ["ReportPaths", "build_report", "summary_markdown"]
