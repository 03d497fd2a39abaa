"""``python -m crm_tui`` — the same as the ``crm-tui`` command."""

import sys

from .cli import main

sys.exit(main())
