"""Figure 11: Three ways to a 1-Lipschitz critic: clipping, gradient penalty, spectral normalization

Papers: Arjovsky et al. 2017 (WGAN, weight clipping), Gulrajani et al. 2017
(WGAN-GP, gradient penalty) and Miyato et al. 2018 ("Spectral Normalization
for Generative Adversarial Networks", Algorithm 1). The claim checked here is
Miyato et al.'s: dividing every layer's weight by its spectral norm sigma(W)
keeps each layer's norm at 1, so the critic's input-gradient norm is at most
1 everywhere (for ReLU networks ||grad f|| <= prod_l sigma(W_l), their Eq. 7),
without the penalty's sampling between real and fake points; the penalty
holds the norm near 1 only where it samples, and clipping keeps it far below 1.

Setting: figure 4's (`figures.critic_surfaces`, the WGAN-GP authors'
FIXED_GENERATOR toy set-up: the "generator" is the real data plus N(0, I),
only the critic trains), with a third row. The spectrally normalised critic
is the same 3-layer ReLU MLP with every Dense layer replaced by
`models.spectral_normalization.SpectralDense`, one power iteration per
update, trained with the penalty's optimizer (Adam 1e-4, 0.5, 0.9) and no
penalty, so the constraint is the only difference from the middle row.

Measured, for each critic: its value surface; the gradient norm at 4096 real
points, at their fakes, at the interpolates between them (where the penalty
samples) and on every point of the 128 x 128 plotting grid over [-3, 3]^2;
and the spectral norm of each layer's kernel as the layer computes with it
(W for clipping and the penalty, W / sigma_estimate for spectral
normalization), after every 100 updates.

Reduced from the papers as figure 4 is: 3 x 128-unit critics, 1,000 critic
updates each (`--set hidden_units=512 --set critic_steps=...` for more).
"""

import numpy as np

from figures import common
from figures import critic_surfaces

FULL = dict(critic_surfaces.FULL)
QUICK = dict(critic_surfaces.QUICK)

METHODS = ("clipping", "gradient_penalty", "spectral")
POINTS = ("real", "fake", "interpolates", "grid")
# One power iteration per update tracks sigma from below and a little late:
# the normalised layers' norms and the gradient bound are 1 within this.
TOLERANCE = 0.05


def compute(run):
    return critic_surfaces.compute(run, METHODS)


def point_norms(data, key):
    """{point kind: gradient norms there} of one critic (`key` = method_dataset)."""
    return {"real": data[f"grad_norms_real_{key}"], "fake": data[f"grad_norms_fake_{key}"],
            "interpolates": data[f"grad_norms_{key}"], "grid": data[f"grad_norms_grid_{key}"]}


