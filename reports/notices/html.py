"""A notice (or quarterly assessment) as a printable, self-contained HTML page.

The stored page carries its own print CSS and the chart as a data: URI, so the archived file opens
and prints the same anywhere, without the site's static files (and with no CDN). The preview page
in the site includes the same body template.
"""

import base64

from django.template.loader import render_to_string

from . import chart
from . import format as fmt


def _rows(headers, cells, content):
    """(row, [(header, cell), …]) per township: every cell knows its column label (phone layout)."""
    return [(row, list(zip(headers, cells(row)))) for row in content["townships"]]


def _scorecard(content):
    """The frozen 赛马 scorecard of an assessment, when it has one: each township's cells with their
    column label and colour (the phone layout labels every cell)."""
    card = content.get("scorecard")
    if not card:
        return {}
    labels = fmt.scorecard_headers(card)
    rows = []
    for entry in card["townships"]:
        fixed = fmt.scorecard_cells(entry)[:4]
        cells = [
            (label, text, (cell or {}).get("colour"))
            for label, text, cell in zip(labels[4:], fmt.scorecard_cells(entry)[4:], entry["cells"])
        ]
        rows.append((entry, list(zip(labels[:4], fixed)), cells))
    return {
        "scorecard_intro": fmt.scorecard_intro(content),
        "scorecard_headers": labels,
        "scorecard_rows": rows,
    }


def context(content):
    """What templates/reports/notice_body.html needs, all derived from ``content``."""
    png = chart.render_png(content["chart"])
    shared = {
        "n": content,
        "title": fmt.title(content),
        "serial_text": fmt.serial_text(content),
        "heading": fmt.heading(content),
        "draft_mark": fmt.draft_mark(content),
        "issued_on_text": fmt.chinese_date(content["issued_on"]),
        "chart_uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
    }
    if content["kind"] == "assessment":
        return (
            shared
            | _scorecard(content)
            | {
                "overview": fmt.assessment_overview(content),
                "headers": fmt.assessment_headers(),
                "rows": _rows(fmt.assessment_headers(), fmt.assessment_cells, content),
                "verdict_lines": [line.strip() for line in content["verdict"].splitlines() if line.strip()],
            }
        )
    if "indicators_lagging" in content:
        shared |= {"lagging_intro": fmt.lagging_intro(content), "lagging_lines": fmt.lagging_lines(content)}
    if content.get("addition"):
        headers = fmt.addition_headers()
        shared |= {
            "addition_intro": fmt.addition_intro(content),
            "addition_headers": headers,
            "addition_rows": [(row, list(zip(headers, fmt.addition_cells(row)))) for row in content["addition"]],
        }
    return shared | {
        "as_of_text": fmt.chinese_date(content["as_of"]),
        "overview": fmt.overview(content),
        "headers": fmt.township_headers(),
        "rows": _rows(fmt.township_headers(), fmt.township_cells, content),
        "red_intro": fmt.red_intro(content),
        "inspection_intro": fmt.inspection_intro(content),
        "changes_intro": fmt.changes_intro(content),
    }


def render(content):
    return render_to_string("reports/notice_print.html", context(content)).encode("utf-8")
