"""Settings chosen from the machine's facts (zoobot.machine): made-up machines in, settings out."""

from __future__ import annotations

import os

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from zoobot.machine import WORKER_NICE, MachineFacts, choose_settings, machine_facts, machine_settings

TWO_CORES = MachineFacts(cpu_cores=2, memory_gib=24.0)
ONE_H100 = MachineFacts(cpu_cores=16, memory_gib=128.0, gpu_memory_gib=(80.0,), gpu_bf16=True)
FOUR_V100 = MachineFacts(cpu_cores=32, memory_gib=256.0, gpu_memory_gib=(16.0,) * 4, gpu_bf16=False)


def test_two_cpu_cores_give_the_encoder_both_and_decode_in_a_worker():
    settings = choose_settings(TWO_CORES)
    assert settings.accelerator == "cpu" and settings.devices == 1 and settings.strategy == "auto"
    assert settings.torch_threads == 2  # the encoder keeps every core
    assert settings.num_workers == 1 and settings.worker_nice == 0 and settings.persistent_workers
    assert settings.precision == "32-true"
    assert not settings.pin_memory and not settings.channels_last and not settings.compile


def test_a_single_pass_on_a_cpu_decodes_in_threads_unless_worker_processes_are_asked_for():
    settings = choose_settings(TWO_CORES)
    assert settings.decode_threads == 2
    assert settings.inference_decoding(n_rows=1000, batch_size=64) == (0, 2)
    assert settings.inference_decoding(1000, 64, num_workers=3) == (3, 0)  # an expert's choice wins
    assert settings.inference_decoding(1000, 64, num_workers=0) == (0, 0)  # main process, one image at a time
    processes = choose_settings(TWO_CORES, decode_threads=0)
    assert processes.inference_decoding(1000, 64) == (1, 0) and processes.inference_decoding(100, 64) == (0, 0)
    gpu = choose_settings(ONE_H100)
    assert gpu.decode_threads == 0 and gpu.inference_decoding(10_000, 256) == (8, 0)  # workers feed a GPU
    with pytest.raises(ValueError, match="decode_threads must be >= 0"):
        choose_settings(TWO_CORES, decode_threads=-1)


def test_many_cpu_cores_get_more_decoding_workers():
    settings = choose_settings(MachineFacts(cpu_cores=32, memory_gib=64.0))
    assert settings.torch_threads == 32 and settings.num_workers == 8


def test_one_bf16_gpu_gets_mixed_bf16_channels_last_pinned_memory_and_workers():
    settings = choose_settings(ONE_H100)
    assert settings.accelerator == "gpu" and settings.devices == 1 and settings.strategy == "auto"
    assert settings.precision == "bf16-mixed" and settings.channels_last and settings.pin_memory
    assert settings.num_workers == 8 and settings.worker_nice == 0
    assert settings.batch_size > TWO_CORES_BATCH and settings.predict_batch_size == 2 * settings.batch_size


TWO_CORES_BATCH = choose_settings(TWO_CORES).batch_size


def test_several_gpus_use_ddp_fp16_and_share_the_cores():
    settings = choose_settings(FOUR_V100)
    assert settings.devices == 4 and settings.strategy == "ddp"
    assert settings.precision == "16-mixed"  # no bf16 before Ampere
    assert settings.num_workers == 7  # 8 cores per GPU, one left to its training process
    assert settings.torch_threads == 8
    assert choose_settings(FOUR_V100, devices=1).strategy == "auto"
    assert choose_settings(FOUR_V100, accelerator="cpu").accelerator == "cpu"


def test_bigger_gpus_get_bigger_batches():
    small = choose_settings(MachineFacts(8, 32.0, (12.0,)))
    large = choose_settings(MachineFacts(8, 32.0, (141.0,)))
    assert small.batch_size < large.batch_size


