"""``auto``: each matmul's precision, as small as a quality budget allows.

A budget is a mean KL divergence from the float32 model, in nats per token
(``--max-kld``), on calibration text. ``choose_plan`` simulates the converted file
(``quantize.simulate``) on that text:

1. every matmul ``int8`` (the int8 mode) is the baseline;
2. within the budget, each projection's cost of ``int4`` is measured alone (one window,
   rerun from its layer on) and divided by the bytes it saves; the cheapest go to
   ``int4`` first, and the longest run of them that keeps the whole text's KLD within
   the budget is kept (a binary search, each step a full simulated pass);
3. below the baseline, matmuls go to float instead, the most KLD saved per byte
   added first, the shortest run that reaches the budget.

Bytes stand for speed too: decoding reads every weight once a token, and the machine's
memory bandwidth bounds it (``docs/reports``). The output layer takes ``int8`` or
``float`` only: a tied table's int8 copy is the embedding's, stored once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litecomplete.errors import ConfigError, ConversionError
from litecomplete.models.spec import Norm
from litecomplete.quantize.modes import INT8_POSITION_MODES, Precision, QuantMode
from litecomplete.quantize.outliers import (
    AUTO_INT4_CHANNELS,
    INT4_BLOCK,
    OUTLIER_CHANNELS,
    UNIT_KERNELS,
    Outliers,
    channel_peaks,
    choose_channels,
)
from litecomplete.quantize.simulate import OUTPUT, Simulator, Unit

if TYPE_CHECKING:
    from litecomplete.models.spec import DecoderWeights
    from litecomplete.quantize.gptq import GptqRounding

log = logging.getLogger(__name__)

DEFAULT_MAX_KLD = 0.02
# A budget above this is no budget: a model that far from its float self is broken.
MAX_KLD_LIMIT = 1.0
# Calibration windows: the first measures each matmul alone, all of them a whole plan.
PLAN_WINDOW = 128
PLAN_WINDOWS = 4
# The calibration tokens plans are scored on: the first this many. GPTQ's rounding
# (``quantize.gptq``) is fitted on the tokens after them, or a plan would be scored on the
# text its int4 blocks were fitted to (SmolLM2 all int4: KLD 0.061 on such windows, 0.082
# on others of the same text; the report's ``auto 0.05`` measured 0.070 on the evaluation
# text).
PLAN_TOKENS = PLAN_WINDOW * PLAN_WINDOWS

Note = Callable[[str], None]


def check_max_kld(max_kld: float) -> None:
    """ConfigError unless ``max_kld`` is a budget ``auto`` can work to."""
    if not (isinstance(max_kld, int | float) and math.isfinite(max_kld)):
        raise ConfigError(f"--max-kld must be a number, got {max_kld!r}")
    if not 0 < max_kld <= MAX_KLD_LIMIT:
        raise ConfigError(
            f"--max-kld must be above 0 and at most {MAX_KLD_LIMIT} nats per token, got {max_kld}"
        )


@dataclass(frozen=True)
class QuantPlan:
    """Each unit's precision, the outlier channels of each split unit, and what the
    plan measured on the calibration text (``kld``) against its budget (``max_kld``)."""

    precisions: Mapping[Unit, Precision]
    outliers: Outliers
    max_kld: float
    kld: float
    weight_bytes: int

    def units(self, precision: Precision) -> list[Unit]:
        return sorted(u for u, p in self.precisions.items() if p is precision)

    def counts(self) -> dict[str, int]:
        return {p.value: len(self.units(p)) for p in Precision}

    def manifest(self) -> dict[str, Any]:
        """The plan as the file's manifest keeps it: one line per layer."""
        n = max(i for i, _ in self.precisions)  # the output layer's index
        rows = [
            " ".join(f"{p}={self.precisions[(i, p)].value}" for p in UNIT_KERNELS) for i in range(n)
        ]
        return {
            "max_kld": self.max_kld,
            "calibration_kld": round(self.kld, 6),
            "layers": rows,
            "output": self.precisions[(n, OUTPUT)].value,
        }

    def summary(self) -> str:
        counts = ", ".join(f"{n} {p}" for p, n in self.counts().items() if n)
        return (
            f"auto: {counts} matmuls; KLD {self.kld:.3g} on the calibration text "
            f"(budget {self.max_kld}); matmul weights {self.weight_bytes / 2**20:.1f} MiB"
        )


