"""``python -m ganstudy.cli``: the ``ganstudy`` command."""

import sys

from .main import main

sys.exit(main())
