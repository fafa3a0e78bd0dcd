"""How much do the simulated DR5 votes say about rings? The most the demo encoder can learn from them.

The demo encoder is pretrained on DR5 vote counts only, and the DR5 tree has no ring question: it
learns rings only as far as they change the volunteers' answers. This fits a logistic regression
that predicts ``ring`` from a galaxy's vote counts alone (no image) and prints its test accuracy
next to the "no ring" baseline:

    python benchmarks/ring_in_votes.py            # 12,000 galaxies: 9,000 to fit, 3,000 to test

Only morphologies and votes are drawn (no images are rendered), so it takes a few seconds.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression

from zoobot.survey import SCHEMA_NAME, sample_morphology, simulate_votes
from zoobot.trees import get_schema


def votes_and_rings(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Vote counts (one row per galaxy, one column per DR5 answer) and the true ``ring`` (0/1)."""
    schema = get_schema(SCHEMA_NAME)
    morphology_rng, volunteer_rng = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    galaxies = [sample_morphology(morphology_rng) for _ in range(n)]
    votes = [simulate_votes(params, schema, volunteer_rng) for params in galaxies]
    counts = np.array([[row[column] for column in schema.label_cols] for row in votes], dtype=float)
    return counts, np.array([params.ring for params in galaxies], dtype=int)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=12000, help="galaxies (a quarter are the test set)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    counts, ring = votes_and_rings(args.n, args.seed)
    n_fit = args.n * 3 // 4
    model = LogisticRegression(max_iter=3000).fit(counts[:n_fit], ring[:n_fit])
    accuracy = model.score(counts[n_fit:], ring[n_fit:])
    baseline = 1 - ring[n_fit:].mean()
    print(
        f"ring from DR5 vote counts alone: {100 * accuracy:.1f}% test accuracy "
        f"({args.n - n_fit} test galaxies; always 'no ring': {100 * baseline:.1f}%)"
    )


if __name__ == "__main__":
    main()
