#!/bin/bash
# Oracle: month arithmetic clamps to the month's last day, and every renewal is counted
# from the subscription's start date.
set -euo pipefail
cd /app
patch -p1 <<'PATCH'
--- a/src/dates.js
+++ b/src/dates.js
@@ -27,9 +27,14 @@
 }
 
 // The same day of the month, `months` later (or earlier when negative).
+// Months too short for that day (the 31st, February's 29th and 30th) end on their last day.
 function addMonths(date, months) {
+  const target = date.getUTCMonth() + months;
+  const year = date.getUTCFullYear() + Math.floor(target / 12);
+  const monthIndex = ((target % 12) + 12) % 12;
+  const day = Math.min(date.getUTCDate(), daysInMonth(year, monthIndex));
   const result = new Date(date.getTime());
-  result.setUTCMonth(result.getUTCMonth() + months);
+  result.setUTCFullYear(year, monthIndex, day);
   return result;
 }
 
--- a/src/schedule.js
+++ b/src/schedule.js
@@ -8,23 +8,25 @@
   if (!Number.isInteger(count) || count < 0) {
     throw new RangeError(`count must be a whole number, got ${count}`);
   }
+  // Every date counts from the start date, so a short month does not pull the
+  // following ones back (Jan 31 -> Feb 29 -> Mar 31, not Mar 29).
+  const anchor = parseISODate(start);
   const dates = [];
-  let current = parseISODate(start);
   for (let i = 0; i < count; i++) {
-    dates.push(formatISODate(current));
-    current = addMonths(current, 1);
+    dates.push(formatISODate(addMonths(anchor, i)));
   }
   return dates;
 }
 
 // The first renewal date strictly after `day`.
 function nextRenewal(start, day) {
+  const anchor = parseISODate(start);
   const limit = parseISODate(day);
-  let current = parseISODate(start);
-  while (current <= limit) {
-    current = addMonths(current, 1);
+  let months = 0;
+  while (addMonths(anchor, months) <= limit) {
+    months++;
   }
-  return formatISODate(current);
+  return formatISODate(addMonths(anchor, months));
 }
 
 module.exports = { renewalDates, nextRenewal };
PATCH
