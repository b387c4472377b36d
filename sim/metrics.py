"""KPI names and the small reductions behind them (ODD 7.13).

The model computes one row of KPIs per step (``sim.model.record``) and
collects it with :class:`KPICollector`; the column names come from the KPI
registry (``sim.kpis``), which the runner, the analysis and the app share.
This module holds the reductions that are not one-liners.
"""

from __future__ import annotations

import mesa
import numba
import numpy as np

from . import kpis
from .numerics import JIT
from .state import ASSOCIATION, ENTERPRISE

__all__ = ["KPI_COLUMNS", "ANTECEDENT_COLUMNS", "BY_TYPE_COLUMNS", "KPICollector", "gini", "summarize", "kpi_sums",
           "gini_of_sorted", "live_trust_sum", "link_counts"]

#: The model-level columns of ``datacollector.get_model_vars_dataframe()``, one row per step.
KPI_COLUMNS: tuple[str, ...] = kpis.names("cluster")

#: The five Morgan-Hunt antecedents, cluster means (also model columns).
ANTECEDENT_COLUMNS: tuple[str, ...] = kpis.names("antecedent")

#: Per-actor-type columns: ``<type>_<kpi>`` for type in enterprise, leading_firm.
BY_TYPE_KPIS: tuple[str, ...] = kpis.BY_TYPE
BY_TYPE_COLUMNS: tuple[str, ...] = kpis.names("by_type")


class KPICollector(mesa.DataCollector):
    """Mesa's DataCollector for model attributes named by strings, without a deep copy per value.

    Every reporter names a model attribute that the step's KPIs (``sim.model.record``)
    set to a Python int or float, which a copy cannot protect from change; Mesa's
    ``collect`` deep-copies each of them, every step. The first collection,
    which validates the reporters, and any collector with other kinds of
    reporters go through Mesa's own ``collect``;
    afterwards this appends the same values to the same places. The frames are
    identical (``tests/test_model.py``).
    """

    def collect(self, model) -> None:
        """Append this step's value of every reporter (see the class docstring)."""
        if not self._validated:  # the first collection: Mesa's, which validates; then decide the path
            super().collect(model)
            self._plain = not (self.agent_reporters or self.agenttype_reporters) and all(
                isinstance(r, str) for r in self.model_reporters.values())
            return
        if not self._plain:
            super().collect(model)
            return
        self._collection_steps.append(model.time)
        for var, attribute in self.model_reporters.items():
            self.model_vars[var].append(getattr(model, attribute))


