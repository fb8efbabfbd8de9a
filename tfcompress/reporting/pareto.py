"""Pareto fronts: higher score is better, lower cost (size or latency) is better."""

from collections import defaultdict


def _dominates(a, b):
    """a = (cost, value) is at least as good as b on both axes and strictly better on one."""
    return a[0] <= b[0] and a[1] >= b[1] and (a[0] < b[0] or a[1] > b[1])


def pareto_indices(points):
    """Indices of the (cost, value) points no other point dominates; exact ties all stay."""
    return [
        i
        for i, point in enumerate(points)
        if not any(_dominates(other, point) for j, other in enumerate(points) if j != i)
    ]


def mark_pareto(rows):
    """Sets pareto_size / pareto_latency. Rows are compared only with rows scored by the same
    metric: an intent accuracy and an SST-2 accuracy are not on one scale."""
    for cost, flag in (("size_mb", "pareto_size"), ("latency_ms", "pareto_latency")):
        groups = defaultdict(list)
        for row in rows:
            if row.value is not None and getattr(row, cost) is not None:
                groups[row.metric].append(row)
        for group in groups.values():
            for i in pareto_indices([(getattr(r, cost), r.value) for r in group]):
                setattr(group[i], flag, True)
