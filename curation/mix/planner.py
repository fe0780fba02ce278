"""The mixture planner: from weights, caps, floors, max_epochs, the budget and what each source holds, compute every
source's share, amount and epochs before any data moves. Pure arithmetic on a few numbers per source (no I/O).

Shares: the weights, normalized, then bounded by caps and floors (`max_share` / `min_share` per source and per
group) by water-filling: a bound that is violated is pinned at its limit and the rest of the output is shared
among the unpinned sources in proportion to their weights, until nothing is violated. Amounts: share x budget.
Epochs: amount / available; above `max_epochs` the plan is infeasible (we never silently move share to another
source: the mixture would no longer be the one asked for).

Score buckets (curation/mix/buckets.py): a source may be split into parts with fixed fractions of its amount;
each part's epochs (part amount / part available) must then stay within the source's `max_epochs`, and the plan
records per part its share of the output (fraction x source share), amount and epochs.

Infeasible plans raise `InfeasiblePlan` (a ConfigError: exit code 2) naming the binding constraint and what would
make the plan feasible (a smaller budget, a larger max_epochs, another cap).
"""

from __future__ import annotations

from dataclasses import dataclass

from curation.errors import ConfigError

EPS = 1e-9


class InfeasiblePlan(ConfigError):
    """The constraints cannot all hold: names the binding one. Exit code 2."""


@dataclass(frozen=True)
class PartInput:
    """One score bucket of a source: a fixed fraction of the source's amount, drawn from its own documents."""

    name: str
    fraction: float  # of the source's amount; the fractions of a source sum to 1
    available: int  # units of eligible documents in the bucket
    available_docs: int = 0


@dataclass(frozen=True)
class SourceInput:
    name: str
    weight: float
    available: int  # units of eligible documents
    group: str | None = None
    max_epochs: float = 4.0
    min_share: float | None = None
    max_share: float | None = None
    available_docs: int = 0
    parts: tuple[PartInput, ...] = ()  # score buckets; empty: the source is sampled as a whole


@dataclass(frozen=True)
class GroupInput:
    name: str
    max_share: float | None = None
    min_share: float | None = None


@dataclass(frozen=True)
class PartPlan:
    name: str
    fraction: float  # of the source's amount
    share: float  # of the output: fraction x source share
    amount: int
    epochs: float
    full_epochs: int
    remainder: int
    docs: int

    def as_dict(self) -> dict:
        return {
            "share": self.share,
            "source_fraction": self.fraction,
            "amount": self.amount,
            "epochs": self.epochs,
            "docs": self.docs,
        }


@dataclass(frozen=True)
class SourcePlan:
    name: str
    group: str
    share: float
    amount: int  # units to sample
    epochs: float  # amount / available
    full_epochs: int  # whole repeats of every document
    remainder: int  # units sampled from one more seeded pass
    docs: int  # expected documents (available docs x epochs, rounded)
    parts: tuple[PartPlan, ...] = ()  # score buckets (full_epochs and remainder then live in the parts)

    def as_dict(self) -> dict:
        return {"share": self.share, "amount": self.amount, "epochs": self.epochs, "docs": self.docs}


@dataclass(frozen=True)
class Plan:
    unit: str
    budget: int
    sources: tuple[SourcePlan, ...]
    group_shares: dict[str, float]

    def by_name(self) -> dict[str, SourcePlan]:
        return {s.name: s for s in self.sources}


def _fmt(n: float) -> str:
    return f"{round(n):,}"


