"""The checkpoint files written behind training only while they are still wanted."""

from __future__ import annotations

import time

import torch

from zoobot.finetune.checkpoint_writer import DelayedCheckpointIO


def _written(plugin: DelayedCheckpointIO, monkeypatch) -> list[str]:
    written: list[str] = []
    save = DelayedCheckpointIO.__mro__[1].save_checkpoint

    def spy(self, checkpoint, path, storage_options=None):
        written.append(str(path))
        return save(self, checkpoint, path, storage_options)

    monkeypatch.setattr(DelayedCheckpointIO.__mro__[1], "save_checkpoint", spy)
    return written


def test_a_checkpoint_removed_before_its_write_is_never_written(tmp_path, monkeypatch):
    plugin = DelayedCheckpointIO(delay_s=30.0)
    written = _written(plugin, monkeypatch)
    state = {"state_dict": {"w": torch.ones(3)}}
    plugin.save_checkpoint(state, tmp_path / "0.ckpt")
    state["state_dict"]["w"] += 1  # training goes on: the file keeps the weights of when it was asked
    plugin.save_checkpoint(state, tmp_path / "1.ckpt")
    plugin.remove_checkpoint(tmp_path / "0.ckpt")
    start = time.monotonic()
    plugin.teardown()  # writes what is still wanted now, without waiting out the delay
    assert time.monotonic() - start < 10
    assert written == [str(tmp_path / "1.ckpt")]
    assert [p.name for p in tmp_path.iterdir()] == ["1.ckpt"]
    assert torch.equal(torch.load(tmp_path / "1.ckpt", weights_only=True)["state_dict"]["w"], torch.full((3,), 2.0))
    # After teardown (fit is over), a save is written at once.
    plugin.save_checkpoint(state, tmp_path / "after.ckpt")
    deadline = time.monotonic() + 10
    while not (tmp_path / "after.ckpt").is_file() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (tmp_path / "after.ckpt").is_file()


def test_waiting_checkpoints_are_written_after_their_delay_and_before_loading(tmp_path, monkeypatch):
    plugin = DelayedCheckpointIO(delay_s=0.2)
    written = _written(plugin, monkeypatch)
    plugin.save_checkpoint({"state_dict": {"w": torch.zeros(2)}}, tmp_path / "a.ckpt")
    deadline = time.monotonic() + 10
    while not written and time.monotonic() < deadline:
        time.sleep(0.01)
    assert written == [str(tmp_path / "a.ckpt")]  # nobody asked: written once its delay had passed

    slow = DelayedCheckpointIO(delay_s=30.0)
    slow.save_checkpoint({"state_dict": {"w": torch.ones(2)}}, tmp_path / "b.ckpt")
    loaded = slow.load_checkpoint(tmp_path / "b.ckpt")  # loading writes what waits first
    assert torch.equal(loaded["state_dict"]["w"], torch.ones(2))
    slow.remove_checkpoint(tmp_path / "b.ckpt")
    slow.teardown()
    assert not (tmp_path / "b.ckpt").exists()
