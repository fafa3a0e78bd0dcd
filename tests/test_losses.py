import itertools
import math
from types import SimpleNamespace

import pytest
import torch

from zoobot.losses import (
    CustomMultiQuestionLoss,
    VoteCountError,
    calculate_multiquestion_loss,
    dirichlet_multinomial_nll,
    expected_vote_fractions,
    get_dirichlet_neg_log_prob,
    prob_question_asked,
    vote_fraction_intervals,
)


def direct_nll(alpha: list[float], counts: list[int]) -> float:
    """The Dirichlet-multinomial pmf written out with math.lgamma, independently of the library."""
    n, a = sum(counts), sum(alpha)
    log_p = math.lgamma(n + 1) + math.lgamma(a) - math.lgamma(n + a)
    for ai, ci in zip(alpha, counts):
        log_p += math.lgamma(ci + ai) - math.lgamma(ai) - math.lgamma(ci + 1)
    return -log_p


def compositions(total: int, parts: int):
    for cut in itertools.combinations(range(total + parts - 1), parts - 1):
        edges = (-1,) + cut + (total + parts - 1,)
        yield [edges[i + 1] - edges[i] - 1 for i in range(parts)]


@pytest.mark.parametrize("alpha", [[2.5, 7.0, 1.3], [1.01, 100.0, 50.0], [3.0, 3.0]])
def test_probabilities_of_all_vote_splits_sum_to_one(alpha):
    splits = torch.tensor(list(compositions(7, len(alpha))), dtype=torch.float32)
    conc = torch.tensor(alpha).expand(len(splits), -1)
    probs = torch.exp(-dirichlet_multinomial_nll(conc, splits).double())
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_matches_direct_formula():
    gen = torch.Generator().manual_seed(0)
    conc = 1 + 100 * torch.rand(16, 4, generator=gen)
    counts = torch.randint(0, 60, (16, 4), generator=gen).float()
    nll = dirichlet_multinomial_nll(conc, counts)
    expected = [direct_nll(a.tolist(), c.int().tolist()) for a, c in zip(conc.double(), counts)]
    assert nll.dtype == torch.float32
    assert nll.tolist() == pytest.approx(expected, rel=1e-5)


def test_unasked_question_has_zero_loss_and_zero_gradient():
    conc = torch.tensor([[3.0, 40.0], [5.0, 2.0]], requires_grad=True)
    counts = torch.tensor([[0.0, 0.0], [4.0, 1.0]])
    nll = dirichlet_multinomial_nll(conc, counts)
    nll.sum().backward()
    assert nll[0].item() == 0.0
    assert torch.equal(conc.grad[0], torch.zeros(2))
    assert nll[1].item() > 0
    assert conc.grad[1].abs().sum() > 0


def test_stable_at_ten_thousand_votes():
    conc = torch.tensor([[1.5, 100.0, 37.0], [90.0, 1.01, 60.0]], requires_grad=True)
    counts = torch.tensor([[10000.0, 0.0, 3.0], [4000.0, 2000.0, 4000.0]])
    nll = dirichlet_multinomial_nll(conc, counts)
    nll.sum().backward()
    expected = [direct_nll(a.tolist(), c.int().tolist()) for a, c in zip(conc.detach().double(), counts)]
    assert nll.tolist() == pytest.approx(expected, rel=1e-6)
    assert torch.isfinite(conc.grad).all()


@pytest.mark.parametrize("bad, match", [(float("nan"), "NaN"), (-1.0, "negative")])
def test_refuses_nan_and_negative_counts(bad, match):
    counts = torch.tensor([[3.0, 1.0], [bad, 2.0]])
    with pytest.raises(VoteCountError, match=match):
        dirichlet_multinomial_nll(torch.full((2, 2), 2.0), counts)


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match="one concentration per answer"):
        dirichlet_multinomial_nll(torch.ones(2, 3), torch.ones(2, 2))


def test_zoobot_name_is_the_same_loss():
    conc, counts = torch.tensor([[2.0, 9.0]]), torch.tensor([[3.0, 5.0]])
    assert torch.equal(get_dirichlet_neg_log_prob(conc, counts), dirichlet_multinomial_nll(conc, counts))


