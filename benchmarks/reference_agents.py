"""The agents of the naive Mesa reference (:mod:`benchmarks.reference`): firms and associations one at a time.

Each method is one phase of the step for one agent, looping over its neighbours; the
model calls them in ``ClusterModel``'s order with ``shuffle_do``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mesa.discrete_space import FixedAgent

from sim.state import LEADING
from sim.submodels.decision import CAUTION
from sim.submodels.demography import entry_hurdle
from sim.submodels.function_interest import DISCOUNT
from sim.submodels.market import PAYOFF_MEMORY
from sim.submodels.regulation import STRIKE_MEMORY
from sim.submodels.trust import INFORMATION_SLOPE, OUTCOME_SLOPE

if TYPE_CHECKING:
    from .reference import ReferenceModel

__all__ = ["Actor", "Association", "Firm", "Link", "Tie", "sigmoid", "similarity", "supplier_of"]


def sigmoid(x: float) -> float:
    """Logistic function of one number."""
    if x < -700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def similarity(a: list[float], b: list[float]) -> float:
    """Shared values of two value profiles, in [0, 1]."""
    dist = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)) / len(a))
    return min(1.0, max(0.0, 1.0 - dist))


class Tie:
    """What an observer holds about one partner (one direction of a link)."""

    __slots__ = ("trust", "comm", "opp", "inbox", "arrived", "news", "link")

    def __init__(self, trust: float, link: "Link"):
        self.trust = trust
        self.comm = 0.0
        self.opp = 0.0
        self.inbox: list[tuple[int, float, float]] = []  # (arrival step, news, freshness) of messages on their way
        self.arrived = False
        self.news = 0.0  # what the messages arrived this step tell
        self.link = link


def supplier_of(s, b) -> bool:
    """Whether firm ``s`` supplies firm ``b`` (the value chain of ``sim/submodels/trade.py``)."""
    if b.kind == LEADING:
        return s.kind != LEADING
    if s.kind == LEADING:
        return False
    return s.product_group == b.product_group - 1


class Link:
    """What both ends of a link share: the contract and its shared values."""

    __slots__ = ("contract_left", "shared_values", "breach_of", "order")

    def __init__(self):
        self.contract_left = 0
        self.order = 0.0  # the order it carries this step (placed by its buyer)
        self.shared_values = 0.0
        self.breach_of: dict[int, bool] = {}  # unique_id -> breached under contract this step


class Actor(FixedAgent):
    """A node of the network: a firm or an association."""

    is_association = False

    def __init__(self, model: "ReferenceModel", cell, values: list[float]):
        super().__init__(model)
        self.cell = cell
        self.values = values
        self.ties: dict[int, Tie] = {}
        self.active = True
        self.capacity = 0.0
        self.cooperating = False
        self.commitment = model.params.trust.commitment_initial
        self.partner_commitment = self.commitment
        self.mean_trust = model.params.trust.initial
        self.benefit = 0.0
        self.sunk = 0.0
        self.exposure = 0.0
        self.contracts = 0
        self.shared_values = self.communication = self.opportunistic_behaviour = 0.0
        self.termination_costs = self.relationship_benefits = 0.0
        self.functional_conflict = self.decision_uncertainty = 0.0
        self.news = self.staleness = self.acquiescence = 0.0

    # ------------------------------------------------------------ neighbours
    def partners(self) -> list["Actor"]:
        """Live neighbours, read through the network grid."""
        return [a for a in self.cell.neighborhood.agents if a.active]

    # ------------------------------------------------------------ information
    def send_messages(self) -> None:
        """Send one message to each live partner with some chance, directly or via the CDC."""
        m = self.model
        info = m.params.information
        for other in self.partners():
            if self.random.random() >= m.message_rate:
                continue
            relayed = self.random.random() < info.cdc_share
            loss = info.relay_loss * (1.0 - info.digitalization) if relayed else info.direct_loss
            if self.random.random() < loss:
                m.info_lost += 1
                continue
            delay = m.relay_delay if relayed else 0
            other.ties[self.unique_id].inbox.append((m.t + delay, self.news, 1.0 / (1.0 + delay)))

    def read_messages(self) -> None:
        """Collect the messages that arrive now; update communication."""
        t, mem = self.model.t, self.model.params.trust.memory
        live = {a.unique_id for a in self.partners()}
        stale, received = 0.0, 0
        for uid, tie in self.ties.items():
            now = [msg for msg in tie.inbox if msg[0] == t]
            tie.arrived = bool(now)
            if tie.arrived:
                tie.inbox = [msg for msg in tie.inbox if msg[0] != t]
                tie.news = sum(msg[1] for msg in now) / len(now)
            if uid in live:
                tie.comm += mem * (float(tie.arrived) - tie.comm)
                if tie.arrived:
                    stale += 1.0 - sum(msg[2] for msg in now) / len(now)
                    received += 1
        if received:
            self.staleness += mem * (stale / received - self.staleness)

    def measure_exposure(self) -> None:
        """Share of my partners that heard from me this step."""
        partners = self.partners()
        heard = sum(p.ties[self.unique_id].arrived for p in partners)
        self.exposure = heard / len(partners) if partners else 0.0

    # ------------------------------------------------------------ trust and commitment
    def update_trust(self) -> None:
        """Antecedents from my ties, then trust on each live tie."""
        m, t = self.model, self.model.params.trust
        partners = self.partners()
        own_sv = similarity(self.values, m.culture)
        self.contracts = sum(1 for p in partners if self.ties[p.unique_id].link.contract_left > 0)
        if partners:
            ties = [self.ties[p.unique_id] for p in partners]
            for p, tie in zip(partners, ties):
                tie.link.shared_values = similarity(self.values, p.values)
            self.shared_values = 0.5 * sum(x.link.shared_values for x in ties) / len(ties) + 0.5 * own_sv
            self.communication = sum(x.comm for x in ties) / len(ties)
            self.opportunistic_behaviour = sum(x.opp for x in ties) / len(ties)
            for tie in ties:
                target = sigmoid(t.bias + t.w_shared_values * tie.link.shared_values + t.w_communication * tie.comm - t.w_opportunism * tie.opp)
                tie.trust = min(1.0, max(0.0, tie.trust + t.speed * (target - tie.trust)))
        else:
            self.shared_values = own_sv
            self.communication = self.opportunistic_behaviour = 0.0
        cap = max(self.capacity, 1e-9)
        c = self.contracts
        self.termination_costs = 0.6 * c / (c + 2.0) + 0.4 * self.sunk / (self.sunk + cap)
        perceived = max(0.0, self.benefit * (0.5 + m.params.internal_marketing.product))
        self.relationship_benefits = perceived / (perceived + 0.5)

    def update_commitment(self) -> None:
        """Mean trust, commitment to the cluster and to partners, the outcomes."""
        m, t = self.model, self.model.params.trust
        partners = self.partners()
        if partners:
            self.mean_trust = sum(self.ties[p.unique_id].trust for p in partners) / len(partners)
        else:
            self.mean_trust = m.trust_fallback
        common = t.commitment_bias + t.w_benefits * self.relationship_benefits + t.w_values_commitment * self.shared_values + t.w_trust_commitment * self.mean_trust
        self.commitment += t.commitment_speed * (sigmoid(common + t.w_termination_costs * self.termination_costs) - self.commitment)
        partner_tc = self.contracts / (self.contracts + 2.0)
        self.partner_commitment += t.commitment_speed * (sigmoid(common + t.w_termination_costs * partner_tc) - self.partner_commitment)
        self.functional_conflict = sigmoid(OUTCOME_SLOPE * (self.mean_trust - 0.5))
        self.decision_uncertainty = sigmoid(-OUTCOME_SLOPE * (self.mean_trust - 0.5) - INFORMATION_SLOPE * (0.5 - self.staleness))
        self.acquiescence = sigmoid(OUTCOME_SLOPE * (self.commitment - 0.5))

    # ------------------------------------------------------------ opportunism observed
    def observe_partners(self) -> None:
        """Update the opportunism I saw in each live partner (reports and contract trade)."""
        mem = self.model.params.trust.memory
        for p in self.partners():
            tie = self.ties[p.unique_id]
            under_contract = p.unique_id in tie.link.breach_of
            if not (tie.arrived or under_contract):
                continue
            seen = float(tie.link.breach_of[p.unique_id]) if under_contract else tie.news  # the news as it was sent
            tie.opp += mem * (seen - tie.opp)

    def set_news(self) -> None:
        """What my next messages tell: my conduct of this step."""
        self.news = self.unfairness if self.is_association else float(not self.cooperating)


class Association(Actor):
    """Trade association: pools contributions, collects dues and fines, holds the culture."""

    is_association = True

    def __init__(self, model, cell):
        super().__init__(model, cell, [0.5] * model.params.firms.values_dim)
        self.members: list[Firm] = []
        self.unfairness = 0.0
        self.treasury = 0.0

    def hold_culture(self) -> None:
        """My values are my members' mean (the cluster culture when I have none)."""
        live = [f for f in self.members if f.active]
        if live:
            self.values = [sum(f.values[k] for f in live) / len(live) for k in range(len(self.values))]
        else:
            self.values = list(self.model.culture)

    def share_pool(self) -> None:
        """Spend the joint-marketing pool: the brand, and marketing for the products of members not exposed."""
        m = self.model
        fi = m.params.mechanisms.function_interest
        live = [f for f in self.members if f.active]
        pool = sum(f.contribution for f in live)
        total = (1.0 + fi.subsidy) * pool
        brand = m.brand_share * total
        products = total - brand
        eligible = [f for f in live if not f.detected]
        if fi.sharing == "equal":
            for f in eligible:
                f.share = products / len(eligible)
            if not eligible:
                brand += products
        elif pool > 0:
            for f in eligible:
                f.share = products * f.contribution / pool
        m.pool_in += pool
        m.brand_spend += brand
        for f in live:
            f.cash -= f.contribution

    def judge_members(self) -> None:
        """Unfairness: the share of members who free-rode unexposed."""
        live = [f for f in self.members if f.active]
        bad = sum(1 for f in live if not f.cooperating and not f.detected)
        self.unfairness = bad / len(live) if live else 0.0

    def regulate(self) -> None:
        """Dues and fines into the treasury, sanctions, strikes; spend the treasury on the brand."""
        m = self.model
        reg = m.params.mechanisms.regulation
        for f in [f for f in self.members if f.active]:
            offender = f.detected or f.caught
            pays = self.random.random() < f.acquiescence  # compliance with the association's rules
            caught = not pays and self.random.random() < reg.monitoring_prob
            dues = reg.dues * (0.5 + m.params.internal_marketing.price) * f.capacity if pays or caught else 0.0
            fine = reg.sanction * f.capacity if offender or caught else 0.0
            f.cash -= dues + fine
            f.dues_paid = dues
            self.treasury += dues + fine
            if offender:
                f.reputation = max(0.0, f.reputation - reg.reputation_penalty)
            f.strikes = STRIKE_MEMORY * f.strikes + offender
            if f.strikes >= reg.expulsion_strikes:
                m.to_expel.append(f)
        m.treasury_spend += self.treasury
        self.treasury = 0.0


