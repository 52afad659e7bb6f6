"""Running a figure's --quick mode in this process, for the per-figure tests."""

import importlib
import json
import os

import numpy as np

from figures import common


def run_quick(name, output_dir, seed=0, overrides=()):
    """Run figures.<name> --quick into `output_dir`; return (record, data).

    Checks what every figure must write: the PNG, the NPZ of what it plotted,
    and the JSON record, which holds the claims as booleans.
    """
    module = importlib.import_module(f"figures.{name}")
    record = common.run_figure(module, output_dir, quick=True, seed=seed, overrides=overrides)
    for kind in ("png", "npz", "json"):
        path = os.path.join(output_dir, f"{name}.{kind}")
        assert os.path.getsize(path) > 0, path
    with open(os.path.join(output_dir, f"{name}.json")) as f:
        assert json.load(f)["claims"] == record["claims"]
    with np.load(os.path.join(output_dir, f"{name}.npz")) as stored:
        data = {k: stored[k] for k in stored.files}
    return record, data
