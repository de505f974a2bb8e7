import sys

from search_app.cli import main

sys.exit(main())
