from tui_attention.cli import main

raise SystemExit(main())