def plot(data, run):
    import matplotlib.pyplot as plt

    datasets, xs = run.datasets, data["xs"]
    rows = len(METHODS) + 2
    fig, axes = plt.subplots(rows, len(datasets), figsize=(3.9 * len(datasets), 3.7 * rows),
                             squeeze=False)
    colors = {"clipping": "tab:blue", "gradient_penalty": "tab:orange",
              "spectral": "tab:green"}
    for col, dataset in enumerate(datasets):
        for row, method in enumerate(METHODS):
            ax, key = axes[row, col], f"{method}_{dataset}"
            contours = ax.contour(xs, xs, data[f"surface_{key}"], levels=15, cmap="viridis",
                                  linewidths=1)
            real = data[f"real_{key}"]
            ax.scatter(real[:, 0], real[:, 1], s=5, c="tab:orange", marker="+", linewidths=0.7,
                       zorder=3)
            fig.colorbar(contours, ax=ax, shrink=0.8, format="%.2g")
            ax.set_aspect("equal")
            norms = point_norms(data, key)
            ax.set_title(f"{dataset}, {critic_surfaces.METHOD_TITLES[method].format(**run.settings)}"
                         f"\nmean grad norm: interpolates {np.mean(norms['interpolates']):.3g}, "
                         f"grid max {np.max(norms['grid']):.3g}", fontsize=8)
        # Gradient norms where they were measured, one box per method and kind of point.
        ax = axes[len(METHODS), col]
        positions, values, box_colors = [], [], []
        for i, kind in enumerate(POINTS):
            for j, method in enumerate(METHODS):
                positions.append(i * (len(METHODS) + 1) + j)
                values.append(point_norms(data, f"{method}_{dataset}")[kind])
                box_colors.append(colors[method])
        boxes = ax.boxplot(values, positions=positions, widths=0.8, showfliers=False,
                           patch_artist=True)
        for patch, color in zip(boxes["boxes"], box_colors):
            patch.set_facecolor(color)
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
        ax.set_xticks([i * (len(METHODS) + 1) + 1 for i in range(len(POINTS))], POINTS)
        ax.set_yscale("log")
        ax.set_title(f"{dataset}: input-gradient norms", fontsize=9)
        # Each layer's spectral norm over training.
        ax = axes[len(METHODS) + 1, col]
        for method in METHODS:
            key = f"{method}_{dataset}"
            history = data[f"history_layer_norms_{key}"]
            for layer in range(history.shape[1]):
                ax.plot(data[f"steps_{key}"], history[:, layer], color=colors[method],
                        alpha=0.5 + 0.5 * layer / max(history.shape[1] - 1, 1),
                        label=method if layer == 0 else None)
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
        ax.set_yscale("log")
        ax.set_xlabel("critic updates")
        ax.set_title(f"{dataset}: each layer's spectral norm", fontsize=9)
        if col == 0:
            ax.legend(fontsize=7)
    fig.suptitle("Weight clipping, gradient penalty and spectral normalization of the same "
                 f"{run.hidden_layers} x {run.hidden_units} critic, {run.critic_steps} updates "
                 "against a fixed generator (real data + N(0, I))", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def lipschitz_bound(data, key):
    """prod_l sigma(W_l) of the final critic: a bound on its input-gradient norm (ReLU MLP)."""
    return float(np.prod(data[f"history_layer_norms_{key}"][-1]))


def claims(data, run):
    result = {}
    for dataset in run.datasets:
        spectral = f"spectral_{dataset}"
        final = data[f"history_layer_norms_{spectral}"][-1]
        result[f"spectral_every_layer_norm_at_1_{dataset}"] = bool(
            np.all(np.abs(final - 1.0) <= TOLERANCE))
        result[f"spectral_grad_norm_at_most_1_everywhere_{dataset}"] = bool(
            max(np.max(v) for v in point_norms(data, spectral).values()) <= 1.0 + TOLERANCE)
        penalised = point_norms(data, f"gradient_penalty_{dataset}")
        result[f"gp_grad_norm_near_1_on_interpolates_{dataset}"] = bool(
            0.5 <= np.mean(penalised["interpolates"]) <= 1.5)
        result[f"clipped_grad_norm_far_below_1_{dataset}"] = bool(
            np.max(point_norms(data, f"clipping_{dataset}")["grid"]) < 0.1)
    return result


def numbers(data, run):
    """Per critic: mean and max gradient norm at each kind of point, final layer norms."""
    record = {}
    for dataset in run.datasets:
        for method in METHODS:
            key = f"{method}_{dataset}"
            record[key] = dict(
                {f"{kind}_mean": round(float(np.mean(v)), 4)
                 for kind, v in point_norms(data, key).items()},
                **{f"{kind}_max": round(float(np.max(v)), 4)
                   for kind, v in point_norms(data, key).items()},
                layer_norms=[round(float(s), 4) for s in data[f"history_layer_norms_{key}"][-1]],
                lipschitz_bound=round(lipschitz_bound(data, key), 4),
                wasserstein=round(float(data[f"wasserstein_{key}"]), 4))
    return record


if __name__ == "__main__":
    common.main(__name__)
