"""MLflow: an experiment per study, a run per case x seed (tags ``ganstudy.case``,
``ganstudy.seed``, ``ganstudy.run_hash``; the flat config as params), metrics by iteration
and the sample grids as artifacts.

Where: ``MLFLOW_TRACKING_URI`` when the user has set it (their server); otherwise a SQLite
store in the study folder (``mlflow ui --backend-store-uri sqlite:///<study>/mlflow.db``),
MLflow's own default kind of store now that its file store is retired. A resumed run
continues its MLflow run (found by its run hash)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..base.status import Status
from .registry import LoggerSpec, TrackedRun, register

STATUS = {Status.COMPLETE: "FINISHED", Status.DIVERGED: "FAILED", Status.FAILED: "FAILED", Status.INTERRUPTED: "KILLED"}


def tracking_uri(info: TrackedRun) -> tuple[str, str | None]:
    """(tracking URI, artifact location for a new experiment) for this run."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"], None
    home = info.study_dir or info.run_dir
    return f"sqlite:///{(home / 'mlflow.db').resolve()}", str((home / "mlartifacts").resolve())


def experiment_id(client, name: str, artifacts: str | None) -> str:  # noqa: ANN001 - an MlflowClient
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifacts)
    except Exception:  # noqa: BLE001 - another process created it first
        return client.get_experiment_by_name(name).experiment_id


def prepare(study: str, study_dir: Path) -> None:
    """The database (its tables) and the study's experiment, made by the driver alone."""
    from mlflow.tracking import MlflowClient

    uri, artifacts = tracking_uri(TrackedRun(study, "", 0, "", study_dir, study_dir))
    experiment_id(MlflowClient(tracking_uri=uri), study, artifacts)


class MlflowLogger:
    def __init__(self, info: TrackedRun) -> None:
        from mlflow.tracking import MlflowClient

        uri, artifacts = tracking_uri(info)
        self.client = MlflowClient(tracking_uri=uri)
        experiment = experiment_id(self.client, info.study, artifacts)
        found = self.client.search_runs([experiment], f"tags.`ganstudy.run_hash` = '{info.run_hash}'", max_results=1)
        if found:  # a resume (or a study's second pass): the same MLflow run
            self.run_id = found[0].info.run_id
            self.client.update_run(self.run_id, status="RUNNING")
            return
        tags = {"ganstudy.study": info.study, "ganstudy.case": info.case, "ganstudy.seed": str(info.seed),
                "ganstudy.run_hash": info.run_hash, "ganstudy.run_dir": str(info.run_dir)}
        self.run_id = self.client.create_run(experiment, run_name=info.name, tags=tags).info.run_id
        from mlflow.entities import Param

        params = [Param(k, str(v)[:6000]) for k, v in info.config.items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
            self.client.log_batch(self.run_id, params=params[i:i + 100])

    def scalars(self, step: int, values: dict[str, float], prefix: str = "") -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(f"{prefix}{k}".replace("/", "."), v, now, step) for k, v in values.items()]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def image(self, step: int, tag: str, png: Path) -> None:
        self.client.log_artifact(self.run_id, str(png), tag)

    def close(self, status: str) -> None:
        self.client.set_terminated(self.run_id, STATUS.get(status, "FINISHED"))


register(LoggerSpec("mlflow", MlflowLogger, ("mlflow", "sqlalchemy", "alembic"),
                    'pip install -e ".[mlflow]"', prepare))
