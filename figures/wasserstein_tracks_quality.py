"""Figure 7: The Wasserstein estimate tracks sample quality

Paper: Arjovsky, Chintala & Bottou 2017, "Wasserstein GAN", Figures 3 and 4
(../shared/reference/papers.md). There, on LSUN bedrooms at 64x64, the critic's
estimate of the EM distance (-critic loss, median-filtered) falls as the
samples get better, while the JS estimate of a standard GAN's discriminator
does not follow sample quality and stays near log 2.

Claim checked here: during WGAN training the -critic loss decreases as sample
quality improves, measured by classifier-FID (the Frechet distance in the
feature space of a Fashion-MNIST classifier, `classifiers/fashion_mnist.keras`;
lower is better): the Spearman rank correlation between the median-filtered
estimate at the evaluation iterations and FID is above 0.5. The GAN's JS
estimate tracks FID less well (a lower Spearman correlation than the WGAN's),
and stays near log 2 (median of the filtered estimate over the second half of
training at least 0.9 log 2). Both are checked for each of the two GANs below.

Setting.
  WGAN: `python -m train_loops.wgan --preset=wgan`, Algorithm 1 of the paper
  with the authors' critic schedule (100 critic updates for the first 25 and
  every 500th generator iteration, 5 otherwise), RMSProp 5e-5, c = 0.01,
  batch 64, z 100-d N(0, 1), the DCGAN generator and discriminator (with
  BatchNorm) as critic.
  GAN: `python -m train_loops.gan --preset=dcgan`, DCGAN (Radford et al.):
  the same networks, Adam(2e-4, 0.5), batch 128, z 100-d U[-1, 1], one
  discriminator step per generator step, non-saturating generator loss. Its
  JS estimate is (log 4 - discriminator loss) / 2 (Goodfellow et al., Thm. 1).
  GAN, k = 5: the same, with 5 discriminator updates per generator update
  and batch 64. The paper's Figure 4 says only that its GANs were "trained
  with the standard GAN procedure", and Section 4.1 that "We use the
  hyper-parameters specified in Algorithm 1 for all of our experiments"
  (n_critic = 5, m = 64). Its JS estimate sits near log 2 because "the
  discriminator has zero loss"; 5 updates per generator update train the
  discriminator nearer to that optimum than DCGAN's one. (Algorithm 1's
  RMSProp 5e-5 is the critic's; the discriminator keeps DCGAN's Adam.)
  The curves are the per-iteration values of metrics.csv (the last critic
  update of each generator iteration, as the authors' code logs them),
  median-filtered with a window of 101 as in the authors' README; FID is
  computed every `eval_every` generator iterations on `eval_samples`
  generated images against as many held-out test images.

Smaller than the paper, and why.
  * Data: Fashion-MNIST 28x28 instead of LSUN bedrooms 64x64 (LSUN is not
    available offline here); the metric is classifier-FID, not the paper's
    visual inspection of samples.
  * Length: 10,000 generator iterations for each model instead of the
    paper's ~100k+, and network width dim = 32 instead of 64, so that the
    three runs fit in about 2 hours on 2 CPU cores. (An earlier version ran
    1500 iterations: there the DCGAN's JS estimate fell from 0.51 to 0.34 and
    tracked FID almost as well as the WGAN's estimate; `--set
    iterations=1500 --set eval_every=100 --set gan_k5=false`.)
  * FID on 500 generated against 500 held-out images (biased upwards
    against more samples; the trend, not the level, is compared): the
    runner's evaluation also computes KID over 100 subsets, which dominates
    its cost on the loaded machine.
  Paper's scale (model side, on Fashion-MNIST): --set iterations=100000
  --set dim=64 --set eval_every=1000 --set eval_samples=10000.
  The paper's resolution: `--set image_size=64` resizes Fashion-MNIST to
  64 x 64 and gives the three runs the 64 px DCGAN networks (4 transposed
  convolutions in the generator, against 2 at 28 px). At 28 px neither GAN's
  discriminator reaches the zero loss the paper's log 2 rests on; at 64 px
  figure 8's GAN discriminator did, against the generator without BatchNorm
  (docs/figures.md, sections 7 and 8).
"""

import os

import numpy as np