def plan_shares(sources: list[SourceInput], groups: list[GroupInput]) -> dict[str, float]:
    """Normalized weights bounded by source and group caps and floors (water-filling, see module docstring)."""
    names = [s.name for s in sources]
    weight = {s.name: float(s.weight) for s in sources}
    group_of = {s.name: s.group or s.name for s in sources}
    ginfo = {g.name: g for g in groups}
    members: dict[str, list[str]] = {}
    for n in names:
        members.setdefault(group_of[n], []).append(n)
    floors = sum(s.min_share or 0 for s in sources)
    if floors > 1 + EPS:
        raise InfeasiblePlan(f"source floors (min_share) sum to {floors:.3f} > 1: lower them")
    gfloors = sum(g.min_share or 0 for g in groups)
    if gfloors > 1 + EPS:
        raise InfeasiblePlan(f"group floors (min_share) sum to {gfloors:.3f} > 1: lower them")
    pinned: dict[str, float] = {}
    share: dict[str, float] = {}
    for _ in range(4 * (len(names) + len(groups)) + 4):
        free = [n for n in names if n not in pinned]
        rest = 1.0 - sum(pinned.values())
        if rest < -EPS:
            raise InfeasiblePlan(f"floors leave no room: pinned shares sum to {1 - rest:.3f} > 1")
        wsum = sum(weight[n] for n in free)
        share = dict(pinned)
        for n in free:
            share[n] = rest * weight[n] / wsum if wsum > 0 else rest / len(free)
        if not free and abs(rest) > 1e-6:
            bound = ", ".join(f"{n} <= {pinned[n]:.3f}" for n in names)
            raise InfeasiblePlan(
                f"caps leave {rest:.3f} of the output unfilled ({bound}): raise a max_share or add a source"
            )
        # the largest violation first: pin it, then re-share the rest
        worst = None  # (excess, kind, name)
        for s in sources:
            n = s.name
            if n in pinned:
                continue
            if s.max_share is not None and share[n] > s.max_share + EPS:
                worst = max(worst or (0, "", ""), (share[n] - s.max_share, "src_max", n))
            if s.min_share is not None and share[n] < s.min_share - EPS:
                worst = max(worst or (0, "", ""), (s.min_share - share[n], "src_min", n))
        for g, ms in members.items():
            spec = ginfo.get(g)
            if spec is None or all(m in pinned for m in ms):
                continue
            total = sum(share[m] for m in ms)
            if spec.max_share is not None and total > spec.max_share + EPS:
                worst = max(worst or (0, "", ""), (total - spec.max_share, "grp_max", g))
            if spec.min_share is not None and total < spec.min_share - EPS:
                worst = max(worst or (0, "", ""), (spec.min_share - total, "grp_min", g))
        if worst is None:
            _check_bounds(share, sources, ginfo, members)
            return share
        _, kind, key = worst
        if kind == "src_max":
            pinned[key] = next(s.max_share for s in sources if s.name == key)
        elif kind == "src_min":
            pinned[key] = next(s.min_share for s in sources if s.name == key)
        else:
            spec = ginfo[key]
            target = spec.max_share if kind == "grp_max" else spec.min_share
            ms = members[key]
            fixed = sum(pinned.get(m, 0.0) for m in ms if m in pinned)
            free_m = [m for m in ms if m not in pinned]
            room = target - fixed
            if room < -EPS:
                raise InfeasiblePlan(
                    f"group '{key}': its pinned sources already take {fixed:.3f}, more than its "
                    f"{'max' if kind == 'grp_max' else 'min'}_share {target}: lower their min_share"
                )
            fw = sum(weight[m] for m in free_m)
            for m in free_m:
                pinned[m] = max(room, 0.0) * (weight[m] / fw if fw > 0 else 1 / len(free_m))
    raise InfeasiblePlan("caps and floors do not converge to a feasible split: check min_share / max_share")


def _check_bounds(
    share: dict[str, float], sources: list[SourceInput], ginfo: dict[str, GroupInput], members: dict[str, list[str]]
) -> None:
    """After water-filling: a bound that still fails conflicts with another (a group cap below a member's floor)."""
    for s in sources:
        if s.max_share is not None and share[s.name] > s.max_share + 1e-6:
            raise InfeasiblePlan(
                f"source '{s.name}' gets {share[s.name]:.4f} > its max_share {s.max_share}: "
                f"another floor forces it up; lower that floor or raise the cap"
            )
        if s.min_share is not None and share[s.name] < s.min_share - 1e-6:
            raise InfeasiblePlan(
                f"source '{s.name}' gets {share[s.name]:.4f} < its min_share {s.min_share}: "
                f"its group's max_share or other floors hold it down; lower min_share or raise "
                f"the group's max_share"
            )
    for g, ms in members.items():
        spec = ginfo.get(g)
        total = sum(share[m] for m in ms)
        if spec and spec.max_share is not None and total > spec.max_share + 1e-6:
            raise InfeasiblePlan(
                f"group '{g}' gets {total:.4f} > its max_share {spec.max_share}: its members' "
                f"min_share sum above the cap; lower them or raise the cap"
            )
        if spec and spec.min_share is not None and total < spec.min_share - 1e-6:
            raise InfeasiblePlan(
                f"group '{g}' gets {total:.4f} < its min_share {spec.min_share}: its members' "
                f"max_share caps hold it down; raise them or lower the floor"
            )


