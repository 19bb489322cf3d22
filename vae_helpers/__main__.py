"""``python -m vae_helpers``."""

import sys

from .cli import main

sys.exit(main())
