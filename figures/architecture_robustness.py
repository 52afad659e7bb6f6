"""Figure 8: Architecture robustness

Paper: Arjovsky, Chintala, Bottou 2017, "Wasserstein GAN", Figs. 5-7 (and
Gulrajani et al. 2017, Fig. 2, the same comparison with WGAN-GP added).

Claim: with the DCGAN generator all algorithms work; with a generator
without BatchNorm and with a constant filter count, and with a 4-layer
512-unit ReLU MLP generator, the standard GAN fails or collapses to few modes
while WGAN (weight clipping) and WGAN-GP still produce varied samples.
Checked on a number per cell, classifier-FID (lower is better; a run that
stopped on non-finite numbers counts as infinitely bad): FID(WGAN-GP) <
FID(GAN) and FID(WGAN) < FID(GAN) for the no-BN and the MLP generator, and
the GAN's FID is worse with those generators than with the DCGAN one. The
panel titles also give the classifier score (the Inception score computed
with the MNIST classifier, 1 to 10; a mode-collapsed generator scores low).

Setting: a 3 x 3 grid of 8 x 8 sample grids (fixed noise, the runner's
samples/ grids after the last iteration). Rows: `python -m train_loops.gan
--preset=dcgan` (non-saturating loss, Adam(2e-4, 0.5), batch 128, z 100-d
U[-1, 1], k = 1); `train_loops.wgan --preset=wgan` (weight clipping c =
0.01, RMSProp 5e-5, n_critic 5 with the authors' 100-critic-update schedule,
batch 64, z 100-d N(0, 1)); `train_loops.wgan_gp --preset=wgan_gp` (lambda
10, Adam(1e-4, 0, 0.9), n_critic 5, batch 64, z 128-d). Columns:
--architecture=dcgan (DCGAN generator with BatchNorm), dcgan_no_bn (no
BatchNorm, constant filter count), mlp (4 ReLU layers of 512 units, tanh
output). Critics as the runner chooses: the DCGAN discriminator (with
BatchNorm) for GAN and WGAN, the same without BatchNorm for WGAN-GP. Every
cell runs the same number of generator iterations. Classifier-FID: 1000
generated images against the first 1000 MNIST test images, in the features
of classifiers/mnist.keras (train_loops.classifier; 99.3 % test accuracy).

Smaller than the papers: the papers train on LSUN bedrooms at 64 x 64 with
dim 64 for ~100,000+ generator iterations. LSUN is not available offline
here, so the data is MNIST at 28 x 28. Every cell runs 10,000 generator
iterations, at dim 32 (DCGAN G 7x7x64 -> 14x14x32 -> 28x28, critic 32 and
64 filters; the MLP generator keeps the paper's 512 units), in bfloat16 on
a CPU with native bf16 (`--mixed_precision=auto`; on this project's
Fashion-MNIST WGAN-GP it gave the FID of float32, docs/speed.md). That is
the widest setting whose nine runs fit about 2 hours on 2 cores: a WGAN-GP
iteration took 0.07 s at dim 16 and 0.12 s at dim 32 here (bf16, idle
machine), and dim 64 costs about 3x dim 32. `--set dim=64 --set
iterations=100000` restores the papers' width and (roughly) their length.
`--set image_size=64` resizes MNIST to 64 x 64 and gives every cell the
papers' 64 px networks (4 transposed convolutions in the DCGAN generators,
against 2 at 28 px); `--set image_size=64 --set architectures=dcgan_no_bn`
is the no-BatchNorm column alone at the papers' resolution, where the papers
saw the GAN fail (docs/figures.md, section 8).
An earlier version ran 1000 iterations at dim 16: there WGAN had barely
started (uniform grey without BatchNorm) and WGAN-GP with the MLP generator
was one noisy blob (`--set iterations=1000 --set dim=16`). The grey was not
only length: with DCGAN's N(0, 0.02) weights the no-BatchNorm generator
started as one grey image for every z, which a BatchNorm critic fed batches
of fakes alone cannot move, and WGAN stayed there for all 10,000 iterations
(FID 107, score 1.00). That generator now has the WGAN-GP authors'
initialisation (`models.image_networks.wgan_no_bn_generator`).
"""

import json
import os
import textwrap

import numpy as np