from figures import common

FULL = dict(
    dataset="fashion_mnist",
    dim=32,                 # the DCGAN base width (64 in the runner's default)
    image_size=None,        # None: the data's own (28); 64: resized, the papers' networks
    iterations=10000,       # generator iterations, for every model
    eval_every=500,         # FID every this many generator iterations
    eval_samples=500,       # generated (and held-out real) images per FID
    median_window=101,      # the authors' README
    wgan_batch_size=64,     # Algorithm 1 of the WGAN paper
    gan_batch_size=128,     # DCGAN
    authors_schedule=True,  # the WGAN authors' 100-critic-update schedule
    n_critic=5,             # WGAN critic updates per generator iteration otherwise
    gan_k5=True,            # also the GAN with Algorithm 1's n_critic = 5 and m = 64
    run_eagerly=False,
)
QUICK = dict(FULL, dim=8, iterations=2, eval_every=2, eval_samples=32, median_window=3,
             wgan_batch_size=8, gan_batch_size=8, authors_schedule=False, n_critic=1,
             run_eagerly=True)

# The GANs: (name, discriminator steps per generator step, batch size setting, title).
GANS = (("gan", 1, "gan_batch_size", "DCGAN (k = 1): discriminator's JS estimate"),
        ("gan_k5", 5, "wgan_batch_size", "GAN, k = 5, batch 64: JS estimate"))

LOG2 = float(np.log(2.0))
TRACKING_THRESHOLD = 0.5   # Spearman rank correlation, estimate vs FID
NEAR_LOG2 = 0.9            # fraction of log 2


def median_filter(values, window):
    """Running median over `window` iterations (odd, shrunk to the series), edges held."""
    import scipy.ndimage

    values = np.asarray(values, dtype=np.float64)
    window = max(1, min(int(window), len(values)))
    window -= 1 - window % 2  # odd
    return scipy.ndimage.median_filter(values, size=window, mode="nearest")


def spearman(x, y):
    """Spearman rank correlation of two series (nan if either is constant or too short)."""
    import scipy.stats

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return np.nan
    return float(scipy.stats.spearmanr(x[keep], y[keep])[0])


