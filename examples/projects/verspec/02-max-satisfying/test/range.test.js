'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { satisfies, maxSatisfying } = require('../src');

test('caret ranges allow changes that do not modify the left-most non-zero digit', () => {
  assert.equal(satisfies('1.4.2', '^1.2.3'), true);
  assert.equal(satisfies('2.0.0', '^1.2.3'), false);
  assert.equal(satisfies('0.2.5', '^0.2.3'), true);
  assert.equal(satisfies('0.3.0', '^0.2.3'), false);
});

test('tilde ranges allow patch-level changes', () => {
  assert.equal(satisfies('1.2.9', '~1.2.3'), true);
  assert.equal(satisfies('1.3.0', '~1.2.3'), false);
});

test('comparators, x-ranges and alternatives', () => {
  assert.equal(satisfies('1.2.3', '>=1.2.0 <1.3.0'), true);
  assert.equal(satisfies('1.5.0', '1.x'), true);
  assert.equal(satisfies('3.0.0', '1.x || >=2.5.0'), true);
  assert.equal(satisfies('2.1.0', '1.x || >=2.5.0'), false);
  assert.equal(satisfies('4.0.0', '*'), true);
});

test('prereleases only match ranges that name one', () => {
  assert.equal(satisfies('1.3.0-rc.1', '^1.2.0'), false);
  assert.equal(satisfies('1.3.0-rc.2', '>=1.3.0-rc.1'), true);
});

test('maxSatisfying picks the newest matching version', () => {
  assert.equal(maxSatisfying(['1.2.0', '1.4.1', '2.0.0', '1.3.7'], '^1.2.0'), '1.4.1');
  assert.equal(maxSatisfying(['0.9.0'], '^1.0.0'), null);
});
