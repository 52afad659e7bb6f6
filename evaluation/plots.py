"""Pictures of a toy run: real and generated samples over the critic's value surface."""

import matplotlib

matplotlib.use("Agg")  # files only; no display on these machines
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# The WGAN-GP authors plot the critic on a 128 x 128 grid over [-3, 3]^2.
GRID_EXTENT = 3.0
GRID_RESOLUTION = 128


def critic_surface(critic, extent=GRID_EXTENT, resolution=GRID_RESOLUTION):
    """The critic's value on a square grid, ready for `plt.contour(xs, xs, values)`.

    Returns (xs, values) with values[i, j] = critic((xs[j], xs[i])): rows follow
    the vertical axis, as matplotlib expects (the authors' code builds the
    transposed grid and transposes back before plotting).
    """
    xs = np.linspace(-extent, extent, resolution, dtype=np.float32)
    points = np.stack(np.meshgrid(xs, xs, indexing="xy"), axis=-1).reshape(-1, 2)
    values = np.asarray(critic(points, training=False)).reshape(resolution, resolution)
    return xs, values


def plot_toy_samples(ax, critic, real, fake, title=None, extent=GRID_EXTENT):
    """Draw the critic's contours with real (orange) and generated (green) samples on `ax`."""
    xs, values = critic_surface(critic, extent)
    contours = ax.contourf(xs, xs, values, levels=20, cmap="Blues", alpha=0.8)
    # Real samples last: they are tight clusters the generated cloud would hide.
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:green", marker="+", label="generated")
    ax.scatter(real[:, 0], real[:, 1], s=4, c="tab:orange", marker="+", label="real")
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", markerscale=3, fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return contours


def extent_for(points):
    """The half-width of a square view holding `points`: the authors' 3, or wider for wider data."""
    finite = np.abs(np.asarray(points, np.float64))
    finite = finite[np.isfinite(finite)]
    return max(GRID_EXTENT, 1.1 * float(finite.max())) if finite.size else GRID_EXTENT


def save_toy_figure(path, critic, real, fake, title=None, averaged=None):
    """Write a PNG of `plot_toy_samples` with a colour bar for the critic's value.

    `averaged`: samples of the moving average of the generator's weights, drawn
    in a second panel beside the generator's own (`fake`), over the same critic.
    """
    panels = [(fake, title)]
    if averaged is not None:
        panels = [(fake, f"{title}\ngenerator" if title else "generator"),
                  (averaged, "moving average of its weights")]
    # Fixed margins rather than a layout engine: constrained layout measured
    # every label's extent and was half of this function's time (0.36 of 0.79 s
    # per picture, which a toy run writes every --sample_every iterations).
    width = 6 * len(panels)  # inches; the margins below are in inches too
    fig, axes = plt.subplots(1, len(panels), figsize=(width, 5.4), squeeze=False)
    # 1.25 in on the right: the colour bar's ticks and label, even long ones
    # such as a clipped critic's -0.002168.
    fig.subplots_adjust(left=0.5 / width, right=1 - 1.25 / width, bottom=0.07, top=0.9,
                        wspace=0.15)
    for ax, (samples, panel_title) in zip(axes[0], panels):
        contours = plot_toy_samples(ax, critic, real, samples, panel_title,
                                    extent=extent_for(real))
    # Narrow (fraction) and about as tall as a panel (aspect: height over width).
    fig.colorbar(contours, ax=list(axes[0]), label="critic value", fraction=0.035 / len(panels),
                 pad=0.05 / len(panels), aspect=28, shrink=0.95)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def image_grid(images, columns=8):
    """Tile images [N, H, W, C] in [-1, 1] into one uint8 picture, row by row.

    A 2-pixel black border separates the tiles. Grey images come back [H', W'],
    colour ones [H', W', 3].
    """
    images = np.asarray(images, np.float32)
    n, h, w, c = images.shape
    rows = -(-n // columns)
    grid = np.full((rows * (h + 2) + 2, columns * (w + 2) + 2, c), -1.0, np.float32)
    for i, image in enumerate(images):
        top, left = 2 + (i // columns) * (h + 2), 2 + (i % columns) * (w + 2)
        grid[top:top + h, left:left + w] = image
    pixels = np.clip(np.round((grid + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return pixels[..., 0] if c == 1 else pixels


def save_image_grid(path, images, columns=8):
    """Write `image_grid(images)` as a PNG."""
    from PIL import Image

    Image.fromarray(image_grid(images, columns)).save(path)


def save_points(path, points, extent=None):
    """Write a scatter plot of 2-D samples as a PNG (default view: `extent_for` the points)."""
    extent = extent or extent_for(points)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(points[:, 0], points[:, 1], s=4, c="tab:green", marker="+")
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_toy_history(path, snapshots, real, title=None, extent=None, panels=6):
    """Write a row of scatter plots of a run's fixed-noise samples over training as a PNG.

    snapshots: [(iteration, points [N, 2])] in order; at most `panels` of them
    are drawn, evenly spaced and always with the last. A generator that
    hops from mode to mode (Metz et al. 2017, Figure 1) shows it here.
    """
    extent = extent or extent_for(real)
    chosen = np.unique(np.linspace(0, len(snapshots) - 1, min(panels, len(snapshots)))
                       .round().astype(int))
    fig, axes = plt.subplots(1, len(chosen), figsize=(2.6 * len(chosen), 2.9), squeeze=False)
    for ax, index in zip(axes[0], chosen):
        iteration, points = snapshots[index]
        ax.scatter(real[:, 0], real[:, 1], s=2, c="tab:orange", alpha=0.3)
        ax.scatter(points[:, 0], points[:, 1], s=2, c="tab:green", alpha=0.5)
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"iteration {iteration}", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
