#!/usr/bin/env bash
# The README's demo: the C++ tutorial runs on real processes, prints what the Ray tutorial
# prints, and draws its computation graphs.
set -euo pipefail
tests/examples/check_tutorial.sh examples/tutorial "${TEST_TMPDIR:-$(mktemp -d)}/tutorial"
echo "tutorial demo: 1 passed, 0 failed"
