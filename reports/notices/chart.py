"""The notice's chart as a PNG: cumulative rectifications against the milestone staircase.

Drawn on the server with matplotlib's Agg backend from the ``chart`` part of a notice's content,
so the .docx and the printable page carry the same picture without a browser. Chinese labels need
a CJK font: the first Noto Sans/Serif CJK (Debian's fonts-noto-cjk) or other known CJK family that
matplotlib's font manager finds; without one the chart is still drawn, with a warning in the log.
"""

import datetime
import functools
import io
import logging

import matplotlib

matplotlib.use("Agg")

from matplotlib import dates as mdates  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

logger = logging.getLogger("siwu.notices")

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
)
RED, BLUE, GREY = "#c62828", "#1f5fa8", "#6b7280"


@functools.cache
def cjk_font():
    """A FontProperties for Chinese text, or None (logged once) when no CJK font is installed."""
    for family in CJK_FAMILIES:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        return font_manager.FontProperties(fname=path)
    logger.warning(
        "no CJK font found for the notice chart (apt-get install fonts-noto-cjk): Chinese text will not show"
    )
    return None


def _days(points):
    return [datetime.date.fromisoformat(p[0]) for p in points]


def render_png(chart, *, title=""):
    """PNG bytes of ``chart`` (the content's ``chart`` dict), 16 × 8 cm at 200 dpi."""
    font = cjk_font()
    text = {"fontproperties": font} if font else {}
    figure = Figure(figsize=(6.3, 3.15), dpi=200)
    axes = figure.add_subplot()
    steps = chart["steps"]
    step_days = [datetime.date.fromisoformat(chart["start"])] + _days(steps)
    step_values = [0] + [s[2] for s in steps]
    axes.step(step_days, step_values, where="post", color=RED, linestyle="--", linewidth=1.2, label="节点目标")
    axes.plot(_days(chart["expected"]), [e[1] for e in chart["expected"]], color=GREY, linestyle=":", label="序时进度")
    axes.plot(_days(chart["actual"]), [a[1] for a in chart["actual"]], color=BLUE, linewidth=2, label="累计整治")
    for day, percent, required in steps:
        axes.annotate(f"{percent}%", (datetime.date.fromisoformat(day), required), fontsize=7, color=RED, ha="right")
    axes.set_xlim(datetime.date.fromisoformat(chart["start"]), datetime.date.fromisoformat(chart["end"]))
    axes.set_ylim(bottom=0)
    axes.set_ylabel("单位数（家）", **text)
    if title:
        axes.set_title(title, **text)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    axes.grid(True, color="#e5e7eb", linewidth=0.6)
    axes.tick_params(labelsize=8)
    axes.legend(prop=font, fontsize=8, loc="upper left", frameon=False)
    if font is not None:
        for legend_text in axes.get_legend().get_texts():
            legend_text.set_fontproperties(font)
            legend_text.set_fontsize(8)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