def train_flags(run, batch_size):
    return dict(dataset=run.dataset, dim=run.dim, iterations=run.iterations,
                batch_size=batch_size, eval_every=run.eval_every,
                eval_samples=run.eval_samples, classifier=run.classifier(run.dataset),
                sample_every=max(2, run.iterations // 4), run_eagerly=run.run_eagerly,
                image_size=run.image_size)


def read_run(run_dir, column, window):
    """(iterations, raw, filtered) of a metrics.csv column, and (eval iterations, FID)."""
    metrics = common.read_csv(os.path.join(run_dir, "metrics.csv"))
    images = common.read_csv(os.path.join(run_dir, "image_metrics.csv"))
    raw = metrics[column]
    return metrics["iteration"], raw, median_filter(raw, window), images["iteration"], images["fid"]


def curve_limits(filtered, *levels, margin=0.1):
    """y-limits around the median-filtered curve (and `levels`, such as log 2), `margin` of its
    range beyond each end: the raw estimate's rare spikes (a discriminator loss of 10 on one
    batch) would otherwise squash the curve the figure is about into a line."""
    values = np.concatenate([np.ravel(filtered), np.ravel(levels)])
    low, high = float(np.min(values)), float(np.max(values))
    pad = margin * (high - low) if high > low else 0.5
    return low - pad, high + pad


def gans(run):
    """The GANs of this run's settings: GANS, without the k = 5 one unless `gan_k5`."""
    return [g for g in GANS if g[0] == "gan" or run.gan_k5]


def compute(run):
    run.classifier(run.dataset)  # trained first if missing: not a part of the first run's time
    progress = run.progress(1 + len(gans(run)), "training WGAN and GAN", of_parts=True)
    runs = [("wgan", "wasserstein", run.train(
        "wgan", "wgan", preset="wgan", authors_schedule=run.authors_schedule,
        n_critic=run.n_critic, **train_flags(run, run.wgan_batch_size)))]
    progress.update()
    for name, steps, batch_setting, _ in gans(run):
        runs.append((name, "js_estimate", run.train(
            "gan", name, preset="dcgan", n_critic=steps,
            **train_flags(run, getattr(run, batch_setting)))))
        progress.update()
    data = {}
    for name, column, run_dir in runs:
        it, raw, filtered, eval_it, fid = read_run(run_dir, column, run.median_window)
        at_eval = np.interp(eval_it, it, filtered)
        data.update({f"{name}_iteration": it, f"{name}_estimate": raw,
                     f"{name}_filtered": filtered, f"{name}_eval_iteration": eval_it,
                     f"{name}_fid": fid, f"{name}_estimate_at_eval": at_eval,
                     f"{name}_spearman": np.array(spearman(at_eval, fid))})
        if name != "wgan":
            half = filtered[len(filtered) // 2:]
            data[f"{name}_second_half_median"] = np.array(np.median(half))
            run.log(f"{name}: Spearman(JS estimate, FID) {float(data[f'{name}_spearman']):.3f}, "
                    f"median over the second half {float(np.median(half)):.3f} "
                    f"(log 2 = {LOG2:.3f})")
    run.log(f"WGAN: Spearman(estimate, FID) {float(data['wgan_spearman']):.3f}")
    return data


def plot(data, run):
    import matplotlib.pyplot as plt

    panels = [("wgan", "WGAN (weight clipping): -critic loss", "-critic loss (W estimate)",
               "tab:blue")]
    panels += [(name, title, "JS estimate", color)
               for (name, _, _, title), color in zip(gans(run), ("tab:orange", "tab:brown"))]
    figure, axes = plt.subplots(2, len(panels), figsize=(6 * len(panels), 8.5), squeeze=False)
    for column, (name, title, label, color) in enumerate(panels):
        ax = axes[0, column]
        ax.plot(data[f"{name}_iteration"], data[f"{name}_estimate"], color=color, alpha=0.2,
                lw=0.6, label=f"{label}, raw (spikes off the axis)")
        ax.plot(data[f"{name}_iteration"], data[f"{name}_filtered"], color=color, lw=2,
                label=f"{label}, median filter ({run.median_window})")
        if name != "wgan":
            ax.axhline(LOG2, color="k", ls="--", lw=1, label="log 2")
        ax.set_ylim(*curve_limits(data[f"{name}_filtered"], *([] if name == "wgan" else [LOG2])))
        ax.set_xlabel("generator iterations")
        ax.set_ylabel(label, color=color)
        ax.set_title(title)
        twin = ax.twinx()
        twin.plot(data[f"{name}_eval_iteration"], data[f"{name}_fid"], "o-", color="tab:red",
                  ms=3, lw=1.2, label="classifier-FID")
        twin.set_ylabel("classifier-FID (lower is better)", color="tab:red")
        lines = ax.get_legend_handles_labels()
        more = twin.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper right", fontsize=8)

        ax = axes[1, column]
        points = ax.scatter(data[f"{name}_estimate_at_eval"], data[f"{name}_fid"],
                            c=data[f"{name}_eval_iteration"], cmap="viridis", s=25)
        ax.set_xlabel(f"{label}, median-filtered, at the evaluation")
        ax.set_ylabel("classifier-FID")
        ax.set_title(f"Spearman rank correlation {float(data[f'{name}_spearman']):.2f}")
        figure.colorbar(points, ax=ax, label="generator iteration")
    figure.suptitle(f"Figure 7: the Wasserstein estimate tracks sample quality "
                    f"({run.dataset}, DCGAN networks, dim {run.dim}, "
                    f"{run.iterations} generator iterations)")
    figure.tight_layout()
    return figure


def claims(data, run):
    wgan = float(data["wgan_spearman"])
    result = {"wgan_estimate_tracks_fid_spearman_above_0.5": wgan > TRACKING_THRESHOLD}
    for name, *_ in gans(run):
        gan = float(data[f"{name}_spearman"])
        result[f"{name}_js_tracks_fid_less_than_wgan"] = bool(np.isnan(gan) or gan < wgan)
        result[f"{name}_js_stays_near_log2"] = bool(
            float(data[f"{name}_second_half_median"]) >= NEAR_LOG2 * LOG2)
    return result


if __name__ == "__main__":
    common.main(__name__)
