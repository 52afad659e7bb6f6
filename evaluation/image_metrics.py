"""FID, KID and Inception Score as pure NumPy/SciPy functions (float64).

The inputs are Inception network outputs computed elsewhere: pool features
[N, D] for FID and KID, softmax predictions [N, C] for the Inception Score.
Each function follows its paper's definition and the authors' reference code:

* FID: Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule
  Converge to a Local Nash Equilibrium", Eq. 6; TTUR / pytorch-fid code.
* KID: Binkowski et al. 2018, "Demystifying MMD GANs" (the Kernel Inception
  Distance), with the unbiased MMD^2 estimator of Gretton et al. 2012,
  "A Kernel Two-Sample Test", Lemma 6, Eq. 3; MMD-GAN ``compute_scores.py``.
* IS: Salimans et al. 2016, "Improved Techniques for Training GANs",
  Section 4; improved-gan ``inception_score.py``.
"""

import warnings

import numpy as np
import scipy.linalg
import scipy.special

# Reference FID code (TTUR, pytorch-fid): an imaginary part of the diagonal of
# sqrtm(sigma1 sigma2) up to this absolute size is rounding error and dropped.
_IMAG_ATOL = 1e-3
# A float32 softmax over Inception's 1008 classes may sum to 1 only within
# about C * 2**-24 ~ 6e-5; a generous tolerance accepts it, and rows off by
# more than this are not probability vectors.
_PROB_SUM_ATOL = 1e-3


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Heusel et al. 2017, Eq. 6:

        d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2}).

    The matrix square root is `scipy.linalg.sqrtm`, handled as in the TTUR and
    pytorch-fid reference code: if it is not finite (a singular product, for
    which SciPy < 1.16 returns NaN/inf), ``eps`` is added to the diagonals of
    both covariances and the root recomputed (the trace terms keep the
    original covariances, as there); SciPy >= 1.16 instead returns a
    finite root of a singular product with a LinAlgWarning, which is used as
    is. A complex root whose diagonal has an imaginary part within 1e-3 (the
    reference tolerance) is rounding error and its real part is kept; a larger
    imaginary part raises ValueError.

    Args:
      mu1, mu2: [D] means.
      sigma1, sigma2: [D, D] covariances.
      eps: diagonal offset for a singular product (reference default 1e-6).
    """
    mu1 = np.asarray(mu1, dtype=np.float64)
    mu2 = np.asarray(mu2, dtype=np.float64)
    sigma1 = np.asarray(sigma1, dtype=np.float64)
    sigma2 = np.asarray(sigma2, dtype=np.float64)
    if mu1.ndim != 1 or mu1.size == 0 or mu2.shape != mu1.shape:
        raise ValueError(f"mu1, mu2 must be non-empty [D] vectors of one shape, got {mu1.shape}, {mu2.shape}.")
    d = mu1.shape[0]
    if sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"sigma1 and sigma2 must be [{d}, {d}], got {sigma1.shape} and {sigma2.shape}.")
    if not all(np.all(np.isfinite(x)) for x in (mu1, mu2, sigma1, sigma2)):
        raise ValueError("means and covariances must be finite.")
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps}.")

    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.all(np.isfinite(covmean)):
        warnings.warn(
            f"sqrtm(sigma1 sigma2) is not finite (singular product); adding {eps} to the "
            "diagonals of both covariances.",
            RuntimeWarning,
            stacklevel=2,
        )
        offset = eps * np.eye(d)
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
        if not np.all(np.isfinite(covmean)):
            raise ValueError("sqrtm(sigma1 sigma2) is not finite even with eps added to the diagonals.")
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0.0, atol=_IMAG_ATOL):
            raise ValueError(
                f"sqrtm(sigma1 sigma2) has an imaginary component of {np.max(np.abs(covmean.imag))}."
            )
        covmean = covmean.real

    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid_from_features(f1, f2, eps=1e-6) -> float:
    """FID between feature sets ``f1`` [N1, D] and ``f2`` [N2, D].

    Fits a Gaussian to each set, with the sample mean and the unbiased
    (N - 1) sample covariance over rows as in the reference code
    (``np.cov(f, rowvar=False)``), and returns `frechet_distance` of the two
    (Heusel et al. 2017, Eq. 6).
    """
    f1 = np.asarray(f1, dtype=np.float64)
    f2 = np.asarray(f2, dtype=np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or min(f1.shape[0], f2.shape[0]) < 2 or f1.shape[1] != f2.shape[1]:
        raise ValueError(f"f1 and f2 must be [N, D] arrays, N >= 2, one D; got {f1.shape}, {f2.shape}.")
    # atleast_2d: np.cov of a single feature column is a 0-d array.
    sigma1 = np.atleast_2d(np.cov(f1, rowvar=False))
    sigma2 = np.atleast_2d(np.cov(f2, rowvar=False))
    return frechet_distance(f1.mean(axis=0), sigma1, f2.mean(axis=0), sigma2, eps=eps)


def _unbiased_mmd2_cubic(x, y) -> float:
    """Unbiased MMD^2 (Gretton et al. 2012, Lemma 6, Eq. 3) of two [m, d] sets.

    Kernel k(x, y) = (x.y / d + 1)^3 (Binkowski et al. 2018); the within-set
    sums leave out the diagonal, the cross sum keeps all m^2 pairs, as
    ``mmd_est='unbiased'`` in the reference code.
    """
    m, d = x.shape
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.mean())


def kernel_inception_distance(f1, f2, num_subsets=100, subset_size=1000, seed=0) -> tuple[float, float]:
    """KID between feature sets ``f1`` [N1, D] and ``f2`` [N2, D]: (mean, std).

    Binkowski et al. 2018: the unbiased estimator of the squared MMD
    (Gretton et al. 2012, Lemma 6, Eq. 3) with the cubic polynomial kernel
    k(x, y) = (x.y / D + 1)^3. As in the authors' reference code
    (``compute_scores.py``, defaults ``--mmd-subsets 100``,
    ``--mmd-subset-size 1000``), it is computed on ``num_subsets`` pairs of
    subsets of ``subset_size`` rows each, drawn without replacement from each
    set, and the mean and (population) standard deviation over the subsets
    are returned. The estimate is unbiased and not clamped, so it can be
    negative when the distributions are equal. When ``subset_size`` is the
    size of both sets, every subset is the whole set: it is computed once.

    ``seed`` seeds the subset choice (`numpy.random.default_rng`).
    """
    f1 = np.asarray(f1, dtype=np.float64)
    f2 = np.asarray(f2, dtype=np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1] or f1.shape[1] == 0:
        raise ValueError(f"f1 and f2 must be [N, D] arrays with one D >= 1, got {f1.shape} and {f2.shape}.")
    if not (np.all(np.isfinite(f1)) and np.all(np.isfinite(f2))):
        raise ValueError("f1 and f2 must be finite.")
    if not (isinstance(num_subsets, (int, np.integer)) and num_subsets >= 1):
        raise ValueError(f"num_subsets must be a positive integer, got {num_subsets}.")
    max_size = min(f1.shape[0], f2.shape[0])
    if not (isinstance(subset_size, (int, np.integer)) and 2 <= subset_size <= max_size):
        raise ValueError(f"subset_size must be an integer in [2, {max_size}], got {subset_size}.")

    if subset_size == f1.shape[0] == f2.shape[0]:
        # Every "subset" is then the whole of both sets, reordered, and the
        # estimator does not depend on the order: one evaluation is all of them
        # (the reference code would repeat it num_subsets times), std 0.
        return float(_unbiased_mmd2_cubic(f1, f2)), 0.0
    rng = np.random.default_rng(seed)
    mmd2 = np.empty(num_subsets)
    for i in range(num_subsets):
        x = f1[rng.choice(f1.shape[0], subset_size, replace=False)]
        y = f2[rng.choice(f2.shape[0], subset_size, replace=False)]
        mmd2[i] = _unbiased_mmd2_cubic(x, y)
    return float(np.mean(mmd2)), float(np.std(mmd2))


def inception_score(probs, splits=10) -> tuple[float, float]:
    """Inception Score of class predictions ``probs`` [N, C]: (mean, std).

    Salimans et al. 2016, Section 4: IS = exp(E_x KL(p(y|x) || p(y))), with
    p(y) the mean of p(y|x) over the samples. As in the authors' reference
    code (``inception_score.py``), the N rows are cut into ``splits``
    contiguous parts (bounds i * N // splits), the score is computed on each
    with its own p(y), and the mean and (population) standard deviation over
    the splits are returned. KL terms use 0 log 0 = 0 (`scipy.special.rel_entr`),
    where the reference's ``p * log(p)`` would give NaN for exact zeros.
    Each row must be a probability vector: non-negative and summing to 1
    within 1e-3.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] == 0 or probs.shape[1] == 0:
        raise ValueError(f"probs must be a non-empty [N, C] array, got shape {probs.shape}.")
    n = probs.shape[0]
    if not (isinstance(splits, (int, np.integer)) and 1 <= splits <= n):
        raise ValueError(f"splits must be an integer in [1, {n}] (N), got {splits}.")
    if not (np.all(np.isfinite(probs)) and np.all(probs >= 0.0)
            and np.allclose(probs.sum(axis=1), 1.0, rtol=0.0, atol=_PROB_SUM_ATOL)):
        raise ValueError("each row of probs must be non-negative and sum to 1.")

    scores = np.empty(splits)
    for i in range(splits):
        part = probs[i * n // splits:(i + 1) * n // splits]
        marginal = part.mean(axis=0, keepdims=True)
        kl = scipy.special.rel_entr(part, marginal).sum(axis=1)
        scores[i] = np.exp(kl.mean())
    return float(np.mean(scores)), float(np.std(scores))
