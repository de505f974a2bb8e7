"""Where the browser tests find Chromium and how they start it.

Debian's chromium package (installed by tests/run.sh) is looked up on PATH;
``$GONGKAI_CHROMIUM`` names another binary. Playwright never downloads a browser here.
"""

import os
import shutil

CHROMIUM = os.environ.get("GONGKAI_CHROMIUM") or shutil.which("chromium") or ""
# Without the background-networking flags Chromium keeps dialling out of a closed network.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# Milliseconds any one browser step (launch, navigation, wait for an element) may take
# before it counts as hung: generous, so that a saturated machine is slow, never failing.
TIMEOUT_MS = 120_000
MISSING = ("Chromium is not installed (apt-get install chromium fonts-noto-cjk; "
           "tests/run.sh does it)")


def available() -> bool:
    return bool(CHROMIUM) and os.path.exists(CHROMIUM)
