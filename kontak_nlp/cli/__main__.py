"""``python -m kontak_nlp.cli``: the ``kontak-nlp`` command."""

import sys

from kontak_nlp.cli import main

sys.exit(main())
