"""Running a study: the runner's rounds, tasks, the executors (this machine's processes,
or Ray), progress, checks before anything trains (preflight), and time estimates."""
