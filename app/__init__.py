"""Zoobot App: the Gradio user interface over the zoobot library."""