class Firm(Actor):
    """An enterprise or leading firm."""

    def __init__(self, model, cell, kind: int, association: Association | None):
        rnd = model.random
        f = model.params.firms
        values = [min(1.0, max(0.0, 0.5 + rnd.gauss(0.0, f.values_spread))) for _ in range(f.values_dim)]
        super().__init__(model, cell, values)
        self.kind = kind
        self.association = association
        sigma = f.capacity_sigma
        cap = math.exp(rnd.gauss(-0.5 * sigma**2, sigma)) if sigma > 0 else 1.0
        self.capacity = f.leading_capacity if kind == LEADING else cap
        self.resources = f.resources * self.capacity
        self.disposition = min(1.0, max(0.0, rnd.gauss(f.cooperativeness, f.cooperativeness_sd)))
        self.reputation = 1.0
        self.strikes = 0.0
        self.energy_intensity = max(0.2 * f.energy_intensity, rnd.gauss(f.energy_intensity, f.energy_intensity_sd))
        self.product_group = rnd.randrange(f.n_product_groups)
        self.payoff = self.profit = 0.0
        self.payoff_ema = entry_hurdle(model.params)  # smoothed payoff, what imitation compares
        self.last_share = 0.0
        self.stock = 0.0  # the product brand the pool's marketing built
        self.new_disposition = self.disposition

    @property
    def member(self) -> bool:
        return self.association is not None

    def start_step(self) -> None:
        """Clear this step's accounts."""
        self.cash = self.share = self.surplus = self.contribution = self.dues_paid = 0.0
        self.detected = self.caught = False

    # ------------------------------------------------------------ decisions
    def decide(self) -> None:
        """Cooperate with a probability set by commitment, trust, disposition and incentives."""
        m = self.model
        p = m.params
        mech, lp = p.mechanisms, p.learning
        self.p_detect = 1.0 - (1.0 - m.monitoring) * (1.0 - mech.function_interest.reputation_detection * self.exposure)
        gain = stakes = 0.0
        fine = mech.regulation.sanction * self.capacity if mech.regulation.enabled else 0.0
        if mech.function_interest.enabled and self.member:
            fi = mech.function_interest
            cap = max(self.capacity, 1e-9)
            c = fi.contribution * self.capacity
            s = (1.0 + fi.subsidy) * (1.0 - m.brand_share) * c
            value = p.market.brand_premium / (p.market.brand_decay + DISCOUNT) * m.prices[self.product_group] * cap * (1.0 - self.stock)
            kept = 0.0
            if fi.sharing == "equal":
                s /= max(1, len([f for f in self.association.members if f.active]))
            ret = value * (1.0 - math.exp(-m.multiplier * s / cap))
            if fi.sharing == "equal":
                care = 1.0 - CAUTION * self.decision_uncertainty
                ret = care * ret
                kept = care * self.p_detect * value * (1.0 - math.exp(-m.multiplier * self.last_share / cap))
            gain += ret - c + kept
            stakes += ret + c + kept
            gain += self.p_detect * fine
            stakes += self.p_detect * fine
        if mech.contract.enabled and self.contracts > 0:
            k = mech.contract
            t = m.params.trade
            end = (1.0 - self.functional_conflict) * sigmoid(k.renewal_slope * (k.renewal_threshold - self.mean_trust))
            loss = k.enforcement_prob * (k.breach_penalty + end * 0.5 * t.saving * k.duration / 2.0)
            orders = self.contracts * t.input_share * self.capacity
            gain += orders * (loss - k.breach_gain)
            stakes += orders * (loss + k.breach_gain)
            if self.member:
                gain += k.enforcement_prob * fine
                stakes += k.enforcement_prob * fine
        x = lp.bias + lp.w_commitment * self.commitment + lp.w_trust * self.mean_trust + lp.w_disposition * self.disposition + lp.w_incentive * (gain / stakes if stakes > 0 else 0.0)
        self.propensity = sigmoid(x)
        self.cooperating = self.random.random() < self.propensity

    def contribute(self) -> None:
        """Pay into the pool when cooperating; a free rider may be exposed."""
        fi = self.model.params.mechanisms.function_interest
        if not self.member:
            return
        if self.cooperating:
            self.contribution = fi.contribution * self.capacity
        elif self.random.random() < self.p_detect:
            self.detected = True

    def contracted_suppliers(self):
        """My partners that supply me under a running contract."""
        return [q for q in self.partners() if not q.is_association and supplier_of(q, self)
                and self.ties[q.unique_id].link.contract_left > 0]

    def place_orders(self) -> None:
        """Spread my inputs over my contracted suppliers by trust times reputation (orders on the links)."""
        m = self.model
        sup = self.contracted_suppliers()
        w = [self.ties[q.unique_id].trust * q.reputation for q in sup]
        total = sum(w)
        for q, wq in zip(sup, w):
            value = m.params.trade.input_share * self.capacity * m.prices[q.product_group] * wq / total if total > 0 else 0.0
            self.ties[q.unique_id].link.order = value

    def check_contracts(self) -> None:
        """Trade on, enforce, age, renew and sign the contracts of my links to higher-id firms."""
        m = self.model
        k = m.params.mechanisms.contract
        for p in self.partners():
            if p.is_association or p.unique_id < self.unique_id:
                continue
            link = self.ties[p.unique_id].link
            link.breach_of = {}
            pair_trust = 0.5 * (self.ties[p.unique_id].trust + p.ties[self.unique_id].trust)
            size = link.order if link.contract_left > 0 else 0.0
            link.order = 0.0
            rep = min(self.reputation, p.reputation)
            caught = False
            caught_here: list[tuple] = []  # (breacher, wronged partner) caught on this link
            if link.contract_left > 0:
                link.breach_of = {self.unique_id: not self.cooperating, p.unique_id: not p.cooperating}
                tc = k.transaction_cost * size * (1.0 - 0.5 * pair_trust)
                for x, y in ((self, p), (p, self)):
                    value = 0.0 if link.breach_of[y.unique_id] else 0.5 * m.params.trade.saving * size
                    x.cash += value - tc + k.breach_gain * size * (link.breach_of[x.unique_id] - link.breach_of[y.unique_id])
                    x.surplus += value
                m.breaches += link.breach_of[self.unique_id] + link.breach_of[p.unique_id]
                for x, y in ((self, p), (p, self)):
                    if link.breach_of[x.unique_id] and self.random.random() < k.enforcement_prob:
                        x.caught = caught = True
                        caught_here.append((x, y))
                        x.cash -= k.breach_penalty * size
                        y.cash += k.breach_penalty * size
            if caught:
                # the wronged partner chooses whether to end it (trust, functional conflict)
                stay = 1.0
                for x, y in caught_here:
                    stay *= 1.0 - (1.0 - y.functional_conflict) * sigmoid(k.renewal_slope * (k.renewal_threshold - y.ties[x.unique_id].trust))
                if self.random.random() >= stay:
                    link.contract_left = 0
                    continue
            care = 1.0 - CAUTION * max(self.decision_uncertainty, p.decision_uncertainty)
            half = 0.5 * m.params.trade.saving
            worth = max(0.0, 1.0 - k.transaction_cost * (1.0 - 0.5 * pair_trust) / half) if half > 0 else 0.0
            if link.contract_left > 0:
                link.contract_left -= 1
                if link.contract_left == 0:
                    if self.random.random() < sigmoid(k.renewal_slope * (pair_trust - k.renewal_threshold)) * rep * care * worth:
                        link.contract_left = k.duration
                    continue
            if (link.contract_left == 0 and (supplier_of(self, p) or supplier_of(p, self))
                    and self.random.random() < k.formation_rate * pair_trust * rep * care * worth):
                link.contract_left = k.duration

    # ------------------------------------------------------------ market and learning
    def build_stock(self) -> None:
        """My product brand decays and grows by the marketing the pool bought for me."""
        m = self.model
        kept = self.stock * (1.0 - m.params.market.brand_decay)
        self.stock = kept + (1.0 - kept) * (1.0 - math.exp(-m.multiplier * self.share / max(self.capacity, 1e-9)))

    @property
    def lift(self) -> float:
        """Brand premium of my output: cluster brand (members; its energy aspect as far as my energy use is low),
        product brand, corporate brand (leading firms)."""
        m = self.model
        tech, _, _, energy = m.market.brand
        eta = min(1.0, max(0.0, 1.5 - self.energy_intensity / m.energy_reference))
        cluster = 0.5 * (tech + eta * energy) if self.member else 0.0
        return m.params.market.brand_premium * (cluster + self.stock + (m.market.corporate if self.kind == LEADING else 0.0))

    def earn(self) -> None:
        """Revenue with the brand premium, profit, resources, perceived benefits, sunk investment."""
        m = self.model
        p = m.params
        mk = p.market
        lift = self.lift
        base = self.capacity * m.prices[self.product_group]
        self.revenue = base * (1.0 + lift)
        brand_revenue = base * lift
        unit_cost = 1.0 - mk.margin + mk.energy_price * self.energy_intensity + p.firms.fixed_cost
        gross = self.revenue - unit_cost * self.capacity
        self.profit = gross + self.cash - m.digitalization_cost
        self.resources += self.profit
        cap = max(self.capacity, 1e-9)
        self.payoff = self.profit / cap
        self.payoff_ema += PAYOFF_MEMORY * (self.payoff - self.payoff_ema)
        received = (self.surplus + brand_revenue) / cap
        self.benefit += p.trust.memory * (received - self.benefit)
        self.sunk = 0.95 * self.sunk + self.contribution + self.dues_paid
        self.last_share = self.share
        if self.cooperating:
            self.reputation += 0.2 * self.exposure * (1.0 - self.reputation)

    def pull_culture(self) -> None:
        """Move my values towards the cluster culture."""
        m = self.model
        rate = min(1.0, m.params.mechanisms.regulation.culture_strength * (0.5 + m.params.internal_marketing.promotion))
        self.values = [v + rate * (c - v) for v, c in zip(self.values, m.culture)]

    def imitate(self) -> None:
        """Maybe compare payoffs with a random firm partner and plan to move towards its disposition."""
        m = self.model
        lp = m.params.learning
        self.new_disposition = self.disposition
        if self.random.random() >= lp.imitation:
            return
        firms = [a for a in self.cell.neighborhood.agents if not a.is_association]
        if not firms:
            return
        other = self.random.choice(firms)
        if not other.active:
            return
        prob = min(1.0, max(0.0, (other.payoff_ema - self.payoff_ema) / m.payoff_spread))
        if self.random.random() < prob:
            self.new_disposition = self.disposition + lp.step_size * (other.disposition - self.disposition)

    def adopt(self) -> None:
        """Take the planned disposition (imitation is synchronous)."""
        self.disposition = self.new_disposition

    def leave(self) -> None:
        """Exit: inactive for the partners' loops, removed from the model."""
        self.active = False
        self.remove()
