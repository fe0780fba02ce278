"""Mixture planner and sampler: shares under caps and floors, each infeasible kind, epochs, exact sampling."""

from __future__ import annotations

import re

import numpy as np
import pytest

from curation.errors import ConfigError
from curation.mix.planner import GroupInput, InfeasiblePlan, SourceInput, plan_mixture, plan_shares
from curation.mix.sampler import (
    Selection,
    enforce_caps,
    fill_to,
    interleave,
    select_source,
)


def src(name, weight, available=1_000_000, **kw):
    return SourceInput(name=name, weight=weight, available=available, available_docs=available // 100, **kw)


# --------------------------------------------------------------------------------------------- shares


def test_feasible_plan_normalizes_weights_and_computes_epochs():
    plan = plan_mixture([src("general", 85), src("domain", 15, available=200_000)], [], 1_000_000, "tokens")
    p = plan.by_name()
    assert p["general"].share == pytest.approx(0.85) and p["domain"].share == pytest.approx(0.15)
    assert p["general"].amount == 850_000 and p["domain"].amount == 150_000
    assert p["general"].epochs == pytest.approx(0.85) and p["domain"].epochs == pytest.approx(0.75)
    assert p["domain"].full_epochs == 0 and p["domain"].remainder == 150_000
    assert sum(s.amount for s in plan.sources) == 1_000_000


def test_upsample_plan_splits_whole_repeats_and_remainder():
    plan = plan_mixture([src("a", 1, available=400), src("b", 1, available=10_000)], [], 2_000, "tokens")
    a = plan.by_name()["a"]
    assert (a.amount, a.full_epochs, a.remainder, a.epochs) == (1_000, 2, 200, 2.5)


def test_source_cap_pins_and_redistributes_by_weight():
    shares = plan_shares([src("a", 2, max_share=0.3), src("b", 1), src("c", 3)], [])  # a: 1/3 > 0.3
    assert shares["a"] == pytest.approx(0.3)
    assert shares["b"] == pytest.approx(0.7 / 4) and shares["c"] == pytest.approx(2.1 / 4)


def test_source_floor_lifts_a_small_weight():
    shares = plan_shares([src("a", 1, min_share=0.2), src("b", 99)], [])
    assert shares == pytest.approx({"a": 0.2, "b": 0.8})


def test_group_cap_scales_its_members_and_keeps_their_ratio():
    sources = [src("g", 0.6), src("d1", 0.3, group="domain"), src("d2", 0.1, group="domain")]
    shares = plan_shares(sources, [GroupInput("domain", max_share=0.15)])
    assert shares["d1"] + shares["d2"] == pytest.approx(0.15)
    assert shares["d1"] / shares["d2"] == pytest.approx(3.0)
    assert shares["g"] == pytest.approx(0.85)


def test_group_floor():
    shares = plan_shares([src("g", 0.95), src("d", 0.05, group="domain")], [GroupInput("domain", min_share=0.25)])
    assert shares == pytest.approx({"g": 0.75, "d": 0.25})


def test_weights_within_bounds_are_untouched():
    shares = plan_shares([src("g", 0.85), src("d", 0.15, group="domain")], [GroupInput("domain", max_share=0.15)])
    assert shares == pytest.approx({"g": 0.85, "d": 0.15})


# --------------------------------------------------------------------------------------------- infeasible kinds


def test_infeasible_epochs_names_source_and_a_budget_that_works():
    sources = [src("general", 0.85, available=10_000_000), src("domain", 0.15, available=57_692)]
    with pytest.raises(InfeasiblePlan) as e:
        plan_mixture(sources, [], 2_000_000, "tokens")
    msg = str(e.value)
    assert "source 'domain' needs 5.20 epochs for share 0.15 of 2,000,000 tokens" in msg
    assert "max_epochs is 4" in msg and "raise max_epochs" in msg
    assert e.value.exit_code == 2 and isinstance(e.value, ConfigError)
    max_budget = int(re.search(r"lower the budget to <= ([\d,]+) tokens", msg).group(1).replace(",", ""))
    assert max_budget == 1_538_453  # 4 x 57,692 / 0.15, rounded down
    plan_mixture(sources, [], max_budget, "tokens")  # the suggested budget is feasible
    with pytest.raises(InfeasiblePlan):
        plan_mixture(sources, [], max_budget + 2, "tokens")


def test_infeasible_binding_source_is_the_one_furthest_over_its_max_epochs():
    sources = [src("a", 1, available=100, max_epochs=1), src("b", 1, available=100, max_epochs=10)]
    with pytest.raises(InfeasiblePlan, match="source 'a' needs 5.00 epochs"):
        plan_mixture(sources, [], 1_000, "chars")


def test_infeasible_floors_over_one():
    with pytest.raises(InfeasiblePlan, match=r"floors \(min_share\) sum to 1.100 > 1"):
        plan_shares([src("a", 1, min_share=0.6), src("b", 1, min_share=0.5)], [])


def test_infeasible_caps_leave_output_unfilled():
    with pytest.raises(InfeasiblePlan, match="caps leave 0.300 of the output unfilled"):
        plan_shares([src("a", 1, max_share=0.4), src("b", 1, max_share=0.3)], [])


def test_infeasible_group_cap_below_pinned_floor():
    sources = [src("g", 1), src("d", 1, group="domain", min_share=0.3)]
    with pytest.raises(InfeasiblePlan, match="source 'd' gets 0.1500 < its min_share 0.3: its group's max_share"):
        plan_shares(sources, [GroupInput("domain", max_share=0.15)])


def test_infeasible_empty_source():
    with pytest.raises(InfeasiblePlan, match="source 'd' has no eligible data"):
        plan_mixture([src("g", 1), src("d", 1, available=0)], [], 1000, "tokens")


def test_zero_weight_source_is_allowed_empty():
    plan = plan_mixture([src("g", 1), src("d", 0, available=0)], [], 1000, "tokens")
    assert plan.by_name()["d"].amount == 0


# --------------------------------------------------------------------------------------------- sampling


def test_upsample_is_whole_repeats_plus_exact_seeded_remainder():
    rng = np.random.default_rng(1)
    units = rng.integers(1, 50, size=300)
    eligible = np.ones(300, bool)
    available = int(units.sum())
    remainder = available // 3
    sel = select_source("s", units, eligible, 2, remainder, seed=7)
    for e in (0, 1):  # every document exactly once per whole epoch
        assert sorted(sel.doc[sel.repeat == e].tolist()) == list(range(300))
    part = sel.doc[sel.repeat == 2]
    assert len(set(part.tolist())) == len(part)  # the remainder is without replacement
    assert int(units[part].sum()) == remainder  # 1-unit documents exist: the fill closes the gap exactly
    assert int(units[sel.doc].sum()) == 2 * available + remainder


def test_downsample_without_replacement_never_overshoots():
    units = np.array([500, 400, 300, 200, 100, 7, 3], dtype=np.int64)
    sel = select_source("s", units, np.ones(7, bool), 0, 1000, seed=0)
    assert len(set(sel.doc.tolist())) == len(sel.doc)
    assert int(units[sel.doc].sum()) <= 1000
    assert (
        1000 - int(units[sel.doc].sum()) < 3
        or 1000 - int(units[sel.doc].sum()) < units[~np.isin(np.arange(7), sel.doc)].min()
    )


def test_ineligible_documents_are_never_sampled():
    units = np.ones(100, np.int64)
    eligible = np.arange(100) % 2 == 0
    sel = select_source("s", units, eligible, 3, 10, seed=0)
    assert set(sel.doc.tolist()) <= set(range(0, 100, 2))
    assert len(sel.doc) == 3 * 50 + 10


def test_selection_is_deterministic_per_seed():
    units = np.arange(1, 1001, dtype=np.int64)
    a = select_source("s", units, np.ones(1000, bool), 1, 100_000, seed=3)
    b = select_source("s", units, np.ones(1000, bool), 1, 100_000, seed=3)
    c = select_source("s", units, np.ones(1000, bool), 1, 100_000, seed=4)
    assert np.array_equal(a.doc, b.doc) and not np.array_equal(a.doc, c.doc)


def test_dup_weighting_favours_large_clusters():
    n = 2000
    units = np.ones(n, np.int64)
    dup = np.where(np.arange(n) < 200, 20.0, 1.0)  # 10% of documents stood for 20 copies each
    plain = select_source("s", units, np.ones(n, bool), 0, 200, seed=0)
    weighted = select_source("s", units, np.ones(n, bool), 0, 200, seed=0, dup_size=dup, dup_weight_exponent=1.0)
    assert (plain.doc < 200).mean() < 0.2
    assert (weighted.doc < 200).mean() > 0.5


def test_fill_to_takes_prefix_then_fills_the_gap():
    units = np.array([10, 10, 10, 8, 1, 1], dtype=np.int64)
    taken = fill_to(np.arange(6), units, 25)
    assert taken.tolist() == [0, 1, 4, 5]  # 20, then 8 does not fit, two 1s do


def test_enforce_caps_trims_the_capped_source_below_its_cap():
    units = {"g": np.full(100, 10, np.int64), "d": np.full(100, 3, np.int64)}
    sels = [
        Selection("g", np.arange(85), np.zeros(85, np.int32)),
        Selection("d", np.arange(60), np.zeros(60, np.int32)),
    ]
    # g: 850, d: 180 -> d share 0.175 > 0.15
    out = enforce_caps(sels, units, [("group 'domain'", ["d"], 0.15)])
    g, d = (int(units[s.name][s.doc].sum()) for s in out)
    assert g == 850 and d / (g + d) <= 0.15 and d >= 147  # 0.15 * 850 / 0.85 = 150: within one document


def test_interleave_gives_every_window_the_target_mixture():
    units = {"g": np.full(1000, 17, np.int64), "d": np.full(3000, 1, np.int64)}
    sels = [
        Selection("g", np.arange(1000), np.zeros(1000, np.int32)),
        Selection("d", np.arange(3000), np.zeros(3000, np.int32)),
    ]
    src, entry = interleave(sels, units)
    assert len(src) == 4000
    for i in (0, 1):  # each source's documents stay in sampling order
        assert np.array_equal(entry[src == i], np.arange(len(sels[i].doc)))
    w = np.where(src == 0, 17, 1)
    share_g = 17_000 / 20_000
    for lo in range(0, 4000, 500):  # every slice of 500 documents holds ~85% g units
        sl = slice(lo, lo + 500)
        assert abs(w[sl][src[sl] == 0].sum() / w[sl].sum() - share_g) < 0.03