GROUPS = [(0, 1), (2, 3)]  # end inclusive


def test_multiquestion_loss_per_question_and_summed():
    conc = torch.tensor([[2.0, 8.0, 5.0, 1.5], [30.0, 3.0, 2.0, 2.0]])
    counts = torch.tensor([[10.0, 30.0, 20.0, 10.0], [35.0, 5.0, 0.0, 0.0]])
    per_q = calculate_multiquestion_loss(counts, conc, GROUPS)
    assert per_q.shape == (2, 2)
    assert per_q[0, 1].item() == pytest.approx(direct_nll([5.0, 1.5], [20, 10]), rel=1e-6)
    assert per_q[1, 1].item() == 0.0
    summed = CustomMultiQuestionLoss(GROUPS)(conc, counts)
    assert torch.allclose(summed, per_q.sum(dim=1))
    assert torch.equal(CustomMultiQuestionLoss(GROUPS, sum_over_questions=False)(conc, counts), per_q)


def test_groups_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="end inclusive"):
        calculate_multiquestion_loss(torch.ones(1, 4), torch.ones(1, 4), [(0, 1), (2, 4)])


def test_expected_fractions_are_dirichlet_means():
    conc = torch.tensor([[2.0, 6.0, 1.0, 3.0, 4.0]])
    fractions = expected_vote_fractions(conc, [(0, 1), (2, 4)])
    assert fractions.tolist()[0] == pytest.approx([0.25, 0.75, 0.125, 0.375, 0.5])


def test_intervals_hold_ninety_percent_of_dirichlet_samples():
    conc = torch.tensor([[2.0, 6.0, 20.0, 3.0], [50.0, 1.2, 4.0, 90.0]])
    low, high = vote_fraction_intervals(conc, [(0, 1), (2, 3)], interval=0.9)
    mean = expected_vote_fractions(conc, [(0, 1), (2, 3)])
    assert (low < mean).all() and (mean < high).all()
    torch.manual_seed(0)
    for start, end in [(0, 1), (2, 3)]:
        samples = torch.distributions.Dirichlet(conc[:, start : end + 1]).sample((20000,))
        inside = ((samples >= low[:, start : end + 1]) & (samples <= high[:, start : end + 1])).float().mean(0)
        assert torch.allclose(inside, torch.full_like(inside, 0.9), atol=0.01)


def test_interval_must_be_a_probability():
    with pytest.raises(ValueError, match="between 0 and 1"):
        vote_fraction_intervals(torch.ones(1, 2) * 2, [(0, 1)], interval=90)


def _tiny_schema():
    """Duck-typed stand-in for zoobot.schemas.Schema: a root question, one asked after its second
    answer, and one asked after that question's first answer."""
    answers = [SimpleNamespace(index=i) for i in range(6)]
    questions = [
        SimpleNamespace(asked_after=None),
        SimpleNamespace(asked_after=answers[1]),
        SimpleNamespace(asked_after=answers[2]),
    ]
    return SimpleNamespace(questions=questions, question_index_groups=[(0, 1), (2, 3), (4, 5)])


def test_prob_question_asked_multiplies_fractions_down_the_tree():
    fractions = torch.tensor([[0.2, 0.8, 0.25, 0.75, 0.5, 0.5]])
    asked = prob_question_asked(fractions, _tiny_schema())
    assert asked.tolist()[0] == pytest.approx([1.0, 0.8, 0.2])


def test_prob_question_asked_with_real_schema(tiny_schema_pairs):
    from zoobot.schemas import Schema

    schema = Schema(*tiny_schema_pairs)
    conc = torch.tensor([[10.0, 30.0, 5.0, 5.0], [40.0, 10.0, 1.5, 9.0]])
    fractions = expected_vote_fractions(conc, schema.question_index_groups)
    asked = prob_question_asked(fractions, schema)
    assert asked.tolist() == [pytest.approx([1.0, 0.75]), pytest.approx([1.0, 0.2])]
