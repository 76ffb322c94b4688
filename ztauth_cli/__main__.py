from __future__ import annotations

from ztauth_cli.cli.launch import main

raise SystemExit(main())
