"""The task runtime: a task's data, tokenizer, labels, datasets, heads and metrics, and
finished run directories read back. finetune, distill, export and report all use it."""

from tfcompress.tasks.finished_run import FinishedRun
from tfcompress.tasks.task_runtime import TaskRuntime, read_task_data

__all__ = ["FinishedRun", "TaskRuntime", "read_task_data"]
