"""The inference runtime: the no-grad loop, the in-order loader with its ramped first batches, the allocator."""

import subprocess
import sys
import time

import pytest
import torch
from torch.utils.data import DataLoader

from zoobot import data, inference
from zoobot.inference import RampBatchSampler, inference_device, inference_loader, run_batches


def test_the_data_module_still_offers_the_inference_runtime():
    for name in inference.__all__:
        assert getattr(data, name) is getattr(inference, name)


def test_run_batches_streams_a_function_over_a_loader_without_gradients():
    images = [{"image": torch.full((3, 4, 4), float(i))} for i in range(5)]
    loader = DataLoader(images, batch_size=2)
    weight = torch.nn.Parameter(torch.ones(1))
    out = run_batches(lambda x: x.mean(dim=(1, 2, 3)) * weight, loader, torch.device("cpu"), progress=True)
    assert out.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] and not out.requires_grad
    assert run_batches(lambda x: x, DataLoader([], batch_size=2), torch.device("cpu")).numel() == 0
    with pytest.raises(ValueError, match="precision must be one of"):
        run_batches(lambda x: x, loader, torch.device("cpu"), precision="8-bit")
    with pytest.raises(ValueError, match="accelerator must be 'auto', 'cpu' or 'gpu'"):
        inference_device("tpu")


def test_inference_batches_ramp_up_only_with_workers():
    batches = list(RampBatchSampler(100, 32))
    assert [len(b) for b in batches] == [4, 8, 16, 32, 32, 8] and len(RampBatchSampler(100, 32)) == 6
    assert [i for b in batches for i in b] == list(range(100))
    assert [len(b) for b in RampBatchSampler(3, 1)] == [1, 1, 1] and list(RampBatchSampler(0, 8)) == []
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        RampBatchSampler(10, 0)

    images = [{"image": torch.full((3, 2, 2), float(i))} for i in range(20)]
    with_workers = inference_loader(images, batch_size=8, num_workers=1, prefetch_factor=2)
    assert [len(b["image"]) for b in with_workers] == [1, 2, 4, 8, 5]
    assert [len(b["image"]) for b in inference_loader(images, batch_size=8)] == [8, 8, 4]
    seen = torch.cat([b["image"][:, 0, 0, 0] for b in with_workers])
    assert seen.tolist() == [float(i) for i in range(20)]


_FREED_MEMORY_PROBE = """
import sys, torch
from zoobot.inference import reuse_freed_memory
kept = reuse_freed_memory() if sys.argv[1] == "reuse" else None
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
torch.ones(2**10).sum()  # torch's lazy set-up (thread pools, first-use buffers) is not what we measure
before = rss_mb()
activations = torch.ones(4 * 2**20)  # 16 MB, touched
del activations
print(kept, rss_mb() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_tensor_memory_stays_with_the_process_for_reuse():
    """Freed activations are kept for the next batch instead of being faulted in afresh."""

    def probe(mode: str) -> tuple[str, float]:
        out = subprocess.run(
            [sys.executable, "-c", _FREED_MEMORY_PROBE, mode], capture_output=True, text=True, check=True
        ).stdout.split()
        return out[0], float(out[1])

    (_, default_mb), (kept, reuse_mb) = probe("default"), probe("reuse")
    assert kept == "True"
    # glibc's default hands a freed 16 MB block straight back; with reuse_freed_memory it stays mapped.
    # Compared with each other, not with zero: a process may keep a few MB of its own either way.
    assert reuse_mb > 12 and reuse_mb - default_mb > 8


def test_threaded_batches_decode_ahead_in_order_and_stop_cleanly():
    images = [{"image": torch.full((3, 2, 2), float(i)), "id_str": str(i)} for i in range(21)]
    threaded = inference_loader(images, batch_size=8, decode_threads=2)
    assert isinstance(threaded, inference.ThreadedBatches) and len(threaded) == 3
    batches = list(threaded)
    assert [len(b["image"]) for b in batches] == [8, 8, 5]
    assert torch.cat([b["image"][:, 0, 0, 0] for b in batches]).tolist() == [float(i) for i in range(21)]
    assert [s for b in batches for s in b["id_str"]] == [str(i) for i in range(21)]
    out = run_batches(lambda x: x.mean(dim=(1, 2, 3)), threaded, torch.device("cpu"))
    assert out.tolist() == [float(i) for i in range(21)]
    assert isinstance(inference_loader(images, batch_size=8, decode_threads=1), DataLoader)  # one thread: no pool

    class Broken:
        def __len__(self):
            return 10

        def __getitem__(self, index):
            if index == 6:
                raise OSError("image 6 is damaged")
            return {"image": torch.zeros(3, 2, 2)}

    with pytest.raises(OSError, match="image 6 is damaged"):
        list(inference.ThreadedBatches(Broken(), batch_size=4, threads=2))
    with pytest.raises(ValueError, match="must be >= 1"):
        inference.ThreadedBatches(images, batch_size=0)


@pytest.mark.parametrize("ahead", [1, 2])
def test_threaded_batches_queue_the_next_ahead_batches_while_the_model_computes(ahead):
    asked: list[int] = []

    class Recorded:
        def __len__(self):
            return 40

        def __getitem__(self, index):
            asked.append(index)
            return {"image": torch.zeros(3, 2, 2)}

    batches = iter(inference.ThreadedBatches(Recorded(), batch_size=4, threads=2, ahead=ahead))
    next(batches)  # the model has its first batch; the threads decode the next `ahead` meanwhile
    deadline = time.monotonic() + 10
    while len(asked) < 4 * (1 + ahead) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert sorted(asked) == list(range(4 * (1 + ahead)))
    assert inference.ThreadedBatches(Recorded()).ahead == 2  # the default
