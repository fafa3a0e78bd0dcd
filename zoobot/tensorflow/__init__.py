"""Zoobot 1.x's TensorFlow half, which Zoobot 2.0 removed: importing it says what to use instead."""

raise ImportError(
    "zoobot.tensorflow was Zoobot 1.x's TensorFlow version, removed in Zoobot 2.0; this package is PyTorch only. "
    "Finetune with zoobot.pytorch.training.finetune (or zoobot.finetune): see the README's 'Coming from Zoobot 2.x'."
)
