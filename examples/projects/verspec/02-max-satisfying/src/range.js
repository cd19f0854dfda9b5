'use strict';

const { parse } = require('./parse');
const { compare } = require('./compare');

// A partial version: "1", "1.2", "1.2.x", "*".
const PARTIAL = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$/;

function isWild(part) {
  return part === undefined || part === 'x' || part === 'X' || part === '*';
}

function bound(major, minor, patch, prerelease) {
  return `${major}.${minor}.${patch}${prerelease ? `-${prerelease}` : ''}`;
}

// The comparators of one range element: [[operator, version], ...], all of which must hold.
function comparators(element) {
  const match = /^(\^|~|>=|<=|>|<|=)?\s*(.*)$/.exec(element);
  const operator = match[1] || '=';
  const partial = PARTIAL.exec(match[2]);
  if (!partial) {
    throw new TypeError(`not a version range: ${JSON.stringify(element)}`);
  }
  const [, major, minor, patch, prerelease] = partial;
  if (isWild(major)) {
    return [];
  }
  const M = Number(major);
  if (isWild(minor) || isWild(patch)) {
    const lower = bound(M, isWild(minor) ? 0 : Number(minor), 0);
    const upper = isWild(minor) ? bound(M + 1, 0, 0) : bound(M, Number(minor) + 1, 0);
    if (operator === '=' || operator === '^' || operator === '~') {
      return [['>=', lower], ['<', upper]];
    }
    return [[operator, operator.startsWith('>') ? lower : upper]];
  }
  const m = Number(minor);
  const p = Number(patch);
  const version = bound(M, m, p, prerelease);
  if (operator === '^') {
    if (M > 0) {
      return [['>=', version], ['<', bound(M + 1, 0, 0)]];
    }
    if (m > 0) {
      return [['>=', version], ['<', bound(0, m + 1, 0)]];
    }
    return [['>=', version], ['<', bound(0, 0, p + 1)]];
  }
  if (operator === '~') {
    return [['>=', version], ['<', bound(M, m + 1, 0)]];
  }
  return [[operator, version]];
}

const TESTS = {
  '=': (order) => order === 0,
  '>': (order) => order > 0,
  '>=': (order) => order >= 0,
  '<': (order) => order < 0,
  '<=': (order) => order <= 0,
};

// Does `version` satisfy `range`? Elements separated by spaces must all hold; "||"
// separates alternatives. Prereleases only match a range that names one.
function satisfies(version, range) {
  const parsed = parse(version);
  return String(range)
    .split('||')
    .some((alternative) => {
      const elements = alternative.trim().split(/\s+/).filter(Boolean);
      const checks = elements.flatMap(comparators);
      if (parsed.prerelease.length > 0 && !checks.some(([, v]) => v.includes('-'))) {
        return false;
      }
      return checks.every(([operator, bounded]) => TESTS[operator](compare(parsed, bounded)));
    });
}

// The newest of `versions` that satisfies `range`, or null.
function maxSatisfying(versions, range) {
  let best = null;
  for (const version of versions) {
    if (satisfies(version, range) && (best === null || compare(version, best) > 0)) {
      best = version;
    }
  }
  return best;
}

module.exports = { satisfies, maxSatisfying, comparators };
