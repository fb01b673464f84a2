"""``python -m ganstudy``: the ``ganstudy`` command."""

import sys

from .cli.main import main

sys.exit(main())
