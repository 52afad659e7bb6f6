"""Exact Wasserstein-1 distance between two equal-size empirical samples.

For samples a_1..a_N and b_1..b_N with uniform weights 1/N, the optimal
transport problem

    W1 = min_{P in B_N} (1/N) sum_ij P_ij ||a_i - b_j||,

over the Birkhoff polytope B_N of doubly stochastic matrices is a linear
programme whose optimum is attained at a vertex of B_N, and by the
Birkhoff-von Neumann theorem the vertices are exactly the permutation
matrices. The optimal plan is therefore a one-to-one matching, which the
Hungarian-type solver `scipy.optimize.linear_sum_assignment` finds exactly.
"""

import numpy as np
import scipy.optimize
import scipy.spatial.distance


def wasserstein1_estimate(a, b) -> float:
    """W1 between the empirical measures of ``a`` [N, D] and ``b`` [N, D].

    Solves the optimal-transport problem exactly as an assignment problem on
    the Euclidean cost matrix C_ij = ||a_i - b_j|| (uniform weights, equal N:
    the optimal plan is a permutation, see the module docstring) and returns
    the mean matched distance (1/N) sum_i ||a_i - b_sigma(i)||.

    Building C costs O(N^2 D) time and O(N^2) memory, the assignment O(N^3)
    time: on one CPU core N = 1000 takes well under a second, N = 2500 about
    ten seconds and N = 5000 over a minute, so 1000-2500 is a sensible size.
    By the joint convexity of W1, the value is an upward-biased estimate of
    the W1 between the underlying distributions, with a bias that shrinks as
    N grows (slowly in high D); compare values only at one N.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape != b.shape:
        raise ValueError(f"a and b must be non-empty [N, D] arrays of one shape, got {a.shape}, {b.shape}.")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("a and b must be finite.")

    cost = scipy.spatial.distance.cdist(a, b, metric="euclidean")
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    return float(np.mean(cost[rows, cols]))