from figures import common

ALGORITHMS = {"gan": ("dcgan", "GAN (DCGAN recipe)"),
              "wgan": ("wgan", "WGAN (clipping)"),
              "wgan_gp": ("wgan_gp", "WGAN-GP")}
ARCHITECTURES = {"dcgan": "DCGAN generator",
                 "dcgan_no_bn": "no BatchNorm, constant filters",
                 "mlp": "4-layer ReLU MLP (512)"}

FULL = dict(
    dataset="mnist",
    algorithms=("gan", "wgan", "wgan_gp"),
    architectures=("dcgan", "dcgan_no_bn", "mlp"),
    iterations=10000,      # generator iterations of every cell (papers: ~100k+)
    dim=32,                # base filter count (papers: 64)
    image_size=None,       # None: the data's own (28); 64: MNIST resized, the papers' networks
    eval_samples=1000,
    sample_every=2500,
    # None: a quarter of --iterations. Smaller for runs of many hours (a 64 px
    # WGAN cell is 8.5 h here), so that a part interrupted by the end of a
    # session loses little; it changes no number of the run.
    checkpoint_every=None,
    mixed_precision="auto",  # bfloat16 on a CPU with native bf16, else float32
    batch_size=None,       # None: each preset's own (GAN 128, WGAN and WGAN-GP 64)
    n_critic=None,         # None: each preset's own (GAN 1, WGAN and WGAN-GP 5)
    authors_schedule=True,  # WGAN: the authors' 100 critic updates early and every 500th
    run_eagerly=False,
)
# Quick: two cells (every run costs seconds of set-up), the cheap MLP generator.
QUICK = dict(FULL, algorithms=("gan", "wgan_gp"), architectures=("mlp",), iterations=2,
             dim=4, eval_samples=16, sample_every=2, mixed_precision="none", batch_size=8,
             n_critic=1,
             authors_schedule=False, run_eagerly=True)