def unit_bytes(weights: DecoderWeights, unit: Unit, precision: Precision, channels: Any) -> int:
    """The bytes a unit's weights take at ``precision`` with outlier ``channels``."""
    k = 0 if channels is None else len(channels)
    if unit[1] == OUTPUT:
        vocab, hidden = weights.token_embedding.shape
        if precision is Precision.FLOAT:
            return vocab * hidden * 4
        own = 0 if weights.output_kernel is None else vocab * hidden + vocab * 4
        return own + k * vocab * 4  # a tied table's int8 rows are the embedding's
    total = 0
    for name in UNIT_KERNELS[unit[1]]:
        kernel = getattr(weights.layers[unit[0]], name)
        if kernel is None:
            continue
        n_in, n_out = kernel.shape
        if precision is Precision.FLOAT:
            total += n_in * n_out * 4
        elif precision is Precision.INT8:
            total += (n_in - k) * n_out + n_out * 4 + k * n_out * 4
        else:
            total += (n_in - k) * n_out // 2 + (n_in - k) // INT4_BLOCK * n_out * 2
            total += k * n_out + n_out * 4
    return total


def plan_channels(weights: DecoderWeights, ids: list[int]) -> dict[Precision, Outliers]:
    """The outlier channels each integer precision splits its matmuls by."""
    peaks = channel_peaks(weights, ids)
    channels = {
        Precision.INT8: choose_channels(peaks, OUTLIER_CHANNELS),
        Precision.INT4: choose_channels(peaks, AUTO_INT4_CHANNELS, INT4_BLOCK),
    }
    if weights.spec.norm is not Norm.RMS:  # the graph splits an RMS-normed output only
        for outliers in channels.values():
            outliers.pop((weights.spec.num_layers, OUTPUT), None)
    return channels


def choose_plan(
    weights: DecoderWeights,
    ids: list[int],
    max_kld: float,
    note: Note | None = None,
    rounding: GptqRounding | None = None,
) -> QuantPlan:
    """The smallest plan whose simulated KLD on ``ids`` stays within ``max_kld``; its
    ``int4`` matmuls rounded by ``rounding`` (to nearest where ``None``)."""
    check_max_kld(max_kld)
    say = note or (lambda _: None)
    say("outlier channels")
    channels = plan_channels(weights, ids)
    windows = [ids[b : b + PLAN_WINDOW] for b in range(0, len(ids), PLAN_WINDOW)]
    windows = [w for w in windows if len(w) > 1][:PLAN_WINDOWS]
    say("float32 reference")
    int8_positions = QuantMode.AUTO in INT8_POSITION_MODES
    sim = Simulator(weights, windows, channels, rounding, int8_positions=int8_positions)
    n = weights.spec.num_layers
    units = [(i, p) for i in range(n) for p in UNIT_KERNELS] + [(n, OUTPUT)]
    baseline = {u: Precision.INT8 for u in units}
    baseline_kld = sim.kld(baseline, keep=True)
    first = sim.window_klds[0]

    def size(unit: Unit, precision: Precision) -> int:
        return unit_bytes(weights, unit, precision, sim.codec(unit, precision).channels)

    def measured(unit: Unit, precision: Precision, k: int, of: int) -> float:
        say(f"{precision.value} alone {k}/{of}")
        return sim.kld_with(baseline, unit, precision)

    if baseline_kld <= max_kld:
        moves = [u for u in units if u[1] != OUTPUT and int4_fits(weights, u, channels)]
        cost = {
            u: (measured(u, Precision.INT4, k + 1, len(moves)) - first)
            / max(size(u, Precision.INT8) - size(u, Precision.INT4), 1)
            for k, u in enumerate(moves)
        }
        order = sorted(moves, key=lambda u: cost[u])
        move = Precision.INT4
        count = _longest_within(_prefix_kld(sim, baseline, order, move, say), len(order), max_kld)
    else:
        gain = {
            u: (first - measured(u, Precision.FLOAT, k + 1, len(units)))
            / max(size(u, Precision.FLOAT) - size(u, Precision.INT8), 1)
            for k, u in enumerate(units)
        }
        order = sorted(units, key=lambda u: -gain[u])
        move = Precision.FLOAT
        count = _shortest_within(_prefix_kld(sim, baseline, order, move, say), len(order), max_kld)
    precisions = {**baseline, **dict.fromkeys(order[:count], move)}
    kld = sim.kld(precisions)
    outliers = {
        u: c for u, p in precisions.items() if (c := channels.get(p, {}).get(u)) is not None
    }
    total = sum(size(u, p) for u, p in precisions.items())
    plan = QuantPlan(precisions, outliers, max_kld, kld, total)
    log.info("%s", plan.summary())
    return plan


