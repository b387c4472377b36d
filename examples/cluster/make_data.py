"""Write the worked example's data: a synthetic but realistic machine-building cluster of 80 firms.

    python examples/cluster/make_data.py        (rewrites data/firms.csv, data/trade.csv, data/organization.csv)

Made up, not observed: four stages of a value chain (castings, machined parts, components, assembly), three
machine builders that lead, a regional engineering chamber and a technology institute, a supplier survey
answered by about three firms in four on a 1-7 scale, and trade volumes in thousand euros a year. The draws
use a fixed seed, so the files come out the same each time.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data"
STAGES = ["castings", "machined parts", "components", "assembly"]
#: SMEs per stage (the three leading firms are machine builders in assembly).
SME_PER_STAGE = [14, 24, 22, 17]
CHAMBER, INSTITUTE = "Regional Engineering Chamber", "Technology Institute"

PLACES = ["Northfield", "Ridgeway", "Elmbrook", "Stonebridge", "Ashford", "Millbank", "Riverside", "Oakhurst",
          "Westmoor", "Hollowell", "Eastgate", "Fairhaven", "Kingsley", "Brookfield", "Highcliff", "Lakeview",
          "Marlow", "Redcliff", "Southend", "Thornbury"]
TRADES = {
    "castings": ["Foundry", "Castings", "Metalworks", "Forge"],
    "machined parts": ["Precision", "Machining", "CNC Works", "Tooling", "Turned Parts"],
    "components": ["Hydraulics", "Drives", "Controls", "Bearings", "Electronics", "Gears"],
    "assembly": ["Systems", "Automation", "Assembly", "Engineering"],
}
FORMS = ["Ltd", "GmbH", "& Sons", "Co.", "AG", "s.r.o."]
LEADERS = [("Northfield Machine Tools AG", 820), ("Ridgeway Packaging Machines GmbH", 540),
           ("Elmbrook Agricultural Machinery Ltd", 410)]


def likert(rng: np.random.Generator, mean: float, n: int) -> np.ndarray:
    """Answers on 1-7 around ``mean`` (rounded, clipped)."""
    return np.clip(np.rint(rng.normal(mean, 1.0, n)), 1, 7).astype(int)


def main() -> None:
    rng = np.random.default_rng(20)
    rows = []
    used: set[str] = set()
    for stage, k in zip(STAGES, SME_PER_STAGE):
        for _ in range(k):
            while True:
                name = f"{rng.choice(PLACES)} {rng.choice(TRADES[stage])} {rng.choice(FORMS)}"
                if name not in used:
                    used.add(name)
                    break
            rows.append({"name": name, "kind": "enterprise", "employees": int(np.clip(rng.lognormal(3.5, 0.7), 5, 240)),
                         "product_group": stage})
    for name, staff in LEADERS:
        rows.append({"name": name, "kind": "leading_firm", "employees": staff, "product_group": "assembly"})
    n = len(rows)
    for i, r in enumerate(rows):
        r["id"] = f"F{i + 1:03d}"
        u = rng.random()
        r["association"] = CHAMBER if u < 0.6 or r["kind"] == "leading_firm" else (INSTITUTE if u < 0.75 else "")
        base = {"castings": 1.7, "machined parts": 1.1, "components": 0.9, "assembly": 0.7}[r["product_group"]]
        r["energy_intensity"] = round(float(np.clip(rng.normal(base, 0.15 * base), 0.3, 4.0)), 2)
    # survey: members of an association trust and commit more; a quarter did not answer
    member = np.array([r["association"] != "" for r in rows])
    answered = rng.random(n) < 0.75
    lift = np.where(member, 0.8, 0.0)
    survey = {
        "trust": likert(rng, 4.2, n),
        "commitment": likert(rng, 4.0, n),
        "shared_values": likert(rng, 4.5, n),
        "communication": likert(rng, 3.8, n),
        "opportunism": likert(rng, 2.8, n),
    }
    for key in ("trust", "commitment", "shared_values", "communication"):
        survey[key] = np.clip(np.rint(survey[key] + lift), 1, 7).astype(int)
    for i, r in enumerate(rows):
        for key, vals in survey.items():
            r[key] = int(vals[i]) if answered[i] else ""
    with (OUT / "firms.csv").open("w", newline="") as fh:
        cols = ["id", "name", "kind", "employees", "product_group", "association", "energy_intensity", *survey]
        w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)

    # trade: each SME buys from 2-3 firms of the stage before; the machine builders from 8-12 SMEs of every stage
    stage_of = np.array([STAGES.index(r["product_group"]) for r in rows])
    smes = np.array([r["kind"] == "enterprise" for r in rows])
    links: dict[tuple[int, int], None] = {}
    for b in range(n):
        if smes[b] and stage_of[b] > 0:
            pool = np.flatnonzero(smes & (stage_of == stage_of[b] - 1))
            for s in rng.choice(pool, size=int(rng.integers(2, 4)), replace=False):
                links[(int(s), b)] = None
        elif not smes[b]:
            pool = np.flatnonzero(smes & (stage_of >= 1))
            for s in rng.choice(pool, size=int(rng.integers(8, 13)), replace=False):
                links[(int(s), b)] = None
    # a little subcontracting between machine shops of the same stage (validate notes it)
    shops = np.flatnonzero(smes & (stage_of == 1))
    for _ in range(3):
        s, b = rng.choice(shops, size=2, replace=False)
        if (int(b), int(s)) not in links:
            links[(int(s), int(b))] = None
    staff = np.array([r["employees"] for r in rows], dtype=float)
    with (OUT / "trade.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["supplier", "buyer", "volume", "contract"])
        for s, b in links:
            volume = round(float(rng.lognormal(np.log(4.0 * np.sqrt(staff[b])), 0.6)))  # thousand euros a year
            contract = "yes" if rng.random() < 0.2 + 0.3 * (volume > 40) else "no"
            w.writerow([rows[s]["id"], rows[b]["id"], max(volume, 1), contract])

    # organization: the chamber and the institute coordinate their members; each machine builder five SMEs of
    # the later stages that market under its brand
    with (OUT / "organization.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["coordinator", "member"])
        for r in rows:
            if r["association"]:
                w.writerow([r["association"], r["id"]])
        brand_pool = np.flatnonzero(smes & (stage_of >= 2))
        for b in np.flatnonzero(~smes).tolist():
            for s in sorted(rng.choice(brand_pool, size=5, replace=False).tolist()):
                w.writerow([rows[b]["id"], rows[s]["id"]])


if __name__ == "__main__":
    main()