def train_cell(run, algorithm, architecture, classifier):
    """One cell's training run (resumable); returns its folder."""
    preset, _ = ALGORITHMS[algorithm]
    flags = dict(preset=preset, dataset=run.dataset, architecture=architecture, dim=run.dim,
                 iterations=run.iterations,
                 # Once, at the end: an evaluation (with KID) took ~55 s on the shared cores.
                 eval_every=run.iterations,
                 eval_samples=run.eval_samples, sample_every=run.sample_every,
                 checkpoint_every=run.checkpoint_every or max(run.iterations // 4, 2),
                 classifier=classifier,
                 mixed_precision=run.mixed_precision, image_size=run.image_size,
                 batch_size=run.batch_size, n_critic=run.n_critic,
                 run_eagerly=str(run.run_eagerly).lower())
    if algorithm == "wgan":
        flags["authors_schedule"] = str(run.authors_schedule).lower()
    return run.train(algorithm, f"{algorithm}-{architecture}", **flags)


def read_cell(run_dir):
    """(grid uint8 [H, W] or None, fid, score, failed, iterations, seconds) of a finished run."""
    from PIL import Image

    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    failed = "failure" in summary
    samples = os.path.join(run_dir, "samples")
    grids = sorted(os.listdir(samples)) if os.path.isdir(samples) else []
    # A failed run writes no final grid: show its last one, if any.
    grid = np.asarray(Image.open(os.path.join(samples, grids[-1])).convert("L")) if grids else None
    grid_iteration = int(os.path.splitext(grids[-1])[0]) if grids else 0
    fid, score = np.inf, np.nan
    metrics_path = os.path.join(run_dir, "image_metrics.csv")
    if not failed and os.path.exists(metrics_path):
        table = common.read_csv(metrics_path)
        if table:
            fid, score = float(table["fid"][-1]), float(table["is"][-1])
    metrics = common.read_csv(os.path.join(run_dir, "metrics.csv"))
    seconds = float(metrics["seconds"][-1]) if metrics else 0.0
    return grid, fid, score, failed, summary["iterations"], grid_iteration, seconds


def compute(run):
    classifier = run.classifier(run.dataset)
    cells = [(a, b) for a in run.algorithms for b in run.architectures]
    progress = run.progress(len(cells), "architecture_robustness: training runs", of_parts=True,
                            weights=[common.iteration_cost(a, run.batch_size, run.n_critic)
                                     for a, _ in cells])
    results = {}
    for algorithm, architecture in cells:
        results[algorithm, architecture] = read_cell(
            train_cell(run, algorithm, architecture, classifier))
        progress.update()
    shape = (len(run.algorithms), len(run.architectures))
    grid_shape = next((r[0].shape for r in results.values() if r[0] is not None), (1, 1))
    data = {"grids": np.zeros(shape + grid_shape, np.uint8),
            "has_grid": np.zeros(shape, bool), "fid": np.full(shape, np.inf),
            "score": np.full(shape, np.nan), "failed": np.zeros(shape, bool),
            "iterations": np.zeros(shape, np.int64),
            "grid_iteration": np.zeros(shape, np.int64), "seconds": np.zeros(shape)}
    for i, algorithm in enumerate(run.algorithms):
        for j, architecture in enumerate(run.architectures):
            grid, fid, score, failed, iterations, grid_iteration, seconds = results[
                algorithm, architecture]
            if grid is not None:
                data["grids"][i, j], data["has_grid"][i, j] = grid, True
            data["fid"][i, j], data["score"][i, j] = fid, score
            data["failed"][i, j], data["iterations"][i, j] = failed, iterations
            data["grid_iteration"][i, j], data["seconds"][i, j] = grid_iteration, seconds
    return data


def plot(data, run):
    import matplotlib.pyplot as plt

    rows, columns = data["fid"].shape
    # At least two panels wide, so that a column alone (--set architectures=...) keeps a title
    # of a few lines.
    width = max(columns, 2)
    fig, axes = plt.subplots(rows, columns, figsize=(3.4 * width, 3.7 * rows), squeeze=False)
    for i, algorithm in enumerate(run.algorithms):
        for j, architecture in enumerate(run.architectures):
            ax = axes[i, j]
            if data["has_grid"][i, j]:
                ax.imshow(data["grids"][i, j], cmap="gray", vmin=0, vmax=255)
            if data["failed"][i, j]:
                title = (f"FAILED (non-finite) at iteration {data['iterations'][i, j]}\n"
                         f"last grid: iteration {data['grid_iteration'][i, j]}")
                ax.set_title(title, fontsize=9, color="tab:red")
            else:
                ax.set_title(f"classifier-FID {data['fid'][i, j]:.1f}, "
                             f"score {data['score'][i, j]:.2f}", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(ALGORITHMS[algorithm][1], fontsize=12)
            if i == rows - 1:
                ax.set_xlabel(ARCHITECTURES[architecture], fontsize=11)
    size = "" if run.image_size is None else f" at {run.image_size} px"
    title = (f"Figure 8: Architecture robustness: {run.dataset} samples{size} after "
             f"{run.iterations} generator iterations (dim {run.dim}); rows: algorithm, "
             f"columns: generator",
             "(cf. WGAN Figs. 5-7, WGAN-GP Fig. 2; classifier-FID: lower is better, "
             "classifier score: 1-10, higher is better)")
    fig.suptitle("\n".join(textwrap.fill(line, 40 * width) for line in title), fontsize=11)
    fig.tight_layout()
    return fig


def cell(data, run, algorithm, architecture):
    if algorithm not in run.algorithms or architecture not in run.architectures:
        return None
    return float(data["fid"][run.algorithms.index(algorithm),
                             run.architectures.index(architecture)])


def claims(data, run):
    result = {}
    for robust in ("wgan_gp", "wgan"):
        for architecture in ("dcgan_no_bn", "mlp"):
            a, b = cell(data, run, robust, architecture), cell(data, run, "gan", architecture)
            if a is not None and b is not None:
                name = ALGORITHMS[robust][1].split(" ")[0]
                result[f"FID({name}, {architecture}) < FID(GAN, {architecture})"] = a < b
    base = cell(data, run, "gan", "dcgan")
    for architecture in ("dcgan_no_bn", "mlp"):
        other = cell(data, run, "gan", architecture)
        if base is not None and other is not None:
            result[f"FID(GAN, {architecture}) > FID(GAN, dcgan) (GAN degrades)"] = other > base
    return result


if __name__ == "__main__":
    common.main(__name__)
