"""The dtype policy a run computes in: `--mixed_precision`, and what `auto` picks.

`auto` follows `benchmarks/train_step` (docs/speed.md, "bfloat16, plain JAX
and time to quality"): on a CPU with native bfloat16 arithmetic, oneDNN runs
the image steps 1.39-1.73x faster in bfloat16 than in float32 (measured on
AVX512_BF16), with the same classifier-FID at equal iterations; so image runs
compute in `mixed_bfloat16` there. The other flags that mean native bf16
(AMX-BF16, Arm's BF16 extension) were not measured here; they are taken at
their word. Everywhere else auto means float32:
- toy data: their steps run under XLA, whose CPU dot is slower in bfloat16;
- CPUs without native bfloat16, where it is emulated and slower;
- `TF_ENABLE_ONEDNN_OPTS=0`, which turns off the library that has the
  bfloat16 kernels;
- GPUs and TPUs, where nothing here was measured (choose a policy yourself).
"""

import os
import platform

POLICIES = ("auto", "none", "mixed_bfloat16", "mixed_float16")

# /proc/cpuinfo flags (x86) or features (Arm) of native bfloat16 arithmetic.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The set of the CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open(cpuinfo) as fh:
            text = fh.read()
    except OSError:
        return set()
    found = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86, Arm
            found.update(value.split())
    return found


def native_bf16(flags=None):
    """The name of the CPU flag that shows native bfloat16 arithmetic, or None."""
    flags = cpu_flags() if flags is None else flags
    return next((name for name in BF16_CPU_FLAGS if name in flags), None)


def has_accelerator():
    """True when TensorFlow sees a GPU or a TPU."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU")
                or tf.config.list_physical_devices("TPU"))


def resolve(choice, toy, flags=None, accelerator=None, onednn=None):
    """(Keras dtype policy, why) for `--mixed_precision=choice` on toy or image data.

    `flags`, `accelerator` and `onednn` default to this machine's (the CPU's
    flags, whether TensorFlow sees a GPU or TPU, TF_ENABLE_ONEDNN_OPTS); tests
    pass them in.
    """
    if choice not in POLICIES:
        raise ValueError(f"--mixed_precision must be one of {', '.join(POLICIES)}, "
                         f"got {choice!r}")
    if choice != "auto":
        return ("float32" if choice == "none" else choice), "as asked"
    if toy:
        return "float32", "toy data: XLA's CPU dot gains nothing from bfloat16"
    if accelerator is None:
        accelerator = has_accelerator()
    if accelerator:
        return "float32", "a GPU or TPU is present, where auto was not measured"
    if onednn is None:
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower() not in ("0", "false")
    if not onednn:
        return "float32", "TF_ENABLE_ONEDNN_OPTS=0 turns off oneDNN's bfloat16 kernels"
    flag = native_bf16(flags)
    if flag is None:
        return "float32", f"this CPU ({platform.machine()}) has no native bfloat16"
    return "mixed_bfloat16", f"this CPU has native bfloat16 ({flag.upper()})"
