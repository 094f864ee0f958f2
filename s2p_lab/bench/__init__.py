"""``s2p bench``: latency, FLOPs, peak memory and training throughput, each against the machine.

    s2p bench [--sizes 256 512 1024] [--json OUT.json] [--quick] [--repeats N] [--compile]
              [--train-sizes 128 256] [--ddp] [--threads N] [--fp32] [--profile] [--demo]

Every figure comes with its arithmetic floor: the FLOPs of the call (counted with
``torch.utils.flop_counter.FlopCounterMode``) divided by the matmul peak measured in the same
process just before (a 2048^3 bf16 and fp32 matmul, median). A ratio of 1.0 is the speed of the
arithmetic; everything above it is memory traffic, small kernels and Python.

Per processing size, in a fresh subprocess (so that peak memory does not mix between sizes):

* ``one``: one colorization with one reference, nothing cached (load, cleanup, encode, decode,
  upsample and line overlay, as a user's first call);
* ``nine_batched``: nine references in one call; ``nine_single``: nine one-reference calls,
  each from scratch; ``nine_single_cached``: nine one-reference calls on one colorizer (the
  sketch is encoded once, then cached);
* ``hint_edit``: one hint point added after a colorization (sketch, reference and the decoder's
  levels cached: each level is recomputed where the edit reaches it, ``models.incremental``);
  ``hint_edit_wide``: hints changed all over the image (the
  whole decoder runs again);
* ``stages_ms``: where the time of ``one`` goes; ``memory_mb``: peak RSS
  (``getrusage`` maxrss) of a process that loads the model and colorizes once, and of the one
  that ran everything above (nine references included).

Training, one fresh process per size: real ``Trainer.train_step`` calls on a small image folder,
images/s and the achieved rate against the bf16 matmul peak, with the minor page faults and
kernel time per step: first the generator-only step with glibc's default heap
(``generator_heap_returned``: big blocks are unmapped on free and faulted in again), then, as the
the ``s2p train`` process runs (``s2p_lab.heap.keep_heap``), the generator-only step (``generator``)
and the step with the GAN terms on (``gan``). ``--ddp``: the
same trainer as one process and as two under ``torchrun`` (gloo), images/s of each.

``--demo``: the seed demo as users run it, whole processes beside a torch import and its first and
warm calls in one process (``bench_demo``; ``s2p bench --demo --sizes --train-sizes`` runs it alone).

Timings are medians over ``--repeats``; the variants of one repeat run interleaved, so that
background load hits them alike. Ratios measured in one run are what to compare across machines.

One module per measurement, and the parts they share:

* :mod:`.inputs`: the hint scenarios, the images written for a run, the colorizer of a spec;
* :mod:`.floors`: the matmul peak, the FLOPs of a call, the clock the timings share;
* :mod:`.latency`: the colorization scenarios at one size (``torch.compile``, the profiler);
* :mod:`.memory`: peak RSS of a fresh process;
* :mod:`.training`: ``Trainer.train_step`` throughput, and one process against two;
* :mod:`.processes`: the fresh process each measurement runs in;
* :mod:`.report`: floors and ratios, the targets, the text table;
* :mod:`.command`: the ``s2p bench`` options, the run, and the entry of the child processes.
"""

from __future__ import annotations

from .command import DEFAULT_SIZES, DEFAULT_TRAIN_SIZES, QUICK_SIZES, QUICK_TRAIN_SIZES, add_arguments, main, run
from .floors import PeakMeter, count_flops, measure_peaks, peak_key
from .inputs import (
    HINTS_BEFORE, HINTS_EDIT, HINTS_WIDE, REFERENCES, SAMPLE_DATA, synthetic_reference, synthetic_sketch,
)
from .report import TARGETS, check_targets, derive, format_table

_derive = derive  # the name it had when the bench was one module

__all__ = [
    "DEFAULT_SIZES", "DEFAULT_TRAIN_SIZES", "HINTS_BEFORE", "HINTS_EDIT", "HINTS_WIDE", "QUICK_SIZES",
    "QUICK_TRAIN_SIZES", "REFERENCES", "SAMPLE_DATA", "TARGETS", "PeakMeter", "add_arguments", "check_targets",
    "count_flops", "derive", "format_table", "main", "measure_peaks", "peak_key", "run", "synthetic_reference",
    "synthetic_sketch",
]
