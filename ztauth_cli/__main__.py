from __future__ import annotations

from ztauth_cli.cli.main import main

raise SystemExit(main())
