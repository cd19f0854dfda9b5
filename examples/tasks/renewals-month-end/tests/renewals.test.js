"use strict";

// Behaviour of /app's renewal dates, run with node's built-in test runner.

const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const test = require("node:test");

const { addMonths, formatISODate, nextRenewal, parseISODate, renewalDates } = require("/app/src");

function plus(day, months) {
  return formatISODate(addMonths(parseISODate(day), months));
}

test("adding months keeps the day of the month when the target month has it", () => {
  assert.equal(plus("2024-05-15", 1), "2024-06-15");
  assert.equal(plus("2024-01-30", 2), "2024-03-30");
  assert.equal(plus("2024-11-20", 3), "2025-02-20");
  assert.equal(plus("2024-06-10", -7), "2023-11-10");
});

test("adding months ends on the last day of a month that is too short", () => {
  assert.equal(plus("2024-01-31", 1), "2024-02-29");
  assert.equal(plus("2023-01-31", 1), "2023-02-28");
  assert.equal(plus("2024-01-29", 13), "2025-02-28");
  assert.equal(plus("2024-08-31", 1), "2024-09-30");
  assert.equal(plus("2024-10-31", 4), "2025-02-28");
  assert.equal(plus("2024-03-31", -1), "2024-02-29");
  assert.equal(plus("2025-01-31", -2), "2024-11-30");
});

test("adding months leaves the given date unchanged", () => {
  const start = parseISODate("2024-01-31");
  addMonths(start, 1);
  assert.equal(formatISODate(start), "2024-01-31");
});

test("renewals of an end-of-month subscription return to the 31st when the month has one", () => {
  assert.deepEqual(renewalDates("2024-01-31", 6), [
    "2024-01-31",
    "2024-02-29",
    "2024-03-31",
    "2024-04-30",
    "2024-05-31",
    "2024-06-30",
  ]);
  assert.deepEqual(renewalDates("2023-11-30", 5), [
    "2023-11-30",
    "2023-12-30",
    "2024-01-30",
    "2024-02-29",
    "2024-03-30",
  ]);
});

test("renewals of a mid-month subscription fall on the same day every month", () => {
  assert.deepEqual(renewalDates("2024-03-10", 3), ["2024-03-10", "2024-04-10", "2024-05-10"]);
  assert.deepEqual(renewalDates("2024-12-05", 2), ["2024-12-05", "2025-01-05"]);
  assert.deepEqual(renewalDates("2024-03-10", 0), []);
});

test("the next renewal is the first one strictly after the given day", () => {
  assert.equal(nextRenewal("2024-01-31", "2024-03-15"), "2024-03-31");
  assert.equal(nextRenewal("2024-01-31", "2024-02-29"), "2024-03-31");
  assert.equal(nextRenewal("2024-01-31", "2024-02-28"), "2024-02-29");
  assert.equal(nextRenewal("2023-05-31", "2024-02-01"), "2024-02-29");
  assert.equal(nextRenewal("2024-03-10", "2024-04-10"), "2024-05-10");
  assert.equal(nextRenewal("2024-03-10", "2024-01-01"), "2024-03-10");
});

test("invalid input is rejected", () => {
  assert.throws(() => parseISODate("2024-02-30"), RangeError);
  assert.throws(() => parseISODate("31/01/2024"), RangeError);
  assert.throws(() => renewalDates("2024-01-31", -1), RangeError);
});

test("the command line prints the same schedule", () => {
  // The node running these tests, not whatever "node" the PATH finds first.
  const run = (...args) =>
    execFileSync(process.execPath, ["/app/bin/renewals.js", ...args], { encoding: "utf8" });
  assert.equal(run("2024-01-31", "4"), "2024-01-31\n2024-02-29\n2024-03-31\n2024-04-30\n");
  assert.equal(run("2024-01-31", "--after", "2024-04-01"), "2024-04-30\n");
});
