"""results.json: what every run, grid and experiment script writes, and the environment it records.

Each results.json is one JSON object, written atomically (files.write_atomic), whose "env"
says where the numbers came from: Python, torch and torchvision versions, the device and its
name, the CPU thread count and the git commit.
"""
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path

import torch

from ..files import save_json


def cpu_name():
    """The CPU's model name (Linux: /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def env_info(device):
    """Versions, device name, CPU threads and git commit, for results.json.

    torchvision's version is its package's, read without importing it (which takes seconds):
    "0.29.2", where torchvision.__version__ adds the build tag torch's version also shows.
    """
    device = torch.device(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, text=True,
                                capture_output=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": version("torchvision"), "device": str(device), "device_name": name,
            "threads": torch.get_num_threads(), "git_commit": commit}


def write_results(folder, results, env):
    """folder/results.json: the results and, under "env", env_info's record."""
    save_json(Path(folder) / "results.json", {**results, "env": env})


def training_time(results, checkpoint):
    """"12.3 s", or for a resumed run "12.3 s this session, 40.1 s in all": wall_time_s adds up
    the training of every session, the progress output counts this one's."""
    total = results["wall_time_s"]
    if checkpoint is None:
        return f"{total:.1f} s"
    return f"{total - checkpoint['train_state']['wall_time_s']:.1f} s this session, {total:.1f} s in all"
