'use strict';

const { parse } = require('./parse');

function toVersion(value) {
  return typeof value === 'string' ? parse(value) : value;
}

const NUMERIC = /^\d+$/;

// Numbers compare as numbers (9 < 10), and rank below words (1 < alpha), as semver says.
function compareIdentifiers(a, b) {
  const aNumeric = typeof a === 'number' || NUMERIC.test(a);
  const bNumeric = typeof b === 'number' || NUMERIC.test(b);
  if (aNumeric && bNumeric) {
    return Math.sign(Number(a) - Number(b));
  }
  if (aNumeric !== bNumeric) {
    return aNumeric ? -1 : 1;
  }
  if (a === b) {
    return 0;
  }
  return a < b ? -1 : 1;
}

// A version without a prerelease ranks above the same version with one: 1.0.0 > 1.0.0-rc.1.
function comparePrerelease(a, b) {
  if (a.length === 0 || b.length === 0) {
    return Math.sign(b.length - a.length);
  }
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === undefined) {
      return -1;
    }
    if (b[i] === undefined) {
      return 1;
    }
    const order = compareIdentifiers(a[i], b[i]);
    if (order !== 0) {
      return order;
    }
  }
  return 0;
}

// -1, 0 or 1 as a is older than, the same as, or newer than b. Build metadata is ignored.
function compare(a, b) {
  const left = toVersion(a);
  const right = toVersion(b);
  for (const key of ['major', 'minor', 'patch']) {
    const order = compareIdentifiers(left[key], right[key]);
    if (order !== 0) {
      return order;
    }
  }
  return comparePrerelease(left.prerelease, right.prerelease);
}

const eq = (a, b) => compare(a, b) === 0;
const gt = (a, b) => compare(a, b) > 0;
const gte = (a, b) => compare(a, b) >= 0;
const lt = (a, b) => compare(a, b) < 0;
const lte = (a, b) => compare(a, b) <= 0;

function sort(versions) {
  return [...versions].sort(compare);
}

module.exports = { compare, eq, gt, gte, lt, lte, sort };
