"""The trainer's state between two epochs: what a run folder saves so that --resume is exact.

Besides the parameters (which live in the model), training carries from one epoch to the
next: the optimizer (learning rate, momentum buffers), the schedule (a plateau's best loss
and patience count), the generator that draws the shuffle order and the flip masks, the
number of epochs and update steps done (a cyclic η_t is a function of the step) and the
history. Restoring all of them continues a run bit for bit: the same final weights and
history as a run that was never stopped (tests/test_reliability.py).
"""
import dataclasses
from dataclasses import dataclass, field

import torch

from ..errors import LinclfError
from ..nn.optim import SGD
from ..nn.schedules import Constant, Cyclic, PlateauDecay, StepDecay
from .config import parse_cycle, parse_decay


def make_schedule(spec):
    """The schedule object (nn/schedules.py) for a --decay spelling, validated by config.parse_decay."""
    name, *numbers = parse_decay(spec)
    return {"none": Constant, "step": StepDecay, "plateau": PlateauDecay}[name](*numbers)


def make_cycle(cfg):
    """The per-step schedule (nn/schedules.Cyclic) of cfg.eta_cycle, recording cfg.records_per_cycle
    times a cycle, each cycle cfg.cycle_growth times as long as the one before; None for "none"."""
    if cfg.eta_cycle == "none":
        return None
    return Cyclic(*parse_cycle(cfg.eta_cycle), cfg.records_per_cycle, cfg.cycle_growth)


@dataclass
class TrainState:
    optimizer: SGD
    schedule: object                   # an nn/schedules.py object, called once per epoch
    generator: torch.Generator         # shuffle order and flip masks, on the data's device
    epoch: int = 0                     # epochs completed
    step: int = 0                      # update steps completed (a cyclic η_t is a function of it)
    history: list = field(default_factory=list)  # one record per epoch; with a cyclic η, per n_s/5 steps
    wall_time_s: float = 0.0           # seconds spent in completed epochs
    diverged_epoch: int | None = None  # the epoch whose cost came out NaN or inf, if any

    @classmethod
    def start(cls, model, cfg, device):
        """Epoch 0: a fresh optimizer and schedule, the generator seeded with cfg.seed."""
        optimizer = SGD(model.params, cfg.eta, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        generator = torch.Generator(device=device).manual_seed(cfg.seed)
        return cls(optimizer, make_schedule(cfg.decay), generator)

    def state_dict(self):
        """Tensors (on the CPU), lists, strings and numbers only: loadable with weights_only=True."""
        return {
            "epoch": self.epoch,
            "step": self.step,
            "history": [dict(record) for record in self.history],
            "wall_time_s": self.wall_time_s,
            "optimizer": {"lr": self.optimizer.lr,
                          "buffers": {k: b.cpu() for k, b in self.optimizer.buffers.items()}},
            "schedule": dataclasses.asdict(self.schedule),
            "generator": self.generator.get_state(),
            "device_type": self.generator.device.type,
            "threads": torch.get_num_threads(),  # CPU summation order: --resume keeps it
        }

    def load_state_dict(self, state, where):
        """Continue from a saved state_dict; `where` names its file in error messages."""
        device = self.generator.device.type
        saved_device = state.get("device_type") if isinstance(state, dict) else None
        if saved_device not in (None, device):
            raise LinclfError(f"{where} was trained on {saved_device}, this run is on {device}: the shuffle and "
                              f"flip draws cannot continue across devices; resume with --device {saved_device}")
        try:
            params = self.optimizer.params
            buffers = state["optimizer"]["buffers"]
            for name, b in buffers.items():
                if name not in params or b.shape != params[name].shape:
                    raise ValueError(f"momentum buffer {name} does not fit the model")
            if not all(type(v) in (int, float) for v in state["schedule"].values()):
                raise ValueError("schedule state holds something other than numbers")
            history, step = list(state["history"]), int(state.get("step", 0))  # no step: saved before cyclic rates
            if not all(isinstance(r, dict) for r in history):
                raise ValueError("a history record is not a dict")
            if any("step" in r for r in history):  # a cyclic run: records up to the saved step
                if history and history[-1]["step"] > step:
                    raise ValueError(f"history records up to step {history[-1]['step']}, state at step {step}")
            elif len(history) != state["epoch"]:
                raise ValueError(f"{len(history)} history records for {state['epoch']} epochs")
            self.optimizer.load_state_dict({"lr": float(state["optimizer"]["lr"]),
                                            "buffers": {k: b.to(params[k]) for k, b in buffers.items()}})
            self.schedule = dataclasses.replace(self.schedule, **state["schedule"])
            self.generator.set_state(state["generator"])
            self.epoch, self.step, self.history = int(state["epoch"]), step, history
            self.wall_time_s = float(state["wall_time_s"])
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
            raise LinclfError(f"{where} holds no usable training state ({type(e).__name__}: {e}); "
                              "it is damaged or was not written by `linclf train`: start a new run") from None