def int4_fits(weights: DecoderWeights, unit: Unit, channels: Mapping[Precision, Outliers]) -> bool:
    """Whether the int4 blocks tile the unit's main matmul input."""
    return int4_width(weights, unit, channels[Precision.INT4].get(unit)) % INT4_BLOCK == 0


def int4_width(weights: DecoderWeights, unit: Unit, split: Any) -> int:
    """The input width of a unit's main matmul, its outlier channels ``split`` apart."""
    kernel = getattr(weights.layers[unit[0]], UNIT_KERNELS[unit[1]][-1])
    return int(kernel.shape[0]) - (0 if split is None else len(split))


def check_int4(weights: DecoderWeights, outliers: Outliers) -> None:
    """ConfigError naming the first matmul the int4 mode's blocks cannot tile."""
    for i in range(weights.spec.num_layers):
        for projection in UNIT_KERNELS:
            width = int4_width(weights, (i, projection), outliers.get((i, projection)))
            if width % INT4_BLOCK:
                raise ConfigError(
                    f"--quant int4 cannot take layer {i}'s {projection} matmul: its {width} "
                    f"input channels do not make blocks of {INT4_BLOCK}; use --quant auto "
                    "(it keeps such matmuls int8) or int8"
                )


PrefixKld = Callable[[int], float]


def _prefix_kld(
    sim: Simulator,
    baseline: Mapping[Unit, Precision],
    order: list[Unit],
    precision: Precision,
    say: Note,
) -> PrefixKld:
    """The KLD of ``baseline`` with the first ``count`` units of ``order`` at ``precision``."""

    def kld(count: int) -> float:
        say(f"plan with {count} {precision.value}")
        return sim.kld({**baseline, **dict.fromkeys(order[:count], precision)})

    return kld


def _longest_within(kld: PrefixKld, n: int, max_kld: float) -> int:
    """The longest prefix (of ``n`` units) whose ``kld`` is within ``max_kld``, when
    the empty one is."""
    if kld(n) <= max_kld:
        return n
    return _crossing(lambda count: kld(count) <= max_kld, n, low_within=True) - 1


def _shortest_within(kld: PrefixKld, n: int, max_kld: float) -> int:
    """The shortest prefix (of ``n`` units) whose ``kld`` is within ``max_kld``, when
    the empty one is not."""
    best = kld(n)
    if best > max_kld:
        raise ConversionError(
            f"--max-kld {max_kld} is out of reach: with every matmul in float the int8 "
            f"embedding alone gives KLD {best:.2g} on the calibration text; convert with "
            "--quant none or float16, or give a larger budget"
        )
    return _crossing(lambda count: kld(count) <= max_kld, n, low_within=False)


def _crossing(within: Callable[[int], bool], n: int, low_within: bool) -> int:
    """The first count in 1..n whose ``within`` differs from ``low_within``, by
    bisection: ``within`` is ``low_within`` at 0, the other at ``n``, and flips once."""
    low, high = 0, n
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if within(middle) == low_within else (low, middle)
    return high
