"""Exercise checkers of notebook 05: typical mistakes fail with a reason
(tests/test_exercises.py: every solution passes, every stub reads as not done)."""

import torch

from vae_helpers.data import InMemoryBatches
from vae_helpers.exercises import lesson05


def test_nats_per_image_dividing_every_batch_by_128_fails():
    result = lesson05.check_nats_per_image(lambda sums, sizes: sum(sums) / (128 * len(sums)), verbose=False)
    assert not result.passed
    assert "test case 1" in result.message and "expected 78.52" in result.message
    assert "last batch" in result.message


def test_nats_per_image_averaging_batch_means_fails():
    def mean_of_means(sums, sizes):
        return sum(s / n for s, n in zip(sums, sizes)) / len(sums)

    result = lesson05.check_nats_per_image(mean_of_means, verbose=False)
    assert not result.passed and "test case 1" in result.message


def test_bce_through_sigmoid_and_log_fails_on_large_logits():
    def naive(logits, x):
        p = torch.sigmoid(logits)
        return -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=1)

    result = lesson05.check_bce_with_logits(naive, verbose=False)
    assert not result.passed
    assert "test case 3" in result.message  # cases 1 and 2 have moderate logits: the naive way is fine there
    assert "log1p" in result.message


def test_bce_returning_the_batch_mean_fails_on_shape():
    result = lesson05.check_bce_with_logits(
        lambda logits, x: torch.nn.functional.binary_cross_entropy_with_logits(logits, x), verbose=False)
    assert not result.passed and "expected shape [4], got shape []" in result.message


def test_bce_reference_is_the_package_loss():
    logits, x = torch.tensor([[40.0, -40.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.3]])
    expected = 40.0 + 40.0 + torch.log(torch.tensor(2.0))
    assert torch.allclose(lesson05.reference_bce_with_logits(logits, x), expected.view(1), atol=1e-5)


def test_batches_without_shuffling_fail_on_content():
    result = lesson05.check_in_memory_batches(lambda images, b, seed: list(images.split(b)), verbose=False)
    assert not result.passed
    assert "shapes are right but the images or their order differ" in result.message


def test_batches_dropping_the_last_fail_on_shapes():
    def drop_last(images, b, seed):
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
        return [images[i] for i in order.split(b)][:-1]

    result = lesson05.check_in_memory_batches(drop_last, verbose=False)
    assert not result.passed
    assert "expected [(4, 1, 1, 1), (4, 1, 1, 1), (2, 1, 1, 1)]" in result.message


def test_batches_with_an_unseeded_shuffle_fail():
    result = lesson05.check_in_memory_batches(
        lambda images, b, seed: [images[i] for i in torch.randperm(len(images)).split(b)], verbose=False)
    assert not result.passed


def test_reference_batches_match_in_memory_batches():
    images = torch.arange(10.0).view(10, 1, 1, 1)
    got = lesson05.reference_in_memory_batches(images, 4, 0)
    again = list(InMemoryBatches(images, 4, generator=torch.Generator().manual_seed(0)))
    assert [len(b) for b in got] == [4, 4, 2]
    assert all(torch.equal(a, b) for a, b in zip(got, again))
    assert sorted(torch.cat(got).flatten().tolist()) == list(range(10))
