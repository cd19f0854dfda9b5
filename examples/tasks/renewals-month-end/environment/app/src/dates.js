"use strict";

// Calendar dates are Date objects at midnight UTC, so local time zones never shift a day.

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseISODate(text) {
  const match = ISO_DATE.exec(text);
  if (!match) {
    throw new RangeError(`not a YYYY-MM-DD date: ${JSON.stringify(text)}`);
  }
  const [year, month, day] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    throw new RangeError(`no such day: ${text}`);
  }
  return date;
}

function formatISODate(date) {
  return date.toISOString().slice(0, 10);
}

function daysInMonth(year, monthIndex) {
  // Day 0 of the next month is the last day of this one.
  return new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
}

// The same day of the month, `months` later (or earlier when negative).
function addMonths(date, months) {
  const result = new Date(date.getTime());
  result.setUTCMonth(result.getUTCMonth() + months);
  return result;
}

module.exports = { parseISODate, formatISODate, daysInMonth, addMonths };
