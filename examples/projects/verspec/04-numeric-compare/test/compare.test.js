'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { compare, gt, lt, eq, sort } = require('../src');

test('major, minor and patch are compared as numbers', () => {
  assert.equal(compare('1.10.0', '1.9.0'), 1);
  assert.equal(compare('1.2.10', '1.2.9'), 1);
  assert.equal(compare('9.9.9', '10.0.0'), -1);
  assert.equal(gt('2.100.0', '2.99.5'), true);
});

test('equal versions compare as 0 whatever their build metadata', () => {
  assert.equal(compare('1.2.3', '1.2.3'), 0);
  assert.equal(eq('1.2.3+build.1', '1.2.3+build.2'), true);
});

test('a release ranks above its own prereleases', () => {
  assert.equal(gt('1.0.0', '1.0.0-rc.1'), true);
  assert.equal(lt('1.0.0-alpha', '1.0.0-alpha.1'), true);
});

test('numeric prerelease identifiers are compared as numbers', () => {
  assert.equal(compare('2.0.0-rc.10', '2.0.0-rc.9'), 1);
  assert.equal(lt('1.0.0-beta.2', '1.0.0-beta.11'), true);
});

test('numeric identifiers rank below alphanumeric ones', () => {
  assert.equal(lt('1.0.0-1', '1.0.0-alpha'), true);
  assert.equal(lt('1.0.0-alpha.99', '1.0.0-alpha.beta'), true);
});

test('sort orders versions from oldest to newest', () => {
  assert.deepEqual(sort(['1.10.0', '1.2.0', '1.9.3', '1.10.0-rc.1']), [
    '1.2.0',
    '1.9.3',
    '1.10.0-rc.1',
    '1.10.0',
  ]);
});
