"""Markdown tables for report.md files (grid search, experiment scripts)."""


def pct(x):
    """A fraction as a percentage with two decimals, for tables."""
    return f"{100 * x:.2f}%"


def markdown_table(headers, rows):
    """A Markdown table: one header row, then one line per row of values."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
