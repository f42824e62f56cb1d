"""The fast samplers draw exactly what their plain definitions draw (number for number), so the
analytic engines' results do not move when the samplers are optimized.

Two guards: each sampler against its textbook expression on the same generator state, and the
built-in profiles' ``sample_wars`` against values stored from the samplers before they were
rewritten in place (tests/data/sample_wars_values.json: 16 values and the sum of each drawn array).
The stored values are compared to 1e-12 relative, not bit for bit: numpy's vectorised exp and log
differ in the last bit between CPUs (with and without AVX-512), so an exact fingerprint recorded on
one machine failed on another at unchanged code. A rewrite that moves draws moves them far more.

Regenerate on purpose only: ``python tests/test_samplers_exact.py``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pbs_sim.distributions import Constant, Exponential, Mixture, Pareto
from pbs_sim.profiles import BUILTIN

DATA = Path(__file__).parent / "data" / "sample_wars_values.json"
PICKS = 16  # values stored per drawn array (evenly spaced), beside its sum
SHAPES = [(), 1, 7, (50, 3), (2000, 10)]


def _mixture_reference(mix: Mixture, rng: np.random.Generator, shape: int | tuple[int, ...]) -> np.ndarray:
    # the general index-array method (one uniform per draw, then each component's draws in order)
    size = int(np.prod(shape)) if shape != () else 1
    u = rng.random(size)
    idx = np.zeros(size, dtype=np.int64)
    for c in np.cumsum(mix.weights)[:-1]:
        idx += u >= c
    out = np.empty(size)
    for j, comp in enumerate(mix.components):
        sel = np.flatnonzero(idx == j)
        if sel.size:
            out[sel] = comp.sample(rng, sel.size)
    return out.reshape(shape)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_exponential_and_pareto_equal_their_definitions(shape: int | tuple[int, ...]) -> None:
    for seed in (1, 2):
        got = Exponential(1.66).sample(np.random.default_rng(seed), shape)
        want = np.random.default_rng(seed).exponential(1.0 / 1.66, shape)
        assert np.asarray(got).shape == np.asarray(want).shape and np.array_equal(got, want)
        got = Pareto(0.235, 10.0).sample(np.random.default_rng(seed), shape)
        want = 0.235 * np.exp(np.random.default_rng(seed).standard_exponential(shape) * (1.0 / 10.0))
        assert np.asarray(got).shape == np.asarray(want).shape and np.array_equal(got, want)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(
    "mix",
    [
        Mixture((0.9122, 0.0878), (Pareto(0.235, 10.0), Exponential(1.66))),
        Mixture((1.0, 0.0), (Exponential(1.0), Constant(3.0))),  # one component never drawn
        Mixture((0.2, 0.5, 0.3), (Constant(1.0), Exponential(2.0), Pareto(1.0, 3.0))),
    ],
    ids=["two", "two-degenerate", "three"],
)
def test_mixture_equals_the_index_array_method(mix: Mixture, shape: int | tuple[int, ...]) -> None:
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    got, want = mix.sample(rng_a, shape), _mixture_reference(mix, rng_b, shape)
    assert got.shape == want.shape and np.array_equal(got, want)
    # and the generator is left in the same state: later draws are the same too
    assert rng_a.random() == rng_b.random()


def _fingerprint(name: str) -> list[list[float]]:
    """Per drawn array (three shapes x W, A, R, S): PICKS evenly spaced values and the array's sum."""
    rng = np.random.default_rng(2024)
    out = []
    for m, n in ((1000, 3), (257, 10), (1, 1)):
        for a in BUILTIN[name].sample_wars(rng, m, n):
            flat = np.asarray(a, dtype=float).ravel()
            idx = np.linspace(0, flat.size - 1, min(PICKS, flat.size)).astype(int)
            out.append([*flat[idx].tolist(), float(flat.sum())])
    return out


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtin_profiles_draw_what_the_old_samplers_drew(name: str) -> None:
    stored = json.loads(DATA.read_text())["values"][name]
    got = _fingerprint(name)
    assert len(got) == len(stored)
    for g, s in zip(got, stored, strict=True):
        np.testing.assert_allclose(g, s, rtol=1e-12, atol=0)


if __name__ == "__main__":
    DATA.write_text(json.dumps({"values": {n: _fingerprint(n) for n in sorted(BUILTIN)}}, indent=1) + "\n")
