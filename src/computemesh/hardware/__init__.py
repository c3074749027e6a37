"""Adapter to the machine: memory, CPUs and GPUs, read with psutil and nvidia-ml-py."""
