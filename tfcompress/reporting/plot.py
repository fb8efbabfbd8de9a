"""report.png: accuracy vs size and accuracy vs p50 latency, with the Pareto fronts as steps."""

import io
import math
from collections import defaultdict

from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from tfcompress.atomic_write import write_bytes_atomic

MARKERS = {
    "keras": "o",
    "float": "s",
    "float16": "D",
    "dynamic": "^",
    "int8": "v",
    "int16x8": "P",
    "qat": "*",
}
OTHER_MARKER = "X"
LOG_SPAN = 10  # a log x axis once the largest value is more than 10x the smallest
# A label's rough extent as a fraction of the data range (7 pt text on a ~300 pt high panel).
LABEL_WIDTH, LABEL_LINE = 0.2, 0.04


def _colours(rows):
    runs = list(dict.fromkeys(row.run for row in rows))
    cmap = colormaps["tab10" if len(runs) <= 10 else "tab20"]
    return {run: cmap(i % cmap.N) for i, run in enumerate(runs)}


def _label(row, many_runs):
    return f"{row.run} {row.variant}" if many_runs else row.variant


def _normalised(values, log):
    values = [math.log10(v) for v in values] if log else list(values)
    low, span = min(values), (max(values) - min(values)) or 1.0
    return [(v - low) / span for v in values]


def _label_offsets(xs, ys, log_x):
    """Text offsets in points. Top to bottom, a label that would overlap one already placed
    moves down a line, so near-identical models (runs with equal sizes) stay readable."""
    nx, ny = _normalised(xs, log_x), _normalised(ys, False)
    placed, offsets = [], [None] * len(xs)
    for i in sorted(range(len(xs)), key=lambda i: -ny[i]):
        lines = 0
        while lines < 12 and any(
            abs(nx[i] - x) < LABEL_WIDTH and abs(ny[i] - lines * LABEL_LINE - y) < LABEL_LINE
            for x, y in placed
        ):
            lines += 1
        placed.append((nx[i], ny[i] - lines * LABEL_LINE))
        offsets[i] = (5, 4 - 10 * lines)
    return offsets


def _draw_points(ax, rows, cost, colours, log_x):
    many_runs = len(colours) > 1
    xs, ys = [getattr(row, cost) for row in rows], [row.value for row in rows]
    for row, x, y, offset in zip(rows, xs, ys, _label_offsets(xs, ys, log_x)):
        colour = colours[row.run]
        # Hollow = the score is the Keras model's, not measured on this export.
        face = colour if row.measured_on == "TFLite" or row.variant == "keras" else "none"
        marker = MARKERS.get(row.variant, OTHER_MARKER)
        ax.scatter(x, y, s=70, marker=marker, facecolors=face, edgecolors=colour, zorder=3)
        ax.annotate(
            _label(row, many_runs),
            (x, y),
            xytext=offset,
            textcoords="offset points",
            fontsize=7,
            color="0.25",
            # A label pushed down by its neighbours keeps a thin line to its point.
            arrowprops=dict(arrowstyle="-", color="0.7", lw=0.5) if offset[1] < 0 else None,
        )


def _draw_fronts(ax, rows, cost, flag):
    """One step line per metric: from each front point flat to the next cost, then up."""
    fronts = defaultdict(list)
    for row in rows:
        if getattr(row, flag):
            fronts[row.metric].append((getattr(row, cost), row.value))
    for points in fronts.values():
        points.sort()
        xs, ys = zip(*points)
        ax.step(xs, ys, where="post", color="0.4", linestyle="--", linewidth=1, zorder=2)


def _log_x(ax):
    # Plain numbers (1, 2, 5, 10, 20 ...) read faster than 10^0 ticks.
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _panel(ax, rows, cost, flag, colours, xlabel, ylabel):
    plotted = [r for r in rows if r.value is not None and getattr(r, cost) is not None]
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if not plotted:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
        return
    costs = [getattr(r, cost) for r in plotted]
    log_x = min(costs) > 0 and max(costs) > LOG_SPAN * min(costs)
    if log_x:
        _log_x(ax)
    _draw_points(ax, plotted, cost, colours, log_x)
    _draw_fronts(ax, plotted, cost, flag)
    ax.margins(x=0.12, y=0.12)  # room for the point labels


def _legend_handles(rows, colours):
    handles = [
        Line2D([], [], color=c, marker="o", linestyle="", label=r) for r, c in colours.items()
    ]
    for variant in dict.fromkeys(row.variant for row in rows):
        marker = MARKERS.get(variant, OTHER_MARKER)
        handles.append(Line2D([], [], color="0.3", marker=marker, linestyle="", label=variant))
    handles.append(Line2D([], [], color="0.4", linestyle="--", label="Pareto front"))
    if any(r.measured_on == "Keras" and r.variant != "keras" for r in rows):
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                marker="o",
                markerfacecolor="none",
                linestyle="",
                label="hollow: Keras score (export not evaluated)",
            )
        )
    return handles


def _ylabel(rows):
    metrics = sorted({row.metric for row in rows if row.metric is not None})
    return metrics[0] if len(metrics) == 1 else f"score ({', '.join(metrics)})"


def render_figure(rows, threads):
    figure = Figure(figsize=(13, 5.2), layout="constrained")
    FigureCanvasAgg(figure)
    size_ax, latency_ax = figure.subplots(1, 2)
    colours, ylabel = _colours(rows), _ylabel(rows)
    _panel(size_ax, rows, "size_mb", "pareto_size", colours, "size (MB)", ylabel)
    threads_text = f"{threads} thread{'s' * (threads != 1)}"
    latency_label = f"p50 latency (ms, {threads_text})"
    _panel(latency_ax, rows, "latency_ms", "pareto_latency", colours, latency_label, ylabel)
    size_ax.set_title(f"{ylabel} vs size")
    latency_ax.set_title(f"{ylabel} vs latency")
    figure.legend(handles=_legend_handles(rows, colours), loc="outside right upper", fontsize=8)
    return figure


def write_png_atomic(figure, path):
    """Render the PNG in memory, then write it atomically: readers never see half a PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    write_bytes_atomic(path, buffer.getvalue())
