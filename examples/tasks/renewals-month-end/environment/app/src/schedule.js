"use strict";

const { addMonths, formatISODate, parseISODate } = require("./dates");

// The first `count` renewal dates of a subscription that started on `start`
// (the start date itself comes first).
function renewalDates(start, count) {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`count must be a whole number, got ${count}`);
  }
  const dates = [];
  let current = parseISODate(start);
  for (let i = 0; i < count; i++) {
    dates.push(formatISODate(current));
    current = addMonths(current, 1);
  }
  return dates;
}

// The first renewal date strictly after `day`.
function nextRenewal(start, day) {
  const limit = parseISODate(day);
  let current = parseISODate(start);
  while (current <= limit) {
    current = addMonths(current, 1);
  }
  return formatISODate(current);
}

module.exports = { renewalDates, nextRenewal };