def gini(x: np.ndarray) -> float:
    """Gini coefficient of ``x`` after shifting it to be non-negative (0 for fewer than 2 values)."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return 0.0
    return float(gini_of_sorted(np.sort(x)))  # the shift and the sums in one compiled pass


def summarize(frame, burn_in: float = 0.5) -> dict[str, float]:
    """Final and time-averaged value of every numeric column of a run's time series.

    Args:
        frame: one row per step (``datacollector.get_model_vars_dataframe()``).
        burn_in: share of the first steps left out of the time average.

    Returns:
        ``{"<col>_final": ..., "<col>_mean": ...}`` for every numeric column.
    """
    out: dict[str, float] = {}
    n = len(frame)
    if n == 0:
        return out
    start = int(n * burn_in)
    tail = slice(start, None) if start < n else slice(n - 1, None)  # as ``frame.iloc[...]``
    columns = list(frame.columns)
    if len(set(columns)) != len(columns):  # duplicated names: keep the column-by-column pandas path
        return _summarize_pandas(frame, tail)
    # The columns as 1-D numpy arrays, then per column exactly what ``Series.mean`` does
    # (pandas.core.nanops.nanmean: NaNs dropped, a 1-D numpy sum, divided by the count as
    # float64), so the values are bit-identical to ``float(frame[col].mean())`` at a fraction
    # of pandas' per-column cost.
    dtypes = frame.dtypes.tolist()
    arrays: dict[int, np.ndarray] = {}
    tail_rows = len(range(n)[tail])
    if all(dt in (np.int64, np.float64) for dt in dtypes) and tail_rows <= _NUMPY_BUFSIZE:
        # the model's frames: one float64 matrix, a cheap copy. pandas sums int64 columns as
        # float64 through numpy's cast buffer, which gives the same bits as summing the cast
        # values while the tail fits into one buffer.
        for i, values in enumerate(frame.to_numpy(dtype=np.float64).T):
            arrays[i] = values
    else:
        groups: dict[np.dtype, list[int]] = {}
        for i, dt in enumerate(dtypes):
            if isinstance(dt, np.dtype) and (dt.kind in "iu" or dt in (np.float32, np.float64)):
                groups.setdefault(dt, []).append(i)
        for dt, idx in groups.items():
            block = frame.iloc[:, idx].to_numpy()
            for j, i in enumerate(idx):
                arrays[i] = block[:, j]
    for i, col in enumerate(columns):
        values = arrays.get(i)
        if values is None:
            if np.issubdtype(dtypes[i], np.number):  # other numeric dtypes: the pandas path
                series = frame.iloc[:, i]
                out[f"{col}_final"] = float(series.iloc[-1])
                out[f"{col}_mean"] = float(series.iloc[tail].mean())
            continue
        out[f"{col}_final"] = float(values[-1])
        out[f"{col}_mean"] = _nanmean(values[tail])
    return out


#: Elements numpy casts at a time in a reduction (``np.getbufsize()``'s default).
_NUMPY_BUFSIZE = 8192


def _nanmean(values: np.ndarray) -> float:
    """``float(pandas.Series(values).mean())`` for a 1-D int or float32/64 array, bit for bit."""
    if values.size == 0:
        return float("nan")
    if values.dtype.kind in "iu":
        return float(values.sum(dtype=np.float64) / np.float64(values.size))
    mask = np.isnan(values)
    count = values.size
    if mask.any():
        values = np.where(mask, values.dtype.type(0), values)
        count -= int(mask.sum())
    if count == 0:
        return float("nan")
    return float(values.sum(dtype=values.dtype) / values.dtype.type(count))


def _summarize_pandas(frame, tail: slice) -> dict[str, float]:
    out: dict[str, float] = {}
    rows = frame.iloc[tail]
    for col in frame.columns:
        if not np.issubdtype(frame[col].dtype, np.number):
            continue
        out[f"{col}_final"] = float(frame[col].iloc[-1])
        out[f"{col}_mean"] = float(rows[col].mean())
    return out


# The KPI reductions, compiled: KPIs only, nothing feeds back into the model.

@numba.njit(fastmath={"reassoc", "nsz"}, **JIT)
def kpi_sums(firms, members, kind, cooperating, columns, revenue, energy, sums):
    """KPIs (``sim.model.record``): per-type sums over the firms of the step, in one pass.

    ``sums[g]`` for g = ``kind`` (0 enterprise, 1 leading firm): count,
    cooperators, then the sum of each array in ``columns``. Returns
    ``(members, free riders among them, sum of energy intensity * revenue)``.

    Compiled with reassociation allowed, so LLVM vectorizes the sums: they
    may differ from a left-to-right sum in the last bits. Only KPIs read them;
    nothing feeds back into the model.
    """
    n = firms.shape[0]
    # per row, whether it counts for enterprises (w0) or leading firms (w1); then branch-free passes
    # (a runtime row index ``sums[kind[i], ...]`` and a branch per row keep LLVM from vectorizing)
    w0 = np.empty(n)
    w1 = np.empty(n)
    count0 = count1 = coop0 = coop1 = energy_revenue = 0.0
    n_members = 0
    free_riders = 0
    for i in range(n):
        leading = kind[i] != ENTERPRISE
        a = 1.0 if (firms[i] & (not leading)) else 0.0
        b = 1.0 if (firms[i] & leading) else 0.0
        w0[i] = a
        w1[i] = b
        c = 1.0 if cooperating[i] else 0.0
        count0 += a
        count1 += b
        coop0 += a * c
        coop1 += b * c
        energy_revenue += (energy[i] * revenue[i]) if firms[i] else 0.0
        member = firms[i] & members[i]
        n_members += 1 if member else 0
        free_riders += 1 if (member & (not cooperating[i])) else 0
    sums[0, 0] += count0
    sums[1, 0] += count1
    sums[0, 1] += coop0
    sums[1, 1] += coop1
    for j in range(len(columns)):  # column by column: each a straight pass over one array
        col = columns[j]
        s0 = 0.0
        s1 = 0.0
        for i in range(n):
            s0 += col[i] if w0[i] > 0.0 else 0.0  # selects, not products: 0 * inf would be nan
            s1 += col[i] if w1[i] > 0.0 else 0.0
        sums[0, 2 + j] = s0
        sums[1, 2 + j] = s1
    return n_members, free_riders, energy_revenue


@numba.njit(fastmath={"reassoc", "nsz"}, **JIT)
def gini_of_sorted(xs):
    """Gini coefficient (``metrics.gini``) of ``xs`` sorted ascending, after shifting it to be non-negative.

    With ``v = xs - min(0, xs[0])``, ``C = sum of the running sums of v`` =
    ``sum_i (n - i) v_i``: ``G = (n + 1 - 2 C / sum v) / n`` (0 when sum v <= 0).
    A KPI only (summation order free, as in ``kpi_sums``).
    """
    n = xs.shape[0]
    shift = -min(0.0, xs[0])
    total = 0.0
    running = 0.0
    for i in range(n):
        v = xs[i] + shift
        total += v
        running += (n - i) * v
    return (n + 1 - 2 * (running / total)) / n if total > 0 else 0.0


@numba.njit(**JIT)
def link_counts(ua, ub, live_ff, buyer, degree, supplied):
    """KPIs ``links_per_firm``, ``supplier_links``, ``links_gini``: per node, its live firm-firm links into
    ``degree`` and those on which it buys into ``supplied`` (both zeroed by the caller), in one pass over the edges.
    ``buyer`` is each edge's buyer end, -1 on no trade link (``submodels.trade.edge_buyers``)."""
    for u in range(ua.shape[0]):
        if live_ff[u]:
            degree[ua[u]] += 1
            degree[ub[u]] += 1
            if buyer[u] >= 0:
                supplied[buyer[u]] += 1


@numba.njit(**JIT)
def live_trust_sum(ua, ub, active, dropped, kind, trust):
    """KPI ``mean_trust`` (``sim.model.record``): sum and count of trust on live edges observed by firms."""
    total = 0.0
    n = 0
    for u in range(ua.shape[0]):
        a, b = ua[u], ub[u]
        if active[a] and active[b] and not dropped[u]:
            if kind[a] != ASSOCIATION:
                total += trust[2 * u]
                n += 1
            if kind[b] != ASSOCIATION:
                total += trust[2 * u + 1]
                n += 1
    return total, n