def test_expert_settings_win_over_the_machine():
    settings = choose_settings(
        ONE_H100, torch_threads=3, num_workers=0, batch_size=7, predict_batch_size=9, precision="32-true", compile=True
    )
    assert (settings.torch_threads, settings.num_workers, settings.batch_size) == (3, 0, 7)
    assert settings.predict_batch_size == 9 and settings.precision == "32-true" and settings.compile
    assert not settings.persistent_workers and settings.worker_init_fn() is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"accelerator": "gpu"}, "sees no CUDA GPU"),
        ({"accelerator": "tpu"}, "accelerator must be"),
        ({"num_workers": -1}, "num_workers must be >= 0"),
        ({"torch_threads": 0}, "torch_threads must be"),
        ({"precision": "8-bit"}, "precision must be one of"),
        ({"devices": "many"}, "devices must be 'auto' or a whole number"),
    ],
)
def test_impossible_settings_are_refused_in_words(arguments, message):
    with pytest.raises(ValueError, match=message):
        choose_settings(TWO_CORES, **arguments)


def test_small_catalogs_are_decoded_without_worker_processes():
    settings = choose_settings(TWO_CORES)
    assert settings.workers_for(n_rows=128, batch_size=64) == 0
    assert settings.workers_for(n_rows=129, batch_size=64) == 1


def test_this_machine_is_read():
    facts = machine_facts()
    assert facts.cpu_cores >= 1 and facts.memory_gib > 0
    assert facts.gpus == torch.cuda.device_count()
    assert machine_settings().torch_threads == (facts.cpu_cores if not facts.gpus else machine_settings().torch_threads)


class _Niceness(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> int:
        return os.nice(0)


def test_loader_workers_can_run_at_a_lower_priority():
    settings = choose_settings(TWO_CORES, worker_nice=WORKER_NICE)
    loader = DataLoader(_Niceness(), batch_size=2, num_workers=1, worker_init_fn=settings.worker_init_fn())
    (worker_nice,) = {int(n) for n in next(iter(loader))}
    assert worker_nice == min(19, os.nice(0) + settings.worker_nice)


@pytest.mark.parametrize(
    ("given", "driver", "cuda", "expected"),
    [
        ("1", False, False, "0"),
        ("1", True, False, "1"),  # a driver, every GPU hidden (CUDA_VISIBLE_DEVICES=""): NVML's check stays
        ("1", False, True, "1"),
        ("0", False, False, "0"),
        (None, False, False, None),
    ],
)
def test_the_cuda_check_uses_the_cached_count_only_where_there_is_no_driver(monkeypatch, given, driver, cuda, expected):
    import zoobot.machine

    monkeypatch.setattr(zoobot.machine, "_cuda_check_cached", False)
    monkeypatch.setattr(zoobot.machine, "_nvml_loads", lambda: driver)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    if given is None:
        monkeypatch.delenv("PYTORCH_NVML_BASED_CUDA_CHECK", raising=False)
    else:
        monkeypatch.setenv("PYTORCH_NVML_BASED_CUDA_CHECK", given)
    switched = zoobot.machine.cache_cuda_check()
    assert switched is (given == "1" and not driver and not cuda)
    assert os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK") == expected
    if switched:  # acts once a process: a variable set again later is left as it is
        monkeypatch.setenv("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
        assert zoobot.machine.cache_cuda_check()
        assert os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] == "1"


def test_fitting_on_a_cpu_only_machine_stops_loading_nvml_at_every_step(make_catalog, tmp_path, monkeypatch):
    """Lightning sets the NVML check; a fit on a machine without CUDA sets it back (the optimiser asks each step)."""
    import zoobot.machine
    from zoobot.finetune import FinetuneableZoobotClassifier, get_trainer

    if zoobot.machine._nvml_loads():
        pytest.skip("a machine with the NVIDIA driver keeps the NVML check")
    monkeypatch.setattr(zoobot.machine, "_cuda_check_cached", False)
    monkeypatch.setenv("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    from zoobot.data import CatalogDataModule

    catalog = make_catalog(n=12)
    model = FinetuneableZoobotClassifier(name="test_convnext", num_classes=2, training_mode="head_only", prog_bar=False)
    datamodule = CatalogDataModule(label_cols=["label"], catalog=catalog, batch_size=4, num_workers=0, input_size=32)
    trainer = get_trainer(tmp_path, max_epochs=1, accelerator="cpu", logger=False, enable_progress_bar=False)
    trainer.fit(model, datamodule=datamodule)
    assert os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] == "0"
