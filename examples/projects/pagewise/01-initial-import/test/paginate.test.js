'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { paginate, pageCount } = require('../src');

const numbers = (count) => Array.from({ length: count }, (_, i) => i + 1);

test('the first page holds the first perPage items', () => {
  const first = paginate(numbers(30), { page: 1, perPage: 10 });
  assert.deepEqual(first.items, numbers(10));
  assert.equal(first.total, 30);
  assert.equal(first.hasPrevious, false);
  assert.equal(first.hasNext, true);
});

test('a middle page knows both neighbours', () => {
  const second = paginate(numbers(30), { page: 2, perPage: 10 });
  assert.deepEqual(second.items, [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  assert.equal(second.hasPrevious, true);
  assert.equal(second.hasNext, true);
});

test('full pages are counted', () => {
  assert.equal(pageCount(30, 10), 3);
  assert.equal(pageCount(100, 25), 4);
});

test('perPage must be a positive integer', () => {
  assert.throws(() => pageCount(10, 0), RangeError);
  assert.throws(() => paginate([1, 2], { perPage: 1.5 }), RangeError);
});
