"""What the four source papers claim, and what the model does under each claim.

Each :class:`Claim` turns a statement of a source paper into a paired comparison
of two shipped scenarios on one KPI with the direction the paper implies. The
main job (``run.py compare-main``) runs every scenario a claim needs, so
:func:`evaluate` reads its results: the paired difference (same seeds in both
arms) with an interval adjusted across the claims like its p-value (Holm), and a
verdict: *agrees* (the interval excludes 0 on the paper's side), *disagrees*
(on the other side) or *cannot tell*. A verdict other than *cannot tell* is
*narrow* when the interval's end nearer 0 lies within :data:`NARROW` of the
difference from 0: a few seeds more or a moved random path could turn it, so
such a claim names a dedicated paired run with more seeds (``replicates``) in
which ``tests/test_claims.py`` checks the verdict (``expected_more`` when more seeds settle what the main
job's cannot). ``expected`` records the verdict the model gave when the claim was last reviewed and ``why`` explains every verdict
other than *agrees*; ``tests/test_claims.py`` holds the model to them, and
``docs/CLAIMS.md`` is this table written from the main job
(``python -m analysis.claims results/main --write docs/CLAIMS.md``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import kpis as kpi_registry

from .document import Document, num
from .stats import _half_width, _paired_row, draws_of, holm, holm_levels, unit_means

__all__ = ["Claim", "CLAIMS", "GROUPS", "NARROW", "evaluate", "section", "markdown", "scenarios_needed",
           "narrow_claims"]

AGREES, DISAGREES, UNSURE, NOT_RUN = "agrees", "disagrees", "cannot tell", "not run"

#: A verdict is narrow when its interval's end nearer 0 is closer to 0 than this share of the difference (the
#: difference is then less than 1.5 half-widths of its interval).
NARROW = 1 / 3

#: Claim groups, in the order the table shows them.
GROUPS: tuple[str, ...] = ("mechanisms", "advantages", "marketing modes", "structures", "digitalization",
                           "internal marketing")


@dataclass(frozen=True)
class Claim:
    """One claim of a source paper as a paired comparison.

    Attributes:
        id: short label, unique.
        group: one of :data:`GROUPS`.
        source: paper and section (``003 §3.3(1)``: the seed file's number and its section).
        statement: what the paper says, paraphrased.
        treatment: scenario name of the arm the claim is about.
        reference: scenario name it is compared with (same seeds).
        kpi: KPI of the registry; each run's mean over the second half of the run is compared.
        sign: +1 when the paper implies the treatment is higher, -1 lower.
        expected: the verdict the model gave when the claim was last reviewed.
        why: what the model does and why, required unless ``expected`` is *agrees*.
        replicates: paired seeds of the dedicated run (the main job's seeds and more) in which
            ``tests/test_claims.py`` checks a narrow verdict, or a 'cannot tell' that might be owed to the main
            job's few seeds; 0 when the main job's seeds settle it.
        expected_more: the verdict of the dedicated run when it differs from ``expected`` (the main job's
            seeds cannot tell, more seeds can); empty when it is ``expected``.
    """

    id: str
    group: str
    source: str
    statement: str
    treatment: str
    reference: str
    kpi: str
    sign: int
    expected: str = AGREES
    why: str = ""
    replicates: int = 0
    expected_more: str = ""


CLAIMS: tuple[Claim, ...] = (
    # 003 §3.3: the three operating mechanisms
    Claim("M1", "mechanisms", "003 §3.3(1)",
          "Function–interest: nobody enjoys a free dinner; benefit follows contribution, so sharing the pool "
          "in proportion to contributions leaves fewer free riders than sharing it equally",
          "fi_proportional", "fi_equal", "free_rider_share", -1),
    Claim("M2", "mechanisms", "003 §3.3(1)",
          "Function–interest is the foundation of cluster marketing: with joint marketing members cooperate more",
          "baseline", "no_function_interest", "cooperation_rate", +1),
    Claim("M3", "mechanisms", "003 §3.3(2)",
          "Regulation: cluster culture and association rules define how members deal with each other, so "
          "members share more values",
          "baseline", "no_regulation", "shared_values", +1),
    Claim("M4", "mechanisms", "003 §3.3(2)",
          "Regulation: monitoring and sanctions of the association hold free riding down",
          "baseline", "no_regulation", "free_rider_share", -1),
    Claim("M5", "mechanisms", "003 §3.3(3)",
          "Contract: the contract mechanism is a powerful tool for efficient allocation: with contracts the "
          "cluster's profit is higher",
          "baseline", "no_contracts", "profit", +1, UNSURE,
          "Contracts protect the saving on orders between members (ODD 7.7, 7.16); without them members still "
          "trade at spot, and that saving is small beside the sales to the outside market, so the gain is small "
          "beside how profit varies between seeds: the main job's 20 seeds cannot tell it from 0; over 100 paired "
          "seeds it agrees, narrowly, which the claims test checks (benchmarks/results/journal.md).",
          replicates=100, expected_more=AGREES),
    Claim("M6", "mechanisms", "003 §5(2)",
          "The three mechanisms together work better than the contract mechanism alone (cooperation)",
          "baseline", "contracts_only", "cooperation_rate", +1),
    # 003 §3.4: the advantages of cluster marketing
    Claim("A1", "advantages", "003 §3.4(1)",
          "Joint marketing lets SMEs overcome their disadvantages: SMEs earn more with it",
          "baseline", "no_function_interest", "enterprise_profit", +1),
    Claim("A2", "advantages", "003 §3.4(2)",
          "A regional (cluster) brand helps the firms within the cluster: their revenue rises",
          "cluster_brand", "baseline", "revenue", +1, UNSURE,
          "The mode moves pool money from the members' product marketing to the collective brand (ODD 7.5, 7.9): "
          "the collective brand grows (claim B1), but a unit spent on it is spread over every firm, while the "
          "same unit spent on a member's own products builds that member's product brand; in a finite market "
          "(ODD 7.10) the two roughly offset, and revenue does not move."),
    Claim("A3", "advantages", "003 §3.4(3)",
          "Cluster marketing promotes cooperation between enterprises",
          "baseline", "no_function_interest", "mean_trust", +1),
    # 003 §4: the six marketing modes
    Claim("B1", "marketing modes", "003 §4.1",
          "Cluster brand: building and maintaining the brand as a public product strengthens it",
          "cluster_brand", "baseline", "brand_equity", +1),
    Claim("B2", "marketing modes", "003 §4.2",
          "Channel network sharing: spare channel capacity carries partners' complementary products and makes "
          "the channel more competitive (more sales)",
          "channel_sharing", "baseline", "revenue", +1, AGREES,
          "Shared channels raise the sales of firms with contracted partners in other product groups (ODD 7.9); "
          "in a finite market (ODD 7.10) the gain in revenue is small beside how revenue varies between seeds, so "
          "the main job's 20 seeds resolve it only narrowly; the claims test checks it over 100 paired seeds.",
          replicates=100),
    Claim("B3", "marketing modes", "003 §4.3",
          "Leading-enterprise traction: SMEs using the leader's brand and supplying it get room to grow",
          "leading_traction", "baseline", "enterprise_revenue", +1, UNSURE,
          "SMEs that sell under the leader's brand sell more, but in a finite market (ODD 7.10) they take those "
          "sales mostly from the SMEs of their product group that do not use the brand, so the SMEs' revenue "
          "taken together hardly moves; the leader gains the brand fees."),
    Claim("B4", "marketing modes", "003 §4.4",
          "Exhibition promotion raises the image of the cluster as a whole",
          "exhibition", "baseline", "brand_equity", +1),
    Claim("B5", "marketing modes", "003 §4.5",
          "Cooperative R&D strengthens the SMEs' technological innovation",
          "cooperative_rnd", "baseline", "brand_technological", +1),
    Claim("B6", "marketing modes", "003 §4.6",
          "A marketing alliance expands the market of its members (more sales)",
          "alliance", "baseline", "revenue", +1, UNSURE,
          "The alliance lowers the unit cost of pooled marketing; each product group's market is finite and firms "
          "sell their whole capacity, so more marketing only nudges the price: the gain in revenue is small beside "
          "how revenue varies between seeds, so the main job's 20 seeds cannot tell it from 0; over 100 paired "
          "seeds it agrees, which the claims test checks.", replicates=100, expected_more=AGREES),
    # 003 §3.1: the organizational structures
    Claim("S1", "structures", "003 §3.1(3)",
          "The linear chain becomes workable where information technology is used at a high level: a digital "
          "chain cooperates more than a chain without it",
          "chain_digital", "chain", "cooperation_rate", +1),
    Claim("S2", "structures", "003 §3.1(4)",
          "The network structure is open: more firms enter it than a star organized around one association",
          "baseline", "star", "entries", +1, UNSURE,
          "Outside firms enter when the cluster's expected profit beats the entry cost (ODD 7.12); the "
          "organization's openness is not part of that rule, so the network and the star admit about as "
          "many entrants."),
    Claim("S3", "structures", "003 §3.1(2); 002 §II",
          "The star has one centre through which the association exchanges information, and information "
          "coordinated through a centre arrives late: messages are delayed more in the star than in the network",
          "star", "baseline", "info_delay", +1, UNSURE,
          "Whether a message goes through the CDC (information.cdc_share) and how long the relay takes are levers "
          "of the information submodel, the same in every structure (ODD 7.2); the star's centre is the "
          "association, which does not relay the firms' messages, and a star's firms also talk straight to their "
          "trade partners (ODD 7.16). So the share of relayed messages, and with it the mean delay, is the same in "
          "both: neither the main job's 20 seeds nor 100 paired seeds, which the claims test checks, tell it "
          "from 0.", replicates=100),
    Claim("S4", "structures", "003 §3.1(2)",
          "In the star the association at the centre regularly disseminates ideas and makes the rules: members "
          "share more values than in a network without a centre",
          "star", "baseline", "shared_values", +1, UNSURE,
          "The culture pull that moves members' values (ODD 7.8) is the same in both, as every firm belongs to "
          "the one association either way, so firms' values end as close to the culture in the star as in the "
          "network. But a firm's shared values average its ties' agreement (ODD 7.3.1), and in the star every "
          "firm is tied to the association, whose values are its members' mean, the culture: that tie raises "
          "them, the more as a star's firms have few other ties, while in the network only a few members are "
          "tied to the association (ODD 7.1). So the centre raises the agreement firms see, not the values they "
          "hold. The gain is small beside how shared "
          "values vary between seeds, so the main job's 20 seeds cannot tell it from 0; over 100 paired seeds it "
          "agrees, which the claims test checks.", replicates=100, expected_more=AGREES),
    Claim("S5", "structures", "003 §3.1(2)",
          "The star is a more loosely organized structure than the hierarchy: a single layer around the centre, "
          "so firms have fewer ties to one another",
          "star", "hierarchical", "links_per_firm", -1),
    Claim("S6", "structures", "003 §3.1",
          "Clusters that use information technology less do not use the linear chain, while the hierarchy, star "
          "and network serve them: a chain without high-level IT cooperates less than the network",
          "chain", "baseline", "cooperation_rate", -1, UNSURE,
          "The model gives the chain no particular need for information technology: a message goes from a "
          "partner straight to the firm or through the CDC (ODD 7.2), never along the line of functions, so the "
          "chain's length costs nothing and the relay's loss and delay are those of any structure. Cooperation "
          "follows commitment, trust, disposition and the mechanisms' incentive (ODD 7.4), which the chain's "
          "sparser links (ODD 7.1) hardly move: neither the main job's 20 seeds nor 100 paired seeds, which the "
          "claims test checks, tell the plain chain from the network. The digital chain's gain (S1) is one "
          "digitalization brings to any structure (D2, D3).", replicates=100),
    # 002: digitalization of cluster management
    Claim("D1", "digitalization", "002 §II",
          "Information relayed through the coordinator is lost on the way; digitalization (the IT-actor) "
          "reduces the loss",
          "digitalization_stage5", "digitalization_stage1", "info_lost", -1),
    Claim("D2", "digitalization", "002 §II",
          "Digitalization makes information flows stable: partners communicate more",
          "digitalization_stage5", "digitalization_stage1", "communication", +1),
    Claim("D3", "digitalization", "002 §III",
          "Restructuring the cluster's ties through the road map builds trust between actors",
          "digitalization_stage5", "digitalization_stage1", "mean_trust", +1),
    # 001: internal marketing, trust and commitment
    Claim("I1", "internal marketing", "001 Table 1 (promotion: cluster culture)",
          "Promoting a common culture raises members' commitment to the cluster",
          "baseline", "no_regulation", "mean_commitment", +1),
    Claim("I2", "internal marketing", "001 Fig. 2 (Morgan & Hunt 1994)",
          "Committed members are less inclined to leave: where commitment is raised by culture, propensity to "
          "leave falls",
          "baseline", "no_regulation", "propensity_to_leave", -1),
)


def scenarios_needed(claims: Sequence[Claim] = CLAIMS) -> tuple[str, ...]:
    """Every scenario name the claims compare, in first-use order."""
    return tuple(dict.fromkeys(n for c in claims for n in (c.treatment, c.reference)))


def narrow_claims(claims: Sequence[Claim] = CLAIMS) -> tuple[Claim, ...]:
    """The claims that name a dedicated run with more seeds for their verdict."""
    return tuple(c for c in claims if c.replicates)


def _verdict(diff: float, low: float, high: float, sign: int) -> str:
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 <= high:
        return UNSURE
    return AGREES if math.copysign(1, diff) == sign else DISAGREES


def _unit_mean(x: pd.Series, draws: np.ndarray | None) -> float:
    """The mean over the units the difference is over (draw means when draws are shared)."""
    return float(pd.Series(unit_means(x.to_numpy(float), draws)).mean())


def evaluate(runs: pd.DataFrame, claims: Sequence[Claim] = CLAIMS, alpha: float = 0.05) -> pd.DataFrame:
    """Each claim's paired difference, interval and verdict on one result table.

    Args:
        runs: one row per run with ``scenario``, ``seed`` and ``<kpi>_mean`` (a result folder's
            ``results.parquet``).
        claims: the claims to evaluate.
        alpha: family-wise error rate of the Holm correction across the claims that could be evaluated.

    Returns:
        One row per claim: ``id, group, source, statement, treatment, reference, kpi, unit, sign, n_pairs
        (paired seeds; parameter draws when several replicates share one),
        reference_mean, treatment_mean, diff, ci_low, ci_high, p_value, p_holm, verdict, narrow, expected, why``;
        verdict *not run* where a scenario or KPI is missing or fewer than two seeds are shared; ``narrow`` (see
        :data:`NARROW`) only for *agrees* and *disagrees*.
    """
    rows = []
    for c in claims:
        col = f"{c.kpi}_mean"
        row = {"id": c.id, "group": c.group, "source": c.source, "statement": c.statement,
               "treatment": c.treatment, "reference": c.reference, "kpi": c.kpi,
               "unit": kpi_registry.kpi(c.kpi).unit, "sign": c.sign, "n_pairs": 0,
               "reference_mean": math.nan, "treatment_mean": math.nan, "diff": math.nan, "sd": math.nan,
               "p_value": math.nan, "expected": c.expected, "why": c.why}
        if col in runs.columns:
            treated = runs[runs["scenario"] == c.treatment].set_index("seed")
            a = treated[col]
            b = runs[runs["scenario"] == c.reference].set_index("seed")[col]
            common = a.index.intersection(b.index)
            draws = draws_of(treated.loc[common])
            # the paired test of analysis.stats: replicates sharing a parameter draw are one unit
            test = _paired_row((a.loc[common] - b.loc[common]).to_numpy(float), draws)
            if test["n_units"] >= 2:
                row.update(n_pairs=test["n_units"], reference_mean=_unit_mean(b.loc[common], draws),
                           treatment_mean=_unit_mean(a.loc[common], draws), diff=test["diff"], sd=test["sd_diff"],
                           p_value=test["p_value"])
        rows.append(row)
    table = pd.DataFrame(rows)
    ok = table["n_pairs"] >= 2
    p = table.loc[ok, "p_value"].to_numpy(float)
    table["p_holm"] = math.nan
    table["ci_alpha"] = math.nan
    if ok.any():
        table.loc[ok, "p_holm"] = holm(p)
        table.loc[ok, "ci_alpha"] = holm_levels(p, alpha)
    half = _half_width(table.rename(columns={"n_pairs": "n_units", "sd": "sd_diff"}))
    table["ci_low"] = table["diff"] - half
    table["ci_high"] = table["diff"] + half
    table["verdict"] = [(_verdict(r.diff, r.ci_low, r.ci_high, r.sign) if r.n_pairs >= 2 else NOT_RUN)
                        for r in table.itertuples()]
    near = np.minimum(table["ci_low"].abs(), table["ci_high"].abs())
    table["narrow"] = table["verdict"].isin([AGREES, DISAGREES]) & (near < NARROW * table["diff"].abs())
    order = ["id", "group", "source", "statement", "treatment", "reference", "kpi", "unit", "sign", "n_pairs",
             "reference_mean", "treatment_mean", "diff", "ci_low", "ci_high", "p_value", "p_holm", "verdict",
             "narrow", "expected", "why"]
    return table[order]


_CSS = {AGREES: "better", DISAGREES: "worse", UNSURE: "unsure", NOT_RUN: "unsure"}


def _rows(table: pd.DataFrame) -> list[list[tuple[str, str]]]:
    rows = []
    for r in table.itertuples():
        arrow = "higher" if r.sign > 0 else "lower"
        rows.append([(r.id, ""), (r.source, ""), (r.statement, ""),
                     (f"{r.treatment} vs {r.reference}: {r.kpi} {arrow}", ""),
                     (f"{num(r.diff)} [{num(r.ci_low)}, {num(r.ci_high)}] {r.unit}", _CSS[r.verdict]),
                     (f"{r.verdict} (narrow)" if r.narrow else r.verdict, _CSS[r.verdict]), (r.why or "", "")])
    return rows


_NARROW_NOTE = ("A verdict is marked *narrow* when the interval's end nearer 0 is closer to 0 than a third of the "
                "difference: a few more seeds, or another random path, could turn it into 'cannot tell'; each such "
                "claim is checked again over more paired seeds in the claims test (see 'why').")

COLUMNS = ("claim", "source", "what the paper says", "comparison (paper expects)",
           "difference [Holm-adjusted 95 % interval]", "model", "why")


def section(doc: Document, runs: pd.DataFrame) -> pd.DataFrame | None:
    """Add the claims section to a report when the runs hold a claim's scenarios; returns the table."""
    table = evaluate(runs)
    table = table[table["verdict"] != NOT_RUN]
    if table.empty:
        return None
    doc.h2("What the source papers claim")
    counts = table["verdict"].value_counts()
    doc.p("Each claim of the source papers that these runs can test is a paired comparison of two scenarios over "
          f"{int(table['n_pairs'].min())} or more common seeds (each run's KPI averaged over its second half). Of "
          f"{len(table)} claims the model agrees with {counts.get(AGREES, 0)}, disagrees with "
          f"{counts.get(DISAGREES, 0)} and cannot tell {counts.get(UNSURE, 0)} apart; 'why' explains each verdict other than agreement. Intervals are "
          "adjusted across the claims like their p-values (Holm). " + _NARROW_NOTE
          + f" Narrow here: {int(table['narrow'].sum())}.")
    doc.cells(COLUMNS, _rows(table))
    return table


def markdown(table: pd.DataFrame, source: str) -> str:
    """The claims table as the Markdown page ``docs/CLAIMS.md``."""
    doc = Document("Claims of the source papers and what the model does", Path("."))
    doc.p(f"Written by `python -m analysis.claims` from the main job's results ({source}); the claims are defined "
          "in `analysis/claims.py` and each group is tested in `tests/test_claims.py` against the verdicts below. "
          "A claim is a paired comparison of two shipped scenarios (same seeds; each run's KPI averaged over the "
          "second half of the run); "
          "the interval is the paired t-interval at the Holm level of its test, so it excludes 0 exactly when the "
          "difference is significant after correcting for the number of claims. " + _NARROW_NOTE + " Units are those of "
          "`sim/kpis.py` (one step is a month, MU is 100 k EUR).")
    for group in GROUPS:
        part = table[table["group"] == group]
        if part.empty:
            continue
        doc.h2(group.capitalize())
        doc.cells(COLUMNS, _rows(part))
    return doc.render_md()


def main(argv: Sequence[str] | None = None) -> int:
    """Print (or write) the claims table of a result folder."""
    from .io import load_results

    ap = argparse.ArgumentParser(prog="python -m analysis.claims", description=__doc__.splitlines()[0])
    ap.add_argument("folder", help="result folder of run.py compare-main (holds results.parquet)")
    ap.add_argument("--write", metavar="FILE", help="write the Markdown page here instead of printing it")
    args = ap.parse_args(argv)
    res = load_results(args.folder)
    text = markdown(evaluate(res.runs), f"{len(res.runs)} runs")
    if args.write:
        tmp = Path(args.write).with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.write)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
