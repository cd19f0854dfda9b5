#!/bin/bash
# Oracle: read compressed and plain logs alike, and sort the request counts as numbers.
set -euo pipefail
cd /app
patch -p1 <<'PATCH'
--- a/bin/reqstats
+++ b/bin/reqstats
@@ -34,7 +34,8 @@
 
 printf 'path\trequests\t5xx\tavg_ms\n'
 # Busiest endpoints first; equally busy ones by path.
-cat -- "$@" \
+# zcat -f passes plain files through unchanged, so rotated .gz logs can be mixed in.
+zcat -f -- "$@" \
     | awk -F'"' -f "$here/../lib/summarize.awk" \
-    | sort -t "$tab" -k2,2r -k1,1 \
+    | sort -t "$tab" -k2,2nr -k1,1 \
     | awk -v top="$top" 'NR <= top'
PATCH
