import sys

from gastown_tui.demo.run import main

sys.exit(main(sys.argv[1:]))
