"""Counts trio task steps: how many turns of the scheduler a piece of work took."""

import trio


class TaskSteps(trio.abc.Instrument):
    def __init__(self) -> None:
        self.count = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.count += 1