def _parts_of(s: SourceInput) -> list[tuple[str, float, int]]:
    """(label, fraction of the source, available units) of each part; a source without buckets is one part."""
    if not s.parts:
        return [(f"source '{s.name}'", 1.0, s.available)]
    return [(f"source '{s.name}', bucket '{p.name}'", p.fraction, p.available) for p in s.parts]


def plan_mixture(sources: list[SourceInput], groups: list[GroupInput], budget: int, unit: str) -> Plan:
    """Shares, amounts and epochs per source; raises InfeasiblePlan naming the binding constraint."""
    if budget <= 0:
        raise InfeasiblePlan(f"the budget must be > 0 {unit}, got {budget}")
    shares = plan_shares(sources, groups)
    # epochs: the source (or score bucket) that needs the most epochs relative to its max_epochs binds
    worst = None
    for s in sources:
        sh = shares[s.name]
        if sh <= 0:
            continue
        for label, frac, available in _parts_of(s):
            if frac <= 0:
                continue
            amount = frac * sh * budget
            if available <= 0:
                raise InfeasiblePlan(
                    f"{label} has no eligible data (0 {unit}; check its manifest, the license filters and its "
                    f"score range) but its share is {frac * sh:.4f}: give it weight 0 or fix the source"
                )
            epochs = amount / available
            if epochs > s.max_epochs + EPS and (worst is None or epochs / s.max_epochs > worst[0]):
                worst = (epochs / s.max_epochs, s, label, frac * sh, epochs, available)
    if worst is not None:
        _, s, label, sh, epochs, available = worst
        max_budget = min(
            x.max_epochs * avail / (frac * shares[x.name])
            for x in sources
            if shares[x.name] > 0
            for _, frac, avail in _parts_of(x)
            if frac > 0 and avail > 0
        )
        raise InfeasiblePlan(
            f"{label} needs {epochs:.2f} epochs for share {sh:.4g} of {_fmt(budget)} {unit} "
            f"({_fmt(sh * budget)} {unit} from {_fmt(available)} available) but max_epochs is {s.max_epochs:g}: "
            f"lower the budget to <= {_fmt(max_budget - 0.5)} {unit}, raise max_epochs to >= "
            f"{(int(epochs * 100) + 1) / 100:g}, or lower its share"
        )
    plans = []
    for s in sources:
        sh = shares[s.name]
        if s.parts:
            parts = []
            for p in s.parts:
                amount = round(p.fraction * sh * budget)
                full = int(amount // p.available) if p.available > 0 else 0
                rem = amount - full * p.available if p.available > 0 else 0
                ep = amount / p.available if p.available > 0 else 0.0
                parts.append(
                    PartPlan(p.name, p.fraction, p.fraction * sh, amount, ep, full, rem, round(p.available_docs * ep))
                )
            amount = sum(p.amount for p in parts)
            epochs = amount / s.available if s.available > 0 else 0.0
            plans.append(
                SourcePlan(
                    s.name, s.group or s.name, sh, amount, epochs, 0, 0, sum(p.docs for p in parts), tuple(parts)
                )
            )
            continue
        amount = round(sh * budget)
        full = int(amount // s.available) if s.available > 0 else 0
        rem = amount - full * s.available if s.available > 0 else 0
        epochs = amount / s.available if s.available > 0 else 0.0
        plans.append(
            SourcePlan(s.name, s.group or s.name, sh, amount, epochs, full, rem, round(s.available_docs * epochs))
        )
    group_shares: dict[str, float] = {}
    for p in plans:
        group_shares[p.group] = group_shares.get(p.group, 0.0) + p.share
    return Plan(unit, budget, tuple(plans), group_shares)
