"""Training one run, or a stack of runs as one: the trainer and its loop, the steps, the
sampler, optimizers, schedules, checkpoints, phases, the run folder it writes, and scoring."""
