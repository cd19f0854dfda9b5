#!/bin/bash
# Oracle: keys must carry keyword argument values, not only their names.
set -euo pipefail
cd /app
patch -p1 <<'PATCH'
--- a/src/stash/keys.py
+++ b/src/stash/keys.py
@@ -17,7 +17,7 @@
     """
     key: tuple[Any, ...] = tuple(args)
     if kwargs:
-        key += _KWARGS_MARK + tuple(sorted(kwargs))
+        key += _KWARGS_MARK + tuple(sorted(kwargs.items()))
     if typed:
         key += tuple(type(value) for value in args)
         key += tuple(type(kwargs[name]) for name in sorted(kwargs))
PATCH
