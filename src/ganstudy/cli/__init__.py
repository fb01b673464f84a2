"""The ``ganstudy`` command: argument parsing (``main``), the commands that train one run
(``run``) and those that work on a study (``study``)."""
